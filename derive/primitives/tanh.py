"""tanh, with tanh' = 1 − tanh² from the forward result."""

from sympy import tanh

from derive.primitives.activation import Activation


class Tanh(Activation):
    symbol = "tanh"
    latex = r"\tanh"
    unicode = "tanh"
    numpy = "np.tanh({x})"
    spellings = (r"\tanh", "tanh", r"\operatorname{tanh}", r"\mathrm{tanh}")
    label = ("tanh' = 1 − tanh²", r"$\tanh' = 1 - \tanh^2$")
    derivative_sup = 1  # at x = 0
    value_sup = 1

    @staticmethod
    def scalar(x):
        return tanh(x)

    @staticmethod
    def derivative(x, ans):
        return 1 - ans**2
