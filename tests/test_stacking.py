"""Stacking the blocks that read h_{t-1} (and their input parts) is generic: cells of every
form a user declares get one GEMM per step and stay right. Each module is compared with
autograd at random parameters (biases not at 0, so that a bias added twice or dropped shows)."""

from __future__ import annotations

import pytest
from modules import assert_matches_autograd, imported

from derive import Network, ops
from derive.codegen.plan import plan_module
from derive.codegen.render import render_module
from derive.deriver import derive


def _gates(biases: str, candidate: str):
    """A GRU in PyTorch's convention: ``biases`` 'all' (b_i and b_h for every gate), 'none';
    ``candidate`` 'in-step' (W_hn h + b_hn inside n_t) or 'own-step' (W_hn h_{t-1} a step of its own)."""
    net = Network("gru-variant", sizes=dict(m=3, d=2, k=2, T=3))
    m, d, k = net.sizes("m d k")
    W_i = {g: net.param(f"W_i{g}", m, d) for g in "rzn"}
    W_h = {g: net.param(f"W_h{g}", m, m) for g in "rzn"}
    b = {f"{s}{g}": net.param(f"b_{s}{g}", m) for s in "ih" for g in "rzn"} if biases == "all" else {}
    V, c = net.param("V", k, m), net.param("c", k)
    x, y, h = net.input("x", d), net.target("y", k, "onehot"), net.state("h", m)

    def part(*terms):
        return ops.add(*terms) if len(terms) > 1 else terms[0]

    def gate(g):
        extra = [b[f"i{g}"], b[f"h{g}"]] if b else []
        return ops.sigmoid(part(ops.matmul(W_i[g], x), *extra[:1], ops.matmul(W_h[g], h.prev), *extra[1:]))

    r = net.step("r", gate("r"))
    z = net.step("z", gate("z"))
    recurrent = part(ops.matmul(W_h["n"], h.prev), *([b["hn"]] if b else []))
    if candidate == "own-step":
        recurrent = net.step("nh", recurrent)
    cand = net.step("n", ops.tanh(part(ops.matmul(W_i["n"], x), *([b["in"]] if b else []),
                                       ops.hadamard(r, recurrent))))
    net.step(h, ops.add(ops.hadamard(ops.one_minus(z), cand), ops.hadamard(z, h.prev)))
    o = net.step("o", ops.add(ops.matmul(V, h.now), c))
    net.let("L", ops.sum_over_time(net.step("l", ops.cross_entropy(ops.softmax(o), y))))
    return net


def _gate_and_bare_candidate():
    """f_t = σ(W_if x_t + W_hf h_{t-1}), g_t = tanh(W_hg h_{t-1}): a member whose line is only
    its rows of the product (once a crash: 'Zero' object has no attribute 'shape')."""
    net = Network("bare", sizes=dict(m=3, d=2, k=2, T=3))
    m, d, k = net.sizes("m d k")
    x, y, h = net.input("x", d), net.target("y", k, "onehot"), net.state("h", m)
    f = net.step("f", ops.sigmoid(ops.add(ops.matmul(net.param("W_if", m, d), x),
                                          ops.matmul(net.param("W_hf", m, m), h.prev))))
    g = net.step("g", ops.tanh(ops.matmul(net.param("W_hg", m, m), h.prev)))
    net.step(h, ops.add(ops.hadamard(f, h.prev), ops.hadamard(ops.one_minus(f), g)))
    o = net.step("o", ops.matmul(net.param("V", k, m), h.now))
    net.let("L", ops.sum_over_time(net.step("l", ops.cross_entropy(ops.softmax(o), y))))
    return net


CELLS = {
    "torch-gru": lambda: _gates("all", "in-step"),
    "torch-gru-no-biases-own-step": lambda: _gates("none", "own-step"),
    "torch-gru-own-step": lambda: _gates("all", "own-step"),
    "gate-and-bare-candidate": _gate_and_bare_candidate,
}


@pytest.mark.parametrize("cell", list(CELLS))
def test_a_stacked_cell_matches_autograd(cell, tmp_path):
    net = CELLS[cell]()
    source = render_module(plan_module(derive(net), {"m": 3, "d": 2, "k": 2}))
    assert source.count("np.concatenate([W_h") + source.count("W_stack_h = ") >= 1  # h_{t-1}'s blocks stacked
    path = tmp_path / "cell_grad.py"
    path.write_text(source)
    assert_matches_autograd(net, imported(path), ((1, 1), (3, 2)), seed=7)
