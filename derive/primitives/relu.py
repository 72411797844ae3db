"""ReLU(x) = max(x, 0); its derivative is the indicator 𝕀(x > 0), read off the forward result
(ReLU(x) > 0 exactly when x > 0)."""

from sympy import Heaviside, Max

from derive.primitives.activation import Activation


class ReLU(Activation):
    symbol = "relu"
    latex = r"\operatorname{ReLU}"
    unicode = "ReLU"
    numpy = "np.maximum({x}, 0)"
    spellings = ("ReLU", "relu", r"\operatorname{ReLU}", r"\mathrm{ReLU}", r"\text{ReLU}", r"\operatorname{relu}")
    label = ("ReLU' = 𝕀(· > 0)", r"$\operatorname{ReLU}' = \mathbb{I}(\cdot > 0)$")
    derivative_sup = 1
    prime_latex = r"\mathbb{{I}}({x} > 0)"
    defines = {"en": r"$\mathbb{I}(\cdot)$ is 1 where its condition holds and 0 elsewhere, entry by entry",
               "zh": r"$\mathbb{I}(\cdot)$ 在条件成立处为 1，否则为 0（逐元素）"}
    prime_unicode = "𝕀({x} > 0)"

    @staticmethod
    def scalar(x):
        return Max(x, 0)

    @staticmethod
    def derivative(x, ans):
        return Heaviside(ans, 0)
