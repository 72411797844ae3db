"""The vector-Jacobian products of derive's algebra, in one table; a primitive keeps its own in
its module (derive/primitives), which the table asks for first.

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

from derive.algebra import hadamard, is_matrix, matmul, split_coefficient, transpose
from derive.nodes import Elementwise, Phi, Prime, TimeSum
from derive.primitives import PRIMITIVES, Activation, Primitive


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
    TimeSum: lambda g, f, ans: [g, None],
}


# A loss applied to the output of the function that usually precedes it: the composite
# gradient is simpler than the chain of the two rules (PyTorch fuses them the same way).
# Keyed by (inner function, loss), from the losses' modules; each maps (g, p, y) to the
# gradient at the inner argument.
FUSED = {(inner, loss): rule for loss in PRIMITIVES for inner, rule in loss.fused.items()}


class Scaling:
    """The rule that acts at c·X for a scalar c (a MatMul with one matrix factor, as SymPy writes
    it): recorded under its own name, since a shown step calls it a scaling, not a matrix product."""


def rule_kind(node):
    """The rule a step records for ``node``: its type, or ``Scaling`` for a scalar multiple."""
    if isinstance(node, MatMul) and sum(1 for a in node.args if is_matrix(a)) == 1:
        return Scaling
    return type(node)


def rule_for(node):
    """The VJP rule of ``node``: a primitive's own (derive/primitives), else that of SymPy's
    algebra, an elementwise function (g ⊙ f') or a sum over time."""
    if isinstance(node, Primitive) and node.vjp is not None:
        return node.vjp
    for cls in type(node).__mro__:
        if cls in VJP:
            return VJP[cls]
    raise KeyError(f"no VJP rule for {type(node).__name__}")
