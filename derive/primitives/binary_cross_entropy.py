"""−(y log p + (1 − y) log(1 − p)), summed over entries. After a sigmoid its rule simplifies:
σ' = p(1 − p) cancels the denominators, leaving p − y; generated code computes the loss from the
logits, log(1 + e^z) − y z."""

from sympy import Basic, ImmutableMatrix, Integer, log

from derive.primitives.base import Primitive
from derive.primitives.quotient import Divide
from derive.primitives.sigmoid import Sigmoid


class BinaryCrossEntropy(Primitive):
    """-(y log p + (1 - y) log(1 - p)), summed over entries, for probabilities p and labels y."""

    label = ("binary cross-entropy", "binary cross-entropy")
    label_zh = "二元交叉熵"
    fused = {Sigmoid: lambda g, p, y: _scaled(g, p, y)}
    fused_label = {Sigmoid: ("σ + binary cross-entropy: σ' = p(1 − p) cancels the denominators",
                             "fused_sigmoid_bce")}

    def __new__(cls, p, y):
        return Basic.__new__(cls, p, y)

    shape = property(lambda self: (Integer(1), Integer(1)))

    def explicit(self, p, y):
        terms = (y[r] * log(p[r]) + (1 - y[r]) * log(1 - p[r]) for r in range(p.shape[0]))
        return ImmutableMatrix([[-sum(terms)]])

    @staticmethod
    def vjp(g, f, ans):
        from derive.algebra import neg, one_minus, scale, sub

        p, y = f.args
        return [scale(g, neg(sub(Divide(y, p), Divide(one_minus(y), one_minus(p))))), None]

    def latex(self, p):
        prob, y = (p._print(a) for a in self.args)
        return rf"-\left({y} \log {prob} + (1 - {y}) \log(1 - {prob})\right)"

    def unicode(self, p):
        prob, y = (p._print(a) for a in self.args)
        return f"−({y} log {prob} + (1 − {y}) log(1 − {prob}))"

    def numpy(self, p):
        prob, y = (p._wrap(a) for a in self.args)
        return f"(-np.sum({y} * np.log({prob}) + (1 - {y}) * np.log(1 - {prob}), axis=0, keepdims=True))"

    def module(self, p):
        return f"({self.entries(p)}).sum(axis=-1, keepdims=True)"

    def module_total(self, p):
        return f"({self.entries(p)}).sum()"

    def entries(self, p) -> str:
        """The entrywise terms the loss sums, from the logit where p = σ(z)."""
        prob, y = self.args
        logit = prob.arg if isinstance(prob, Sigmoid) else p._defined_as(prob, Sigmoid)
        if logit is not None:  # -(y log σ(z) + (1 - y) log(1 - σ(z))) = log(1 + e^z) - y z
            z = p._wrap(logit)
            return f"np.logaddexp(0, {z}) - {p._wrap(y)} * {z}"
        p_, y_ = p._wrap(prob), p._wrap(y)
        return f"-({y_} * np.log({p_}) + (1 - {y_}) * np.log(1 - {p_}))"

    @classmethod
    def sample(cls, net, a, b):
        y = net.target("y_bce", a.shape[0], "binary")
        return cls(Sigmoid(a), y)


def _scaled(g, p, y):
    from derive.algebra import scale, sub

    return scale(g, sub(p, y))
