"""u ⊘ v, entry by entry; its rule gives g ⊘ v to u and −(g ⊙ u) ⊘ v² to v."""

from sympy import Basic, ImmutableMatrix

from derive.primitives.base import Primitive


class Divide(Primitive):
    """u / v entry by entry (u ⊘ v)."""

    label = ("quotient", "quotient")
    label_zh = "除法"

    def __new__(cls, num, den):
        return Basic.__new__(cls, num, den)

    shape = property(lambda self: self.args[0].shape)

    def explicit(self, num, den):
        return ImmutableMatrix(num.shape[0], num.shape[1], lambda r, c: num[r, c] / den[r, c])

    @staticmethod
    def vjp(g, f, ans):
        from derive.algebra import hadamard, neg
        from derive.primitives.power import Power

        return [Divide(g, f.args[1]), neg(Divide(hadamard(g, f.args[0]), Power(f.args[1], 2)))]

    def latex(self, p):
        num, den = (p._print(a) for a in self.args)
        if self.shape == (1, 1):
            return rf"\frac{{{num}}}{{{den}}}"
        return rf"{p._factor(self.args[0])} \oslash {p._factor(self.args[1])}"

    def unicode(self, p):
        num, den = self.args
        op = "/" if self.shape == (1, 1) else " ⊘ "
        return f"{p._factor(num)}{op}{p._factor(den)}"

    def numpy(self, p):
        return f"({p._wrap(self.args[0])} / {p._wrap(self.args[1])})"

    def linear_in(self, g, linear_map):
        """u ⊘ v = diag(1 ⊘ v) u, for g in the numerator only."""
        from sympy.matrices.expressions import OneMatrix

        from derive.algebra import NotLinear, contains, matmul
        from derive.nodes import Diag

        num, den = self.args
        if contains(den, g) or self.shape[1] != 1:
            raise NotLinear(f"{self} is not linear in {g}")
        return matmul(Diag(Divide(OneMatrix(*den.shape), den)), linear_map(num, g))

    @classmethod
    def sample(cls, net, a, b):
        from derive import ops

        return cls(a, ops.exp(b))  # a denominator that is never zero
