"""−yᵀ log p for probabilities p and a target distribution y. After a softmax its rule
simplifies: (diag(p) − p pᵀ)(−y ⊘ p) = p − y, since a one-hot y sums to 1 (PyTorch fuses the two
the same way); generated code computes it from the logits, log Σ exp(o) − yᵀ o."""

from sympy import Basic, ImmutableMatrix, Integer, log

from derive.nodes import TimeSym
from derive.primitives.base import Primitive
from derive.primitives.softmax import Softmax


class CrossEntropy(Primitive):
    """-y^T log p for a probability vector p and a target distribution y (one-hot)."""

    label = ("cross-entropy", "cross-entropy")
    label_zh = "交叉熵"
    fused = {Softmax: lambda g, p, y: _scaled(g, p, y)}
    fused_label = {Softmax: ("softmax + cross-entropy: (diag(p) − p pᵀ)(−y ⊘ p) = p − y as 1ᵀy = 1",
                             "fused_softmax_ce")}

    def __new__(cls, p, y):
        return Basic.__new__(cls, p, y)

    shape = property(lambda self: (Integer(1), Integer(1)))

    def explicit(self, p, y):
        return ImmutableMatrix([[-sum(y[r] * log(p[r]) for r in range(p.shape[0]))]])

    @staticmethod
    def vjp(g, f, ans):
        from derive.algebra import neg, scale

        return [scale(g, neg(Divide(f.args[1], f.args[0]))), None]

    def latex(self, p):
        prob, y = self.args
        return rf"-{p.transposed(y)} \log {p._factor(prob)}"

    def unicode(self, p):
        prob, y = self.args
        return f"−{p._factor(y)}ᵀ log {p._factor(prob)}"

    def numpy(self, p):
        prob, y = (p._wrap(a) for a in self.args)
        return f"(-({y}.T @ np.log({prob})))"

    def module(self, p):
        return self.batched(p, total=False)

    def module_total(self, p):
        return self.batched(p, total=True)

    def batched(self, p, total: bool) -> str:
        """-yᵀ log p per example (or summed over the batch). For p = softmax(o) it is
        log Σ exp(o) - yᵀ o (as 1ᵀy = 1), from the log Σ exp the forward pass computed."""
        from sympy.matrices.expressions import MatrixSymbol

        prob, y = self.args
        reduce = ".sum()" if total else ".sum(axis=-1, keepdims=True)"
        stored = p.arrays.logsumexp.get(getattr(prob, "name", None))
        if isinstance(prob, Softmax):  # written inline, cross_entropy(softmax(o), y)
            logits = prob.arg
            lse = f"_logsumexp({p._print(logits)})"
        elif stored is None:
            return f"-({p._wrap(y)} * np.log({p._print(prob)})){reduce}"
        else:
            lse_name, logits = stored
            lse_value = TimeSym(lse_name, prob.index, 1) if isinstance(prob, TimeSym) else MatrixSymbol(lse_name, 1, 1)
            lse = p._print(lse_value)
        labels = p._labels(y)
        y_dot_o = (f"_pick({p._print(logits)}, {labels})" if labels is not None
                   else f"({p._wrap(y)} * {p._wrap(logits)}).sum(axis=-1, keepdims=True)")
        return f"({lse} - {y_dot_o}).sum()" if total else f"{lse} - {y_dot_o}"

    @classmethod
    def sample(cls, net, a, b):
        y = net.target("y_ce", a.shape[0], "onehot")
        return cls(Softmax(a), y)


def _scaled(g, p, y):
    from derive.algebra import scale, sub

    return scale(g, sub(p, y))


from derive.primitives.quotient import Divide  # noqa: E402 - its rule reads −y ⊘ p
