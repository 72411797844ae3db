"""LaTeX for derive's expressions, in a model's notation (one ``_print_<Node>`` per node).

Spellings come from the notation table (``\\mathbf{W}``, ``W_{hh}``, ``y_{\\text{pred}}``); a
time index is appended as a subscript (``\\mathbf{h}_{t-1}``, ``y_{\\text{pred},t}``). Numeric
products of many factors print their first and last factors around ``\\cdots``.
"""

from __future__ import annotations

import re

from sympy import Integer, Rational
from sympy.matrices.expressions import HadamardProduct, KroneckerProduct, MatAdd, MatMul
from sympy.printing.latex import LatexPrinter as _SymPyLatexPrinter

from derive.algebra import neg, split_coefficient, substitute
from derive.nodes import (
    Divide,
    Grad,
    Jac,
    LocalGrad,
    LossGrad,
    StepJacobian,
    TimeProduct,
    TimeSum,
)
from derive.notation import Notation
from derive.primitives import Activation

# A product over a numeric range with more factors than this shows its ends and \cdots.
LONG_PRODUCT = 3


def with_index(spelling: str, index: str) -> str:
    """``\\mathbf{h}`` and ``t-1`` -> ``\\mathbf{h}_{t-1}``; ``y_{\\text{pred}}`` -> ``y_{\\text{pred},t}`` (an entry's
    index, or a time index written as a subscript)."""
    return Notation().at_time(spelling, index)


class LatexPrinter(_SymPyLatexPrinter):
    def __init__(self, notation: Notation | None = None, objective: str = "L", **settings):
        super().__init__(settings)
        self.notation = notation or Notation()
        self.objective = objective
        self.printed: list = []  # the primitives (and time products) printed so far, for their definitions

    def _printed(self, expr) -> None:
        if type(expr) not in self.printed:
            self.printed.append(type(expr))

    # ---------------------------------------------------------------- symbols

    def name(self, name: str) -> str:
        return self.notation.latex(name)

    def index(self, index) -> str:
        return self._print(index).replace(" ", "")

    def _print_Symbol(self, expr, style="plain"):
        if expr.name in self.notation.table or expr.name in ("lambda", "phi", "ell"):
            return self.name(expr.name)
        return super()._print_Symbol(expr, style)

    def _print_MatrixSymbol(self, expr):
        return self.name(expr.name)

    def _print_TimeSym(self, expr):
        return self.notation.at_time(self.name(expr.name), self.index(expr.index))

    def _print_Grad(self, expr):
        return rf"\frac{{\partial {self.name(self.objective)}}}{{\partial {self._print(expr.var)}}}"

    _print_RowGrad = _print_Grad

    def _print_LocalGrad(self, expr):
        var = expr.var
        loss = self.name(self.objective)
        if hasattr(var, "index"):
            loss = self.notation.at_time(loss, self.index(var.index))
        return rf"\frac{{\partial {loss}}}{{\partial {self._print(var)}}}"

    def _print_Jac(self, expr):
        return rf"\frac{{\partial {self._print(expr.of)}}}{{\partial {self._print(expr.wrt)}}}"

    _print_StepJacobian = _print_Jac

    # ---------------------------------------------------------------- algebra

    def _print_MatMul(self, expr):
        coeff, mats = split_coefficient(expr)
        body = " ".join(self._factor(m) for m in mats)
        if coeff == 1:
            return body
        if coeff == -1:
            return "-" + body
        return f"{self._scalar(coeff)} {body}"

    def _print_MatAdd(self, expr):
        out = ""
        for j, term in enumerate(expr.args):
            coeff, _ = split_coefficient(term)
            if j and coeff.could_extract_minus_sign():
                out += " - " + self._print(neg(term))
            else:
                out += (" + " if j else "") + self._print(term)
        return out

    def _print_HadamardProduct(self, expr):
        return r" \odot ".join(self._factor(a, hadamard=True) for a in expr.args)

    def _print_KroneckerProduct(self, expr):
        return r" \otimes ".join(self._factor(a) for a in expr.args)

    def _print_Transpose(self, expr):
        return self.transposed(expr.arg)

    def transposed(self, arg) -> str:
        """arg^T, written so that a symbol's own superscript (W^{(2)}, h^{(t)}) stays one superscript."""
        base = self._factor(arg, transpose=True)
        accented = re.match(r"^(.*\\(hat|tilde|bar|widehat|widetilde|overline|vec)\{.*)\^\{([^{}]*)\}$", base)
        if accented:  # \hat{y}^{(t)}: amsmath's accents refuse a braced {…}^T, so ^{(t)\top}
            return f"{accented.group(1)}^{{{accented.group(3)}\\top}}"
        if "^" in base and not base.endswith(r"\right)"):  # W^{(2)} -> {W^{(2)}}^T, not a double superscript
            base = "{" + base + "}"
        return base + r"^{\top}"

    def _print_Identity(self, expr):
        return rf"\mathbf{{I}}_{{{self._print(expr.shape[0])}}}"

    def _print_OneMatrix(self, expr):
        return "1" if expr.shape == (1, 1) else r"\mathbf{1}"

    def _print_ZeroMatrix(self, expr):
        return r"\mathbf{0}"

    def _print_Heaviside(self, expr):
        return rf"\mathbb{{I}}({self._print(expr.args[0])} > 0)"

    # ---------------------------------------------------------------- functions

    def _print_Activation(self, expr):
        self._printed(expr)
        return rf"{expr.latex}({self._print(expr.arg)})"

    def _print_Primitive(self, expr):  # every other primitive spells itself (derive/primitives)
        self._printed(expr)
        return expr.latex(self)

    def _print_Phi(self, expr):
        return rf"{self.name(expr.fname)}({self._print(expr.arg)})"

    def _print_Prime(self, expr):
        fx, x = expr.fx, self._print(expr.fx.arg)
        self._printed(fx)
        if isinstance(fx, Activation):
            return fx.prime_latex.format(x=x) if fx.prime_latex else f"{fx.latex}'({x})"
        head = self._print(fx).rsplit("(", 1)[0]
        return f"{head}'({x})"

    def _print_Diag(self, expr):
        return rf"\operatorname{{diag}}({self._print(expr.vec)})"

    def _print_VecRow(self, expr):
        return rf"\operatorname{{vec}}({self._print(expr.mat)})^{{\top}}"

    # ---------------------------------------------------------------- losses

    # ---------------------------------------------------------------- time

    def _print_TimeSum(self, expr):
        index, lo, hi = expr.limits
        return rf"\sum_{{{self._print(index)}={self.index(lo)}}}^{{{self.index(hi)}}} {self._factor(expr.body)}"

    def _print_TimeProduct(self, expr):
        self._printed(expr)
        index, lo, hi = expr.limits
        if lo.is_Integer and hi.is_Integer:
            factors = expr.factors()
            if not factors:
                return self._print_Identity(_identity_of(expr))
            if len(factors) > LONG_PRODUCT:  # J_hi J_{hi-1} ... J_lo
                shown = [self._factor(factors[0]), self._factor(factors[1]), r"\cdots", self._factor(factors[-1])]
                return " ".join(shown)
            return " ".join(self._factor(f) for f in factors)
        return rf"\prod_{{{self._print(index)}={self.index(lo)}}}^{{{self.index(hi)}}} {self._factor(expr.body)}"

    # ---------------------------------------------------------------- scalars and relations

    def _print_Rational(self, expr):
        if expr.q == 1:
            return str(expr.p)
        return rf"\frac{{{expr.p}}}{{{expr.q}}}"

    def _print_Integer(self, expr):
        return str(expr.p)

    def _print_StrictLessThan(self, expr):
        return f"{self._print(expr.lhs)} < {self._print(expr.rhs)}"

    def _print_Equality(self, expr):
        return f"{self._print(expr.lhs)} = {self._print(expr.rhs)}"

    # ---------------------------------------------------------------- helpers

    def _scalar(self, coeff) -> str:
        text = self._print(coeff)
        if isinstance(coeff, Rational) and not isinstance(coeff, Integer):
            return text
        return text if " " not in text and "+" not in text and "-" not in text[1:] else rf"\left({text}\right)"

    def _factor(self, expr, hadamard=False, transpose=False) -> str:
        """``expr`` as a factor of a product, in parentheses where a reader needs them."""
        text = self._print(expr)
        needs = isinstance(expr, (MatAdd, TimeSum, KroneckerProduct))
        needs = needs or (isinstance(expr, TimeProduct) and not (expr.limits[1].is_Integer and transpose is False))
        fraction = (Jac, StepJacobian, Divide, Grad, LocalGrad, LossGrad)  # printed as \frac: (…)^T, not \frac{}{}^T
        needs = needs or (transpose and isinstance(expr, (MatMul, HadamardProduct, TimeProduct) + fraction))
        needs = needs or (hadamard and isinstance(expr, MatMul) and expr.shape != (1, 1))
        needs = needs or (not hadamard and isinstance(expr, HadamardProduct))
        return rf"\left({text}\right)" if needs else text


def _identity_of(expr):
    from sympy.matrices.expressions import Identity

    return Identity(expr.shape[0])


def to_latex(expr, notation: Notation | None = None, objective: str = "L") -> str:
    return LatexPrinter(notation, objective).doprint(expr)


__all__ = ["LatexPrinter", "to_latex", "with_index", "substitute"]
