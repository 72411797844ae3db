"""The logistic function σ(x) = 1 / (1 + e^{-x}); σ' = σ (1 − σ) from the forward result."""

from sympy import Rational, exp

from derive.primitives.activation import Activation


class Sigmoid(Activation):
    symbol = "sigmoid"
    latex = r"\sigma"
    unicode = "σ"
    # written with tanh: one call, and no overflow for large |x|
    numpy = "(0.5 + 0.5 * np.tanh(0.5 * {x}))"
    batched = "_sigmoid({x})"
    batched_helper = (
        "def _sigmoid(a, out=None):\n"
        '    """1 / (1 + e^-a), computed in one buffer (``out``, or a new one). Where e^-a overflows\n'
        '    (a < -709) the result is the right 0; the callers ignore that overflow (np.errstate)."""\n'
        "    out = np.negative(a, out=out)\n"
        "    np.exp(out, out=out)\n"
        "    out += 1.0\n"
        "    return np.reciprocal(out, out=out)\n"
    )
    spellings = (r"\sigma", "sigmoid", "Sigmoid", r"\operatorname{sigmoid}", r"\mathrm{sigmoid}")
    label = ("σ' = σ(1 − σ)", r"$\sigma' = \sigma(1 - \sigma)$")
    derivative_sup = Rational(1, 4)  # σ' = σ(1 − σ), largest at x = 0
    value_sup = 1

    @staticmethod
    def scalar(x):
        return 1 / (1 + exp(-x))

    @staticmethod
    def derivative(x, ans):
        return ans * (1 - ans)
