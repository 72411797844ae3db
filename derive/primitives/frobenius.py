"""‖W‖_F², the sum of the squared entries (an L2 penalty); its rule gives 2W g."""

from sympy import Basic, ImmutableMatrix, Integer

from derive.primitives.base import Primitive


class FrobeniusSq(Primitive):
    """||W||_F^2, the sum of the squared entries."""

    label = ("d‖W‖²/dW = 2W", r"$\partial \lVert W\rVert_F^2/\partial W = 2W$")

    def __new__(cls, mat):
        return Basic.__new__(cls, mat)

    shape = property(lambda self: (Integer(1), Integer(1)))

    def explicit(self, mat):
        return ImmutableMatrix([[sum(v**2 for v in mat)]])

    @staticmethod
    def vjp(g, f, ans):
        from derive.algebra import matmul, scale

        return [scale(g, matmul(2, f.args[0]))]

    def latex(self, p):
        return rf"\lVert {p._print(self.args[0])} \rVert_{{F}}^{{2}}"

    def unicode(self, p):
        return f"‖{p._print(self.args[0])}‖_F²"

    def numpy(self, p):
        return f"np.sum({p._wrap(self.args[0])} ** 2, keepdims=True)"

    def module(self, p):
        return f"({p._wrap(self.args[0])} ** 2).sum()"
