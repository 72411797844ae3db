"""The vanilla RNN family: every seed variant is an instance with options.

    a_t = U x_t + W h_{t-1} + b          (terms in the preset's order; biases optional)
    h_t = act(a_t)                       relu | tanh | sigmoid | identity | generic phi
    o_t = V h_t + c                      (or once, on h_T, when the loss is on the last step)
    p_t = softmax(o_t) | sigmoid(o_t) | o_t
    L   = sum_t l(p_t, y_t)  or  (1/T) sum_t ...  or  l(p_T, y)
          l = cross-entropy | binary cross-entropy | squared error | generic l
"""

from __future__ import annotations

from derive import ops
from derive.network import DeclarationError, Network
from derive.notation import Notation
from derive.primitives import REGISTRY

# The hidden activation: every registered elementwise primitive but exp and log, the identity,
# or a generic φ (whose derivative stays φ').
ACTIVATIONS = {
    "relu": ops.relu,
    "tanh": ops.tanh,
    "sigmoid": ops.sigmoid,
    **{op.symbol: op for op in REGISTRY if op.symbol not in ("exp", "log", "relu", "tanh", "sigmoid")},
    "identity": ops.identity,
    "generic": ops.phi,
}

OPTIONS = {
    "activation": tuple(ACTIVATIONS),
    "output": ("softmax", "sigmoid", "linear"),
    "loss": ("ce", "bce", "mse", "generic"),
    "loss_at": ("every", "last"),
    "reduction": ("sum", "mean"),
    "biases": ("on", "off"),
}

# Roles of the family and the internal name each preset gives them.
DEFAULT_NAMES = dict(W="W", U="U", b="b", V="V", c="c", x="x", y="y", h="h", a="a", o="o",
                     p="yhat", ell="loss_t", L="L")

TARGET_KIND = {"ce": "onehot", "bce": "binary", "mse": "real", "generic": "real"}


def check_options(options: dict[str, str]) -> None:
    """Reject combinations that have no meaning, in one clear sentence."""
    out, loss = options["output"], options["loss"]
    if loss == "ce" and out != "softmax":
        raise DeclarationError("loss=ce needs output=softmax")
    if loss == "bce" and out != "sigmoid":
        raise DeclarationError("loss=bce needs output=sigmoid")
    if options["loss_at"] == "last" and options["reduction"] == "mean":
        raise DeclarationError("reduction=mean averages over steps; it needs loss_at=every")


def build(name: str, options: dict[str, str], sizes: dict[str, int], *, seed="", names=None,
          notation: Notation | None = None, input_terms=("U", "W", "b"), scalar_output=False) -> Network:
    """An RNN of this family.

    ``input_terms`` orders the terms of a_t as the preset's source writes them;
    ``scalar_output`` fixes k = 1 so that the head is a number (V is a row, as in seed 001).
    """
    check_options(options)
    names = {**DEFAULT_NAMES, **(names or {})}
    net = Network(name, sizes, seed=seed, kind="rnn", notation=notation, options=options)
    n, d = net.sizes("n d")
    k = 1 if scalar_output else net.size_symbols["k"]
    biases = options["biases"] == "on"
    last_only = options["loss_at"] == "last"

    W = net.param(names["W"], n, n)
    U = net.param(names["U"], n, d)
    b = net.param(names["b"], n) if biases else None
    V = net.param(names["V"], k, n)
    c = net.param(names["c"], k) if biases else None
    x = net.input(names["x"], d)
    y = net.target(names["y"], k, TARGET_KIND[options["loss"]], per_step=not last_only)
    h = net.state(names["h"], n)

    term = {"U": ops.matmul(U, x), "W": ops.matmul(W, h.prev), "b": b}
    a = net.step(names["a"], ops.add(*[term[r] for r in input_terms if term[r] is not None]))
    net.step(h, ACTIVATIONS[options["activation"]](a))

    define = net.let if last_only else net.step
    h_read = h.last if last_only else h.now
    o = define(names["o"], ops.add(ops.matmul(V, h_read), c) if biases else ops.matmul(V, h_read))
    out = options["output"]
    p = o if out == "linear" else define(names["p"], ops.softmax(o) if out == "softmax" else ops.sigmoid(o))
    loss = {
        "ce": ops.cross_entropy,
        "bce": ops.binary_cross_entropy,
        "mse": ops.squared_error,
        "generic": ops.generic_loss,
    }[options["loss"]](p, y)
    if last_only:
        net.let(names["L"], loss)
    else:
        ell = net.step(names["ell"], loss)
        reduce = ops.mean_over_time if options["reduction"] == "mean" else ops.sum_over_time
        net.let(names["L"], reduce(ell))
    return net
