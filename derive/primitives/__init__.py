"""The registry of elementwise primitives: one module each, holding everything about the
function (its meaning, its derivative rule, how every target spells it, how answers write it).

Adding one is a module beside these and a line below; the generic op test runs every entry
through the three oracles.
"""

from derive.primitives.activation import Activation
from derive.primitives.exp import Exp
from derive.primitives.gelu import GELU
from derive.primitives.leaky_relu import LeakyReLU
from derive.primitives.log import Log
from derive.primitives.relu import ReLU
from derive.primitives.sigmoid import Sigmoid
from derive.primitives.softplus import Softplus
from derive.primitives.tanh import Tanh

REGISTRY: tuple[type[Activation], ...] = (Sigmoid, Tanh, ReLU, Exp, Log, LeakyReLU, Softplus, GELU)


def by_symbol(symbol: str) -> type[Activation] | None:
    """The primitive called ``symbol`` (``ops.<symbol>``, an activation option's value)."""
    return next((op for op in REGISTRY if op.symbol == symbol), None)


def spelled(text: str) -> type[Activation] | None:
    """The primitive an answer spells as ``text`` (\\sigma, \\tanh, \\operatorname{softplus}, ...)."""
    return next((op for op in REGISTRY if text in op.spellings), None)


__all__ = ["REGISTRY", "Activation", "by_symbol", "spelled", *[op.__name__ for op in REGISTRY]]
