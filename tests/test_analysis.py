"""derive analyze: the numbers against numpy.linalg and torch.autograd.functional.jacobian of the
unrolled network (written here in torch, not by derive), the bound on random weights and
activations, the primitives' sup |f'|, and the command line (files, JSON, plot, refusals)."""

from __future__ import annotations

import io
import json

import numpy
import pytest
from sympy import Symbol, lambdify

from derive import presets
from derive.analysis import AnalysisError, analyze
from derive.analysis.measure import Series, by_rate, judge
from derive.cli import main
from derive.primitives import REGISTRY

try:  # the PyTorch oracle; the other tests here need only NumPy
    import torch
except ImportError:  # pragma: no cover - CI installs it
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def preset(name):
    return presets.PRESETS[name]


# ---------------------------------------------------------------- the primitives' bounds


@pytest.mark.parametrize("cls", REGISTRY, ids=lambda c: c.__name__)
def test_derivative_sup_bounds_and_is_attained(cls):
    x = Symbol("x")
    node = cls(x) if not cls.parameters else cls(x, *cls.defaults)
    bound = node.derivative_bound()
    if bound is None:  # exp and log: f' is unbounded
        assert cls.__name__ in ("Exp", "Log")
        return
    derivative = lambdify(x, cls.derivative(x, cls.scalar(x, *node.constants), *node.constants), "numpy")
    grid = numpy.linspace(-12, 12, 480_001)
    grid = grid[grid != 0]  # ReLU's kink
    values = numpy.abs(numpy.asarray(derivative(grid), dtype=float) * numpy.ones_like(grid))
    assert values.max() <= float(bound) + 1e-12
    assert values.max() >= float(bound) - 1e-4  # the bound is the sup, not a loose one


# ---------------------------------------------------------------- numbers against independent oracles


def test_eigendecomposition_and_powers_against_numpy_linalg():
    result = analyze(preset("rnn-softmax"), {"n": "6"}, steps=40, seed=3, scale=1.3)
    w = result.params["W"]
    (e,) = result.numbers.eigen
    assert numpy.allclose(numpy.sort_complex(e.eigenvalues), numpy.sort_complex(numpy.linalg.eigvals(w)))
    assert e.radius == pytest.approx(max(abs(numpy.linalg.eigvals(w))))
    assert e.norm == pytest.approx(numpy.linalg.svd(w, compute_uv=False)[0])
    rebuilt = e.vectors @ numpy.diag(e.eigenvalues**40) @ numpy.linalg.inv(e.vectors)
    assert numpy.allclose(rebuilt.real, numpy.linalg.matrix_power(w, 40), atol=1e-12)
    assert e.power_error < 1e-10
    powers = [numpy.linalg.norm(numpy.linalg.matrix_power(w, j), 2) for j in range(1, 41)]
    assert numpy.allclose(result.numbers.power.norms, powers)


def _cell(name, p):
    """One step of the preset, written in torch from its published equations."""
    t = {key: torch.tensor(v) for key, v in p.items()}
    if name in ("rnn-softmax", "rnn-binary"):
        act = torch.sigmoid if name == "rnn-softmax" else torch.relu
        return lambda h, x: act(t["U"] @ x + t["W"] @ h + t["b"])
    if name == "gru":
        def gru(h, x):
            r = torch.sigmoid(t["W_xr"] @ x + t["W_hr"] @ h + t["b_r"])
            z = torch.sigmoid(t["W_xz"] @ x + t["W_hz"] @ h + t["b_z"])
            candidate = torch.tanh(t["W_xh"] @ x + t["W_hh"] @ (r * h) + t["b_h"])
            return z * h + (1 - z) * candidate
        return gru
    if name == "lstm":
        def lstm(state, x):
            n = state.shape[0] // 2
            h, c = state[:n], state[n:]
            hx = torch.cat([h, x])
            f = torch.sigmoid(t["W_f"] @ hx + t["b_f"])
            i = torch.sigmoid(t["W_i"] @ hx + t["b_i"])
            candidate = torch.tanh(t["W_C"] @ hx + t["b_C"])
            o = torch.sigmoid(t["W_o"] @ hx + t["b_o"])
            c = f * c + i * candidate
            return torch.cat([o * torch.tanh(c), c])
        return lstm
    raise KeyError(name)


@needs_torch
@pytest.mark.parametrize("name", ["rnn-softmax", "rnn-binary", "gru", "lstm"])
def test_measured_jacobians_against_torch_autograd(name):
    steps = 12
    result = analyze(preset(name), {"n": "4", "d": "3"}, steps=steps, seed=7, scale=1.5)
    step = _cell(name, result.params)
    xs = {tt: torch.tensor(v) for tt, v in result.data["x"].items()}
    width = sum(int(s.shape[0].subs(Symbol("n", integer=True, positive=True), 4)) for s in result.numeric.states)
    states = {0: torch.zeros(width, 1, dtype=torch.float64)}
    for tt in range(1, steps + 1):
        states[tt] = step(states[tt - 1], xs[tt])
    for kk in range(steps):
        def unrolled(s, kk=kk):
            for tt in range(kk + 1, steps + 1):
                s = step(s, xs[tt])
            return s

        jac = torch.autograd.functional.jacobian(unrolled, states[kk]).reshape(width, width).numpy()
        assert numpy.allclose(result.numbers.products[kk], jac, rtol=1e-9, atol=1e-13), (name, kk)
        assert result.numbers.measured.norms[steps - kk - 1] == pytest.approx(numpy.linalg.norm(jac, 2), rel=1e-9)


def test_lstm_cell_path_is_the_product_of_forget_gates():
    result = analyze(preset("lstm"), {}, steps=20, seed=1)
    n = 3
    hx = numpy.zeros((n, 1))
    c = numpy.zeros((n, 1))
    p = result.params
    sig = lambda a: 1 / (1 + numpy.exp(-a))  # noqa: E731
    gates = {}
    for tt in range(1, 21):
        z = numpy.vstack([hx, result.data["x"][tt]])
        f, i = sig(p["W_f"] @ z + p["b_f"]), sig(p["W_i"] @ z + p["b_i"])
        o, cand = sig(p["W_o"] @ z + p["b_o"]), numpy.tanh(p["W_C"] @ z + p["b_C"])
        c = f * c + i * cand
        hx = o * numpy.tanh(c)
        gates[tt] = f.ravel()
    (cell,) = result.numbers.cells
    for j in range(1, 21):
        assert cell.norms[j - 1] == pytest.approx(numpy.prod([gates[tt] for tt in range(21 - j, 21)], axis=0).max())
    assert cell.verdict == "vanishing"  # σ < 1 strictly: without f = 1 the cell path decays


ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "gelu", "silu", "identity"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_bound_holds_on_every_sampled_trajectory(activation):
    rng = numpy.random.default_rng(11)
    for trial in range(6):
        scale = float(rng.uniform(0.3, 3.0))
        result = analyze(preset("rnn-softmax"), {"activation": activation, "n": str(2 + trial)}, steps=30,
                         seed=trial, scale=scale)
        numbers = result.numbers
        assert numbers.bound is not None
        measured, bound = numpy.array(numbers.measured.norms), numpy.array(numbers.bound.norms)
        assert numpy.all(measured <= bound * (1 + 1e-9) + 1e-300), (activation, trial)
        assert numpy.all(numpy.array(numbers.step_norms) <= numbers.gamma * numbers.eigen[0].norm * (1 + 1e-9))


def test_verdicts():
    assert judge(Series("s", [0.5**j for j in range(1, 41)])).verdict == "vanishing"
    assert judge(Series("s", [0.5**j for j in range(1, 41)])).rate == pytest.approx(0.5)
    assert judge(Series("s", [1.5**j for j in range(1, 41)])).verdict == "exploding"
    assert judge(Series("s", [1.005**j for j in range(1, 41)])).verdict == "neither"
    assert judge(Series("s", [0.9**j for j in range(1, 31)])).verdict == "vanishing"  # W^30 of seed 003
    assert judge(Series("s", [1.009**j for j in range(1, 5001)])).verdict == "exploding"  # slow, over a long horizon
    assert judge(Series("s", [0.995**j for j in range(1, 201)])).verdict == "neither"  # ×0.6 over the last half
    assert judge(Series("s", [2.0, 4.0, 8.0])).verdict == "no conclusion"  # too few steps
    assert judge(Series("s", [1.0, float("nan"), 2.0])).verdict == "no conclusion"
    assert by_rate(Series("s", [1.5**j for j in range(1, 41)]), 1.5, True).verdict == "no conclusion"
    assert by_rate(Series("s", [0.5**j for j in range(1, 41)]), 0.5, True).verdict == "vanishing"
    assert by_rate(Series("s", []), 1.0, False).verdict == "neither"
    zero = judge(Series("s", [0.5, 0.0, 0.0, 0.0]))
    assert (zero.verdict, zero.note) == ("vanishing", "0 from T − k = 2")


def test_scale_moves_the_verdict():
    small = analyze(preset("rnn-softmax"), {"activation": "tanh", "n": "16"}, steps=100, scale=0.3).numbers
    large = analyze(preset("rnn-softmax"), {"activation": "identity", "n": "16"}, steps=100, scale=1.5).numbers
    assert small.measured.verdict == "vanishing" and small.bound.verdict == "vanishing"
    assert large.measured.verdict == "exploding" and large.power.verdict == "exploding"
    assert large.bound.verdict == "no conclusion"


def test_given_weights_set_the_sizes(tmp_path):
    w = numpy.array([[0.58, 0.24], [0.24, 0.72]])  # seed 003's matrix: eigenvalues 0.9 and 0.4
    path = tmp_path / "w.npz"
    numpy.savez(path, W=w)
    result = analyze(preset("rnn-softmax"), {"activation": "identity"}, steps=30, weights_path=str(path))
    assert result.numbers.sizes["n"] == 2 and result.drawn == ["U", "b", "V", "c"]
    (e,) = result.numbers.eigen
    assert sorted(e.eigenvalues.real) == pytest.approx([0.4, 0.9])
    assert numpy.allclose(numpy.linalg.matrix_power(w, 30), [[0.015260, 0.020348], [0.020348, 0.027130]], atol=1e-6)
    # with the identity the Jacobian is W itself: the measured norms are the pure power's
    assert result.numbers.measured.norms == pytest.approx(result.numbers.power.norms)
    assert result.numbers.measured.verdict == "vanishing"


def test_refusals(tmp_path):
    with pytest.raises(AnalysisError, match="carries no state forward"):
        analyze(preset("mlp-l2"), {}, steps=10)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(AnalysisError, match="not an .npz"):
        analyze(preset("rnn-softmax"), {}, steps=10, weights_path=str(bad))
    wrong = tmp_path / "wrong.npz"
    numpy.savez(wrong, W=numpy.eye(3), U=numpy.ones((4, 2)))
    with pytest.raises(AnalysisError, match="the weights disagree on n: W gives 3, U gives 4"):
        analyze(preset("rnn-softmax"), {}, steps=10, weights_path=str(wrong))
    numpy.savez(wrong, W=numpy.eye(3), U=numpy.ones((3, 5)))
    with pytest.raises(AnalysisError, match="U is 3×5 in the weights, but the model's U is n×d = 3×2"):
        analyze(preset("rnn-softmax"), {"d": "2"}, steps=10, weights_path=str(wrong))
    other = tmp_path / "other.npz"
    numpy.savez(other, Q=numpy.eye(3))
    with pytest.raises(AnalysisError, match="'Q', which is not a parameter"):
        analyze(preset("rnn-softmax"), {}, steps=10, weights_path=str(other))
    pickled = tmp_path / "pickled.npz"
    numpy.savez(pickled, W=numpy.array([{"a": 1}], dtype=object))
    with pytest.raises(AnalysisError, match="not an .npz of arrays"):
        analyze(preset("rnn-softmax"), {}, steps=10, weights_path=str(pickled))
    with pytest.raises(AnalysisError, match="too much work"):
        analyze(preset("rnn-softmax"), {"n": "4000"}, steps=5000)


# ---------------------------------------------------------------- the command line


def test_cli_writes_a_deterministic_plot_and_the_json(tmp_path, capsys):
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        assert main(["analyze", "rnn-softmax", "--set", "n=5", "--T", "60", "-o", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "measured ‖∂h_T/∂hₖ‖: vanishing" in out and "wrote" in out
    png = (first / "rnn-softmax-analysis.png").read_bytes()
    assert png == (second / "rnn-softmax-analysis.png").read_bytes()
    import matplotlib.image

    image = matplotlib.image.imread(io.BytesIO(png), format="png")
    assert image.shape[0] > 100 and image.shape[1] > 100
    data = json.loads((first / "rnn-softmax-analysis.json").read_text())
    assert data["distances"] == list(range(1, 61)) and len(data["measured"]["norms"]) == 60
    assert data["bound"]["gamma"] == "1/4" and data["matrices"][0]["name"] == "W"


def test_cli_json_and_refusals(capsys):
    assert main(["analyze", "lstm", "--T", "20", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["bound"] is None and data["cell_paths"][0]["verdict"] in ("vanishing", "neither")
    assert main(["analyze", "mlp-l2"]) == 2
    assert "carries no state forward" in capsys.readouterr().err
    assert main(["analyze", "rnn-softmax", "--weights", "missing.npz"]) == 2
    assert "no such weights file" in capsys.readouterr().err
    assert main(["analyze", "rnn-softmax", "--T", "6000"]) == 2
    assert main(["analyze", "rnn-softmax", "-o", ""]) == 2


def test_latex_analysis_section_compiles(tmp_path, capsys):
    import shutil
    import subprocess

    tex = tmp_path / "rnn.tex"
    assert main(["latex", "rnn-softmax", "--analysis", "-o", str(tex)]) == 0
    source = tex.read_text()
    assert r"\section{Vanishing and exploding gradients}" in source
    assert r"\includegraphics[width=0.8\linewidth]{rnn-analysis.png}" in source and r"\usepackage{graphicx}" in source
    assert r"\left(\gamma \lVert W \rVert_2\right)^{t-k}" in source and r"\gamma = \frac{1}{4}" in source
    assert (tmp_path / "rnn-analysis.png").read_bytes().startswith(b"\x89PNG")
    assert main(["latex", "lstm", "--analysis", "--lang", "zh", "-o", str(tmp_path / "lstm.tex")]) == 0
    assert "细胞路径" in (tmp_path / "lstm.tex").read_text()
    assert main(["latex", "rnn-softmax", "--weights", "w.npz", "-o", str(tmp_path / "x.tex")]) == 2
    assert "--weights goes with --analysis" in capsys.readouterr().err
    if shutil.which("pdflatex"):
        run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout[-2000:]
        assert "Overfull" not in (tmp_path / "rnn.log").read_text()


def test_review_findings(tmp_path, capsys):
    # the identity has no diagonal factor: the bound is ‖W^(t−k)‖ ≤ ‖W‖^(t−k), not a γ of W's entries
    assert main(["analyze", "rnn-softmax", "--set", "activation=identity", "--T", "5"]) == 0
    out = capsys.readouterr().out
    assert "‖∂hₜ/∂hₖ‖ = ‖W^(t−k)‖ ≤ ‖W‖^(t−k)" in out and "a bound of every entry of W" not in out
    # a leaky ReLU steeper than 1 is another function: refused, not derived wrongly
    from derive import ops
    from derive.network import Network

    net = Network("leaky", dict(n=2), sequential=False)
    (n,) = net.sizes("n")
    with pytest.raises(TypeError, match="slope must be at most 1"):
        ops.leaky_relu(net.param("W", n, n) @ net.input("x", n), slope=2)
    # W = 1e200 I overflows: no SVD of a NaN matrix, a clean report
    big = tmp_path / "big.npz"
    numpy.savez(big, W=1e200 * numpy.eye(2))
    assert main(["analyze", "rnn-softmax", "--weights", str(big), "--T", "5"]) == 0
    capsys.readouterr()
    # a 1×1 recurrent W is a weight: --scale reaches it
    result = analyze(preset("rnn-softmax"), {"n": "1"}, steps=10, scale=100.0)
    assert result.numbers.eigen[0].norm > 5
    # a σ saturated to σ' = 0 in floating point, a dead ReLU step, and an underflow are told apart
    assert "dead or saturated" in result.numbers.measured.note
    dead = analyze(preset("rnn-binary"), {}, steps=30).numbers.measured
    assert dead.note.startswith("exactly 0 from") and "dead or saturated" in dead.note
    tiny = analyze(preset("rnn-softmax"), {}, steps=1000, scale=0.5).numbers.measured
    assert tiny.note == "below the smallest float from T − k = 328 (underflow)" and tiny.verdict == "vanishing"
    # T = 0 is refused; one step gives no rate, the pure power is judged by ρ
    assert main(["analyze", "rnn-softmax", "--set", "T=0"]) == 2
    capsys.readouterr()
    short = analyze(preset("rnn-softmax"), {}, steps=1).numbers
    assert short.measured.verdict == "no conclusion" and short.power.rate == pytest.approx(short.eigen[0].radius)
    # -o is all or nothing, and files get the umask's mode
    folder = tmp_path / "o"
    (folder / "rnn-softmax-analysis.json").mkdir(parents=True)
    assert main(["analyze", "rnn-softmax", "--T", "10", "-o", str(folder)]) == 2
    assert not (folder / "rnn-softmax-analysis.png").exists()
    capsys.readouterr()
    import os

    mask = os.umask(0o022)
    try:
        assert main(["analyze", "rnn-softmax", "--T", "10", "-o", str(tmp_path / "m")]) == 0
    finally:
        os.umask(mask)
    assert (tmp_path / "m" / "rnn-softmax-analysis.png").stat().st_mode & 0o777 == 0o644
