"""½‖o − y‖²; its rule gives g (o − y)."""

from sympy import Basic, ImmutableMatrix, Integer

from derive.primitives.base import Primitive


class SquaredError(Primitive):
    """(1/2) ||o - y||^2."""

    label = ("squared error", "squared error")
    label_zh = "平方误差"

    def __new__(cls, o, y):
        return Basic.__new__(cls, o, y)

    shape = property(lambda self: (Integer(1), Integer(1)))

    def explicit(self, o, y):
        return ImmutableMatrix([[sum((o[r] - y[r]) ** 2 for r in range(o.shape[0])) / 2]])

    @staticmethod
    def vjp(g, f, ans):
        from derive.algebra import scale, sub

        return [scale(g, sub(f.args[0], f.args[1])), None]

    def latex(self, p):
        o, y = (p._print(a) for a in self.args)
        return rf"\tfrac{{1}}{{2}}\lVert {o} - {y} \rVert^{{2}}"

    def unicode(self, p):
        o, y = (p._print(a) for a in self.args)
        return f"½‖{o} − {y}‖²"

    def numpy(self, p):
        o, y = (p._wrap(a) for a in self.args)
        return f"(0.5 * np.sum(({o} - {y}) ** 2, axis=0, keepdims=True))"

    def module(self, p):
        return f"({self.entries(p)}).sum(axis=-1, keepdims=True)"

    def module_total(self, p):
        return f"({self.entries(p)}).sum()"

    def entries(self, p) -> str:
        o, y = (p._wrap(a) for a in self.args)
        return f"0.5 * ({o} - {y}) ** 2"

    @classmethod
    def sample(cls, net, a, b):
        return cls(a, net.target("y_se", a.shape[0], "real"))
