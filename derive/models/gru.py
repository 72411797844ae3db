"""The GRU cell in d2l's notation (column vectors), softmax cross-entropy at every step:

    r_t = σ(W_xr x_t + W_hr h_{t-1} + b_r)               reset gate
    z_t = σ(W_xz x_t + W_hz h_{t-1} + b_z)               update gate
    h̃_t = tanh(W_xh x_t + W_hh (r_t ⊙ h_{t-1}) + b_h)     candidate state
    h_t = z_t ⊙ h_{t-1} + (1 − z_t) ⊙ h̃_t
    o_t = W_hq h_t + b_q;   ŷ_t = softmax(o_t);   L = −Σ_t y_tᵀ log ŷ_t
"""

from __future__ import annotations

from derive import ops
from derive.network import Network
from derive.notation import Notation

OPTIONS = {"biases": ("on", "off")}


def build(name: str, options: dict[str, str], sizes: dict[str, int], *, seed="",
          notation: Notation | None = None) -> Network:
    net = Network(name, sizes, seed=seed, kind="gru", notation=notation, options=options)
    n, d, k = net.sizes("n d k")
    biases = options["biases"] == "on"
    W_x = {g: net.param(f"W_x{g}", n, d) for g in ("r", "z", "h")}
    W_h = {g: net.param(f"W_h{g}", n, n) for g in ("r", "z", "h")}
    bias = {g: net.param(f"b_{g}", n) for g in ("r", "z", "h")} if biases else {}
    W_hq = net.param("W_hq", k, n)
    b_q = net.param("b_q", k) if biases else None
    x = net.input("x", d)
    y = net.target("y", k, "onehot")
    h = net.state("h", n)

    def pre(g, recurrent):
        terms = [ops.matmul(W_x[g], x), ops.matmul(W_h[g], recurrent)]
        return ops.add(*terms, *([bias[g]] if g in bias else []))

    # Pre-activations are named (a_{r,t}, ...): their adjoints are the gate adjoints.
    r = net.step("r", ops.sigmoid(net.step("a_r", pre("r", h.prev))))
    z = net.step("z", ops.sigmoid(net.step("a_z", pre("z", h.prev))))
    htilde = net.step("htilde", ops.tanh(net.step("a_h", pre("h", ops.hadamard(r, h.prev)))))
    net.step(h, ops.add(ops.hadamard(z, h.prev), ops.hadamard(ops.one_minus(z), htilde)))
    o = net.step("o", ops.add(ops.matmul(W_hq, h.now), b_q) if biases else ops.matmul(W_hq, h.now))
    yhat = net.step("yhat", ops.softmax(o))
    ell = net.step("loss_t", ops.cross_entropy(yhat, y))
    net.let("L", ops.sum_over_time(ell))
    return net
