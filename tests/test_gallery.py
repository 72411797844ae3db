"""The committed gallery in outputs/ is what `derive build` writes today."""

from pathlib import Path

import pytest

from derive import presets
from derive.gallery import gallery_files

OUTPUTS = Path(__file__).resolve().parents[1] / "outputs"


@pytest.mark.parametrize("preset", list(presets.PRESETS))
def test_committed_gallery_is_current(preset):
    for name, content in gallery_files(presets.get(preset)).items():
        path = OUTPUTS / preset / name
        assert path.exists(), f"{path} is missing: run `derive build`"
        assert path.read_text(encoding="utf-8") == content, f"{path} is stale: run `derive build`"


def test_build_writes_every_file(tmp_path):
    from derive.cli import main

    assert main(["build", "--out", str(tmp_path), "--no-pdf"]) == 0
    for preset in presets.PRESETS:
        assert {p.name for p in (tmp_path / preset).iterdir()} == set(gallery_files(presets.get(preset)))
