"""derive: symbolic gradients for neural networks, derived step by step, typeset, turned into
NumPy, and able to check a student's answer.

The declaration API a model file uses: ``from derive import Network, ops``.
"""

from derive import ops
from derive.network import DeclarationError, Network

__all__ = ["DeclarationError", "Network", "ops"]
