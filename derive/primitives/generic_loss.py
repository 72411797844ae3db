"""ℓ(o, y): an unspecified smooth loss, whose gradient ∂ℓ/∂o stays symbolic (its own node). The
oracles replace it by a random smooth function, so a derivation that passes holds for every ℓ."""

from sympy import Basic, Derivative, Function, ImmutableMatrix, Integer

from derive.nodes import _name
from derive.primitives.base import Primitive


class GenericLoss(Primitive):
    """l(o, y): an unspecified smooth loss; its gradient dl/do stays symbolic (LossGrad)."""

    label = ("generic loss", "generic loss")  # no symbols: the model's own are in the equations
    label_zh = "一般损失"

    def __new__(cls, o, y, name="ell"):
        return Basic.__new__(cls, o, y, _name(name))

    fname = property(lambda self: self.args[2].name)
    shape = property(lambda self: (Integer(1), Integer(1)))
    generic = True  # no numbers: generated code refuses it

    def explicit(self, o, y, name):
        return ImmutableMatrix([[Function(self.fname)(*o, *y)]])

    @staticmethod
    def vjp(g, f, ans):
        from derive.algebra import scale

        return [scale(g, LossGrad(*f.args)), None, None]

    def latex(self, p):
        o, y = (p._print(a) for a in self.args[:2])
        return rf"{p.name(self.fname)}({o}, {y})"

    def unicode(self, p):
        o, y = (p._print(a) for a in self.args[:2])
        return f"{p.name(self.fname)}({o}, {y})"

    def numpy(self, p):
        return f"{p._function_name(self.fname)}({p._print(self.args[0])}, {p._print(self.args[1])})"

    @classmethod
    def sample(cls, net, a, b):
        return cls(a, net.target("y_ell", a.shape[0], "real"), "ell")


class LossGrad(Primitive):
    """dl(o, y)/do for a GenericLoss l, shaped like o."""

    def __new__(cls, o, y, name="ell"):
        return Basic.__new__(cls, o, y, _name(name))

    fname = property(lambda self: self.args[2].name)
    shape = property(lambda self: self.args[0].shape)

    def explicit(self, o, y, name):
        call = Function(self.fname)(*o, *y)
        return ImmutableMatrix(o.shape[0], 1, lambda r, c: Derivative(call, o[r]))

    def latex(self, p):
        o, y = (p._print(a) for a in self.args[:2])
        return rf"\frac{{\partial {p.name(self.fname)}({o}, {y})}}{{\partial {o}}}"

    def unicode(self, p):
        o, y = (p._print(a) for a in self.args[:2])
        return f"∂{p.name(self.fname)}({o}, {y})/∂{o}"

    def numpy(self, p):
        return f"{p._function_name(self.fname, True)}({p._print(self.args[0])}, {p._print(self.args[1])})"
