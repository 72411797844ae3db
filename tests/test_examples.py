"""The example model files: each one's generated module against a PyTorch reference written here,
independently of derive (torch.nn.GRU, torch.nn.RNN, or the cell's equations in torch), and against
autograd through derive's own forward pass, for T in {1, 2, 5} and B in {1, 3}, float64 and float32.

The derivations themselves go through the three oracles in test_oracles.py."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from harness import Case, failures
from modules import random_batch, reference, reused_gradients

from derive import source
from derive.codegen.numpy_module import numpy_module

torch = pytest.importorskip("torch")
F = torch.nn.functional

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SHAPES = [(steps, batch) for steps in (1, 2, 5) for batch in (1, 2, 3)]  # B = 2: not n (3), so a broadcast shows


def generated(name: str, tmp_path_factory, settings=None):
    model = source.resolve(str(EXAMPLES / f"{name}.py"))
    path = tmp_path_factory.mktemp("modules") / f"{name}_grad.py"
    path.write_text(numpy_module(model, settings))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return model.build(settings), module


def tensors(params):
    return {k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for k, v in params.items()}


def sequence_loss(logits, labels):
    """Σ_t cross-entropy, averaged over the batch: logits (T, B, k), labels (T, B)."""
    steps, batch, k = logits.shape
    return F.cross_entropy(logits.reshape(-1, k), labels.reshape(-1), reduction="sum") / batch


def torch_mgu(p, x, y):
    steps, batch, _ = x.shape
    h = torch.zeros(batch, p["W_f"].shape[0], dtype=torch.float64)
    logits = []
    for t in range(steps):
        f = torch.sigmoid(h @ p["W_f"].T + x[t] @ p["U_f"].T + p["b_f"])
        g = torch.tanh((f * h) @ p["W_h"].T + x[t] @ p["U_h"].T + p["b_h"])
        h = (1 - f) * h + f * g
        logits.append(h @ p["V"].T + p["c"])
    return sequence_loss(torch.stack(logits), y)


def torch_gru(p, x, y):
    """torch.nn.GRU with the example's parameters as its weights."""
    m = p["W_hr"].shape[0]
    gru = torch.nn.GRU(x.shape[-1], m, dtype=torch.float64)
    with torch.no_grad():
        for attr, parts in (("weight_ih_l0", "W_i"), ("weight_hh_l0", "W_h"), ("bias_ih_l0", "b_i"),
                            ("bias_hh_l0", "b_h")):
            getattr(gru, attr).copy_(torch.cat([p[f"{parts}{g}"] for g in "rzn"]))
    states, _ = gru(x)
    loss = sequence_loss(states @ p["V"].T + p["c"], y)
    grads = torch.autograd.grad(loss, [gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0,
                                       p["V"], p["c"]])
    out = {"V": grads[4], "c": grads[5]}
    for grad, parts in zip(grads[:4], ("W_i", "W_h", "b_i", "b_h"), strict=True):
        for g, block in zip("rzn", grad.chunk(3), strict=True):
            out[f"{parts}{g}"] = block
    return loss, out


def torch_stacked(p, x, y):
    """torch.nn.RNN with two tanh layers (one bias per layer: the hidden-hidden ones are 0)."""
    rnn = torch.nn.RNN(x.shape[-1], p["W1"].shape[0], num_layers=2, dtype=torch.float64)
    with torch.no_grad():
        for layer in ("0", "1"):
            j = int(layer) + 1
            getattr(rnn, f"weight_ih_l{layer}").copy_(p[f"U{j}"])
            getattr(rnn, f"weight_hh_l{layer}").copy_(p[f"W{j}"])
            getattr(rnn, f"bias_ih_l{layer}").copy_(p[f"b{j}"])
            getattr(rnn, f"bias_hh_l{layer}").zero_()
    states, _ = rnn(x)
    loss = sequence_loss(states @ p["V"].T + p["c"], y)
    names = ["U1", "W1", "b1", "U2", "W2", "b2"]
    weights = [rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.weight_ih_l1, rnn.weight_hh_l1,
               rnn.bias_ih_l1]
    grads = torch.autograd.grad(loss, weights + [p["V"], p["c"]])
    return loss, dict(zip(names + ["V", "c"], grads, strict=True))


def torch_mlp2(p, x, y):
    h1 = torch.relu(x @ p["W1"].T + p["b1"])
    h2 = torch.relu(h1 @ p["W2"].T + p["b2"])
    return F.cross_entropy(h2 @ p["W3"].T + p["b3"], y, reduction="mean")


def torch_attention(p, x, y):
    """An RNN, softmax attention over its states, a classifier on the pooled state."""
    steps, batch, _ = x.shape
    h, states = torch.zeros(batch, p["W"].shape[0], dtype=torch.float64), []
    for t in range(steps):
        h = torch.tanh(h @ p["W"].T + x[t] @ p["U"].T + p["b"])
        states.append(h)
    H = torch.stack(states)  # (T, B, n)
    alpha = torch.softmax(H @ p["v"], dim=0)  # over time
    z = (alpha[..., None] * H).sum(dim=0)
    return F.cross_entropy(z @ p["V"].T + p["c"], y, reduction="mean")


def torch_birnn(p, x, y):
    """torch.nn.RNN(bidirectional=True): its reverse direction is g (one bias each, the other 0)."""
    n = p["W_f"].shape[0]
    rnn = torch.nn.RNN(x.shape[-1], n, bidirectional=True, dtype=torch.float64)
    with torch.no_grad():
        for suffix, side in (("", "f"), ("_reverse", "b")):
            getattr(rnn, f"weight_ih_l0{suffix}").copy_(p[f"U_{side}"])
            getattr(rnn, f"weight_hh_l0{suffix}").copy_(p[f"W_{side}"])
            getattr(rnn, f"bias_ih_l0{suffix}").copy_(p[f"b_{side}"])
            getattr(rnn, f"bias_hh_l0{suffix}").zero_()
    states, _ = rnn(x)
    logits = states[..., :n] @ p["V_f"].T + states[..., n:] @ p["V_b"].T + p["c"]
    loss = sequence_loss(logits, y)
    names = ["U_f", "W_f", "b_f", "U_b", "W_b", "b_b"]
    weights = [rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.weight_ih_l0_reverse,
               rnn.weight_hh_l0_reverse, rnn.bias_ih_l0_reverse]
    grads = torch.autograd.grad(loss, weights + [p["V_f"], p["V_b"], p["c"]])
    return loss, dict(zip(names + ["V_f", "V_b", "c"], grads, strict=True))


REFERENCES = {"mgu": torch_mgu, "gru_torch": torch_gru, "stacked_rnn": torch_stacked, "mlp2": torch_mlp2,
              "attention_rnn": torch_attention, "birnn": torch_birnn}


def torch_gradients(name, params, inputs, targets):
    p = tensors(params)
    x = torch.tensor(np.asarray(inputs["x"], dtype=np.float64))
    y = torch.tensor(np.asarray(targets["y"]))
    result = REFERENCES[name](p, x, y)
    if isinstance(result, tuple):
        loss, grads = result
    else:
        loss = result
        grads = dict(zip(p, torch.autograd.grad(loss, list(p.values())), strict=True))
    return float(loss.detach()), {k: g.detach().numpy() for k, g in grads.items()}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_example_module_matches_torch_and_autograd(name, tmp_path_factory):
    net, module = generated(name, tmp_path_factory)
    for steps, batch in SHAPES if net.sequential else [(1, 1), (1, 3)]:
        params, inputs, targets = random_batch(net, module, steps, batch, seed=steps * 7 + batch)
        loss, grads = reused_gradients(module, params, inputs, targets)
        torch_loss, torch_grads = torch_gradients(name, params, inputs, targets)
        auto_loss, auto_grads = reference(net, params, inputs, targets, steps)
        assert abs(loss - torch_loss) < 1e-10 and abs(loss - auto_loss) < 1e-10
        for key in params:
            assert np.allclose(grads[key], torch_grads[key].reshape(np.shape(params[key])), atol=1e-10, rtol=0), key
            assert np.allclose(grads[key], auto_grads[key], atol=1e-10, rtol=0), key
        # float32 in, float32 out, within single precision
        inputs32 = {k: np.asarray(v, dtype=np.float32) for k, v in inputs.items()}
        loss32, grads32 = reused_gradients(module, {k: np.asarray(v, dtype=np.float32) for k, v in params.items()},
                                           inputs32, targets)
        assert abs(loss32 - torch_loss) < 1e-4 * max(1, abs(torch_loss))
        for key in params:
            assert grads32[key].dtype == np.float32
            assert np.allclose(grads32[key], auto_grads[key], atol=1e-4, rtol=1e-4), key


EXAMPLE_FILES = sorted(p.name for p in EXAMPLES.glob("*.py"))


@pytest.mark.parametrize("example", EXAMPLE_FILES)
@pytest.mark.parametrize("layout", ["denominator", "numerator"])
def test_example_derivation_passes_three_oracles(example, layout):
    """Every formula the derivation offers (gradients, adjoints, recurrences, the BPTT sum) against
    SymPy scalar differentiation at small sizes, and autograd and finite differences at the
    example's own sizes and longer sequences."""
    path = str(EXAMPLES / example)
    narrow = dict(n=2, d=1, k=2, n1=2, n2=2, m=2)  # the scalar oracle at T = 1, and T = 2 one unit wide
    assert failures(Case(path, {}, 1, sizes=narrow), layout, with_sympy=True) == []
    single = dict(n=1, d=1, k=2, n1=1, n2=1, m=1)
    assert failures(Case(path, {}, 2, sizes=single), layout, with_sympy=True) == []
    for steps in (1, 4):
        assert failures(Case(path, {}, steps, seed=steps), layout, with_sympy=False) == []


C, X = "correct", "incorrect"
CLAIMS = {  # (verdict, a phrase its reason must contain), in file order; established by hand
    "mgu": [(C, ""), (X, "h_{t-1} is replaced by h_{t}"), (C, ""), (C, ""), (X, ""), (X, "")],
    "gru_torch": [(C, ""), (C, ""), (X, ""), (C, ""), (X, "")],
    "stacked_rnn": [(C, ""), (C, ""), (X, "is replaced by h^{(1)}_{t}"), (C, "")],
    "mlp2": [(C, ""), (C, ""), (X, "whole right side is transposed"), (C, ""), (C, ""), (X, "W^{(2)} is transposed")],
    "birnn": [(C, ""), (C, ""), (X, ""), (C, "")],
    "attention_rnn": [(C, ""), (C, ""), (C, ""), (X, "")],
}


@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_example_claims_get_their_pinned_verdicts(name, capsys):
    from derive.check.run import check_answers

    model, verdicts = check_answers(str(EXAMPLES / f"{name}_claims.md"), str(EXAMPLES / f"{name}.py"), None, ())
    assert [v.verdict for v in verdicts] == [verdict for verdict, _ in CLAIMS[name]]
    for v, (verdict, phrase) in zip(verdicts, CLAIMS[name], strict=True):
        assert phrase in v.reason, (v.line, v.reason)
        assert verdict == C or v.expected, v.line  # a wrong claim is shown the right form
