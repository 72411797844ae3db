"""u^p entry by entry for a constant p; its rule gives g ⊙ p u^(p−1)."""

from sympy import Basic, Rational, sympify

from derive.primitives.base import Primitive


def _is_number(code: str) -> bool:
    try:
        float(code)
    except ValueError:
        return False
    return not code.startswith("-")


class Power(Primitive):
    """u^p entry by entry, for a constant exponent p."""

    label = ("power", "power")
    label_zh = "幂"

    def __new__(cls, base, power):
        return Basic.__new__(cls, base, sympify(power))

    shape = property(lambda self: self.args[0].shape)

    def explicit(self, base, power):
        return base.applyfunc(lambda v: v**power)

    @staticmethod
    def vjp(g, f, ans):
        from derive.algebra import hadamard, matmul

        return [hadamard(g, matmul(f.args[1], Power(f.args[0], f.args[1] - 1))), None]

    def latex(self, p):
        power = p._print(self.args[1])
        if self.shape == (1, 1):
            return f"{p._factor(self.args[0], transpose=True)}^{{{power}}}"
        return rf"{p._factor(self.args[0], transpose=True)}^{{\circ {power}}}"

    def unicode(self, p):
        from derive.printing.unicode import superscript

        return f"{p._factor(self.args[0])}{superscript(str(self.args[1]))}"

    def numpy(self, p):
        # the exponent grouped: x ** 1/2 would be (x ** 1) / 2
        power = p._print(self.args[1])
        power = power if _is_number(power) else f"({power})"
        return f"({p._wrap(self.args[0])} ** {power})"

    @classmethod
    def sample(cls, net, a, b):
        from derive import ops

        return cls(ops.exp(a), Rational(3, 2))  # a non-integer power of positive numbers
