"""One-line Unicode math for the terminal: ∂L/∂hₜ = Wᵀ (∂L/∂hₜ₊₁ ⊙ σ'(aₜ₊₁)) + Vᵀ (ŷₜ − yₜ).

Spellings of a model's symbols come from its notation table; every node has one
``_print_<Node>`` method here.
"""

from __future__ import annotations

from sympy import Integer, Rational, Symbol
from sympy.printing.str import StrPrinter, sstr

from derive.algebra import neg, split_coefficient
from derive.nodes import T
from derive.notation import Notation
from derive.primitives import Activation

_SUB = str.maketrans("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")
_SUP = str.maketrans("0123456789+-=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿ")


def subscript(text: str) -> str:
    """``t-1`` as ₜ₋₁ when every character has a subscript form, else ``_{T}``-style ``_T``."""
    compact = text.replace(" ", "")
    if all(c in "0123456789+-=()aehijklmnoprstuvx" for c in compact):
        return compact.translate(_SUB)
    return "_" + compact if len(compact) == 1 else "_{" + compact + "}"


def superscript(text: str) -> str:
    compact = text.replace(" ", "")
    if all(c in "0123456789+-=()n" for c in compact):
        return compact.translate(_SUP)
    return "^" + compact if len(compact) == 1 else "^(" + compact + ")"


class UnicodePrinter(StrPrinter):
    """Terminal math in a model's notation."""

    def __init__(self, notation: Notation | None = None, objective: str = "L", **settings):
        super().__init__(settings)
        self.notation = notation or Notation()
        self.objective = objective

    # ---------------------------------------------------------------- symbols

    def name(self, name: str) -> str:
        return self.notation.unicode(name)

    def _print_Symbol(self, expr):
        return self.name(expr.name)

    def _print_MatrixSymbol(self, expr):
        return self.name(expr.name)

    def _print_TimeSym(self, expr):
        return self.name(expr.name) + subscript(self._index(expr.index))

    def _index(self, index) -> str:
        """A time index as text, with T spelled as the network spells it (l in seed 001)."""
        spelled = self.name("T")
        return sstr(index if spelled == "T" else index.subs(T, Symbol(spelled)))

    def _print_Grad(self, expr):
        return f"∂{self.name(self.objective)}/∂{self._print(expr.var)}"

    _print_RowGrad = _print_Grad

    def _print_LocalGrad(self, expr):
        index = getattr(expr.var, "index", None)
        loss = self.name(self.objective) + (subscript(sstr(index)) if index is not None else "")
        return f"∂{loss}/∂{self._print(expr.var)}"

    def _print_Jac(self, expr):
        return f"∂{self._print(expr.of)}/∂{self._print(expr.wrt)}"

    _print_StepJacobian = _print_Jac

    # ---------------------------------------------------------------- algebra

    def _print_MatMul(self, expr):
        coeff, mats = split_coefficient(expr)
        body = " ".join(self._factor(m) for m in mats)
        if coeff == 1:
            return body
        if coeff == -1:
            return "−" + body
        return f"{self._scalar(coeff)} {body}"

    def _print_MatAdd(self, expr):
        out = ""
        for j, term in enumerate(expr.args):
            coeff, _ = split_coefficient(term)
            if j and coeff.could_extract_minus_sign():
                out += " − " + self._print(neg(term))
            else:
                out += (" + " if j else "") + self._print(term)
        return out

    def _print_HadamardProduct(self, expr):
        return " ⊙ ".join(self._factor(a, hadamard=True) for a in expr.args)

    def _print_KroneckerProduct(self, expr):
        return " ⊗ ".join(self._factor(a) for a in expr.args)

    def _print_Transpose(self, expr):
        return self._factor(expr.arg, transpose=True) + "ᵀ"

    def _print_Identity(self, expr):
        return "I" + subscript(self._print(expr.shape[0]))

    def _print_OneMatrix(self, expr):
        return "1"

    def _print_ZeroMatrix(self, expr):
        return "0"

    def _print_Heaviside(self, expr):
        return f"𝕀({self._print(expr.args[0])} > 0)"

    # ---------------------------------------------------------------- functions

    def _print_Activation(self, expr):
        return f"{expr.unicode}({self._print(expr.arg)})"

    def _print_Primitive(self, expr):  # every other primitive spells itself (derive/primitives)
        return expr.unicode(self)

    def _print_Phi(self, expr):
        return f"{self.name(expr.fname)}({self._print(expr.arg)})"

    def _print_Prime(self, expr):
        fx = expr.fx
        if isinstance(fx, Activation):
            x = self._print(fx.arg)
            return fx.prime_unicode.format(x=x) if fx.prime_unicode else f"{fx.unicode}'({x})"
        head = self._print(expr.fx).split("(", 1)[0]
        return f"{head}'({self._print(expr.fx.arg)})"

    def _print_Diag(self, expr):
        return f"diag({self._print(expr.vec)})"

    def _print_VecRow(self, expr):
        return f"vec({self._print(expr.mat)})ᵀ"

    def _print_TimeSum(self, expr):
        index, lo, hi = (sstr(x).replace(" ", "") for x in expr.limits)
        return f"Σ[{index}={lo}..{hi}] {self._factor(expr.body)}"

    def _print_TimeProduct(self, expr):
        index, lo, hi = expr.limits
        if lo.is_Integer and hi.is_Integer:  # numbers: the factors, or the ends of a long product
            factors = [self._factor(f) for f in expr.factors()]
            return " ".join(factors if len(factors) <= 3 else factors[:2] + ["⋯"] + factors[-1:])
        index, lo, hi = (sstr(x).replace(" ", "") for x in expr.limits)
        return f"Π[{index}={hi}↓{lo}] {self._factor(expr.body)}"

    # ---------------------------------------------------------------- scalars and relations

    def _print_Rational(self, expr):
        return f"{expr.p}/{expr.q}".replace("-", "−")  # the minus sign, as every other one here

    def _print_StrictLessThan(self, expr):
        return f"{self._print(expr.lhs)} < {self._print(expr.rhs)}"

    def _print_Equality(self, expr):
        return f"{self._print(expr.lhs)} = {self._print(expr.rhs)}"

    def _print_Add(self, expr):
        return super()._print_Add(expr).replace("-", "−")

    # ---------------------------------------------------------------- helpers

    def _scalar(self, coeff) -> str:
        if isinstance(coeff, Rational) and not isinstance(coeff, Integer):
            return f"({self._print(coeff)})"
        text = self._print(coeff).replace("-", "−")  # −1/T: SymPy's scalar printing writes a hyphen
        return text if text.replace("−", "").isalnum() else f"({text})"

    def _factor(self, expr, hadamard=False, transpose=False) -> str:
        """``expr`` as a factor of a product: sums (and products, under ᵀ or ⊙) in parentheses."""
        from sympy.matrices.expressions import HadamardProduct, KroneckerProduct, MatAdd, MatMul

        from derive.nodes import Jac, StepJacobian, TimeProduct, TimeSum

        text = self._print(expr)
        needs = isinstance(expr, (MatAdd, TimeSum, TimeProduct, KroneckerProduct))
        needs = needs or (transpose and isinstance(expr, (MatMul, HadamardProduct, Jac, StepJacobian)))
        needs = needs or (hadamard and isinstance(expr, MatMul) and expr.shape != (1, 1))
        needs = needs or (not hadamard and isinstance(expr, HadamardProduct))
        return f"({text})" if needs else text


def to_unicode(expr, notation: Notation | None = None, objective: str = "L") -> str:
    return UnicodePrinter(notation, objective).doprint(expr)
