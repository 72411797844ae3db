"""A learned boundary value: h_0 = s (or g_{T+1} = s for a state running backward) is a
parameter, ∂L/∂s = ∂L/∂h_0 (what reaches it from the step it feeds). Derivations are checked by
the three oracles, modules by autograd at random parameters (s not at 0)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from harness import network_failures
from modules import random_batch, reference, reused_gradients

from derive import Network, ops
from derive.codegen.plan import plan_module
from derive.codegen.render import render_module
from derive.deriver import derive
from derive.network import DeclarationError


def lstm():
    """An LSTM on [h_{t-1}; x_t] whose h_0 and C_0 are both learned."""
    net = Network("lstm-learned", sizes=dict(n=2, d=2, k=2, T=3))
    n, d, k = net.sizes("n d k")
    W = {g: net.param(f"W_{g}", n, n + d) for g in "fioc"}
    b = {g: net.param(f"b_{g}", n) for g in "fioc"}
    h0, c0 = net.param("h_init", n), net.param("C_init", n)
    V, c = net.param("V", k, n), net.param("c", k)
    x, y = net.input("x", d), net.target("y", k, "onehot")
    h, C = net.state("h", n, initial=h0), net.state("C", n, initial=c0)
    z = ops.concat(h.prev, x)
    f, i, o = (net.step(g, ops.sigmoid(W[g] @ z + b[g])) for g in "fio")
    cand = net.step("Ctilde", ops.tanh(W["c"] @ z + b["c"]))
    net.step(C, ops.add(ops.hadamard(f, C.prev), ops.hadamard(i, cand)))
    net.step(h, ops.hadamard(o, ops.tanh(C.now)))
    out = net.step("o_t", V @ h.now + c)
    net.let("L", ops.sum_over_time(net.step("l", ops.cross_entropy(ops.softmax(out), y))))
    return net


def backward_rnn():
    """A state running backward in time from a learned g_{T+1}; squared error at every step."""
    net = Network("backward-learned", sizes=dict(n=3, d=2, k=2, T=3))
    n, d, k = net.sizes("n d k")
    W, U, V, s = net.param("W", n, n), net.param("U", n, d), net.param("V", k, n), net.param("s", n)
    x, y = net.input("x", d), net.target("y", k, "real")
    g = net.state("g", n, backward=True, initial=s)
    net.step(g, ops.tanh(W @ g.next + U @ x))
    net.let("L", ops.sum_over_time(net.step("l", ops.squared_error(V @ g.now, y))))
    return net


NETWORKS = {"lstm": lstm, "backward-rnn": backward_rnn}


@pytest.mark.parametrize("layout", ["denominator", "numerator"])
@pytest.mark.parametrize("name", list(NETWORKS))
def test_the_derivation_passes_the_three_oracles(name, layout):
    assert network_failures(NETWORKS[name](), 3, layout, with_sympy=name != "lstm") == []


@pytest.mark.parametrize("name", list(NETWORKS))
def test_the_module_starts_from_the_parameter_and_matches_autograd(name, tmp_path):
    net = NETWORKS[name]()
    sizes = {k: v for k, v in net.sizes_default.items() if k != "T"}
    path = tmp_path / "learned_grad.py"
    path.write_text(render_module(plan_module(derive(net), sizes)))
    assert "_0" not in path.read_text().split("Inputs:")[1].splitlines()[0]  # no h_0 input beside the parameter
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(4)
    for steps, batch in ((1, 1), (2, 3), (4, 2)):
        params, inputs, targets = random_batch(net, module, steps, batch, seed=steps)
        params = {key: 0.7 * rng.standard_normal(np.shape(v)) for key, v in params.items()}
        loss, grads = reused_gradients(module, params, inputs, targets)
        want_loss, want = reference(net, params, inputs, targets, steps)
        assert abs(loss - want_loss) < 1e-10
        for key in want:
            assert np.allclose(grads[key], want[key], atol=1e-10, rtol=0), key


def test_a_learned_initial_state_starts_at_zero_and_is_shown():
    from derive.report import TerminalReport

    net = NETWORKS["backward-rnn"]()
    assert net.initial_value("s") == 0.0  # init_params starts it where the fixed boundary was
    text = TerminalReport(derive(net), 3).render()
    assert "  g_{T+1} = s\n" in text
    assert "∂L/∂s = Wᵀ (∂L/∂g_T ⊙ tanh'(W g_{T+1} + U x_T))" in text


def test_the_initial_value_must_be_a_parameter_of_the_states_shape():
    net = Network("bad", sizes=dict(n=3, d=2, T=3))
    n, d = net.sizes("n d")
    wrong = net.param("s", d)
    with pytest.raises(DeclarationError, match="initial value of h"):
        net.state("h", n, initial=wrong)
