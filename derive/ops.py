"""The primitives networks are declared with.

Each function builds a node (``nodes.py``) or an unevaluated SymPy product/sum
(``algebra.py``); gradients come from the rule table, never from code here. Networks of any
architecture are built from these and nothing else.
"""

from __future__ import annotations

from sympy import Rational

from derive.algebra import add, hadamard, matmul, one_minus, sub
from derive.nodes import (
    BinaryCrossEntropy,
    Concat,
    CrossEntropy,
    Divide,
    FrobeniusSq,
    GenericLoss,
    Phi,
    Softmax,
    SquaredError,
    T,
    TimeSum,
    t,
)
from derive.primitives import REGISTRY, Exp

softmax = Softmax
# The elementwise primitives, by their registered names (ops.sigmoid, ops.gelu, ops.leaky_relu, ...).
globals().update({op.symbol: op for op in REGISTRY})
cross_entropy, binary_cross_entropy, squared_error = CrossEntropy, BinaryCrossEntropy, SquaredError
frobenius_sq = FrobeniusSq


def identity(x):
    return x


def phi(x, name="phi"):
    """A generic activation phi, whose derivative stays phi'."""
    return Phi(x, name)


def generic_loss(o, y, name="ell"):
    """A generic loss l(o, y), whose gradient stays dl/do."""
    return GenericLoss(o, y, name)


def concat(*parts):
    """[a; b]: stack column vectors, e.g. [h_{t-1}; x_t]."""
    return Concat(*parts)


def sum_over_time(term):
    """sum_{t=1}^T term_t."""
    return TimeSum(term, t, 1, T)


def mean_over_time(term):
    """(1/T) sum_{t=1}^T term_t."""
    return matmul(1 / T, TimeSum(term, t, 1, T))


def softmax_over_time(score):
    """α_t = exp(e_t) / Σ_s exp(e_s) for a score e_t at every step (attention weights over a
    sequence): the sum is a value of its own, computed once after the steps (``Network.step``)."""
    return Divide(Exp(score), TimeSum(Exp(score), t, 1, T))


def divide(a, b):
    """a ⊘ b, entry by entry."""
    return Divide(a, b)


def half(x):
    return matmul(Rational(1, 2), x)


__all__ = [
    "add", "binary_cross_entropy", "concat", "cross_entropy", "divide", "frobenius_sq", "generic_loss",
    "hadamard", "half", "identity", "matmul", "mean_over_time", "one_minus", "phi", "softmax",
    "softmax_over_time", "squared_error", "sub", "sum_over_time", *[op.symbol for op in REGISTRY],
]
