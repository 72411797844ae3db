"""The one-hidden-layer MLP family, with optional L2 regularisation (d2l's running example):

    z = W1 x (+ b1);  h = act(z);  o = W2 h (+ b2);  p = softmax(o) | sigmoid(o) | o
    L = l(p, y);  s = (lambda/2)(||W1||_F^2 + ||W2||_F^2);  J = L + s
"""

from __future__ import annotations

from sympy import Rational

from derive import ops
from derive.models.rnn import ACTIVATIONS, TARGET_KIND
from derive.network import DeclarationError, Network
from derive.notation import Notation

OPTIONS = {
    "activation": tuple(ACTIVATIONS),
    "output": ("linear", "softmax", "sigmoid"),
    "loss": ("generic", "mse", "ce", "bce"),
    "l2": ("on", "off"),
    "biases": ("off", "on"),
}


L2_WEIGHT = Rational(1, 10)  # lambda, when a number is needed


def check_options(options: dict[str, str]) -> None:
    if options["loss"] == "ce" and options["output"] != "softmax":
        raise DeclarationError("loss=ce needs output=softmax")
    if options["loss"] == "bce" and options["output"] != "sigmoid":
        raise DeclarationError("loss=bce needs output=sigmoid")


def build(name: str, options: dict[str, str], sizes: dict[str, int], *, seed="",
          notation: Notation | None = None, l2_weight=L2_WEIGHT) -> Network:
    check_options(options)
    net = Network(name, sizes, seed=seed, kind="mlp", sequential=False, notation=notation, options=options)
    d, n, k = net.sizes("d n k")
    biases = options["biases"] == "on"
    W1 = net.param("W1", n, d)
    b1 = net.param("b1", n) if biases else None
    W2 = net.param("W2", k, n)
    b2 = net.param("b2", k) if biases else None
    x = net.input("x", d)
    y = net.target("y", k, TARGET_KIND[options["loss"]])

    z = net.let("z", ops.add(ops.matmul(W1, x), b1) if biases else ops.matmul(W1, x))
    h = net.let("h", ACTIVATIONS[options["activation"]](z))
    o = net.let("o", ops.add(ops.matmul(W2, h), b2) if biases else ops.matmul(W2, h))
    out = options["output"]
    p = o if out == "linear" else net.let("yhat", ops.softmax(o) if out == "softmax" else ops.sigmoid(o))
    loss = {
        "ce": ops.cross_entropy,
        "bce": ops.binary_cross_entropy,
        "mse": ops.squared_error,
        "generic": ops.generic_loss,
    }[options["loss"]](p, y)
    L = net.let("L", loss)
    if options["l2"] == "on":
        lam = net.hyper("lambda", l2_weight)
        s = net.let("s", ops.matmul(lam / 2, ops.add(ops.frobenius_sq(W1), ops.frobenius_sq(W2))))
        net.let("J", ops.add(L, s))
    return net
