"""A block matrix of matrices: a network's states stacked (z_t = [h_t; C_t]), the Jacobian of one
step of several states ([[∂h_t/∂h_{t-1}, ∂h_t/∂C_{t-1}], [∂C_t/∂h_{t-1}, ∂C_t/∂C_{t-1}]]), and
their products — what BPTT through an LSTM multiplies. It is made by the derivation, never
declared, so it has no rule: nothing is differentiated through it."""

from sympy import Basic, ImmutableMatrix, Tuple

from derive.nodes import _explicit, is_explicit
from derive.primitives.base import Primitive


class Block(Primitive):
    """rows of blocks: Block(((A, B), (C, D))); every row's blocks share a height, every column's a width."""

    defines = {"en": r"a matrix written in blocks, such as $\begin{bmatrix} A & B \\ C & D \end{bmatrix}$, is the "
                     r"matrix those blocks fill; $\mathbf{0}$ is a block of zeros",
               "zh": r"分块写出的矩阵（如 $\begin{bmatrix} A & B \\ C & D \end{bmatrix}$）即由这些块拼成的矩阵；"
                     r"$\mathbf{0}$ 是全零块"}

    def __new__(cls, rows):
        return Basic.__new__(cls, Tuple(*(Tuple(*row) for row in rows)))

    rows = property(lambda self: [list(row) for row in self.args[0]])
    shape = property(lambda self: (sum(row[0].shape[0] for row in self.rows),
                                   sum(b.shape[1] for b in self.rows[0])))

    def doit(self, **hints):
        rows = [[_explicit(b) for b in row] for row in self.rows]
        if all(is_explicit(b) for row in rows for b in row):
            return ImmutableMatrix.vstack(*(ImmutableMatrix.hstack(*row) for row in rows))
        return Block(rows)

    def latex(self, p):
        return r"\begin{bmatrix} " + r" \\ ".join(" & ".join(p._print(b) for b in row) for row in self.rows) + \
            r" \end{bmatrix}"

    def unicode(self, p):
        return "[" + "; ".join(", ".join(p._print(b) for b in row) for row in self.rows) + "]"

    def numpy(self, p):
        return "np.block([" + ", ".join("[" + ", ".join(p._print(b) for b in row) + "]" for row in self.rows) + "])"
