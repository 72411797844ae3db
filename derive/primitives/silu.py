"""SiLU (swish, Elfwing et al.; PyTorch's nn.SiLU): silu(x) = x σ(x). Its derivative, from x,
is σ(x) (1 + x (1 − σ(x))). σ is written as (1 + tanh(x/2))/2 — the same function, and finite
for every x where 1/(1 + e^−x) overflows below x = −709."""

from sympy import tanh

from derive.primitives.activation import Activation


def _sigma(x):
    return (1 + tanh(x / 2)) / 2


class SiLU(Activation):
    symbol = "silu"
    latex = r"\operatorname{SiLU}"
    unicode = "SiLU"
    numpy = "({x} * (0.5 + 0.5 * np.tanh(0.5 * {x})))"
    spellings = ("SiLU", r"\operatorname{SiLU}", r"\mathrm{SiLU}", r"\text{SiLU}", "silu",
                 "swish", r"\operatorname{swish}", r"\mathrm{swish}")
    label = ("SiLU' = σ (1 + x (1 − σ))", r"$\operatorname{SiLU}'(x) = \sigma(x)\,(1 + x(1 - \sigma(x)))$")
    derivative_sup = 1.0998393201288669  # the maximum of SiLU', at x ≈ 2.39936 (as GELU's)

    @staticmethod
    def scalar(x):
        return x * _sigma(x)

    @staticmethod
    def derivative(x, ans):
        s = _sigma(x)
        return s * (1 + x * (1 - s))
