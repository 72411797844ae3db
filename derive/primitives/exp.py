"""The exponential; exp' = exp, the forward result itself."""

from sympy import exp

from derive.primitives.activation import Activation


class Exp(Activation):
    symbol = "exp"
    latex = r"\exp"
    unicode = "exp"
    activation = False  # a function of the math (a softmax's exp, a loss's log), not a layer's activation
    numpy = "np.exp({x})"
    spellings = (r"\exp", "exp")
    label = ("exp' = exp", r"$\exp' = \exp$")

    @staticmethod
    def scalar(x):
        return exp(x)

    @staticmethod
    def derivative(x, ans):
        return ans
