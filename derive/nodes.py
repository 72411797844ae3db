"""The matrix-level nodes that derive's expressions are built from.

SymPy supplies the generic algebra (MatMul, MatAdd, HadamardProduct, Transpose, Identity,
OneMatrix, ZeroMatrix, KroneckerProduct). The classes here add what networks need: symbols
indexed by time, adjoints, elementwise functions and their derivatives, softmax, losses, diag,
stacking, time sums and ordered time products.

Each class knows its shape and its explicit, entry-by-entry meaning (``doit`` on explicit
matrices), which the scalar SymPy oracle uses. Derivative rules live in ``rules.py`` and
spellings in ``printing/``: a node never differentiates or prints itself.
"""

from __future__ import annotations

from sympy import (
    Add,
    Basic,
    Derivative,
    Function,
    ImmutableMatrix,
    Integer,
    Symbol,
    Tuple,
    exp,
    log,
    sympify,
)
from sympy.core.symbol import Str
from sympy.matrices import MatrixBase
from sympy.matrices.expressions import Identity, MatrixExpr, MatrixSymbol

from derive import conv_geometry as geometry

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


class Divide(Node):
    """u / v entry by entry (u ⊘ v)."""

    def __new__(cls, num, den):
        return Basic.__new__(cls, num, den)

    shape = property(lambda self: self.args[0].shape)

    def explicit(self, num, den):
        return ImmutableMatrix(num.shape[0], num.shape[1], lambda r, c: num[r, c] / den[r, c])


class Power(Node):
    """u^p entry by entry, for a constant exponent p."""

    def __new__(cls, base, power):
        return Basic.__new__(cls, base, sympify(power))

    shape = property(lambda self: self.args[0].shape)

    def explicit(self, base, power):
        return base.applyfunc(lambda v: v**power)


# ---------------------------------------------------------------- vector functions


class Softmax(Node):
    """softmax(o) = exp(o) / 1^T exp(o) for a column vector o."""

    def __new__(cls, arg):
        return Basic.__new__(cls, arg)

    arg = property(lambda self: self.args[0])
    shape = property(lambda self: self.args[0].shape)

    def explicit(self, arg):
        e = arg.applyfunc(exp)
        return e / sum(e)


class LogSumExp(Node):
    """log 1^T exp(o), a number, for a column vector o (log softmax(o) = o - this)."""

    def __new__(cls, arg):
        return Basic.__new__(cls, arg)

    arg = property(lambda self: self.args[0])
    shape = property(lambda self: (Integer(1), Integer(1)))

    def explicit(self, arg):
        return ImmutableMatrix([[log(sum(arg.applyfunc(exp)))]])


class Diag(Node):
    """diag(v): the square matrix with the column vector v on its diagonal."""

    def __new__(cls, vec):
        return Basic.__new__(cls, vec)

    vec = property(lambda self: self.args[0])
    shape = property(lambda self: (self.args[0].shape[0], self.args[0].shape[0]))

    def explicit(self, vec):
        return ImmutableMatrix.diag(*list(vec))


class Concat(Node):
    """[a; b; ...]: column vectors (or matrices) stacked vertically."""

    shape = property(lambda self: (sum(a.shape[0] for a in self.args), self.args[0].shape[1]))

    def explicit(self, *parts):
        out = parts[0]
        for p in parts[1:]:
            out = out.col_join(p)
        return ImmutableMatrix(out)

    def offsets(self):
        """Start and stop row of each part."""
        start, spans = Integer(0), []
        for a in self.args:
            spans.append((start, start + a.shape[0]))
            start = start + a.shape[0]
        return spans


class RowSlice(Node):
    """Rows start..stop-1 of a matrix (0-based): how a gradient reaches one part of a Concat."""

    def __new__(cls, mat, start, stop):
        return Basic.__new__(cls, mat, sympify(start), sympify(stop))

    mat = property(lambda self: self.args[0])
    shape = property(lambda self: (self.args[2] - self.args[1], self.args[0].shape[1]))

    def doit(self, **hints):
        mat = _explicit(self.mat)
        if is_explicit(mat):
            return ImmutableMatrix(mat[int(self.args[1]) : int(self.args[2]), :])
        return RowSlice(mat, self.args[1], self.args[2])


class ColSlice(Node):
    """Columns start..stop-1 of a matrix (0-based): the block of W that multiplies one part
    of a Concat, W [h; x] = W[:, 0:n] h + W[:, n:n+d] x."""

    def __new__(cls, mat, start, stop):
        return Basic.__new__(cls, mat, sympify(start), sympify(stop))

    mat = property(lambda self: self.args[0])
    shape = property(lambda self: (self.args[0].shape[0], self.args[2] - self.args[1]))

    def doit(self, **hints):
        mat = _explicit(self.mat)
        if is_explicit(mat):
            return ImmutableMatrix(mat[:, int(self.args[1]) : int(self.args[2])])
        return ColSlice(mat, self.args[1], self.args[2])


# ---------------------------------------------------------------- convolution


class ConvGeometry:
    """The integers of a 2-D convolution (see conv_geometry.py), read from a node's last arg."""

    def __init__(self, args: Tuple):
        self.c_in, self.c_out, self.size, self.kernel, self.stride, self.padding = (int(a) for a in args)
        self.out = geometry.conv_out_size(self.size, self.kernel, self.stride, self.padding)
        self.positions = self.out * self.out

    def patches(self):
        return geometry.conv_patch_indices(self.c_in, self.size, self.kernel, self.stride, self.padding)

    def kernel_entries(self):
        return geometry.conv_kernel_indices(self.c_in, self.c_out, self.kernel)

    def call_args(self) -> str:
        """The integers as the keyword arguments of the NumPy helpers."""
        return (f"c_in={self.c_in}, c_out={self.c_out}, size={self.size}, kernel={self.kernel}, "
                f"stride={self.stride}, padding={self.padding}")


def conv_geometry(c_in, c_out, size, kernel, stride, padding) -> Tuple:
    return Tuple(*(Integer(v) for v in (c_in, c_out, size, kernel, stride, padding)))


class _ConvNode(Node):
    geometry = property(lambda self: ConvGeometry(self.args[-1]))


class Conv2d(_ConvNode):
    """conv(w, z): valid cross-correlation of the image z (a column of c_in·size² entries) with
    the kernel bank w (c_out·k × c_in·k), stride and zero padding; a column of c_out·out²."""

    def __new__(cls, w, z, geom):
        return Basic.__new__(cls, w, z, geom)

    kernel = property(lambda self: self.args[0])
    image = property(lambda self: self.args[1])
    shape = property(lambda self: (self.geometry.c_out * self.geometry.positions, 1))

    def explicit(self, w, z, geom):
        g = self.geometry
        image = list(z) + [Integer(0)]
        weights = list(w)  # row-major
        patches, entries = g.patches(), g.kernel_entries()
        rows = [Add(*[weights[entries[o, q]] * image[patches[p, q]] for q in range(patches.shape[1])])
                for o in range(g.c_out) for p in range(g.positions)]
        return ImmutableMatrix(len(rows), 1, rows)


class ConvKernelGrad(_ConvNode):
    """dL/dw of y = conv(w, z) given g = dL/dy: the correlation of the input with the output
    gradient, conv(g, z), in the kernel bank's shape."""

    def __new__(cls, g, z, geom):
        return Basic.__new__(cls, g, z, geom)

    grad = property(lambda self: self.args[0])
    image = property(lambda self: self.args[1])

    @property
    def shape(self):
        geo = self.geometry
        return (geo.c_out * geo.kernel, geo.c_in * geo.kernel)

    def explicit(self, g, z, geom):
        geo = self.geometry
        image, grads = list(z) + [Integer(0)], list(g)
        patches, entries = geo.patches(), geo.kernel_entries()
        out = [Integer(0)] * (self.shape[0] * self.shape[1])
        for o in range(geo.c_out):
            for q in range(patches.shape[1]):
                out[entries[o, q]] = Add(*[grads[o * geo.positions + p] * image[patches[p, q]]
                                           for p in range(geo.positions)])
        return ImmutableMatrix(self.shape[0], self.shape[1], out)


class ConvInputGrad(_ConvNode):
    """dL/dz of y = conv(w, z) given g = dL/dy: the full convolution of g with the kernel
    rotated by 180° (for stride 1; in general, each output's gradient spread back over the
    pixels it read)."""

    def __new__(cls, g, w, geom):
        return Basic.__new__(cls, g, w, geom)

    grad = property(lambda self: self.args[0])
    kernel = property(lambda self: self.args[1])
    shape = property(lambda self: (self.geometry.c_in * self.geometry.size**2, 1))

    def explicit(self, g, w, geom):
        geo = self.geometry
        weights, grads = list(w), list(g)
        patches, entries = geo.patches(), geo.kernel_entries()
        terms = [[] for _ in range(self.shape[0] + 1)]
        for o in range(geo.c_out):
            for p in range(geo.positions):
                for q in range(patches.shape[1]):
                    terms[patches[p, q]].append(grads[o * geo.positions + p] * weights[entries[o, q]])
        return ImmutableMatrix(self.shape[0], 1, [Add(*entry) for entry in terms[:-1]])


class Broadcast(Node):
    """A per-channel bias b (c × 1) repeated over the positions of each channel: c·P × 1."""

    def __new__(cls, b, positions):
        return Basic.__new__(cls, b, sympify(positions))

    vec = property(lambda self: self.args[0])
    positions = property(lambda self: self.args[1])
    shape = property(lambda self: (self.args[0].shape[0] * self.args[1], 1))

    def explicit(self, b, positions):
        return ImmutableMatrix([b[c, 0] for c in range(b.shape[0]) for _ in range(int(positions))])


class PositionSum(Node):
    """The sum over the positions of each channel of a c·P × 1 column: c × 1 (the gradient of
    a shared bias: one sum per channel)."""

    def __new__(cls, g, positions):
        return Basic.__new__(cls, g, sympify(positions))

    vec = property(lambda self: self.args[0])
    positions = property(lambda self: self.args[1])
    shape = property(lambda self: (self.args[0].shape[0] / self.args[1], 1))

    def explicit(self, g, positions):
        size = int(positions)
        return ImmutableMatrix([Add(*g[c * size : (c + 1) * size]) for c in range(g.shape[0] // size)])


# ---------------------------------------------------------------- losses (1 x 1 results)


class CrossEntropy(Node):
    """-y^T log p for a probability vector p and a target distribution y (one-hot)."""

    def __new__(cls, p, y):
        return Basic.__new__(cls, p, y)

    shape = property(lambda self: (Integer(1), Integer(1)))

    def explicit(self, p, y):
        return ImmutableMatrix([[-sum(y[r] * log(p[r]) for r in range(p.shape[0]))]])


class BinaryCrossEntropy(Node):
    """-(y log p + (1 - y) log(1 - p)), summed over entries, for probabilities p and labels y."""

    def __new__(cls, p, y):
        return Basic.__new__(cls, p, y)

    shape = property(lambda self: (Integer(1), Integer(1)))

    def explicit(self, p, y):
        terms = (y[r] * log(p[r]) + (1 - y[r]) * log(1 - p[r]) for r in range(p.shape[0]))
        return ImmutableMatrix([[-sum(terms)]])


class SquaredError(Node):
    """(1/2) ||o - y||^2."""

    def __new__(cls, o, y):
        return Basic.__new__(cls, o, y)

    shape = property(lambda self: (Integer(1), Integer(1)))

    def explicit(self, o, y):
        return ImmutableMatrix([[sum((o[r] - y[r]) ** 2 for r in range(o.shape[0])) / 2]])


class GenericLoss(Node):
    """l(o, y): an unspecified smooth loss; its gradient dl/do stays symbolic (LossGrad)."""

    def __new__(cls, o, y, name="ell"):
        return Basic.__new__(cls, o, y, _name(name))

    fname = property(lambda self: self.args[2].name)
    shape = property(lambda self: (Integer(1), Integer(1)))

    def explicit(self, o, y, name):
        return ImmutableMatrix([[Function(self.fname)(*o, *y)]])


class LossGrad(Node):
    """dl(o, y)/do for a GenericLoss l, shaped like o."""

    def __new__(cls, o, y, name="ell"):
        return Basic.__new__(cls, o, y, _name(name))

    fname = property(lambda self: self.args[2].name)
    shape = property(lambda self: self.args[0].shape)

    def explicit(self, o, y, name):
        call = Function(self.fname)(*o, *y)
        return ImmutableMatrix(o.shape[0], 1, lambda r, c: Derivative(call, o[r]))


class FrobeniusSq(Node):
    """||W||_F^2, the sum of the squared entries."""

    def __new__(cls, mat):
        return Basic.__new__(cls, mat)

    shape = property(lambda self: (Integer(1), Integer(1)))

    def explicit(self, mat):
        return ImmutableMatrix([[sum(v**2 for v in mat)]])


LOSSES = (CrossEntropy, BinaryCrossEntropy, SquaredError, GenericLoss)


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

    That order is the conformable and correct one for Jacobian chains dh_t/dh_k.
    """

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


# The elementwise primitives live in derive/primitives, one module each; imported here so that
# every node is at hand as derive.nodes.<Name>.
from derive.primitives import GELU, Exp, LeakyReLU, Log, ReLU, Sigmoid, Softplus, Tanh  # noqa: E402

__all__ += ["Exp", "GELU", "LeakyReLU", "Log", "ReLU", "Sigmoid", "Softplus", "Tanh"]
