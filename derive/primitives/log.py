"""The natural logarithm; log' = 1/x."""

from sympy import log

from derive.primitives.activation import Activation


class Log(Activation):
    symbol = "log"
    latex = r"\log"
    unicode = "log"
    activation = False  # a function of the math (a softmax's exp, a loss's log), not a layer's activation
    numpy = "np.log({x})"
    spellings = (r"\log", r"\ln", "log")
    label = ("log' = 1/x", r"$\log' = 1/x$")
    domain = "positive"

    @staticmethod
    def scalar(x):
        return log(x)

    @staticmethod
    def derivative(x, ans):
        return 1 / x
