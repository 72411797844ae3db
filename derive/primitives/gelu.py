"""GELU in its tanh form (Hendrycks and Gimpel; PyTorch's approximate="tanh"):

    GELU(x) = x/2 (1 + tanh(√(2/π) (x + 0.044715 x³)))

Its derivative is the scalar rule SymPy differentiates from that meaning."""

from sympy import Dummy, Rational, pi, sqrt, tanh

from derive.primitives.activation import Activation

_C = Rational(44715, 1000000)


def _gelu(x):
    return x / 2 * (1 + tanh(sqrt(2 / pi) * (x + _C * x**3)))


class GELU(Activation):
    symbol = "gelu"
    latex = r"\operatorname{GELU}"
    unicode = "GELU"
    numpy = "_gelu({x})"
    helper = (
        "def _gelu(x):\n"
        "    return 0.5 * x * (1 + np.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3)))\n"
    )
    spellings = ("GELU", r"\operatorname{GELU}", r"\mathrm{GELU}", r"\text{GELU}", "gelu")
    label = ("GELU' (tanh form)", r"$\operatorname{GELU}'$ (tanh form)")
    # the maximum of this form's derivative, at x ≈ 1.41850 (found numerically; the analysis tests
    # check it on a grid)
    derivative_sup = 1.1289930686587718

    @staticmethod
    def scalar(x):
        return _gelu(x)

    @staticmethod
    def derivative(x, ans):
        z = Dummy("z")
        return _gelu(z).diff(z).subs(z, x)
