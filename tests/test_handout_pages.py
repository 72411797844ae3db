"""Issue 18, item 3: every preset's documents as `derive build` writes them, compiled and turned
into PNG pages, checked where a machine can check a page: no overfull box over 1pt and no
underfull one, no undefined macro or reference, no missing glyph, no ``??``, and every page
rendered with ink on it. (What no machine checks, a person reads: the closing notes list the
pages looked at.)"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from derive import source
from derive.gallery import DOCUMENTS, ENGINES, gallery_files

REQUIRED = os.environ.get("DERIVE_REQUIRE_LATEX") == "1"
CASES = [(model.stem, suffix, lang) for model in source.builtin_models() for suffix, _, lang in DOCUMENTS]


def _tool(name):
    if shutil.which(name) is None:
        if REQUIRED:
            pytest.fail(f"{name} is not installed but DERIVE_REQUIRE_LATEX=1")
        pytest.skip(f"{name} is not installed")
    return name


def problems_in_log(log: str) -> list[str]:
    """What a log says is wrong with the pages: errors, boxes, undefined macros and references,
    glyphs the font lacks."""
    found = [line for line in log.splitlines() if line.startswith("!")]
    found += [f"overfull {v}pt" for v in re.findall(r"Overfull \\[hv]box \(([\d.]+)pt too", log) if float(v) > 1]
    found += re.findall(r"Underfull \\[hv]box \(badness \d+\)[^\n]*", log)
    found += re.findall(r"LaTeX Warning: (?:Reference|Citation)[^\n]*undefined[^\n]*", log)
    found += re.findall(r"Missing character: [^\n]*", log)
    return found


def test_the_log_reader_sees_each_kind_of_problem():
    log = ("Overfull \\hbox (3.5pt too wide) in paragraph\nOverfull \\hbox (0.4pt too wide) detected\n"
           "Underfull \\hbox (badness 2012) in paragraph at lines 91--92\n! Undefined control sequence.\n"
           "LaTeX Warning: Reference `eq:1' on page 2 undefined on input line 40.\n"
           "Missing character: There is no 语 in font cmr10!\n")
    assert len(problems_in_log(log)) == 5
    assert problems_in_log("Output written on doc.pdf (3 pages).\n") == []


@pytest.mark.parametrize("stem,suffix,lang", CASES)
def test_every_page_of_every_preset_document(tmp_path, stem, suffix, lang):
    engine = _tool(ENGINES[lang])
    _tool("pdftoppm")
    from PIL import Image

    model = next(m for m in source.builtin_models() if m.stem == stem)
    name = f"{stem}{suffix}"
    (tmp_path / f"{name}.tex").write_text(gallery_files(model)[f"{name}.tex"], encoding="utf-8")
    done = subprocess.run([engine, "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    log = (tmp_path / f"{name}.log").read_text(encoding="latin-1")
    assert done.returncode == 0, problems_in_log(log)[:5]
    assert problems_in_log(log) == []
    pages = int(re.search(r"Output written on .*?\((\d+) pages?", log.replace("\n", "")).group(1))
    text = subprocess.run(["pdftotext", f"{name}.pdf", "-"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120).stdout
    assert "??" not in text
    subprocess.run(["pdftoppm", "-png", "-r", "40", f"{name}.pdf", "page"], cwd=tmp_path, check=True, timeout=300)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == pages
    for image in images:
        ink = np.asarray(Image.open(image).convert("L")) < 200
        assert ink.sum() > 100, image.name  # a page with something on it
