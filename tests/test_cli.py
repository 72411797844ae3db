"""The command line contract: list, show, and one clear line with exit code 2 on bad input."""

import subprocess
import sys
from pathlib import Path

import pytest

from derive import presets
from derive.cli import main


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_names_every_preset_with_its_seed_and_forward(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    lines = out.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(presets.PRESETS)
    binary = next(line for line in lines if line.startswith("rnn-binary"))
    assert "001" in binary and "ReLU(aₜ)" in binary and "σ(z)" in binary


@pytest.mark.parametrize("preset", list(presets.PRESETS))
@pytest.mark.parametrize("layout", ["denominator", "numerator"])
def test_show_prints_every_section(capsys, preset, layout):
    code, out, err = run(capsys, "show", preset, "--layout", layout)
    assert code == 0 and err == ""
    for title in ("Forward", "Chain-rule steps", "Adjoints", "Gradients"):
        assert title in out
    if preset.startswith("rnn"):
        for title in ("Adjoint recurrence", "Jacobians", "Backprop through time"):
            assert title in out


def test_show_aligns_the_equals_signs_of_a_section(capsys):
    _, out, _ = run(capsys, "show", "rnn-softmax")
    section = out.split("Gradients\n")[1].split("\n\n")[0].splitlines()
    assert len({line.index(" = ") for line in section}) == 1


def test_show_reproduces_seed_001_in_numerator_layout(capsys):
    """Seed 001's answers, recognisably in the same form."""
    _, out, _ = run(capsys, "show", "rnn-binary", "--layout", "numerator")
    assert "∂L/∂y_pred = −(y_gt/y_pred − (1 − y_gt)/(1 − y_pred))" in out
    assert "∂L/∂d = y_pred − y_gt" in out
    assert "∂L/∂V = (y_pred − y_gt) h_Tᵀ" in out
    assert "∂L/∂h_T = (y_pred − y_gt) V" in out
    assert "∂L/∂hₜ  = (y_pred − y_gt) V (Π[i=T↓t+1] diag(𝕀(aᵢ > 0)) W)" in out
    assert "∂L/∂W = Σ[t=1..T] ∂L/∂hₜ diag(𝕀(aₜ > 0)) (Iₙ ⊗ hₜ₋₁ᵀ)" in out


def test_show_takes_options_sizes_and_T(capsys):
    code, out, _ = run(capsys, "show", "rnn-softmax", "--T", "7", "--set", "activation=tanh", "--set", "n=5")
    assert code == 0
    assert "tanh'(aₜ)" in out and "n=5" in out and "T = 7 (28 terms" in out


def test_large_T_shows_first_and_last_terms(capsys):
    _, out, _ = run(capsys, "show", "rnn-softmax", "--T", "100")
    assert "5045 more terms" in out and "(t=100, k=100)" in out and "(t=50, k=3)" not in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["show", "rnn-nope"], "unknown preset 'rnn-nope'"),
        (["show", "rnn-softmax", "--set", "activation=swish"], "activation must be one of"),
        (["show", "rnn-softmax", "--set", "colour=red"], "no option, size or constant 'colour'"),
        (["show", "rnn-softmax", "--set", "n=zero"], "size n must be a whole number"),
        (["show", "rnn-softmax", "--set", "n=0"], "between 1 and 100000"),
        (["show", "rnn-softmax", "--set", "activation"], "--set takes option=value"),
        (["show", "rnn-softmax", "--set", "loss=bce"], "loss=bce needs output=sigmoid"),
        (["show", "rnn-softmax", "--T", "0"], "--T"),
        (["show", "rnn-softmax", "--layout", "sideways"], "--layout"),
        (["nonsense"], "No such command"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and message in err
    assert "Traceback" not in err


def test_module_and_console_script_run():
    script = str(Path(sys.executable).parent / "derive")
    for cmd in ([sys.executable, "-m", "derive", "list"], [script, "list"]):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "rnn-softmax" in done.stdout

    bad = subprocess.run([sys.executable, "-m", "derive", "show", "nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_no_arguments_print_the_usage_and_version_prints_the_version(capsys):
    code, out, err = run(capsys)
    assert code == 0 and err == "" and out.startswith("Usage: derive") and "check" in out and "\\x0a" not in out
    code, out, _ = run(capsys, "--version")
    from importlib.metadata import version

    assert code == 0 and out.strip() == f"derive {version('derive')}"
