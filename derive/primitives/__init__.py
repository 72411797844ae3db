"""The registry of primitives: one module each, holding everything about the function (its
meaning, its vector-Jacobian rule, how every target spells it and the helpers its code calls,
how answers write it, its rule's name).

Adding one is a module beside these and a line below (REGISTRY for an elementwise function,
PRIMITIVES for any other); the generic op tests (tests/test_primitives.py) run every entry
through the three oracles and through generated code.
"""

from derive.primitives.activation import Activation
from derive.primitives.base import Primitive
from derive.primitives.binary_cross_entropy import BinaryCrossEntropy
from derive.primitives.block import Block
from derive.primitives.concat import ColSlice, Concat, RowSlice
from derive.primitives.conv2d import Broadcast, Conv2d, ConvInputGrad, ConvKernelGrad, PositionSum, conv_geometry
from derive.primitives.cross_entropy import CrossEntropy
from derive.primitives.exp import Exp
from derive.primitives.frobenius import FrobeniusSq
from derive.primitives.gelu import GELU
from derive.primitives.generic_loss import GenericLoss, LossGrad
from derive.primitives.leaky_relu import LeakyReLU
from derive.primitives.log import Log
from derive.primitives.power import Power
from derive.primitives.quotient import Divide
from derive.primitives.relu import ReLU
from derive.primitives.sigmoid import Sigmoid
from derive.primitives.silu import SiLU
from derive.primitives.softmax import LogSumExp, Softmax
from derive.primitives.softplus import Softplus
from derive.primitives.squared_error import SquaredError
from derive.primitives.tanh import Tanh

# The elementwise functions (ops.<symbol>, the activation options), and every primitive.
REGISTRY: tuple[type[Activation], ...] = (Sigmoid, Tanh, ReLU, Exp, Log, LeakyReLU, Softplus, GELU, SiLU)
PRIMITIVES: tuple[type[Primitive], ...] = REGISTRY + (
    Softmax, Divide, Power, CrossEntropy, BinaryCrossEntropy, SquaredError, GenericLoss, FrobeniusSq, Concat, Conv2d)
# The nodes primitives' rules and printing make besides (their modules hold them).
PARTS: tuple[type[Primitive], ...] = (LogSumExp, LossGrad, RowSlice, ColSlice, ConvKernelGrad, ConvInputGrad,
                                      Broadcast, PositionSum, Block)


# The functions an answer applies by name, f(x) and f'(x): the elementwise ones and softmax.
APPLIED: tuple[type[Primitive], ...] = REGISTRY + (Softmax,)


def by_symbol(symbol: str) -> type[Primitive] | None:
    """The function an answer applies called ``symbol`` (``ops.<symbol>``, an activation option's value)."""
    return next((op for op in APPLIED if op.symbol == symbol), None)


def spelled(text: str) -> type[Primitive] | None:
    """The function an answer spells as ``text`` (\\sigma, \\tanh, \\operatorname{softplus}, softmax, ...)."""
    return next((op for op in APPLIED if text in op.spellings), None)


__all__ = ["APPLIED", "PARTS", "PRIMITIVES", "REGISTRY", "Activation", "Primitive", "by_symbol", "conv_geometry",
           "spelled", *[op.__name__ for op in PRIMITIVES + PARTS]]
