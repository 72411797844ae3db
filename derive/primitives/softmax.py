"""softmax(o) = exp(o) / 1ᵀ exp(o) for a column o; its rule is the Jacobian diag(p) − p pᵀ
applied to g (p the forward result). log 1ᵀ exp(o), its normaliser, is a node too: the loss of a
softmax output is computed from it, stable for any logits."""

from sympy import Basic, ImmutableMatrix, Integer, exp, log

from derive.primitives.base import Primitive

SOFTMAX_SOURCE = (
    "def _softmax(o):\n"
    "    e = np.exp(o - np.max(o, axis=0, keepdims=True))\n"
    "    return e / np.sum(e, axis=0, keepdims=True)\n"
)
LOGSUMEXP_SOURCE = (
    "def _logsumexp(o):\n"
    "    top = np.max(o, axis=0, keepdims=True)\n"
    "    return top + np.log(np.sum(np.exp(o - top), axis=0, keepdims=True))\n"
)
BATCHED_SOFTMAX = (
    "def _softmax(o, out=None):\n"
    '    """softmax over the last axis, shifted by the max so exp cannot overflow (into ``out``, an\n'
    '    array of o\'s shape, where given)."""\n'
    "    e = np.subtract(o, o.max(axis=-1, keepdims=True), out=out)\n"
    "    np.exp(e, out=e)\n"
    "    e /= e.sum(axis=-1, keepdims=True)\n"
    "    return e\n"
)
BATCHED_LOGSUMEXP = (
    "def _logsumexp(o):\n"
    '    """log Σ exp(o) over the last axis, shifted by the max: finite for any finite o."""\n'
    "    top = o.max(axis=-1, keepdims=True)\n"
    "    return top + np.log(np.exp(o - top).sum(axis=-1, keepdims=True))\n"
)
SOFTMAX_AND_LOGSUMEXP = (
    "def _softmax_and_logsumexp(o, out=(None, None)):\n"
    '    """(softmax(o), log Σ exp(o)) over the last axis, sharing one exp; finite for any finite o.\n'
    '    Written into ``out``, a pair of arrays of those shapes, where given."""\n'
    "    e, top = out\n"
    "    top = np.max(o, axis=-1, keepdims=True, out=top)\n"
    "    e = np.subtract(o, top, out=e)\n"
    "    np.exp(e, out=e)\n"
    "    total = e.sum(axis=-1, keepdims=True)\n"
    "    e /= total\n"
    "    top += np.log(total, out=total)\n"
    "    return e, top\n"
)


class Softmax(Primitive):
    """softmax(o) = exp(o) / 1^T exp(o) for a column vector o."""

    label = ("softmax Jacobian diag(p) − p pᵀ", r"softmax Jacobian $\operatorname{diag}(p) - pp^{\top}$")
    label_zh = r"softmax 的雅可比矩阵 $\operatorname{diag}(p) - pp^{\top}$"
    helpers = {"_softmax": SOFTMAX_SOURCE}
    # (the batched log Σ exp too, which a cross-entropy of a softmax reads)
    module_helpers = {"_softmax": BATCHED_SOFTMAX, "_logsumexp": BATCHED_LOGSUMEXP,
                      "_softmax_and_logsumexp": SOFTMAX_AND_LOGSUMEXP}
    spellings = ("softmax", r"\operatorname{softmax}", r"\mathrm{softmax}")
    symbol = "softmax"

    def __new__(cls, arg):
        return Basic.__new__(cls, arg)

    arg = property(lambda self: self.args[0])
    shape = property(lambda self: self.args[0].shape)

    def explicit(self, arg):
        e = arg.applyfunc(exp)
        return e / sum(e)

    @staticmethod
    def vjp(g, f, ans):
        from derive.algebra import hadamard, matmul, sub, transpose

        return [sub(hadamard(ans, g), matmul(ans, transpose(ans), g))]

    def answer_derivative(self):
        """softmax'(o): its Jacobian diag(p) − p pᵀ."""
        from derive.algebra import matmul, sub, transpose
        from derive.nodes import Diag

        return sub(Diag(self), matmul(self, transpose(self)))

    def latex(self, p):
        return rf"\operatorname{{softmax}}({p._print(self.arg)})"

    def unicode(self, p):
        return f"softmax({p._print(self.arg)})"

    def numpy(self, p):
        return f"_softmax({p._print(self.arg)})"


class LogSumExp(Primitive):
    """log 1^T exp(o), a number, for a column vector o (log softmax(o) = o - this)."""

    label = ("d log Σ exp(o)/do = softmax(o)",
             r"$\partial \log \mathbf{1}^{\top}\exp(o)/\partial o = \operatorname{softmax}(o)$")
    helpers = {"_logsumexp": LOGSUMEXP_SOURCE}  # in generated modules, Softmax's helpers hold it

    def __new__(cls, arg):
        return Basic.__new__(cls, arg)

    arg = property(lambda self: self.args[0])
    shape = property(lambda self: (Integer(1), Integer(1)))

    def explicit(self, arg):
        return ImmutableMatrix([[log(sum(arg.applyfunc(exp)))]])

    @staticmethod
    def vjp(g, f, ans):
        from derive.algebra import scale

        return [scale(g, Softmax(f.arg))]

    def latex(self, p):
        return rf"\log \mathbf{{1}}^{{\top}} \exp({p._print(self.arg)})"

    def unicode(self, p):
        return f"log Σ exp({p._print(self.arg)})"

    def numpy(self, p):
        return f"_logsumexp({p._print(self.arg)})"
