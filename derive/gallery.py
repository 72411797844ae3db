"""``derive build``: every built-in model rendered into outputs/<name>/.

Per model: the terminal derivation (.txt), LaTeX documents (English in both layouts, Chinese
in denominator layout), the generated NumPy module, and where a LaTeX engine is present the
PDFs with a PNG of each first page. The .txt, .tex and .py files are deterministic and
committed, so the gallery can be browsed; a test fails when they are stale.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from derive import source
from derive.codegen.numpy_module import numpy_module
from derive.deriver import derive
from derive.latexdoc import latex_document
from derive.model import Model
from derive.output import OutputError, write_atomic
from derive.report import TerminalReport

DOCUMENTS = [("", "denominator", "en"), ("-numerator", "numerator", "en"), ("-zh", "denominator", "zh")]
ENGINES = {"en": "pdflatex", "zh": "xelatex"}


def gallery_files(model: Model) -> dict[str, str]:
    """File name -> content of everything ``build`` writes for one model (PDFs aside)."""
    net = model.build()
    steps = net.sizes_default.get("T", 3)
    stem = model.stem
    files = {f"{stem}.txt": TerminalReport(derive(net), steps).render()}
    for suffix, layout, lang in DOCUMENTS:
        files[f"{stem}{suffix}.tex"] = latex_document(derive(net, layout), steps, lang)
    files[f"{stem}_grad.py"] = numpy_module(model)
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
    """Write every built-in model's files; yield one line per file written.

    All or nothing: everything is made in a staging folder beside ``folder`` first (a full disk
    or an error leaves ``folder`` as it was), then moved into place file by file."""
    folder = Path(folder)
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # inside OUT, so that the moves stay on its file system (OUT may be a mount or a link)
        staging = Path(tempfile.mkdtemp(dir=folder, prefix=".build-"))
    except OSError as err:
        raise OutputError(f"cannot write {folder}: {err.strerror or err}") from None
    try:
        lines, made = [], []
        for model in source.builtin_models():
            for name, content in gallery_files(model).items():
                write_atomic(staging / model.stem / name, content)
                made.append(Path(model.stem) / name)
                lines.append(f"wrote {folder / model.stem / name}")
            if not pdf:
                continue
            for suffix, _, lang in DOCUMENTS:
                tex = staging / model.stem / f"{model.stem}{suffix}.tex"
                ok, message = compile_pdf(tex, lang)
                if ok:
                    made += [p.relative_to(staging) for p in (tex.with_suffix(".pdf"), tex.with_suffix(".png"))
                             if p.exists()]
                    message = f"compiled {folder / model.stem / tex.with_suffix('.pdf').name}"
                lines.append(message)
        for relative in made:
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, folder / relative)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not any(folder.iterdir()):
            folder.rmdir()  # nothing of ours is left
        if isinstance(err, OutputError):
            raise
        raise OutputError(f"cannot write {folder}: {err.strerror or err}") from None
    shutil.rmtree(staging, ignore_errors=True)
    yield from lines
