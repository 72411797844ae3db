"""[a; b; …]: columns stacked (an LSTM's [h_{t-1}; x_t]); its rule hands each part its rows of g.
Those rows, and the columns of a weight that multiply one part (W [h; x] = W[:, :n] h +
W[:, n:] x), are nodes of their own: RowSlice and ColSlice."""

from sympy import Basic, ImmutableMatrix, Integer, MatrixSymbol, sympify

from derive.nodes import _explicit, is_explicit
from derive.primitives.base import Primitive


class Concat(Primitive):
    """[a; b; ...]: column vectors (or matrices) stacked vertically."""

    defines = {"en": r"$\begin{bmatrix} \mathbf{u} \\ \mathbf{v} \end{bmatrix}$ stacks two columns, one above the "
                     r"other",
               "zh": r"$\begin{bmatrix} \mathbf{u} \\ \mathbf{v} \end{bmatrix}$ 把两个列向量上下拼接"}

    label = ("split of a stacked vector", "split of a stacked vector")
    label_zh = "拼接向量的拆分"

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

    @staticmethod
    def vjp(g, f, ans):
        return [RowSlice(g, start, stop) for start, stop in f.offsets()]

    def latex(self, p):
        return r"\begin{bmatrix} " + r" \\ ".join(p._print(a) for a in self.args) + r" \end{bmatrix}"

    def unicode(self, p):
        return "[" + "; ".join(p._print(a) for a in self.args) + "]"

    def numpy(self, p):
        return "np.concatenate([" + ", ".join(p._print(a) for a in self.args) + "], axis=0)"

    def module(self, p):
        return "np.concatenate([" + ", ".join(p._print(a) for a in self.args) + "], axis=-1)"

    @classmethod
    def sample(cls, net, a, b):
        from derive.algebra import matmul

        W = net.param("W_concat", a.shape[0], a.shape[0] + b.shape[0])
        return matmul(W, cls(a, b))


class RowSlice(Primitive):
    """Rows start..stop-1 of a matrix (0-based): how a gradient reaches one part of a Concat."""

    defines = {"en": r"$[\mathbf{v}]_{i:j}$ is the column of entries $i$ to $j$ of $\mathbf{v}$ (the part of a stack "
                     r"that one variable fills)",
               "zh": r"$[\mathbf{v}]_{i:j}$ 是 $\mathbf{v}$ 的第 $i$ 到第 $j$ 个元素组成的列"
                     r"（拼接中属于某个变量的部分）"}

    def __new__(cls, mat, start, stop):
        return Basic.__new__(cls, mat, sympify(start), sympify(stop))

    mat = property(lambda self: self.args[0])
    shape = property(lambda self: (self.args[2] - self.args[1], self.args[0].shape[1]))

    def doit(self, **hints):
        mat = _explicit(self.mat)
        if is_explicit(mat):
            return ImmutableMatrix(mat[int(self.args[1]) : int(self.args[2]), :])
        return RowSlice(mat, self.args[1], self.args[2])

    def latex(self, p):
        start, stop = self.args[1], self.args[2]
        return rf"\left[{p._print(self.mat)}\right]_{{{p._print(start + 1)}:{p._print(stop)}}}"

    def unicode(self, p):
        start, stop = self.args[1], self.args[2]
        mat = p._print(self.mat)
        mat = mat if isinstance(self.mat, MatrixSymbol) else f"({mat})"
        return f"{mat}[{p._print(start + 1)}..{p._print(stop)}]"  # rows, counted from 1

    def numpy(self, p):
        return f"{p._wrap(self.mat)}[{p._print(self.args[1])}:{p._print(self.args[2])}]"

    def module(self, p):
        return f"{p._wrap(self.mat)}[..., {p._print(self.args[1])}:{p._print(self.args[2])}]"

    def linear_in(self, g, linear_map):
        """Its matrix as a function of g: rows of the inner one (a block of Wᵀ where it is Wᵀ M)."""
        from sympy.matrices.expressions import Identity

        from derive.algebra import matmul, rows_of_transposed_product

        start, stop = self.args[1], self.args[2]
        inner = linear_map(self.mat, g)
        block = rows_of_transposed_product(inner, start, stop)
        if block is not None:
            return block
        return matmul(RowSlice(Identity(self.mat.shape[0]), start, stop), inner)


class ColSlice(Primitive):
    """Columns start..stop-1 of a matrix (0-based): the block of W that multiplies one part
    of a Concat, W [h; x] = W[:, 0:n] h + W[:, n:n+d] x."""

    defines = {"en": r"$[W]_{:,i:j}$ is the block of columns $i$ to $j$ of $W$ (the columns that multiply one part of "
                     r"a stack)",
               "zh": r"$[W]_{:,i:j}$ 是 $W$ 的第 $i$ 到第 $j$ 列（与拼接中某一部分相乘的那些列）"}

    label = ("column block", "column block")
    label_zh = "列块"

    def __new__(cls, mat, start, stop):
        return Basic.__new__(cls, mat, sympify(start), sympify(stop))

    mat = property(lambda self: self.args[0])
    shape = property(lambda self: (self.args[0].shape[0], self.args[2] - self.args[1]))

    def doit(self, **hints):
        mat = _explicit(self.mat)
        if is_explicit(mat):
            return ImmutableMatrix(mat[:, int(self.args[1]) : int(self.args[2])])
        return ColSlice(mat, self.args[1], self.args[2])

    def latex(self, p):
        start, stop = self.args[1], self.args[2]
        return rf"\left[{p._print(self.mat)}\right]_{{:,{p._print(start + 1)}:{p._print(stop)}}}"

    def unicode(self, p):
        start, stop = self.args[1], self.args[2]
        return f"{p._factor(self.mat)}[:, {p._print(start + 1)}..{p._print(stop)}]"

    def numpy(self, p):
        return f"{p._wrap(self.mat)}[:, {p._print(self.args[1])}:{p._print(self.args[2])}]"
