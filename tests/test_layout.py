"""The numerator-layout (row) form of adjoint expressions, evaluated entry by entry: it must be
the transpose of the denominator-layout column, whatever rule (or none) reads it."""

import numpy as np
from sympy import MatrixSymbol

from derive.algebra import hadamard
from derive.layout import to_row
from derive.nodes import Concat, Divide, Exp, Grad
from derive.printing.numpy import HELPERS, NumpyPrinter

h = MatrixSymbol("h", 2, 1)
v = MatrixSymbol("v", 2, 1)


def numbers(expr):
    """The expression's value at dL/dh = (1.5, -2), h = (3, 5), v = (0.5, -1) (a row dL/dh is
    the same numbers laid out as a row)."""
    ns = {"np": np, "dL_dh": np.array([[1.5], [-2.0]]), "h": np.array([[3.0], [5.0]]), "v": np.array([[0.5], [-1.0]])}
    for source in HELPERS.values():
        exec(source, ns)  # noqa: S102 - derive's own helper source
    return eval(NumpyPrinter().doprint(expr), ns)  # noqa: S307 - derive's own printed expression


def test_a_quotient_reads_as_a_diagonal_jacobian():
    column = Divide(Grad(h), Exp(v))  # g ⊘ e^v = diag(1 ⊘ e^v) g
    row = to_row(column)
    assert "Diag" in str(row)
    assert np.allclose(numbers(row), numbers(column).T) and numbers(row).shape == (1, column.shape[0])


def test_a_term_no_rule_reads_is_transposed_whole():
    column = Concat(Grad(h), hadamard(Grad(h), h))  # a stacked vector has no Jacobian rule here
    row = to_row(column)
    assert row.shape == (1, 4)
    assert np.allclose(numbers(row), numbers(column).T) and numbers(row).shape == (1, column.shape[0])
