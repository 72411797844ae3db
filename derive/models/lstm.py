"""The LSTM cell (seed 003, colah's notation), softmax cross-entropy at every step:

    f_t = σ(W_f [h_{t-1}; x_t] + b_f)        forget gate
    i_t = σ(W_i [h_{t-1}; x_t] + b_i)        input gate
    C̃_t = tanh(W_C [h_{t-1}; x_t] + b_C)     candidate cell
    o_t = σ(W_o [h_{t-1}; x_t] + b_o)        output gate
    C_t = f_t ⊙ C_{t-1} + i_t ⊙ C̃_t
    h_t = o_t ⊙ tanh(C_t)
    ŷ_t = softmax(V h_t + c);   L = −Σ_t y_tᵀ log ŷ_t

Options: ``weights=concat`` (one W_* ∈ R^{n×(n+d)} on [h_{t-1}; x_t], colah) or ``separate``
(W_x* x_t + W_h* h_{t-1}, d2l); ``peepholes=on`` adds p_f ⊙ C_{t-1}, p_i ⊙ C_{t-1} and
p_o ⊙ C_t to the gates' pre-activations (Gers & Schmidhuber, diagonal peepholes).
"""

from __future__ import annotations

from derive import ops
from derive.network import Network
from derive.notation import Notation

OPTIONS = {
    "weights": ("concat", "separate"),
    "peepholes": ("off", "on"),
    "biases": ("on", "off"),
}

GATES = ("f", "i", "C", "o")  # in the order of the equations (and of the stacked GEMM)


def build(name: str, options: dict[str, str], sizes: dict[str, int], *, seed="",
          notation: Notation | None = None) -> Network:
    net = Network(name, sizes, seed=seed, kind="lstm", notation=notation, options=options)
    n, d, k = net.sizes("n d k")
    concat = options["weights"] == "concat"
    biases = options["biases"] == "on"
    peepholes = options["peepholes"] == "on"

    weights = {}
    for g in GATES:
        if concat:
            weights[g] = (net.param(f"W_{g}", n, n + d),)
        else:
            weights[g] = (net.param(f"W_x{g}", n, d), net.param(f"W_h{g}", n, n))
    # the forget gate's bias starts at 1 (Gers et al. 2000; PyTorch users set it so): f ≈ σ(1) keeps the
    # cell from the first step instead of halving it
    bias = {g: net.param(f"b_{g}", n, initial=1.0 if g == "f" else None) for g in GATES} if biases else {}
    peep = {g: net.param(f"p_{g}", n) for g in ("f", "i", "o")} if peepholes else {}
    V = net.param("V", k, n)
    c = net.param("c", k) if biases else None
    x = net.input("x", d)
    y = net.target("y", k, "onehot")
    h = net.state("h", n)
    C = net.state("C", n)
    hx = ops.concat(h.prev, x) if concat else None

    def pre(g, cell=None):
        if concat:
            terms = [ops.matmul(weights[g][0], hx)]
        else:
            terms = [ops.matmul(weights[g][0], x), ops.matmul(weights[g][1], h.prev)]
        if g in peep:
            terms.append(ops.hadamard(peep[g], cell))
        if g in bias:
            terms.append(bias[g])
        return ops.add(*terms)

    # Pre-activations are named (a_{f,t}, ...): their adjoints are the gate adjoints.
    f = net.step("f", ops.sigmoid(net.step("a_f", pre("f", C.prev))))
    i = net.step("i", ops.sigmoid(net.step("a_i", pre("i", C.prev))))
    Ctilde = net.step("Ctilde", ops.tanh(net.step("a_C", pre("C"))))
    net.step(C, ops.add(ops.hadamard(f, C.prev), ops.hadamard(i, Ctilde)))
    o = net.step("o", ops.sigmoid(net.step("a_o", pre("o", C.now))))
    net.step(h, ops.hadamard(o, ops.tanh(C.now)))
    s = net.step("s", ops.add(ops.matmul(V, h.now), c) if biases else ops.matmul(V, h.now))
    yhat = net.step("yhat", ops.softmax(s))
    ell = net.step("loss_t", ops.cross_entropy(yhat, y))
    net.let("L", ops.sum_over_time(ell))
    return net
