"""The problem files (examples/problems/*.md): networks written as forward equations, in the
notation of their sources, none of them a preset.

Each one's derivation goes through the three oracles; its generated module is compared with a
PyTorch reference written here from the equations, independently of derive, and with autograd
through derive's own forward pass; and every claim of its claims file gets its pinned verdict,
which the same PyTorch reference confirms: a claim is pinned correct exactly when the formula
it states, computed here in torch, equals torch's autograd value at every step it is about.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from harness import Case, failures
from modules import random_batch, reference, reused_gradients

from derive import source
from derive.codegen.numpy_module import numpy_module

torch = pytest.importorskip("torch")

PROBLEMS = Path(__file__).resolve().parents[1] / "examples" / "problems"
FILES = sorted(p.name for p in PROBLEMS.glob("*.md") if not p.name.endswith("_claims.md"))
NARROW = dict(n=2, d=1, k=2, n_g=2, n_h2=2, n_z=2, n_h=2)  # the scalar oracle's sizes
SINGLE = dict(n=1, d=1, k=2, n_g=1, n_h2=1, n_z=1, n_h=1)


def test_the_suite_has_every_kind_of_problem_the_issue_lists():
    assert len(FILES) >= 12
    assert all((PROBLEMS / f.replace(".md", "_claims.md")).is_file() for f in FILES)


@pytest.mark.parametrize("problem", FILES)
@pytest.mark.parametrize("layout", ["denominator", "numerator"])
def test_problem_derivation_passes_three_oracles(problem, layout):
    path = str(PROBLEMS / problem)
    assert failures(Case(path, {}, 1, sizes=NARROW), layout, with_sympy=True) == []
    assert failures(Case(path, {}, 2, sizes=SINGLE), layout, with_sympy=True) == []
    for steps in (1, 4):
        assert failures(Case(path, {}, steps, seed=steps), layout, with_sympy=False) == []


# ---------------------------------------------------------------------------- the torch references

sig, tanh, relu = torch.sigmoid, torch.tanh, torch.relu


def softmax(o):
    return torch.softmax(o, dim=0)


def ce(p, y):
    return -(y * torch.log(p)).sum()


def half_sq(a, b):
    return 0.5 * ((a - b) ** 2).sum()


class Run:
    """One example through a reference: values by name (and step), their adjoints, the gradients."""

    def __init__(self):
        self.values = {}

    def put(self, name, t, value):
        if value.requires_grad:
            value.retain_grad()
        self.values[(name, t)] = value
        return value

    def v(self, name, t=None):
        return self.values[(name, t)]

    def d(self, name, t=None):
        """dL/d(name at t), the adjoint autograd found (zero where nothing reads it)."""
        value = self.values[(name, t)]
        return value.grad if value.grad is not None else torch.zeros_like(value)


def column(v):
    return v.reshape(-1, 1)


def rnn_tanh_mse(p, x, y, steps, r):
    h, loss = r.put("h", 0, torch.zeros(p["W"].shape[0], 1, dtype=torch.float64)), 0
    for t in range(1, steps + 1):
        h = r.put("h", t, tanh(p["W"] @ h + p["U"] @ x[t] + p["b"]))
        o = r.put("o", t, p["V"] @ h + p["c"])
        loss = loss + half_sq(o, y[t])
    return loss


def rnn_relu_last(p, x, y, steps, r):
    h = r.put("h", 0, torch.zeros(p["W_hh"].shape[0], 1, dtype=torch.float64))
    for t in range(1, steps + 1):
        h = r.put("h", t, relu(p["W_hh"] @ h + p["W_xh"] @ x[t] + p["b_h"]))
    y_hat = r.put("y_hat", None, p["W_hy"] @ h + p["b_y"])
    return half_sq(y_hat, y)


def stacked_rnn(p, x, y, steps, r):
    h1 = torch.zeros(p["W1"].shape[0], 1, dtype=torch.float64)
    h2 = torch.zeros(p["W2"].shape[0], 1, dtype=torch.float64)
    loss = 0
    for t in range(1, steps + 1):
        h1 = r.put("h1", t, tanh(p["W1"] @ h1 + p["U1"] @ x[t] + p["b1"]))
        h2 = r.put("h2", t, tanh(p["W2"] @ h2 + p["U2"] @ h1 + p["b2"]))
        o = r.put("o", t, p["V"] @ h2 + p["c"])
        y_hat = r.put("y_hat", t, softmax(o))
        loss = loss + ce(y_hat, y[t])
    return loss


def birnn(p, x, y, steps, r):
    f = torch.zeros(p["W_f"].shape[0], 1, dtype=torch.float64)
    for t in range(1, steps + 1):
        f = r.put("f", t, tanh(p["W_f"] @ f + p["U_f"] @ x[t] + p["b_f"]))
    g = torch.zeros(p["W_g"].shape[0], 1, dtype=torch.float64)
    for t in range(steps, 0, -1):
        g = r.put("g", t, tanh(p["W_g"] @ g + p["U_g"] @ x[t] + p["b_g"]))
    loss = 0
    for t in range(1, steps + 1):
        o = r.put("o", t, p["V_f"] @ r.v("f", t) + p["V_g"] @ r.v("g", t) + p["c"])
        loss = loss + ce(r.put("p", t, softmax(o)), y[t])
    return loss


def mgu(p, x, y, steps, r):
    h, loss = r.put("h", 0, torch.zeros(p["W_f"].shape[0], 1, dtype=torch.float64)), 0
    for t in range(1, steps + 1):
        f = r.put("f", t, sig(p["W_f"] @ h + p["U_f"] @ x[t] + p["b_f"]))
        h_tilde = r.put("h_tilde", t, tanh(p["W_h"] @ (f * h) + p["U_h"] @ x[t] + p["b_h"]))
        h = r.put("h", t, (1 - f) * h + f * h_tilde)
        o = r.put("o", t, p["V"] @ h + p["c"])
        loss = loss + ce(r.put("y_hat", t, softmax(o)), y[t])
    return loss


def gru_torch(p, x, y, steps, r):
    """torch.nn.GRU itself, with the problem's parameters as its weights, then the softmax head."""
    n, d = p["W_ir"].shape
    gru = torch.nn.GRU(d, n, dtype=torch.float64)
    weights = {"weight_ih_l0": torch.cat([p["W_ir"], p["W_iz"], p["W_in"]]),
               "weight_hh_l0": torch.cat([p["W_hr"], p["W_hz"], p["W_hn"]]),
               "bias_ih_l0": torch.cat([p["b_ir"], p["b_iz"], p["b_in"]]).reshape(-1),
               "bias_hh_l0": torch.cat([p["b_hr"], p["b_hz"], p["b_hn"]]).reshape(-1)}
    states, _ = torch.func.functional_call(gru, weights, (torch.stack([x[t].T for t in range(1, steps + 1)]),))
    loss = 0
    for t in range(1, steps + 1):
        h = r.put("h", t, states[t - 1].T)
        loss = loss + ce(softmax(p["V"] @ h + p["c"]), y[t])
    return loss


def gru_steps(p, x, y, steps, r):
    """The GRU's equations in torch, for the gate adjoints the claims are about (nn.GRU hides them)."""
    h, loss = r.put("h", 0, torch.zeros(p["W_ir"].shape[0], 1, dtype=torch.float64)), 0
    for t in range(1, steps + 1):
        rt = r.put("r", t, sig(p["W_ir"] @ x[t] + p["b_ir"] + p["W_hr"] @ h + p["b_hr"]))
        z = r.put("z", t, sig(p["W_iz"] @ x[t] + p["b_iz"] + p["W_hz"] @ h + p["b_hz"]))
        n = r.put("n", t, tanh(p["W_in"] @ x[t] + p["b_in"] + rt * (p["W_hn"] @ h + p["b_hn"])))
        h = r.put("h", t, (1 - z) * n + z * h)
        loss = loss + ce(softmax(p["V"] @ h + p["c"]), y[t])
    return loss


def rnn_learned_h0(p, x, y, steps, r):
    """Elman's RNN started from the parameter s instead of 0."""
    h, loss = p["s"], 0
    for t in range(1, steps + 1):
        h = r.put("h", t, tanh(p["W"] @ h + p["U"] @ x[t] + p["b"]))
        loss = loss + ce(r.put("y_hat", t, softmax(p["V"] @ h + p["c"])), y[t])
    return loss


def residual_rnn(p, x, y, steps, r):
    h, loss = r.put("h", 0, torch.zeros(p["W"].shape[0], 1, dtype=torch.float64)), 0
    for t in range(1, steps + 1):
        h = r.put("h", t, h + tanh(p["W"] @ h + p["U"] @ x[t]))
        o = r.put("o", t, p["V"] @ h)
        loss = loss + half_sq(o, y[t])
    return loss


def mlp_cs231n(p, x, y, steps, r):
    h = r.put("h", None, torch.clamp(p["W_1"] @ x + p["b_1"], min=0))
    s = r.put("s", None, p["W_2"] @ h + p["b_2"])
    return ce(r.put("p", None, softmax(s)), y)


def mlp_generic_l2(p, x, y, steps, r, f=tanh):
    z = r.put("z", None, p["W1"] @ x)
    h = r.put("h", None, f(z))
    o = r.put("o", None, p["W2"] @ h)
    return ce(softmax(o), y) + 0.1 / 2 * ((p["W1"] ** 2).sum() + (p["W2"] ** 2).sum())


def rnn_binary(p, x, y, steps, r):
    h = torch.zeros(p["W"].shape[0], 1, dtype=torch.float64)
    for t in range(1, steps + 1):
        h = r.put("h", t, relu(p["b"] + p["W"] @ h + p["U"] @ x[t]))
    y_pred = r.put("y_pred", None, sig(p["V"] @ h + p["d"]))
    return torch.nn.functional.binary_cross_entropy(y_pred.reshape(-1), y.reshape(-1), reduction="sum")


def rnn_superscript(p, x, y, steps, r):
    h, loss = torch.zeros(p["W"].shape[0], 1, dtype=torch.float64), 0
    for t in range(1, steps + 1):
        h = r.put("h", t, tanh(p["W"] @ h + p["U"] @ x[t] + p["b"]))
        o = r.put("o", t, p["V"] @ h + p["c"])
        loss = loss + ce(r.put("y_hat", t, softmax(o)), y[t])
    return loss / steps


def rnn_d2l(p, x, y, steps, r, phi=tanh):
    h, loss = r.put("h", 0, torch.zeros(p["W_hh"].shape[0], 1, dtype=torch.float64)), 0
    for t in range(1, steps + 1):
        h = r.put("h", t, phi(p["W_hx"] @ x[t] + p["W_hh"] @ h))
        o = r.put("o", t, p["W_qh"] @ h)
        loss = loss + ce(softmax(o), y[t])
    return loss / steps


def lstm(p, x, y, steps, r):
    n = p["W_f"].shape[0]
    h, c, loss = torch.zeros(n, 1, dtype=torch.float64), torch.zeros(n, 1, dtype=torch.float64), 0
    for t in range(1, steps + 1):
        hx = torch.cat([h, x[t]])
        f = r.put("f", t, sig(p["W_f"] @ hx + p["b_f"]))
        i = r.put("i", t, sig(p["W_i"] @ hx + p["b_i"]))
        c_tilde = r.put("C_tilde", t, tanh(p["W_C"] @ hx + p["b_C"]))
        o = r.put("o", t, sig(p["W_o"] @ hx + p["b_o"]))
        c = r.put("C", t, f * c + i * c_tilde)
        h = r.put("h", t, o * tanh(c))
        loss = loss + ce(softmax(p["V"] @ h + p["c"]), y[t])
    return loss


def attention_rnn(p, x, y, steps, r):
    h = torch.zeros(p["W"].shape[0], 1, dtype=torch.float64)
    for t in range(1, steps + 1):
        h = r.put("h", t, tanh(p["W"] @ h + p["U"] @ x[t] + p["b"]))
    scores = [r.put("e", t, p["v"].T @ r.v("h", t)) for t in range(1, steps + 1)]
    weights = torch.softmax(torch.cat(scores), dim=0)  # over the steps
    alpha = [r.put("alpha", t, weights[t - 1:t]) for t in range(1, steps + 1)]
    z = r.put("z", None, sum(a * r.v("h", t) for t, a in enumerate(alpha, 1)))
    return ce(r.put("y_hat", None, softmax(p["V"] @ z + p["c"])), y)


REFERENCES = {
    "rnn_tanh_mse": rnn_tanh_mse, "rnn_relu_last": rnn_relu_last, "stacked_rnn": stacked_rnn, "birnn": birnn,
    "mgu": mgu, "gru_torch": gru_torch, "residual_rnn": residual_rnn, "rnn_learned_h0": rnn_learned_h0,
    "mlp_cs231n": mlp_cs231n,
    "mlp_generic_l2": mlp_generic_l2, "rnn_binary": rnn_binary, "rnn_superscript": rnn_superscript,
    "rnn_d2l": rnn_d2l, "lstm": lstm, "attention_rnn": attention_rnn,
}


def test_every_problem_has_a_torch_reference():
    assert sorted(REFERENCES) == sorted(f[:-3] for f in FILES)


def one_example(net, params, inputs, targets, b, steps):
    """Example b of a batch in column form: params as torch leaves, x_t and y_t as columns."""
    p = {}
    for sym in net.params:
        shape = tuple(int(s) for s in np.shape(params[sym.name]))
        rows = shape[0] if shape else 1
        cols = shape[1] if len(shape) > 1 else 1
        p[sym.name] = torch.tensor(np.reshape(params[sym.name], (rows, cols)), dtype=torch.float64,
                                   requires_grad=True)
    (x_name,) = [x.name for x in net.inputs]
    (y_sym,) = net.target_symbols
    kind, rows = net.targets[y_sym.name], int(y_sym.shape[0].subs(
        {s: net.sizes_default[s.name] for s in y_sym.shape[0].free_symbols}))

    def target(v):
        v = np.asarray(v)
        if kind == "onehot":
            return torch.nn.functional.one_hot(torch.tensor(int(v)), rows).to(torch.float64).reshape(-1, 1)
        return torch.tensor(np.reshape(v, (-1, 1)), dtype=torch.float64)

    xs = np.asarray(inputs[x_name], dtype=np.float64)
    ys = targets[y_sym.name]
    if net.sequential:
        x = {t: torch.tensor(xs[t - 1, b][:, None]) for t in range(1, steps + 1)}
        y = {t: target(ys[t - 1, b]) for t in range(1, steps + 1)} if hasattr(y_sym, "index") else target(ys[b])
    else:
        x, y = torch.tensor(xs[b][:, None]), target(ys[b])
    return p, x, y


def generated(problem: str, tmp_path_factory):
    model = source.resolve(str(PROBLEMS / problem))
    path = tmp_path_factory.mktemp("problems") / f"{problem[:-3]}_grad.py"
    concrete, _ = model.concrete_settings({})
    path.write_text(numpy_module(model, {}))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return model.build(concrete), module


@pytest.mark.parametrize("problem", FILES)
def test_problem_module_matches_torch_and_autograd(problem, tmp_path_factory):
    net, module = generated(problem, tmp_path_factory)
    # B = 2 besides 1 and 3: with n = 3, B = 3 would hide a (B, n) vs (n, 1) broadcast
    batches = (1, 2, 3)
    shapes = [(steps, batch) for steps in (1, 2, 5) for batch in batches] if net.sequential else [
        (1, batch) for batch in batches]
    for steps, batch in shapes:
        params, inputs, targets = random_batch(net, module, steps, batch, seed=steps * 7 + batch)
        # off the starting values, so that a bias or a learned h_0 (which start at 0) matters
        rng = np.random.default_rng(steps * 7 + batch)
        params = {k: v + 0.3 * rng.standard_normal(np.shape(v)) for k, v in params.items()}
        loss, grads = reused_gradients(module, params, inputs, targets)
        torch_loss, torch_grads = 0.0, {k: 0.0 for k in params}
        for b in range(batch):
            p, x, y = one_example(net, params, inputs, targets, b, steps)
            value = REFERENCES[problem[:-3]](p, x, y, steps, Run())
            value.backward()
            torch_loss += float(value.detach()) / batch
            for k in params:
                torch_grads[k] = torch_grads[k] + p[k].grad.numpy().reshape(np.shape(params[k])) / batch
        auto_loss, auto_grads = reference(net, params, inputs, targets, steps)
        assert abs(loss - torch_loss) < 1e-10 and abs(loss - auto_loss) < 1e-10
        for k in params:
            assert np.allclose(grads[k], torch_grads[k], atol=1e-10, rtol=0), k
            assert np.allclose(grads[k], auto_grads[k], atol=1e-10, rtol=0), k
        loss32, grads32 = reused_gradients(module, {k: np.asarray(v, dtype=np.float32) for k, v in params.items()},
                                           {k: np.asarray(v, dtype=np.float32) for k, v in inputs.items()}, targets)
        assert abs(loss32 - torch_loss) < 1e-4 * max(1, abs(torch_loss))
        for k in params:
            assert grads32[k].dtype == np.float32
            assert np.allclose(grads32[k], torch_grads[k], atol=1e-4, rtol=1e-4), k


# ---------------------------------------------------------------------------- claims, confirmed in torch


class Env:
    """A problem's reference run on one example, for stating a claim's formula in torch."""

    def __init__(self, problem, net, steps, seed, **variant):
        rng = np.random.default_rng(seed)
        params = {p.name: rng.standard_normal(tuple(int(s.subs({q: net.sizes_default[q.name]
                                                                for q in getattr(s, "free_symbols", ())}))
                                                     for s in p.shape)) * 0.7 for p in net.params}
        inputs = {x.name: rng.standard_normal((steps, 1, int(x.shape[0].subs(
            {q: net.sizes_default[q.name] for q in x.shape[0].free_symbols}))) if net.sequential else (1, int(
                x.shape[0].subs({q: net.sizes_default[q.name] for q in x.shape[0].free_symbols}))))
            for x in net.inputs}
        targets = {}
        for y in net.target_symbols:
            rows = int(y.shape[0].subs({q: net.sizes_default[q.name] for q in y.shape[0].free_symbols}))
            lead = (steps, 1) if hasattr(y, "index") else (1,)
            kind = net.targets[y.name]
            targets[y.name] = (rng.integers(0, rows, size=lead) if kind == "onehot" else
                               rng.integers(0, 2, size=lead + (rows,)).astype(float) if kind == "binary" else
                               rng.standard_normal(lead + (rows,)))
        self.p, self.xs, self.ys = one_example(net, params, inputs, targets, 0, steps)
        self.T, self.run = steps, Run()
        loss = REFERENCES[problem](self.p, self.xs, self.ys, steps, self.run, **variant)
        loss.backward()
        self.g = {k: v.grad for k, v in self.p.items()}

    def v(self, name, t=None):
        return self.run.v(name, t)

    def d(self, name, t=None):
        return self.run.d(name, t)

    def y(self, t=None):
        return self.ys if t is None else self.ys[t]

    def x(self, t=None):
        return self.xs if t is None else self.xs[t]

    def sum(self, term):
        return sum(term(t) for t in range(1, self.T + 1))


C, X, K = "correct", "incorrect", "conditional"
ALL, BEFORE_LAST = "all", "before last"  # the steps a claim is about: every t, or t < T (it reads t + 1)


def sq(v):
    return v * v


# problem -> [(pinned verdict, steps, claimed formula, autograd's value)], in the claims file's order
CLAIMS = {
    "rnn_tanh_mse": [
        (C, None, lambda e, t: e.sum(lambda s: (e.v("o", s) - e.y(s)) @ e.v("h", s).T), lambda e, t: e.g["V"]),
        (C, BEFORE_LAST, lambda e, t: e.p["V"].T @ (e.v("o", t) - e.y(t))
         + e.p["W"].T @ (e.d("h", t + 1) * (1 - sq(e.v("h", t + 1)))), lambda e, t: e.d("h", t)),
        (C, None, lambda e, t: e.sum(lambda s: e.d("h", s) * (1 - sq(e.v("h", s)))), lambda e, t: e.g["b"]),
        (X, None, lambda e, t: e.sum(lambda s: (e.v("o", s) - e.y(s)) @ e.v("h", s)), lambda e, t: e.g["V"]),
        (X, None, lambda e, t: e.sum(lambda s: e.d("h", s)), lambda e, t: e.g["b"]),
        (X, ALL, lambda e, t: e.p["V"].T @ (e.v("o", t) - e.y(t)), lambda e, t: e.d("h", t)),
    ],
    "rnn_relu_last": [
        (C, None, lambda e, t: (e.v("y_hat") - e.y()) @ e.v("h", e.T).T, lambda e, t: e.g["W_hy"]),
        (C, None, lambda e, t: e.v("y_hat") - e.y(), lambda e, t: e.g["b_y"]),
        (C, None, lambda e, t: e.p["W_hy"].T @ (e.v("y_hat") - e.y()), lambda e, t: e.d("h", e.T)),
        (X, None, lambda e, t: e.sum(lambda s: (e.v("y_hat") - e.y()) @ e.v("h", s).T), lambda e, t: e.g["W_hy"]),
        (X, None, lambda e, t: (e.v("y_hat") - e.y()) @ e.v("h", e.T - 1).T, lambda e, t: e.g["W_hy"]),
    ],
    "stacked_rnn": [
        (C, ALL, lambda e, t: e.v("y_hat", t) - e.y(t), lambda e, t: e.d("o", t)),
        (C, None, lambda e, t: e.sum(lambda s: (e.v("y_hat", s) - e.y(s)) @ e.v("h2", s).T), lambda e, t: e.g["V"]),
        (C, None, lambda e, t: e.sum(lambda s: e.v("y_hat", s) - e.y(s)), lambda e, t: e.g["c"]),
        (X, ALL, lambda e, t: e.y(t) - e.v("y_hat", t), lambda e, t: e.d("o", t)),
        (X, None, lambda e, t: e.sum(lambda s: (e.v("y_hat", s) - e.y(s)) @ e.v("h1", s).T), lambda e, t: e.g["V"]),
    ],
    "birnn": [
        (C, None, lambda e, t: e.sum(lambda s: (e.v("p", s) - e.y(s)) @ e.v("f", s).T), lambda e, t: e.g["V_f"]),
        (C, None, lambda e, t: e.sum(lambda s: (e.v("p", s) - e.y(s)) @ e.v("g", s).T), lambda e, t: e.g["V_g"]),
        (C, "after first", lambda e, t: e.p["V_g"].T @ (e.v("p", t) - e.y(t))
         + e.p["W_g"].T @ (e.d("g", t - 1) * (1 - sq(e.v("g", t - 1)))), lambda e, t: e.d("g", t)),
        (X, BEFORE_LAST, lambda e, t: e.p["V_g"].T @ (e.v("p", t) - e.y(t))
         + e.p["W_g"].T @ (e.d("g", t + 1) * (1 - sq(e.v("g", t + 1)))), lambda e, t: e.d("g", t)),
        (X, None, lambda e, t: e.sum(lambda s: (e.v("p", s) - e.y(s)) @ e.v("f", s).T), lambda e, t: e.g["V_g"]),
    ],
    "mgu": [
        (C, ALL, lambda e, t: e.v("y_hat", t) - e.y(t), lambda e, t: e.d("o", t)),
        (C, None, lambda e, t: e.sum(lambda s: (e.v("y_hat", s) - e.y(s)) @ e.v("h", s).T), lambda e, t: e.g["V"]),
        (C, ALL, lambda e, t: e.d("h", t) * e.v("f", t), lambda e, t: e.d("h_tilde", t)),
        (X, ALL, lambda e, t: e.d("h", t) * (1 - e.v("f", t)), lambda e, t: e.d("h_tilde", t)),
        (C, None, lambda e, t: e.sum(lambda s: e.d("h_tilde", s) * (1 - sq(e.v("h_tilde", s)))),
         lambda e, t: e.g["b_h"]),
        (X, ALL, lambda e, t: e.d("h", t).T @ e.v("f", t), lambda e, t: e.d("h_tilde", t)),
    ],
    "gru_torch": [
        (C, ALL, lambda e, t: e.d("h", t) * (1 - e.v("z", t)), lambda e, t: e.d("n", t)),
        (C, ALL, lambda e, t: e.d("h", t) * (e.v("h", t - 1) - e.v("n", t)), lambda e, t: e.d("z", t)),
        (C, None, lambda e, t: e.sum(lambda s: e.d("n", s) * (1 - sq(e.v("n", s))) * e.v("r", s)),
         lambda e, t: e.g["b_hn"]),
        (X, ALL, lambda e, t: e.d("h", t) * e.v("z", t), lambda e, t: e.d("n", t)),
        (X, None, lambda e, t: e.sum(lambda s: e.d("n", s) * (1 - sq(e.v("n", s)))), lambda e, t: e.g["b_hn"]),
    ],
    "residual_rnn": [
        (C, ALL, lambda e, t: e.v("o", t) - e.y(t), lambda e, t: e.d("o", t)),
        (C, None, lambda e, t: e.sum(lambda s: (e.v("o", s) - e.y(s)) @ e.v("h", s).T), lambda e, t: e.g["V"]),
        (C, BEFORE_LAST, lambda e, t: e.p["V"].T @ (e.v("o", t) - e.y(t)) + e.d("h", t + 1) + e.p["W"].T @ (
            e.d("h", t + 1) * (1 - sq(tanh(e.p["W"] @ e.v("h", t) + e.p["U"] @ e.x(t + 1))))),
         lambda e, t: e.d("h", t)),
        (X, BEFORE_LAST, lambda e, t: e.p["V"].T @ (e.v("o", t) - e.y(t)) + e.p["W"].T @ (
            e.d("h", t + 1) * (1 - sq(tanh(e.p["W"] @ e.v("h", t) + e.p["U"] @ e.x(t + 1))))),
         lambda e, t: e.d("h", t)),
    ],
    "mlp_cs231n": [
        (C, None, lambda e, t: e.v("p") - e.y(), lambda e, t: e.d("s")),
        (C, None, lambda e, t: (e.v("p") - e.y()) @ e.v("h").T, lambda e, t: e.g["W_2"]),
        (C, None, lambda e, t: (e.v("h") > 0) * (e.p["W_2"].T @ (e.v("p") - e.y())), lambda e, t: e.g["b_1"]),
        (X, None, lambda e, t: e.v("h") @ (e.v("p") - e.y()).T, lambda e, t: e.g["W_2"]),
        (X, None, lambda e, t: e.p["W_2"].T @ (e.v("p") - e.y()), lambda e, t: e.g["b_1"]),
    ],
    "rnn_binary": [
        (C, None, lambda e, t: e.v("y_pred") - e.y(), lambda e, t: e.g["d"]),
        (C, None, lambda e, t: (e.v("y_pred") - e.y()) @ e.v("h", e.T).T, lambda e, t: e.g["V"]),
        (X, None, lambda e, t: e.y() - e.v("y_pred"), lambda e, t: e.g["d"]),
    ],
    "rnn_superscript": [
        (C, ALL, lambda e, t: (e.v("y_hat", t) - e.y(t)) / e.T, lambda e, t: e.d("o", t)),
        (C, None, lambda e, t: e.sum(lambda s: e.v("y_hat", s) - e.y(s)) / e.T, lambda e, t: e.g["c"]),
        (X, ALL, lambda e, t: e.v("y_hat", t) - e.y(t), lambda e, t: e.d("o", t)),
    ],
    "rnn_d2l": [
        (C, None, lambda e, t: e.sum(lambda s: e.d("o", s) @ e.v("h", s).T), lambda e, t: e.g["W_qh"]),
        (C, BEFORE_LAST, lambda e, t: e.p["W_hh"].T @ (e.d("h", t + 1) * (1 - sq(e.v("h", t + 1))))
         + e.p["W_qh"].T @ e.d("o", t), lambda e, t: e.d("h", t)),
        (K, BEFORE_LAST, lambda e, t: e.p["W_hh"].T @ e.d("h", t + 1) + e.p["W_qh"].T @ e.d("o", t),
         lambda e, t: e.d("h", t)),
        (X, None, lambda e, t: e.sum(lambda s: e.d("o", s) @ e.v("h", s)), lambda e, t: e.g["W_qh"]),
    ],
    "mlp_generic_l2": [
        (C, None, lambda e, t: e.d("o") @ e.v("h").T + 0.1 * e.p["W2"], lambda e, t: e.g["W2"]),
        (C, None, lambda e, t: e.d("h") * (1 - sq(e.v("h"))), lambda e, t: e.d("z")),
        (X, None, lambda e, t: e.d("o") @ e.v("h").T, lambda e, t: e.g["W2"]),
        (K, None, lambda e, t: e.d("h"), lambda e, t: e.d("z")),
    ],
    "lstm": [
        (C, ALL, lambda e, t: e.d("h", t) * tanh(e.v("C", t)), lambda e, t: e.d("o", t)),
        (C, ALL, lambda e, t: e.d("C", t) * e.v("C_tilde", t), lambda e, t: e.d("i", t)),
        (C, BEFORE_LAST, lambda e, t: e.d("h", t) * e.v("o", t) * (1 - sq(tanh(e.v("C", t))))
         + e.d("C", t + 1) * e.v("f", t + 1), lambda e, t: e.d("C", t)),
        (X, ALL, lambda e, t: e.d("h", t) * e.v("o", t) * (1 - sq(tanh(e.v("C", t)))), lambda e, t: e.d("C", t)),
        (X, BEFORE_LAST, lambda e, t: e.d("h", t) * e.v("o", t) * (1 - sq(tanh(e.v("C", t))))
         + e.d("C", t + 1) * e.v("f", t), lambda e, t: e.d("C", t)),
    ],
}
CLAIMS["rnn_learned_h0"] = [
    (C, None, lambda e, t: e.p["W"].T @ (e.d("h", 1) * (1 - sq(e.v("h", 1)))), lambda e, t: e.g["s"]),
    (C, None, lambda e, t: e.p["W"].T @ (e.d("h", 1) * (1 - sq(tanh(e.p["W"] @ e.p["s"] + e.p["U"] @ e.x(1)
                                                                    + e.p["b"])))), lambda e, t: e.g["s"]),
    (C, None, lambda e, t: e.sum(lambda s: (e.v("y_hat", s) - e.y(s)) @ e.v("h", s).T), lambda e, t: e.g["V"]),
    (C, None, lambda e, t: e.sum(lambda s: (e.d("h", s) * (1 - sq(e.v("h", s)))) @ (
        e.v("h", s - 1) if s > 1 else e.p["s"]).T), lambda e, t: e.g["W"]),
    (X, None, lambda e, t: e.p["W"].T @ e.d("h", 1), lambda e, t: e.g["s"]),
    (X, None, lambda e, t: e.sum(lambda s: e.p["W"].T @ (e.d("h", s) * (1 - sq(e.v("h", s))))),
     lambda e, t: e.g["s"]),
    (X, None, lambda e, t: e.p["W"] @ (e.d("h", 1) * (1 - sq(e.v("h", 1)))), lambda e, t: e.g["s"]),
    (X, None, lambda e, t: sum((e.d("h", s) * (1 - sq(e.v("h", s)))) @ e.v("h", s - 1).T
                               for s in range(2, e.T + 1)), lambda e, t: e.g["W"]),
    (C, None, lambda e, t: e.p["W"].T @ (e.d("h", 1) * (1 - sq(e.v("h", 1)))), lambda e, t: e.g["s"]),
    (X, None, lambda e, t: e.p["W"].T @ e.d("h", 1), lambda e, t: e.g["s"]),
]
CLAIMS["attention_rnn"] = [
    (C, None, lambda e, t: e.p["V"].T @ (e.v("y_hat") - e.y()), lambda e, t: e.d("z")),
    (C, ALL, lambda e, t: e.v("h", t).T @ e.d("z"), lambda e, t: e.d("alpha", t)),
    (C, ALL, lambda e, t: e.v("alpha", t) * (e.d("alpha", t) - e.sum(lambda s: e.v("alpha", s) * e.d("alpha", s))),
     lambda e, t: e.d("e", t)),
    (X, ALL, lambda e, t: e.v("alpha", t) * (1 - e.v("alpha", t)) * e.d("alpha", t), lambda e, t: e.d("e", t)),
    (X, None, lambda e, t: (e.v("y_hat") - e.y()) @ e.v("z"), lambda e, t: e.g["V"]),
]
# A conditional claim is right exactly when the generic function is the identity.
IDENTITY = {"rnn_d2l": {"phi": lambda v: v}, "mlp_generic_l2": {"f": lambda v: v}}
# Where nn.GRU hides the gates, the claims are confirmed on the GRU's equations (checked against nn.GRU above).
CLAIM_REFERENCES = {"gru_torch": gru_steps}


def holds(problem, net, claim, steps, seed, **variant) -> bool:
    """Whether a claim's formula equals autograd's value at every step it is about, in torch."""
    _, when, claimed, truth = claim
    e = Env(problem, net, steps, seed, **variant)
    times = {None: [None], ALL: range(1, steps + 1), BEFORE_LAST: range(1, steps),
             "after first": range(2, steps + 1)}[when]
    for t in times:
        try:
            value = claimed(e, t)
        except RuntimeError:  # the product the claim writes does not conform
            return False
        want = truth(e, t)
        if tuple(value.shape) != tuple(want.shape) or not torch.allclose(value.to(torch.float64), want, atol=1e-9):
            return False
    return True


def test_gru_equations_are_nn_gru():
    net = source.resolve(str(PROBLEMS / "gru_torch.md")).build()
    a, b = Env("gru_torch", net, 4, 3), None
    REFERENCES["gru_torch"], saved = gru_steps, REFERENCES["gru_torch"]
    try:
        b = Env("gru_torch", net, 4, 3)
    finally:
        REFERENCES["gru_torch"] = saved
    for k in a.g:
        assert torch.allclose(a.g[k], b.g[k], atol=1e-12), k


@pytest.mark.parametrize("problem", sorted(CLAIMS))
def test_problem_claims_get_their_pinned_verdicts_confirmed_in_torch(problem, monkeypatch):
    from derive.check.run import check_answers

    _, verdicts = check_answers(str(PROBLEMS / f"{problem}_claims.md"), None, None, ())
    assert [v.verdict for v in verdicts] == [c[0] for c in CLAIMS[problem]]
    model = source.resolve(str(PROBLEMS / f"{problem}.md"))
    concrete, _ = model.concrete_settings({})
    net = model.build(concrete)
    if problem in CLAIM_REFERENCES:
        monkeypatch.setitem(REFERENCES, problem, CLAIM_REFERENCES[problem])
    for verdict, claim in zip(verdicts, CLAIMS[problem], strict=True):
        right = all(holds(problem, net, claim, steps, seed) for steps, seed in ((3, 1), (4, 2)))
        if claim[0] == K:
            assert not right and holds(problem, net, claim, 3, 1, **IDENTITY[problem]), verdict.latex
        else:
            assert right == (claim[0] == C), verdict.latex
        assert verdict.verdict == C or verdict.expected, verdict.line  # a wrong claim is shown the right form
