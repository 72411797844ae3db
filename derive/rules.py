"""Every primitive's vector-Jacobian product, in one table.

A rule takes the upstream gradient ``g`` (denominator layout: shaped like the node's value),
the node ``f`` and its forward result ``ans``, and returns the gradient reaching each of
``f.args`` (``None`` where none flows: targets, names, scalar coefficients). Rules may use
``ans``, which gives sigma(1 - sigma) and 1 - tanh^2 without recomputing the function.

Elementwise functions share one rule, g ⊙ f'(x); each primitive's f' is a scalar function of
(x, ans) in its own module (derive/primitives), beside everything else about it.
"""

from __future__ import annotations

from sympy import Dummy, Function
from sympy.matrices.expressions import HadamardProduct, MatAdd, MatMul, Transpose

from derive.algebra import (
    hadamard,
    is_matrix,
    matmul,
    neg,
    one_minus,
    scale,
    split_coefficient,
    sub,
    transpose,
)
from derive.nodes import (
    BinaryCrossEntropy,
    Broadcast,
    Concat,
    Conv2d,
    ConvInputGrad,
    ConvKernelGrad,
    CrossEntropy,
    Divide,
    Elementwise,
    FrobeniusSq,
    GenericLoss,
    LogSumExp,
    LossGrad,
    Phi,
    PositionSum,
    Power,
    Prime,
    RowSlice,
    Sigmoid,
    Softmax,
    SquaredError,
    TimeSum,
)
from derive.primitives import Activation


def _generic_derivative(name):
    """phi'(x) for an unspecified phi, written the way sympy.diff writes it."""
    z = Dummy("z")
    return lambda x, ans: Function(name)(z).diff(z).subs(z, x)


def derivative_of(fx):
    """The scalar rule (x, ans) -> f'(x) for the elementwise node fx = f(x): a primitive's own
    (derive/primitives), or phi' for a generic phi."""
    if isinstance(fx, Phi):
        return _generic_derivative(fx.fname)
    if isinstance(fx, Activation):
        return fx.rule()
    raise KeyError(f"no derivative rule for {type(fx).__name__}")


def _matmul_vjp(g, f, ans):
    """d(A_1 ... A_m)/dA_j applied to g: (A_1 ... A_{j-1})^T g (A_{j+1} ... A_m)^T."""
    coeff, mats = split_coefficient(f)
    grads, j = [], 0
    for arg in f.args:
        if not is_matrix(arg):
            grads.append(None)
            continue
        left = [transpose(m) for m in reversed(mats[:j])]
        right = [transpose(m) for m in reversed(mats[j + 1 :])]
        grads.append(matmul(coeff, *left, g, *right))
        j += 1
    return grads


def _hadamard_vjp(g, f, ans):
    return [hadamard(g, *f.args[:j], *f.args[j + 1 :]) for j in range(len(f.args))]


VJP = {
    MatAdd: lambda g, f, ans: [g for _ in f.args],
    MatMul: _matmul_vjp,
    HadamardProduct: _hadamard_vjp,
    Transpose: lambda g, f, ans: [transpose(g)],
    Elementwise: lambda g, f, ans: [hadamard(g, Prime(f, ans))] + [None] * (len(f.args) - 1),
    Divide: lambda g, f, ans: [
        Divide(g, f.args[1]),
        neg(Divide(hadamard(g, f.args[0]), Power(f.args[1], 2))),
    ],
    Power: lambda g, f, ans: [hadamard(g, matmul(f.args[1], Power(f.args[0], f.args[1] - 1))), None],
    Softmax: lambda g, f, ans: [sub(hadamard(ans, g), matmul(ans, transpose(ans), g))],
    LogSumExp: lambda g, f, ans: [scale(g, Softmax(f.arg))],
    CrossEntropy: lambda g, f, ans: [scale(g, neg(Divide(f.args[1], f.args[0]))), None],
    BinaryCrossEntropy: lambda g, f, ans: [
        scale(g, neg(sub(Divide(f.args[1], f.args[0]), Divide(one_minus(f.args[1]), one_minus(f.args[0]))))),
        None,
    ],
    SquaredError: lambda g, f, ans: [scale(g, sub(f.args[0], f.args[1])), None],
    GenericLoss: lambda g, f, ans: [scale(g, LossGrad(*f.args)), None, None],
    FrobeniusSq: lambda g, f, ans: [scale(g, matmul(2, f.args[0]))],
    Concat: lambda g, f, ans: [RowSlice(g, start, stop) for start, stop in f.offsets()],
    TimeSum: lambda g, f, ans: [g, None],
    # conv(w, z): the kernel gets conv(g, z), the image the full convolution with rot180(w)
    Conv2d: lambda g, f, ans: [ConvKernelGrad(g, f.args[1], f.args[2]), ConvInputGrad(g, f.args[0], f.args[2]), None],
    Broadcast: lambda g, f, ans: [PositionSum(g, f.positions), None],  # a shared bias: sum over positions
    PositionSum: lambda g, f, ans: [Broadcast(g, f.positions), None],
}


# A loss applied to the output of the function that usually precedes it: the composite
# gradient is simpler than the chain of the two rules (PyTorch fuses them the same way).
# Keyed by (inner function, loss); each maps (g, p, y) to the gradient at the inner argument.
FUSED = {
    # (diag(p) - p p^T)(-y ⊘ p) = p (1^T y) - y = p - y, since a one-hot y sums to 1.
    (Softmax, CrossEntropy): lambda g, p, y: scale(g, sub(p, y)),
    # -(y/p - (1-y)/(1-p)) p (1-p) = p - y.
    (Sigmoid, BinaryCrossEntropy): lambda g, p, y: scale(g, sub(p, y)),
}


def rule_for(node):
    """The VJP rule of ``node``'s class (or of the nearest class above it)."""
    for cls in type(node).__mro__:
        if cls in VJP:
            return VJP[cls]
    raise KeyError(f"no VJP rule for {type(node).__name__}")
