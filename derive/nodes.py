"""The matrix-level nodes that derive's expressions are built from.

SymPy supplies the generic algebra (MatMul, MatAdd, HadamardProduct, Transpose, Identity,
OneMatrix, ZeroMatrix, KroneckerProduct). The classes here add what networks need: symbols
indexed by time, adjoints, generic elementwise functions and their derivatives, diag, time sums
and ordered time products. The functions a network applies (σ, softmax, the losses, a
convolution, ...) are primitives, each in its own module under ``primitives/`` with its rule and
its spellings; they are re-exported at the bottom.

Each class knows its shape and its explicit, entry-by-entry meaning (``doit`` on explicit
matrices), which the scalar SymPy oracle uses. The rules of the algebra live in ``rules.py`` and
their spellings in ``printing/``.
"""

from __future__ import annotations

from sympy import (
    Basic,
    Function,
    ImmutableMatrix,
    Integer,
    Symbol,
    Tuple,
    sympify,
)
from sympy.core.symbol import Str
from sympy.matrices import MatrixBase
from sympy.matrices.expressions import Identity, MatrixExpr, MatrixSymbol

# The time index, the length of the sequence, and the index of Jacobian products.
t = Symbol("t", integer=True)
T = Symbol("T", integer=True, positive=True)
k = Symbol("k", integer=True)
i = Symbol("i", integer=True)
INDICES = (t, T, k, i)  # printed as they are: no model symbol is a scalar with their assumptions


def is_explicit(x) -> bool:
    """True for a matrix of entries (as opposed to a symbolic matrix expression)."""
    return isinstance(x, MatrixBase)


def _explicit(x):
    """``x.doit()`` as an immutable explicit matrix when it becomes one."""
    x = x.doit() if isinstance(x, Basic) else x
    return ImmutableMatrix(x) if is_explicit(x) else x


def _name(name) -> Str:
    return name if isinstance(name, Str) else Str(name)


class Operators:
    """Python's operators as a NumPy user reads them, for the declaration API: ``+``, ``-``
    (``1 - f`` is 1 − f entry by entry), ``*`` entrywise (or by a number), ``@`` the matrix
    product, ``/`` entrywise (or by a number), ``**`` an entrywise power, ``-x``. SymPy's own
    meanings (``*`` a matrix product, ``**`` a matrix power) would silently mean something else.
    The priority makes SymPy's expressions hand these operators to ours."""

    _op_priority = 20.0

    def __add__(self, other):
        from derive.algebra import add

        return declared(add(self, _lifted(other, self)))

    def __radd__(self, other):
        from derive.algebra import add

        return declared(add(_lifted(other, self), self))

    def __sub__(self, other):
        from derive.algebra import sub

        return declared(sub(self, _lifted(other, self)))

    def __rsub__(self, other):
        from derive.algebra import sub

        return declared(sub(_lifted(other, self), self))

    def __neg__(self):
        from derive.algebra import neg

        return declared(neg(self))

    def __mul__(self, other):
        return declared(_entrywise_product(self, other))

    def __rmul__(self, other):
        # SymPy hands both ``A * x`` and ``A @ x`` with a SymPy expression A on the left to this
        # method: the shapes decide, and where both readings fit, neither is guessed.
        if isinstance(other, MatrixExpr):
            return declared(_reflected_product(other, self))
        return declared(_entrywise_product(other, self))

    def __matmul__(self, other):
        from derive.algebra import checked_matmul

        return declared(checked_matmul(self, other))

    def __rmatmul__(self, other):
        from derive.algebra import checked_matmul

        return declared(checked_matmul(other, self))

    def __truediv__(self, other):
        from derive.algebra import matmul

        if not isinstance(other, MatrixExpr):
            return declared(matmul(1 / sympify(other), self))
        return Divide(self, _same_shape(self, other, "/"))

    def __rtruediv__(self, other):
        return Divide(_lifted(other, self), self)

    def __pow__(self, other):
        if isinstance(other, MatrixExpr):
            raise TypeError("an entrywise power takes a number as its exponent")
        return Power(self, other)


def declared(expr):
    """An operator's result, carrying the operators on (``(W @ h) + (U @ x)`` keeps the order it
    is written in, where SymPy's own + would sort the terms). ``lowered`` turns it back into
    SymPy's classes when it is assigned."""
    from sympy.matrices.expressions import HadamardProduct, MatAdd, MatMul

    for plain, ours in ((MatAdd, DeclaredSum), (MatMul, DeclaredProduct), (HadamardProduct, DeclaredEntrywise)):
        if type(expr) is plain:
            return ours(*expr.args)
    return expr


def lowered(expr):
    """``expr`` with every operator result back in SymPy's classes (a network stores only those)."""
    if isinstance(expr, (DeclaredSum, DeclaredProduct, DeclaredEntrywise)):
        from derive.algebra import rebuild

        return rebuild(expr, [lowered(a) for a in expr.args])
    if not isinstance(expr, Basic) or not expr.args or not isinstance(expr, MatrixExpr):
        return expr
    new = [lowered(a) for a in expr.args]
    if all(n is a for n, a in zip(new, expr.args, strict=True)):
        return expr
    from derive.algebra import rebuild

    return rebuild(expr, new)


def _lifted(x, like):
    """A number beside a matrix: that number in every entry (1 in 1 − f)."""
    if isinstance(x, (MatrixExpr, MatrixBase)):
        return _same_shape(like, x, "+")
    from sympy.matrices.expressions import OneMatrix

    from derive.algebra import matmul

    value = sympify(x)
    return OneMatrix(*like.shape) if value == 1 else matmul(value, OneMatrix(*like.shape))


def _same_shape(a, b, op):
    if a.shape != b.shape:
        raise TypeError(f"{op} of a {a.shape[0]}×{a.shape[1]} and a {b.shape[0]}×{b.shape[1]} matrix: "
                        "shapes differ")
    return b


def _reflected_product(a, b):
    """``a * b`` or ``a @ b`` for a SymPy expression ``a``: a matrix product where only it fits,
    entrywise where only that does (two columns), refused where both would."""
    from derive.algebra import checked_matmul

    if a.shape == (1, 1) or b.shape == (1, 1):
        return _entrywise_product(a, b)
    conforms, same = a.shape[1] == b.shape[0], a.shape == b.shape
    if conforms and same:
        raise TypeError(f"a {a.shape[0]}×{a.shape[1]} times a {b.shape[0]}×{b.shape[1]} matrix after a sum or product "
                        "is ambiguous here: write ops.matmul(a, b) or ops.hadamard(a, b)")
    return checked_matmul(a, b) if conforms else _entrywise_product(a, b)


def _entrywise_product(a, b):
    from derive.algebra import hadamard, matmul

    if not isinstance(a, MatrixExpr) or not isinstance(b, MatrixExpr):
        return matmul(a, b)  # by a number
    if a.shape == (1, 1) or b.shape == (1, 1):
        from derive.algebra import scale

        return scale(a, b) if a.shape == (1, 1) else scale(b, a)
    return hadamard(a, _same_shape(a, b, "*"))


from sympy.matrices.expressions import HadamardProduct as _Hadamard  # noqa: E402 - beside their subclasses
from sympy.matrices.expressions import MatAdd as _MatAdd  # noqa: E402
from sympy.matrices.expressions import MatMul as _MatMul  # noqa: E402


class DeclaredSum(Operators, _MatAdd):
    """A sum an operator made (see ``declared``)."""

    def __new__(cls, *args):
        return Basic.__new__(cls, *args)


class DeclaredProduct(Operators, _MatMul):
    """A matrix product an operator made (see ``declared``)."""

    def __new__(cls, *args):
        return Basic.__new__(cls, *args)


class DeclaredEntrywise(Operators, _Hadamard):
    """An entrywise product an operator made (see ``declared``)."""

    def __new__(cls, *args):
        return Basic.__new__(cls, *args)


class Node(Operators, MatrixExpr):
    """Base for derive's matrix nodes: args are stored as given (no canonical reordering)."""

    def __new__(cls, *args):
        return Basic.__new__(cls, *args)

    def doit(self, **hints):
        args = [_explicit(a) if isinstance(a, MatrixExpr) else a for a in self.args]
        if all(is_explicit(a) for a in args if isinstance(a, (MatrixExpr, MatrixBase))):
            return self.explicit(*args)
        return self.func(*args)

    def explicit(self, *args):  # pragma: no cover - every concrete node overrides it
        raise NotImplementedError(type(self).__name__)


# ---------------------------------------------------------------- symbols


class DeclaredSymbol(Operators, MatrixSymbol):
    """A matrix symbol a declaration makes (a parameter, a static input, target or variable),
    with the declaration operators."""


class TimeSym(Node):
    """A matrix symbol indexed by time: ``TimeSym('h', t - 1, n)`` is h_{t-1}."""

    def __new__(cls, name, index, rows, cols=1):
        return Basic.__new__(cls, _name(name), sympify(index), sympify(rows), sympify(cols))

    name = property(lambda self: self.args[0].name)
    index = property(lambda self: self.args[1])
    shape = property(lambda self: (self.args[2], self.args[3]))

    def at(self, index) -> TimeSym:
        return TimeSym(self.name, index, *self.shape)

    def doit(self, **hints):
        return self


class Grad(Node):
    """dL/dX for the objective L: the total derivative over every path, shaped like X."""

    def __new__(cls, var):
        return Basic.__new__(cls, var)

    var = property(lambda self: self.args[0])
    shape = property(lambda self: self.args[0].shape)

    def doit(self, **hints):
        return self


class LocalGrad(Node):
    """dL_t/dX: the derivative of the step-t loss term alone (no path through later steps)."""

    def __new__(cls, var):
        return Basic.__new__(cls, var)

    var = property(lambda self: self.args[0])
    shape = property(lambda self: self.args[0].shape)

    def doit(self, **hints):
        return self


class RowGrad(Node):
    """dL/dX in numerator layout: a row, 1 x (rows * cols), the row-major vec of dL/dX."""

    def __new__(cls, var):
        return Basic.__new__(cls, var)

    var = property(lambda self: self.args[0])

    @property
    def shape(self):
        rows, cols = self.args[0].shape
        return (Integer(1), rows * cols)

    def doit(self, **hints):
        return self


class VecRow(Node):
    """vec(X)^T: the entries of X in row-major order, as a row."""

    def __new__(cls, mat):
        return Basic.__new__(cls, mat)

    mat = property(lambda self: self.args[0])

    @property
    def shape(self):
        rows, cols = self.args[0].shape
        return (Integer(1), rows * cols)

    def explicit(self, mat):
        return ImmutableMatrix(1, mat.shape[0] * mat.shape[1], list(mat))


class Jac(Node):
    """The Jacobian dY/dX in numerator layout: rows follow Y, columns follow X (row-major vec)."""

    def __new__(cls, of, wrt):
        return Basic.__new__(cls, of, wrt)

    of = property(lambda self: self.args[0])
    wrt = property(lambda self: self.args[1])

    @property
    def shape(self):
        rows, cols = self.wrt.shape
        return (self.of.shape[0] * self.of.shape[1], rows * cols)

    def doit(self, **hints):
        return self


class StepJacobian(Node):
    """A one-step Jacobian ds_i/ds'_{i-1} (``expr``) inside products and BPTT terms, which the
    renderers show by name when it is a sum of several paths (a GRU's, an LSTM's): the
    definition is displayed once, and a product of names reads better than one of sums."""

    def __new__(cls, expr, of, wrt):
        return Basic.__new__(cls, expr, of, wrt)

    expr = property(lambda self: self.args[0])
    of = property(lambda self: self.args[1])
    wrt = property(lambda self: self.args[2])
    shape = property(lambda self: self.args[0].shape)

    def doit(self, **hints):
        return self.expr.doit(**hints)


# ---------------------------------------------------------------- elementwise functions


class Elementwise(Node):
    """A scalar function applied to every entry of its argument."""

    def __new__(cls, arg):
        return Basic.__new__(cls, arg)

    arg = property(lambda self: self.args[0])
    shape = property(lambda self: self.args[0].shape)

    @staticmethod
    def scalar(x):  # pragma: no cover - every concrete function overrides it
        raise NotImplementedError

    def explicit(self, arg):
        return arg.applyfunc(self.scalar)


class Phi(Elementwise):
    """A generic, unspecified elementwise function (phi, f, ...): its derivative stays phi'."""

    def __new__(cls, arg, name="phi"):
        return Basic.__new__(cls, arg, _name(name))

    fname = property(lambda self: self.args[1].name)
    generic = True  # no numbers: generated code refuses it

    def explicit(self, arg, name):
        return arg.applyfunc(Function(self.fname))


class Prime(Node):
    """f'(x) entry by entry, for the elementwise node ``fx`` = f(x).

    ``ans`` is the forward result f(x) (a named variable when there is one), which rules may
    use: sigma' = ans (1 - ans), tanh' = 1 - ans^2.
    """

    def __new__(cls, fx, ans=None):
        return Basic.__new__(cls, fx, fx if ans is None else ans)

    fx = property(lambda self: self.args[0])
    ans = property(lambda self: self.args[1])
    shape = property(lambda self: self.args[0].shape)

    def scalar_rule(self):
        """The scalar derivative as a function of (x, ans), from the rule table."""
        from derive.rules import derivative_of

        return derivative_of(self.fx)

    def doit(self, **hints):
        x, ans = _explicit(self.fx.arg), _explicit(self.fx)
        if not (is_explicit(x) and is_explicit(ans)):
            return self
        rule = self.scalar_rule()
        return ImmutableMatrix(x.shape[0], x.shape[1], lambda r, c: rule(x[r, c], ans[r, c]))


class Diag(Node):
    """diag(v): the square matrix with the column vector v on its diagonal."""

    def __new__(cls, vec):
        return Basic.__new__(cls, vec)

    vec = property(lambda self: self.args[0])
    shape = property(lambda self: (self.args[0].shape[0], self.args[0].shape[0]))

    def explicit(self, vec):
        return ImmutableMatrix.diag(*list(vec))


# ---------------------------------------------------------------- time reductions


class TimeSum(Node):
    """sum_{index=lo}^{hi} body."""

    def __new__(cls, body, index, lo=None, hi=None):
        if isinstance(index, Tuple):  # rebuilt from args
            index, lo, hi = index
        return Basic.__new__(cls, body, Tuple(index, sympify(lo), sympify(hi)))

    body = property(lambda self: self.args[0])
    limits = property(lambda self: tuple(self.args[1]))
    shape = property(lambda self: self.args[0].shape)

    def doit(self, **hints):
        index, lo, hi = self.limits
        if not (lo.is_Integer and hi.is_Integer):
            return self
        from derive.algebra import add, substitute

        terms = [substitute(self.body, {index: v}) for v in range(int(lo), int(hi) + 1)]
        if not terms:
            from sympy.matrices.expressions import ZeroMatrix

            return ZeroMatrix(*self.shape)
        return _explicit(add(*terms))


class TimeProduct(Node):
    """prod_{index=lo}^{hi} body in decreasing index order: body(hi) body(hi-1) ... body(lo).

    That is the chain rule's order for Jacobian chains dh_t/dh_k (the later step on the left).
    """

    defines = {"en": r"a product $\prod$ of step Jacobians runs over its index decreasing from left to right, as the "
                     r"chain rule puts the later step's Jacobian on the left (every factor is square, so the other "
                     r"order would conform too, but it is another matrix)",
               "zh": r"步间雅可比矩阵的连乘 $\prod$ 从左到右按下标递减排列，因为链式法则把后一步的雅可比矩阵放在左边"
                     r"（各因子都是方阵，反过来的顺序维数也相容，但得到的是另一个矩阵）"}

    def __new__(cls, body, index, lo=None, hi=None):
        if isinstance(index, Tuple):  # rebuilt from args
            index, lo, hi = index
        return Basic.__new__(cls, body, Tuple(index, sympify(lo), sympify(hi)))

    body = property(lambda self: self.args[0])
    limits = property(lambda self: tuple(self.args[1]))
    shape = property(lambda self: self.args[0].shape)

    def factors(self):
        """The explicit list of factors, left to right, when the bounds are numbers."""
        from derive.algebra import substitute

        index, lo, hi = self.limits
        return [substitute(self.body, {index: v}) for v in range(int(hi), int(lo) - 1, -1)]

    def doit(self, **hints):
        index, lo, hi = self.limits
        if not (lo.is_Integer and hi.is_Integer):
            return self
        from derive.algebra import matmul

        factors = self.factors()
        return _explicit(matmul(*factors) if factors else Identity(self.shape[0]))


__all__ = [
    "BinaryCrossEntropy", "Broadcast", "ColSlice", "Concat", "Conv2d", "ConvInputGrad", "ConvKernelGrad",
    "CrossEntropy", "Diag", "PositionSum", "StepJacobian", "conv_geometry", "Divide", "Elementwise", "Exp",
    "FrobeniusSq", "GenericLoss", "Grad", "Jac", "LOSSES", "LogSumExp", "LocalGrad", "LossGrad",
    "DeclaredSymbol", "Node", "Operators", "Phi", "Power", "Prime", "RowGrad", "RowSlice", "Sigmoid",
    "Softmax", "SquaredError", "TimeProduct", "TimeSum", "TimeSym", "VecRow", "INDICES", "i", "is_explicit",
    "k", "t", "T",
]


# The primitives live in derive/primitives, one module each; imported here so that every node
# is at hand as derive.nodes.<Name>.
from derive.primitives import (  # noqa: E402
    GELU,
    BinaryCrossEntropy,
    Broadcast,
    ColSlice,
    Concat,
    Conv2d,
    ConvInputGrad,
    ConvKernelGrad,
    CrossEntropy,
    Divide,
    Exp,
    FrobeniusSq,
    GenericLoss,
    LeakyReLU,
    Log,
    LogSumExp,
    LossGrad,
    PositionSum,
    Power,
    ReLU,
    RowSlice,
    Sigmoid,
    Softmax,
    Softplus,
    SquaredError,
    Tanh,
    conv_geometry,
)

LOSSES = (CrossEntropy, BinaryCrossEntropy, SquaredError, GenericLoss)

__all__ += ["Exp", "GELU", "LeakyReLU", "Log", "ReLU", "Sigmoid", "Softplus", "Tanh"]
