"""NumPy code for derive's expressions, one ``_print_<Node>`` method per node.

Vectors are columns, as in the math. Time-indexed symbols print as subscripts of a sequence
(``h[t - 1]``), adjoints as ``dL_d<name>``, sizes and indices as plain names; the code runs
in a namespace that binds them (``evaluate.py``) or inside a generated module's loop.
Functions that take more than one expression to write stably (softmax, the ordered product)
print as calls to helpers whose source ``HELPERS`` holds; ``np`` may be NumPy or
``autograd.numpy``.
"""

from __future__ import annotations

from sympy import Symbol
from sympy.printing.numpy import NumPyPrinter as _SymPyNumPyPrinter

from derive.algebra import neg, split_coefficient
from derive.primitives import PARTS, PRIMITIVES, REGISTRY

# Every primitive brings the helpers its code calls (derive/primitives); the ordered product
# of step Jacobians is the printer's own.
HELPERS = {
    **{op.helper.split("(")[0][4:]: op.helper for op in REGISTRY if op.helper},
    **{name: source for op in PRIMITIVES + PARTS for name, source in op.helpers.items()},
    "_chain": (
        "def _chain(factors, size):\n"
        "    out = np.eye(size)\n"
        "    for factor in factors:\n"
        "        out = out @ factor\n"
        "    return out\n"
    ),
}


def adjoint_name(name: str) -> str:
    """The identifier of dL/d<name> in generated code."""
    return f"dL_d{name}"


def hoisted_name(name: str) -> str:
    """The identifier of the part of <name> computed for every t before a loop over t."""
    return f"{name}_in"


class NumpyPrinter(_SymPyNumPyPrinter):
    """Column-vector NumPy code; scalars go through SymPy's own NumPy printer. Identifiers come
    from ``names`` (derive/naming.py) when given, else are the symbols' own names."""

    _module = "numpy"

    def __init__(self, names=None, settings=None):
        super().__init__(settings)
        self.names = names

    def _symbol_name(self, name: str) -> str:
        return self.names.symbol(name) if self.names is not None else name

    def _adjoint_name(self, name: str) -> str:
        return self.names.adjoint(name) if self.names is not None else adjoint_name(name)

    def _function_name(self, name: str, derivative: bool = False) -> str:
        if self.names is None:
            return f"d{name}" if derivative else name
        return self.names.derivative(name) if derivative else self.names.function(name)

    def _module_format(self, fqn, register=True):
        name = super()._module_format(fqn, register)
        return "np." + name[len("numpy."):] if name.startswith("numpy.") else name

    # ---------------------------------------------------------------- symbols

    def _print_MatrixSymbol(self, expr):
        return self._symbol_name(expr.name)

    def _print_TimeSym(self, expr):
        return f"{self._symbol_name(expr.name)}[{self._print(expr.index)}]"

    def _print_Grad(self, expr):
        var = expr.var
        name = self._adjoint_name(var.name)
        return f"{name}[{self._print(var.index)}]" if hasattr(var, "index") else name

    def _print_Symbol(self, expr):
        from derive.nodes import INDICES

        if self.names is not None and expr not in INDICES:  # a size or a hyperparameter, by its identifier
            for kind in ("size", "scalar"):
                found = self.names.get((kind, expr.name))
                if found is not None:
                    return found
        return super()._print_Symbol(expr)

    def _print_RowGrad(self, expr):
        from derive.nodes import Grad

        return f"{self._print(Grad(expr.var))}.reshape(1, -1)"

    # ---------------------------------------------------------------- algebra

    def _print_MatMul(self, expr):
        coeff, mats = split_coefficient(expr)
        body = " @ ".join(self._wrap(m) for m in mats)
        if coeff == 1:
            return body
        if coeff == -1:
            return f"-{body}" if len(mats) == 1 else f"-({body})"
        return f"{self._wrap_scalar(coeff)} * ({body})"

    def _print_MatAdd(self, expr):
        out = self._print(expr.args[0])
        for term in expr.args[1:]:
            coeff, mats = split_coefficient(term)
            if coeff.could_extract_minus_sign():
                out += " - " + self._print(neg(term))
            else:
                out += " + " + self._print(term)
        return f"({out})"

    def _print_HadamardProduct(self, expr):
        return "(" + " * ".join(self._wrap(a) for a in expr.args) + ")"

    def _print_Transpose(self, expr):
        return f"{self._wrap(expr.arg)}.T"

    def _print_KroneckerProduct(self, expr):
        return f"np.kron({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_Identity(self, expr):
        return f"np.eye({self._print(expr.shape[0])})"

    def _print_OneMatrix(self, expr):
        return f"np.ones(({self._print(expr.shape[0])}, {self._print(expr.shape[1])}))"

    def _print_ZeroMatrix(self, expr):
        return f"np.zeros(({self._print(expr.shape[0])}, {self._print(expr.shape[1])}))"

    def _print_Pow(self, expr, rational=False):
        if expr.exp == -1:
            return f"1 / {self.parenthesize(expr.base, 100)}"
        return super()._print_Pow(expr, rational)

    def _print_Heaviside(self, expr):
        return f"np.heaviside({self._print(expr.args[0])}, 0.0)"

    # ---------------------------------------------------------------- elementwise

    def _print_Activation(self, expr):
        return expr.code(self._print(expr.arg), self._wrap(expr.arg))

    def _print_Primitive(self, expr):  # every other primitive writes its own code (derive/primitives)
        return expr.numpy(self)

    def _print_Phi(self, expr):
        return f"{self._function_name(expr.fname)}({self._print(expr.arg)})"

    def _print_Prime(self, expr):
        from derive.nodes import Phi

        if isinstance(expr.fx, Phi):
            return f"{self._function_name(expr.fx.fname, True)}({self._print(expr.fx.arg)})"
        x, ans = Symbol("__x"), Symbol("__ans")
        code = self._print(expr.scalar_rule()(x, ans))
        code = code.replace("__x", self._wrap(expr.fx.arg)).replace("__ans", self._wrap(expr.ans))
        return f"({code})"

    # ---------------------------------------------------------------- vector functions

    def _print_Diag(self, expr):
        return f"np.diagflat({self._print(expr.vec)})"

    def _print_StepJacobian(self, expr):
        return self._print(expr.expr)

    def _print_VecRow(self, expr):
        return f"{self._wrap(expr.mat)}.reshape(1, -1)"

    # ---------------------------------------------------------------- losses

    # ---------------------------------------------------------------- time

    def _print_TimeSum(self, expr):
        index, lo, hi = (self._print(x) for x in expr.limits)
        return f"sum({self._print(expr.body)} for {index} in range({lo}, {hi} + 1))"

    def _print_TimeProduct(self, expr):
        index, lo, hi = (self._print(x) for x in expr.limits)
        size = self._print(expr.shape[0])
        return f"_chain([{self._print(expr.body)} for {index} in range({hi}, {lo} - 1, -1)], {size})"

    # ---------------------------------------------------------------- helpers

    def _wrap(self, expr):
        """The code of ``expr``, parenthesised unless it is already one atom or one group."""
        code = self._print(expr)
        return code if _is_atom(code) else f"({code})"

    def _wrap_scalar(self, expr):
        code = self._print(expr)
        return code if code.replace("_", "").isalnum() else f"({code})"


def _is_atom(code: str) -> bool:
    """A name, a subscripted or attribute name, a call, or one parenthesised group."""
    depth = 0
    for pos, ch in enumerate(code):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0 and not (ch.isalnum() or ch in "_."):
            return False
        if depth == 0 and ch == ")" and code[0] == "(" and pos != len(code) - 1:
            return False
    return True


def to_numpy(expr) -> str:
    return NumpyPrinter().doprint(expr)
