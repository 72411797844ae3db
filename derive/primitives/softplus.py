"""softplus(x) = log(1 + e^x), a smooth ReLU; its derivative is σ(x)."""

from sympy import exp, log

from derive.primitives.activation import Activation


class Softplus(Activation):
    symbol = "softplus"
    latex = r"\operatorname{softplus}"
    unicode = "softplus"
    numpy = "np.logaddexp(0, {x})"  # log(e^0 + e^x): finite for any x
    spellings = ("softplus", r"\operatorname{softplus}", r"\mathrm{softplus}", r"\text{softplus}")
    label = ("softplus' = σ", r"$\operatorname{softplus}' = \sigma$")
    derivative_sup = 1  # softplus' = σ < 1, tending to 1

    @staticmethod
    def scalar(x):
        return log(1 + exp(x))

    @staticmethod
    def derivative(x, ans):
        return 1 / (1 + exp(-x))
