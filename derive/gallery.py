"""``derive build``: every preset rendered into outputs/<preset>/.

Per preset: the terminal derivation (.txt), LaTeX documents (English in both layouts, Chinese
in denominator layout), the generated NumPy module, and where a LaTeX engine is present the
PDFs with a PNG of each first page. The .txt, .tex and .py files are deterministic and
committed, so the gallery can be browsed; a test fails when they are stale.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from derive import presets
from derive.codegen.numpy_module import numpy_module
from derive.deriver import derive
from derive.latexdoc import latex_document
from derive.output import write_atomic
from derive.report import TerminalReport

DOCUMENTS = [("", "denominator", "en"), ("-numerator", "numerator", "en"), ("-zh", "denominator", "zh")]
ENGINES = {"en": "pdflatex", "zh": "xelatex"}


def gallery_files(preset: str) -> dict[str, str]:
    """File name -> content of everything ``build`` writes for one preset (PDFs aside)."""
    net = presets.build(preset)
    steps = net.sizes_default.get("T", 3)
    files = {f"{preset}.txt": TerminalReport(derive(net), steps).render()}
    for suffix, layout, lang in DOCUMENTS:
        files[f"{preset}{suffix}.tex"] = latex_document(derive(net, layout), steps, lang)
    files[f"{preset}_grad.py"] = numpy_module(preset)
    return files


def compile_pdf(tex: Path, lang: str) -> tuple[bool, str]:
    """Compile ``tex`` next to itself; (ok, what happened)."""
    engine = ENGINES[lang]
    if shutil.which(engine) is None:
        return False, f"no {engine}: skipped the PDF of {tex.name} (install TeX Live to get it)"
    with tempfile.TemporaryDirectory() as work:
        done = subprocess.run([engine, "-interaction=nonstopmode", "-halt-on-error", "-output-directory", work,
                               str(tex)], capture_output=True, text=True, timeout=300)
        pdf = Path(work) / (tex.stem + ".pdf")
        if done.returncode != 0 or not pdf.exists():
            return False, f"{engine} failed on {tex.name}"
        shutil.copy(pdf, tex.with_suffix(".pdf"))
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile", "-f", "1", "-l", "1",
                        str(tex.with_suffix(".pdf")), str(tex.with_suffix(""))], capture_output=True, timeout=120)
    return True, f"compiled {tex.with_suffix('.pdf')}"


def build_gallery(folder: Path, pdf: bool = True):
    """Write every preset's files; yield one line per file written."""
    for preset in presets.PRESETS:
        target = folder / preset
        for name, content in gallery_files(preset).items():
            write_atomic(target / name, content)
            yield f"wrote {target / name}"
        if not pdf:
            continue
        for suffix, _, lang in DOCUMENTS:
            ok, message = compile_pdf(target / f"{preset}{suffix}.tex", lang)
            yield message
