"""Issue 20: no internal error reaches a user dressed as a verdict — each input below once gave
`unchecked: derive could not check it (KeyError | AttributeError | MemoryError)`."""

from __future__ import annotations

import pytest

from derive import presets
from derive.check.judge import Checker
from derive.check.reader import claims_in_math


def verdict(model, latex):
    checker = Checker(presets.PRESETS[model], "auto", {}, {})
    (claim,) = claims_in_math(latex, 1)[0]
    return checker.check(claim)


@pytest.mark.parametrize("model, latex, verdict_, reason", [
    # the sum's t is bound inside it only; h_t's t is still t after it (was KeyError 't')
    ("rnn-softmax", r"\frac{\partial L}{\partial h_t} = \sum_{t=1}^{T} \hat{y}_t - y_t", "incorrect", "2×1"),
    # λ is a constant of mlp-l2: there is no gradient to compare with (was AttributeError)
    ("mlp-l2", r"\frac{\partial J}{\partial \lambda} = 1", "unchecked", "λ is a constant of the model"),
    # ℓ(o, y) on the right is the loss, a number (was AttributeError: Evaluator._tuple)
    ("rnn-d2l", r"\frac{\partial L}{\partial o_t} = \ell(o_t, y_t)", "unchecked", "the loss itself"),
    # an identity larger than anything (was MemoryError after minutes)
    ("rnn-softmax", r"\frac{\partial L}{\partial c} = I_{99999} c", "unchecked", "larger than any matrix"),
])
def test_once_internal_errors(model, latex, verdict_, reason):
    found = verdict(model, latex)
    assert found.verdict == verdict_ and reason in found.reason, found.reason
    assert "could not check it" not in found.reason


# ---------------------------------------------------------------- sizes a user may set


def test_show_and_latex_at_the_largest_T_cost_what_a_small_T_does(tmp_path, capsys):
    """T(T+1)/2 pairs were listed to show five of them: --T 100000 reached 23.7 GB."""
    import resource

    from derive.cli import main

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert main(["show", "rnn-softmax", "--T", "100000"]) == 0
    out = capsys.readouterr().out
    assert "(5000050000 terms per parameter)" in out and "(t=100000, k=100000)" in out
    assert main(["latex", "rnn-softmax", "--T", "100000", "-o", str(tmp_path / "a.tex")]) == 0
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 500_000


def test_a_large_convolution_document_gives_the_general_form(tmp_path, capsys):
    """conv-dense at size=300 took 84 s to write sums of which it shows five terms."""
    import time

    from derive.cli import main

    start = time.monotonic()
    assert main(["latex", "conv-dense", "--set", "size=300", "-o", str(tmp_path / "c.tex")]) == 0
    assert time.monotonic() - start < 30
    assert "not written out entry by entry" in (tmp_path / "c.tex").read_text()


# ---------------------------------------------------------------- files a user names


@pytest.mark.parametrize("make, message", [
    ("fifo", "not a regular file"),
    ("zero", "not a regular file"),
    ("huge", "larger than"),
])
def test_answer_and_model_files_are_read_within_limits(tmp_path, capsys, make, message):
    import os

    from derive.cli import main

    path = tmp_path / "a.md"
    if make == "fifo":
        os.mkfifo(path)
    elif make == "zero":
        path = "/dev/zero"
    else:
        path.write_bytes(b"a" * 8_000_001)
    assert main(["check", str(path), "--model", "rnn-softmax"]) == 2
    assert message in capsys.readouterr().err
    model = tmp_path / "m.md"
    if make == "fifo":
        os.mkfifo(model)
        assert main(["show", str(model)]) == 2
        assert message in capsys.readouterr().err


def test_front_matter_numbers_and_nesting(tmp_path, capsys):
    from derive.cli import main

    digits = tmp_path / "d.md"
    digits.write_text("---\nmodel: " + "9" * 5000 + "\n---\n$$\\frac{\\partial L}{\\partial c} = 1$$\n")
    assert main(["check", str(digits)]) == 2
    assert "cannot be read" in capsys.readouterr().err
    deep = tmp_path / "n.md"
    deep.write_text("---\nx: " + "[" * 10000 + "]" * 10000 + "\n---\n$$x$$\n")
    assert main(["check", str(deep)]) == 2
    assert "nested too deeply" in capsys.readouterr().err


# ---------------------------------------------------------------- writing outputs


@pytest.mark.parametrize("target, message", [
    ("", "takes a file name"),
    ("dir/", "takes a file name"),
    ("a" * 300 + ".tex", "cannot write"),
    ("link.tex", "symbolic link"),
    ("/dev/null", "not a regular file"),  # as root, a device was replaced by a regular file
])
def test_outputs_are_written_carefully(tmp_path, capsys, monkeypatch, target, message):
    from derive.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere.tex").write_text("keep")
    (tmp_path / "link.tex").symlink_to(tmp_path / "elsewhere.tex")
    assert main(["latex", "rnn-softmax", "-o", target]) == 2
    err = capsys.readouterr().err
    assert message in err and "internal error" not in err
    assert (tmp_path / "elsewhere.tex").read_text() == "keep"
    assert not (tmp_path / "outputs").exists() and not list(tmp_path.glob(".*.tmp"))


def test_an_interrupted_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    import os

    from derive import output

    def interrupted(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        output.write_atomic(tmp_path / "a.txt", "text")
    assert list(tmp_path.iterdir()) == []


def test_written_files_follow_the_umask(tmp_path):
    import os

    from derive import output

    mask = os.umask(0o027)
    try:
        output.write_atomic(tmp_path / "a.txt", "text")
    finally:
        os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640


def test_no_escape_code_reaches_the_terminal(tmp_path, capsys):
    from derive.cli import main

    answer = tmp_path / "a.md"
    answer.write_text("$$\\frac{\\partial L}{\\partial \x1b]0;pwned\x07c} = \x1b[2J 1$$\n", encoding="utf-8")
    main(["check", str(answer), "--model", "rnn-softmax"])
    captured = capsys.readouterr()
    for text in (captured.out, captured.err):
        assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b]0;pwned\\x07" in captured.out
    assert main(["check", str(answer), "--model", "rnn-softmax", "--json"]) in (0, 1)
    assert "\x1b" not in capsys.readouterr().out  # JSON escapes it too


# ---------------------------------------------------------------- the work one file may make


@pytest.mark.parametrize("latex, reason", [
    # nested sums multiplied the 10 000-term limit of one sum (ran past 120 s)
    (r"\frac{\partial L}{\partial c} = \sum_{a=1}^{9999}\sum_{b=1}^{9999}\sum_{c=1}^{9999} d", "terms in all"),
    # twelve W's under ⊗ reached 7.6 GB
    (r"\frac{\partial L}{\partial W} = " + r" \otimes ".join(["W"] * 12), "Kronecker product"),
])
def test_one_claim_makes_bounded_work(latex, reason):
    import time

    start = time.monotonic()
    found = verdict("rnn-softmax", latex)
    assert found.verdict == "unchecked" and reason in found.reason
    assert time.monotonic() - start < 20


def test_a_file_has_a_time_budget(tmp_path, monkeypatch):
    from derive.check import run

    monkeypatch.setattr(run, "FILE_SECONDS", 0.0)
    answer = tmp_path / "a.md"
    answer.write_text("---\nmodel: rnn-softmax\n---\n$$\\frac{\\partial L}{\\partial c} = 1$$\n")
    _, verdicts = run.check_answers(str(answer), None, None, ())
    assert [v.verdict for v in verdicts] == ["unchecked"] and "time budget" in verdicts[0].reason


def test_build_is_all_or_nothing(tmp_path, monkeypatch):
    from derive import gallery
    from derive.cli import main
    from derive.output import OutputError

    written = []
    real = gallery.write_atomic

    def full_disk(path, text):
        if len(written) == 9:
            raise OutputError(f"cannot write {path}: No space left on device")
        written.append(path)
        return real(path, text)

    monkeypatch.setattr(gallery, "write_atomic", full_disk)
    out = tmp_path / "gallery"
    assert main(["build", "--out", str(out), "--no-pdf"]) == 2
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == []  # nothing half-built, no staging left


# ---------------------------------------------------------------- generated modules check what they are given


def _module(name):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "outputs" / name / f"{name}_grad.py"
    spec = importlib.util.spec_from_file_location(f"checked_{name.replace('-', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fails(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_generated_modules_refuse_what_would_compute_garbage():
    import numpy as np

    rng = np.random.default_rng(0)
    conv = _module("conv-dense")
    p = conv.init_params()
    for cols in (15, 17):  # once accepted: a 15- or 17-column image
        _fails(lambda cols=cols: conv.forward(p, {"z_0": rng.normal(size=(2, cols))}), r"inputs\['z_0'\] has shape")
    _fails(lambda: conv.forward({**p, "w_1": rng.normal(size=(3, 4))}, {"z_0": rng.normal(size=(2, 16))}),
           r"params\['w_1'\] has shape \(3, 4\); expected \(3, 3\)")
    lstm = _module("lstm")
    p = lstm.init_params()
    _fails(lambda: lstm.forward({**p, "W_f": rng.normal(size=(3, 6))}, {"x": rng.normal(size=(4, 2, 2))}),
           r"params\['W_f'\] has shape \(3, 6\); expected \(3, 5\)")
    mlp = _module("mlp-l2")
    _fails(lambda: mlp.forward(mlp.init_params(), {"x": rng.normal(size=(1, 2, 2))}), "has 3 axes")
    rnn = _module("rnn-softmax")
    p = rnn.init_params(n=2)  # B = n: a bias given (n, 1) would broadcast silently
    x, y = rng.normal(size=(3, 2, 2)), rng.integers(0, 2, (3, 2))
    _fails(lambda: rnn.gradients({**p, "b": p["b"][:, None]}, {"x": x}, {"y": y}), r"params\['b'\] has 2 axes")
    x_nan = x.copy()
    x_nan[0, 0, 0] = np.nan
    _fails(lambda: rnn.gradients(p, {"x": x_nan}, {"y": y}), "NaN or inf")
    assert np.isnan(rnn.gradients(p, {"x": x_nan}, {"y": y}, check_finite=False)[0])
    for dtype in (np.float16, np.complex128, np.int64):
        _fails(lambda dtype=dtype: rnn.forward(p, {"x": x.astype(dtype)}), "float32 or float64")
    _fails(lambda: rnn.forward(p, {"x": x[:0]}), "T and B must be at least 1")
    _fails(lambda: rnn.gradients(p, {"x": x}, {"y": y + 2}), r"a class outside \[0, 2\)")
    binary = _module("rnn-binary")
    p = binary.init_params()
    for label in (2.0, -1.0, 0.5):
        _fails(lambda label=label: binary.gradients(p, {"x": rng.normal(size=(3, 2, 2))},
                                                   {"y_gt": np.full((2,), label)}), "other than 0 and 1")
    loss, _ = binary.gradients(p, {"x": rng.normal(size=(3, 2, 2))}, {"y_gt": np.array([0.0, 1.0])})
    assert np.isfinite(loss)



def test_from_a_second_reader(tmp_path, capsys):
    """CRLF files read as any other; build into a folder on another file system (a link);
    a generated module refuses keys it does not read and gradients without targets."""
    import os
    from pathlib import Path

    from derive.cli import main

    problem = tmp_path / "crlf.md"
    source = Path(__file__).resolve().parents[1] / "examples" / "problems" / "lstm.md"
    problem.write_bytes(source.read_bytes().replace(b"\n", b"\r\n"))
    assert main(["show", str(problem)]) == 0
    capsys.readouterr()
    target = tmp_path / "real"
    target.mkdir()
    (tmp_path / "link").symlink_to(target)
    assert main(["build", "--out", str(tmp_path / "link"), "--no-pdf"]) == 0
    assert (target / "lstm" / "lstm.txt").exists() and not [p for p in os.listdir(target) if p.startswith(".")]
    rnn = _module("rnn-softmax")
    p = rnn.init_params()
    import numpy as np

    x = np.zeros((3, 2, 2))
    _fails(lambda: rnn.forward(p, {"x": x, "h0": np.zeros((2, 3))}), "'h0', which this model does not read")
    _fails(lambda: rnn.gradients(p, {"x": x}, None), "needs the targets")
