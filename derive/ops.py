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
    FrobeniusSq,
    GenericLoss,
    Phi,
    ReLU,
    Sigmoid,
    Softmax,
    SquaredError,
    T,
    Tanh,
    TimeSum,
    t,
)

sigmoid, tanh, relu, softmax = Sigmoid, Tanh, ReLU, Softmax
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


def half(x):
    return matmul(Rational(1, 2), x)


__all__ = [
    "add", "binary_cross_entropy", "concat", "cross_entropy", "frobenius_sq", "generic_loss",
    "hadamard", "half", "identity", "matmul", "mean_over_time", "one_minus", "phi", "relu",
    "sigmoid", "softmax", "squared_error", "sub", "sum_over_time", "tanh",
]
