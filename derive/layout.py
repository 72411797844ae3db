"""Numerator layout, read off the denominator-layout derivation.

The deriver works in denominator layout (a gradient has its variable's shape). In numerator
layout dL/dh is a row and Jacobians multiply from the right: the transpose of every adjoint
expression, with entrywise products read as diag(.) factors,

    (W^T (g ⊙ s))^T = g^T diag(s) W,

and a matrix parameter's gradient written over its row-major vec with a Kronecker product,

    vec(g u^T)^T = g^T (I_n ⊗ u^T).
"""

from __future__ import annotations

from sympy import Basic
from sympy.matrices.expressions import Identity, KroneckerProduct, MatAdd, MatrixExpr, Transpose

from derive.algebra import NotLinear, add, distribute, linear_map, matmul, split_coefficient, substitute, transpose
from derive.nodes import Grad, RowGrad, TimeSum, VecRow


def grads_in(expr) -> list[Grad]:
    """The adjoint symbols dL/dX in an expression, in order of appearance, without repeats."""
    found = []

    def walk(x):
        if isinstance(x, Grad):
            if x not in found:
                found.append(x)
        elif isinstance(x, Basic):
            for a in x.args:
                walk(a)

    walk(expr)
    return found


def _rows_for_grads(expr):
    """Every dL/dX of a 1 x 1 expression read as the numerator-layout symbol (the same number)."""
    return substitute(expr, {g: RowGrad(g.var) for g in grads_in(expr)})


def _transposed(term):
    """termᵀ with each dL/dX read off its numerator-layout row, for a term no rule turns into a
    Jacobian product: a vector dL/dX stands in as (dL/dXᵀ)ᵀ, so the result is always right."""
    if all(g.shape == (1, 1) for g in grads_in(term)):
        return transpose(_rows_for_grads(term))
    rows = {g: RowGrad(g.var) if g.shape == (1, 1) else Transpose(RowGrad(g.var)) for g in grads_in(term)}
    return Transpose(substitute(term, rows))


def to_row(expr):
    """The numerator-layout (row) form of a denominator-layout column expression."""
    if not isinstance(expr, MatrixExpr):  # a number: the same in both layouts
        return expr
    if isinstance(expr, TimeSum):
        return TimeSum(to_row(expr.body), *expr.limits)
    if expr.shape == (1, 1) and all(g.shape == (1, 1) for g in grads_in(expr)):
        return _rows_for_grads(expr)  # the same number in both layouts
    terms = expr.args if isinstance(expr, MatAdd) else (expr,)
    rows = []
    for term in terms:
        grads = grads_in(term)
        if not grads:  # (y_hat - y)^T reads better than y_hat^T - y^T
            rows.append(Transpose(term) if isinstance(term, MatAdd) else transpose(term))
            continue
        if len(grads) != 1:
            rows.append(_transposed(term))
            continue
        coeff, mats = split_coefficient(term)
        last = max((j for j, m in enumerate(mats) if grads[0] in grads_in(m)), default=0)
        trailing = mats[last + 1:]
        if trailing and all(m.shape == (1, 1) for m in trailing):  # (A g) s = s (A g): a number times it
            rows.append(matmul(*trailing, to_row(matmul(coeff, *mats[:last + 1]))))
            continue
        try:
            jac_t = linear_map(term, grads[0])
        except NotLinear:
            expanded = distribute(term, lambda total: bool(grads_in(total)))  # v (∂L/∂a ⊙ s + c): a term a path
            if expanded != term:
                rows.append(to_row(expanded))
            elif term.shape == (1, 1) and all(g.shape == (1, 1) for g in grads_in(term)):
                rows.append(_rows_for_grads(term))  # a number read the same way in either layout
            else:
                rows.append(_transposed(term))
            continue
        rows.append(matmul(RowGrad(grads[0].var), transpose(jac_t)))
    return add(*rows)


def vec_form(expr, param):
    """dL/dparam in numerator layout: a row over the row-major vec of the parameter."""
    rows, cols = param.shape
    if cols == 1 or (rows, cols) == (1, 1):
        return to_row(expr)
    terms = expr.args if isinstance(expr, MatAdd) else (expr,)
    out = []
    for term in terms:
        if isinstance(term, TimeSum):
            out.append(TimeSum(vec_form(term.body, param), *term.limits))
            continue
        coeff, mats = split_coefficient(term)
        outer = len(mats) >= 2 and mats[-1].shape[0] == 1 and matmul(*mats[:-1]).shape[1] == 1
        if rows == 1 and not outer:  # a row parameter is its own vec
            out.append(_rows_for_grads(term))
            continue
        if not outer:
            out.append(matmul(coeff, VecRow(matmul(*mats))))
            continue
        left, u_t = matmul(*mats[:-1]), mats[-1]
        kron = u_t if rows == 1 else KroneckerProduct(Identity(rows), u_t)
        out.append(matmul(coeff, to_row(left), kron))
    return add(*out)


def param_jacobian(vjp, seed, param):
    """dh/dparam (numerator layout, over the row-major vec) from the VJP ``vjp`` of seed g at h.

    vjp = M g gives M^T (a vector parameter); vjp = (M g) u^T gives M^T (I ⊗ u^T).
    """
    rows, cols = param.shape
    if cols == 1:
        return transpose(linear_map(vjp, seed))
    terms = vjp.args if isinstance(vjp, MatAdd) else (vjp,)
    parts = []
    for term in terms:
        coeff, mats = split_coefficient(term)
        left, u_t = matmul(coeff, *mats[:-1]), mats[-1]
        if u_t.shape[0] != 1:
            raise NotLinear(f"{term} is not an outer product with a row on the right")
        kron = u_t if rows == 1 else KroneckerProduct(Identity(rows), u_t)
        parts.append(matmul(transpose(linear_map(left, seed)), kron))
    return add(*parts)
