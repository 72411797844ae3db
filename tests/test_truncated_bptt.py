"""Truncated BPTT with a generated module (issue 18): rnn-softmax and the LSTM trained over a
10 000-character text in chunks of 50 steps, each chunk starting from the state the last one
ended in, match a PyTorch run of the same cells (written here from their equations) on the same
chunks to 1e-10 in the loss of every chunk."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from derive import presets
from derive.codegen.numpy_module import numpy_module

try:  # the PyTorch oracle; the other tests here need only NumPy
    import torch
except ImportError:  # pragma: no cover - CI installs it
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")

VOCAB, HIDDEN, CHUNK, LENGTH, RATE = 12, 16, 50, 10_000, 0.05


def module(name, tmp_path):
    path = tmp_path / f"{name.replace('-', '_')}_grad.py"
    path.write_text(numpy_module(presets.PRESETS[name], {}))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def text(seed=0):
    """A Markov chain over VOCAB symbols: something to learn, the same every run."""
    rng = np.random.default_rng(seed)
    moves = rng.dirichlet(np.full(VOCAB, 0.3), size=VOCAB)
    out = [0]
    for _ in range(LENGTH):
        out.append(rng.choice(VOCAB, p=moves[out[-1]]))
    return np.array(out)


def torch_step(name, p, state, x):
    if name == "rnn-softmax":
        (h,) = state
        h = torch.sigmoid(p["U"] @ x + p["W"] @ h + p["b"])
        return (h,), p["V"] @ h + p["c"]
    h, c = state
    hx = torch.cat([h, x])
    f, i = torch.sigmoid(p["W_f"] @ hx + p["b_f"]), torch.sigmoid(p["W_i"] @ hx + p["b_i"])
    o, cand = torch.sigmoid(p["W_o"] @ hx + p["b_o"]), torch.tanh(p["W_C"] @ hx + p["b_C"])
    c = f * c + i * cand
    h = o * torch.tanh(c)
    return (h, c), p["V"] @ h + p["c"]


@needs_torch
@pytest.mark.parametrize("name", ["rnn-softmax", "lstm"])
def test_truncated_bptt_matches_torch_chunk_by_chunk(name, tmp_path):
    m = module(name, tmp_path)
    params = m.init_params(seed=1, n=HIDDEN, d=VOCAB, k=VOCAB)
    ours = {k: v.copy() for k, v in params.items()}
    theirs = {k: torch.tensor(v.reshape(-1, 1) if v.ndim == 1 else v, requires_grad=True) for k, v in params.items()}
    states = ("h_0",) if name == "rnn-softmax" else ("h_0", "C_0")
    symbols = text()
    eye = np.eye(VOCAB)
    carried, torch_state = {}, tuple(torch.zeros(HIDDEN, 1, dtype=torch.float64) for _ in states)
    losses = []
    for start in range(0, LENGTH - CHUNK, CHUNK):
        chunk = symbols[start:start + CHUNK + 1]
        x, y = eye[chunk[:-1]][:, None, :], chunk[1:][:, None]
        loss, grads, carried = m.gradients(ours, {"x": x, **carried}, {"y": y}, return_states=True)
        for k in ours:
            ours[k] = ours[k] - RATE * grads[k]
        # torch: the same chunk from the carried state, detached (the truncation)
        state = tuple(s.detach() for s in torch_state)
        total = 0.0
        for t in range(CHUNK):
            state, logits = torch_step(name, theirs, state, torch.tensor(eye[chunk[t]].reshape(-1, 1)))
            total = total - torch.log_softmax(logits, dim=0)[chunk[t + 1], 0]
        total.backward()
        with torch.no_grad():
            for v in theirs.values():
                v -= RATE * v.grad
                v.grad = None
        torch_state = state
        assert loss == pytest.approx(total.item(), rel=1e-10, abs=1e-10), start
        for key, s in zip(states, state, strict=True):
            assert np.allclose(carried[key], s.detach().numpy().T, rtol=1e-10, atol=1e-12)
        losses.append(loss)
    assert np.mean(losses[-20:]) < np.mean(losses[:20])  # it learns


def test_an_initial_state_of_the_wrong_shape_is_refused(tmp_path):
    m = module("rnn-softmax", tmp_path)
    p = m.init_params()
    x = np.zeros((4, 2, 2))
    with pytest.raises(ValueError, match=r"inputs\['h_0'\] has shape \(3, 3\); expected \(2, 3\)"):
        m.forward(p, {"x": x, "h_0": np.zeros((3, 3))})
    with_state = m.forward(p, {"x": x, "h_0": np.ones((2, 3))})["h"]
    assert not np.allclose(with_state, m.forward(p, {"x": x})["h"])


def test_biases_start_at_zero_and_the_forget_gate_at_one(tmp_path):
    lstm = module("lstm", tmp_path)
    p = lstm.init_params(seed=0, n=64, d=128, k=128)
    assert all(not p[b].any() for b in ("b_i", "b_C", "b_o", "c")) and (p["b_f"] == 1).all()
    assert p["W_f"].std() == pytest.approx(1 / np.sqrt(64 + 128), rel=0.05)
    assert "columns [hₜ₋₁ | xₜ]" in lstm.__doc__  # which columns meet h_{t-1} and which x_t
    # the first loss is the uniform one's, log k per step (it was 4.97 against 4.84 with N(0, 1) biases)
    rng = np.random.default_rng(0)
    x = np.eye(128)[rng.integers(0, 128, (50, 8))]
    loss, _ = lstm.gradients(p, {"x": x}, {"y": rng.integers(0, 128, (50, 8))})
    assert loss / 50 == pytest.approx(np.log(128), rel=0.01)
    rnn = module("rnn-softmax", tmp_path)
    q = rnn.init_params()
    assert not q["b"].any() and not q["c"].any() and q["W"].any()


def test_a_constant_is_a_setting(tmp_path, capsys):
    from derive.cli import main

    out = tmp_path / "mlp.py"
    assert main(["numpy", "mlp-l2", "--set", "lambda=0.5", "-o", str(out)]) == 0
    assert "lambda_ = 0.5" in out.read_text()
    assert main(["numpy", "mlp-l2", "--set", "lambda=__import__('os')", "-o", str(out)]) == 2
    assert "must be a number" in capsys.readouterr().err
    assert main(["numpy", "mlp-l2", "--set", "l2=off", "--set", "lambda=2", "-o", str(out)]) == 2
    assert "no constant 'lambda'" in capsys.readouterr().err
    net = presets.PRESETS["mlp-l2"].build({"lambda": "0.25"})
    assert [float(v) for v in net.hypers.values()] == [0.25]
