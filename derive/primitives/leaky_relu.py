"""Leaky ReLU(x) = x for x > 0, a·x otherwise (PyTorch's default slope a = 0.01); its
derivative is a + (1 − a) 𝕀(x > 0)."""

from sympy import Abs, Heaviside, Max, Rational

from derive.primitives.activation import Activation


class LeakyReLU(Activation):
    symbol = "leaky_relu"
    latex = r"\operatorname{LeakyReLU}"
    unicode = "LeakyReLU"
    numpy = "np.maximum({x}, {slope} * {x})"  # max(x, a x) for 0 < a < 1
    spellings = ("LeakyReLU", r"\operatorname{LeakyReLU}", r"\mathrm{LeakyReLU}", r"\text{LeakyReLU}", "lrelu")
    label = ("LeakyReLU' = a + (1 − a) 𝕀(· > 0)", r"$\operatorname{LeakyReLU}' = a + (1 - a)\,\mathbb{I}(\cdot > 0)$")
    parameters = ("slope",)
    defaults = (Rational(1, 100),)

    def derivative_bound(self):
        return Max(1, Abs(self.constants[0]))

    @staticmethod
    def scalar(x, slope):
        return Max(x, slope * x)

    @staticmethod
    def derivative(x, ans, slope):
        return slope + (1 - slope) * Heaviside(x, 0)
