"""Building matrix expressions without SymPy's canonical reordering.

SymPy's constructors sort the terms of sums and products and ``subs`` re-evaluates; derivations
must keep the order a person wrote (``b + W h_{t-1} + U x_t``). These helpers build
``MatAdd``/``MatMul``/``HadamardProduct`` unevaluated and apply only the identities that keep an
expression readable: drop zeros and identities, gather scalar factors, push transposes inward.
"""

from __future__ import annotations

from sympy import Basic, Expr, Integer, S, sympify
from sympy.matrices.expressions import (
    HadamardProduct,
    Identity,
    KroneckerProduct,
    MatAdd,
    MatMul,
    MatrixExpr,
    MatrixSymbol,
    OneMatrix,
    Transpose,
    ZeroMatrix,
)

from derive.nodes import Diag, TimeProduct, TimeSum


def is_matrix(x) -> bool:
    return isinstance(x, MatrixExpr)


def is_zero(x) -> bool:
    return isinstance(x, ZeroMatrix) or (not is_matrix(x) and sympify(x) == 0)


def is_one_by_one(x) -> bool:
    return is_matrix(x) and x.shape == (1, 1)


def split_coefficient(x):
    """(scalar coefficient, list of matrix factors) of a product."""
    if isinstance(x, MatMul):
        coeff, mats = S.One, []
        for a in x.args:
            if is_matrix(a):
                mats.append(a)
            else:
                coeff *= a
        return coeff, mats
    if is_matrix(x):
        return S.One, [x]
    return sympify(x), []


def matmul(*factors):
    """The product of matrices and scalars, left to right."""
    coeff, mats = S.One, []
    for f in factors:
        c, ms = split_coefficient(f)
        coeff *= c
        mats.extend(ms)
    if not mats:
        return coeff
    shape = (mats[0].shape[0], mats[-1].shape[1])
    if coeff == 0 or any(isinstance(m, ZeroMatrix) for m in mats):
        return ZeroMatrix(*shape)
    if len(mats) > 1:
        kept = [m for m in mats if not isinstance(m, Identity)]
        mats = kept or mats[:1]
    if coeff == 1 and len(mats) == 1:
        return mats[0]
    args = ([coeff] if coeff != 1 else []) + mats
    return MatMul(*args, evaluate=False)


def checked_matmul(*factors):
    """The matrix product, refused when two neighbouring factors do not conform."""
    mats = [f for f in factors if is_matrix(f)]
    for a, b in zip(mats, mats[1:], strict=False):
        if a.shape[1] != b.shape[0]:
            raise TypeError(f"a matrix product of a {a.shape[0]}×{a.shape[1]} and a {b.shape[0]}×{b.shape[1]} "
                            "matrix does not conform (for an entrywise product use * or ops.hadamard)")
    return matmul(*factors)


def scale(c, x):
    """c x for a scalar c or a 1 x 1 matrix c (placed where the product is conformable)."""
    if not is_matrix(c):
        return matmul(c, x)
    if x.shape[1] == 1:
        return matmul(x, c)
    if x.shape[0] == 1:
        return matmul(c, x)
    return KroneckerProduct(c, x)


def add(*terms):
    """The sum, in the given order, without zero terms."""
    flat = []
    for term in terms:
        if isinstance(term, MatAdd):
            flat.extend(term.args)
        elif not is_zero(term):
            flat.append(term)
    if not flat:
        shaped = [x for x in terms if is_matrix(x)]
        return ZeroMatrix(*shaped[0].shape) if shaped else S.Zero
    if len(flat) == 1:
        return flat[0]
    if not all(is_matrix(x) for x in flat):
        return sum(flat, S.Zero)
    return MatAdd(*flat, evaluate=False)


def neg(x):
    return matmul(-1, x)


def sub(a, b):
    return add(a, neg(b))


def hadamard(*factors):
    """The entrywise product; a 1 x 1 factor multiplies as a scalar would."""
    flat = []
    for f in factors:
        flat.extend(f.args if isinstance(f, HadamardProduct) else [f])
    if any(is_zero(f) for f in flat):
        return ZeroMatrix(*flat[0].shape)
    flat = [f for f in flat if not isinstance(f, OneMatrix)] or flat[:1]
    if len(flat) == 1:
        return flat[0]
    coeff, rest = S.One, []
    for f in flat:
        c, ms = split_coefficient(f)
        if len(ms) <= 1:  # a scalar (the objective's seed 1) or c M: the coefficient multiplies
            coeff *= c
            rest.extend(ms)
        else:
            rest.append(f)
    if not rest:
        return coeff
    body = rest[0] if len(rest) == 1 else HadamardProduct(*rest, evaluate=False)
    return matmul(coeff, body)


def ones_like(x):
    return OneMatrix(*x.shape)


def one_minus(x):
    return sub(ones_like(x), x)


def transpose(x):
    """x^T with the transpose pushed through products, sums and symmetric factors."""
    if not is_matrix(x):
        return x
    if isinstance(x, Transpose):
        return x.arg
    if isinstance(x, (Identity, Diag, ZeroMatrix)) and x.shape[0] == x.shape[1]:
        return x
    if isinstance(x, (ZeroMatrix, OneMatrix)):
        return type(x)(x.shape[1], x.shape[0])
    if isinstance(x, MatMul):
        coeff, mats = split_coefficient(x)
        return matmul(coeff, *[transpose(m) for m in reversed(mats)])
    if isinstance(x, MatAdd):
        return add(*[transpose(a) for a in x.args])
    if isinstance(x, HadamardProduct):
        return hadamard(*[transpose(a) for a in x.args])
    if x.shape == (1, 1):
        return x
    return Transpose(x)


def rebuild(node, args):
    """``node`` with new args, built without SymPy's evaluation."""
    if isinstance(node, MatAdd):
        return add(*args)
    if isinstance(node, MatMul):
        return matmul(*args)
    if isinstance(node, HadamardProduct):
        return hadamard(*args)
    if isinstance(node, Transpose):
        return transpose(args[0])
    return node.func(*args)


def substitute(expr, mapping):
    """Replace subtrees (keys of ``mapping``) everywhere, rebuilding without reordering.

    Scalar symbols such as the time index are replaced inside indices too, so
    ``substitute(h_{t-1}, {t: 3})`` is h_2.
    """
    if expr in mapping:
        return mapping[expr]
    if not isinstance(expr, Basic) or not expr.args:
        return expr
    if not is_matrix(expr) and isinstance(expr, Expr):
        return expr.xreplace(mapping)
    if isinstance(expr, (TimeSum, TimeProduct)):  # the index is bound inside
        bound = expr.limits[0]
        inner = {key: v for key, v in mapping.items() if key != bound}
        body = substitute(expr.body, inner)
        limits = [substitute(x, mapping) for x in expr.limits[1:]]
        return expr.func(body, bound, *limits)
    new = [substitute(a, mapping) for a in expr.args]
    if all(n is a for n, a in zip(new, expr.args, strict=True)):
        return expr
    return rebuild(expr, new)


def unroll(expr):
    """Write out every time sum and time product whose bounds are numbers."""
    if not isinstance(expr, Basic) or not expr.args or not is_matrix(expr):
        return expr
    if isinstance(expr, (TimeSum, TimeProduct)):
        index, lo, hi = expr.limits
        if lo.is_Integer and hi.is_Integer:
            values = range(int(lo), int(hi) + 1)
            if isinstance(expr, TimeSum):
                terms = [unroll(substitute(expr.body, {index: v})) for v in values]
                return add(*terms) if terms else ZeroMatrix(*expr.shape)
            factors = [unroll(substitute(expr.body, {index: v})) for v in reversed(values)]
            return matmul(*factors) if factors else Identity(expr.shape[0])
    new = [unroll(a) for a in expr.args]
    return expr if all(n is a for n, a in zip(new, expr.args, strict=True)) else rebuild(expr, new)


def contains(expr, part) -> bool:
    """True when ``part`` occurs as a subtree of ``expr``."""
    if expr == part:
        return True
    return isinstance(expr, Basic) and any(contains(a, part) for a in expr.args)


class NotLinear(ValueError):
    """An expression is not of the form M g for the given vector g."""


def linear_map(expr, g):
    """The matrix M with expr = M g, for an expression linear in the column vector g.

    This turns a vector-Jacobian product into the Jacobian it applies: W^T (g ⊙ s) becomes
    W^T diag(s).
    """
    if expr == g:
        return Identity(g.shape[0])
    if not contains(expr, g):
        raise NotLinear(f"{expr} does not depend on {g}")
    if isinstance(expr, MatAdd):
        if not all(contains(a, g) for a in expr.args):  # M g + c: affine, not linear
            raise NotLinear(f"{expr} has terms without {g}")
        return add(*[linear_map(a, g) for a in expr.args])
    if isinstance(expr, MatMul):
        coeff, mats = split_coefficient(expr)
        if any(contains(m, g) for m in mats[:-1]):
            raise NotLinear(f"{g} is not the rightmost factor of {expr}")
        return matmul(coeff, *mats[:-1], linear_map(mats[-1], g))
    if isinstance(expr, HadamardProduct):
        inner = [a for a in expr.args if contains(a, g)]
        if len(inner) != 1:
            raise NotLinear(f"{g} appears in several factors of {expr}")
        others = [a for a in expr.args if a is not inner[0]]
        return matmul(Diag(hadamard(*others)), linear_map(inner[0], g))
    if hasattr(expr, "linear_in"):  # a primitive that knows its own matrix (derive/primitives)
        return expr.linear_in(g, linear_map)
    raise NotLinear(f"cannot read {type(expr).__name__} as a linear map of {g}")


def distribute(expr, over=lambda total: True):
    """Products (matrix and entrywise) multiplied out over the sums they contain for which
    ``over(sum)`` holds: v (a + b) -> v a + v b, so that each term is linear in the adjoints it reads."""
    if not isinstance(expr, MatrixExpr) or not expr.args:
        return expr
    args = [distribute(a, over) for a in expr.args]
    if isinstance(expr, (MatMul, HadamardProduct)):
        for j, a in enumerate(args):
            if isinstance(a, MatAdd) and over(a):
                combine = matmul if isinstance(expr, MatMul) else hadamard
                return add(*[distribute(combine(*args[:j], term, *args[j + 1:]), over) for term in a.args])
    return rebuild(expr, args)


def rows_of_transposed_product(product, start, stop):
    """Rows start..stop-1 of Wᵀ M as W[:, start:stop]ᵀ M (the block of W that read that part of
    a stacked vector), or None when ``product`` does not start with a transposed symbol."""
    from derive.nodes import ColSlice

    coeff, mats = split_coefficient(product) if isinstance(product, MatMul) else (1, [product])
    first = mats[0]
    if isinstance(first, Transpose) and isinstance(first.arg, MatrixSymbol):
        return matmul(coeff, Transpose(ColSlice(first.arg, start, stop)), *mats[1:])
    return None


def time_sum(body, index, lo, hi):
    return TimeSum(body, index, lo, hi)


def time_product(body, index, lo, hi):
    return TimeProduct(body, index, lo, hi)


ONE = Integer(1)
