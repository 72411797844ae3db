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

    @classmethod
    def validate(cls, slope) -> None:
        # max(x, a x) is x for x > 0 and a x below only when a <= 1; a steeper slope is another
        # function (its rule and code would both be wrong), so it is refused
        if slope.is_number and slope > 1:
            raise TypeError(f"leaky_relu's slope must be at most 1 (max(x, a·x) is the leaky ReLU only then), "
                            f"not {float(slope):g}")

    def derivative_bound(self):
        return Max(1, Abs(self.constants[0]))

    @staticmethod
    def scalar(x, slope):
        return Max(x, slope * x)

    @staticmethod
    def derivative(x, ans, slope):
        return slope + (1 - slope) * Heaviside(x, 0)
