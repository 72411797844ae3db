"""Walking the trees the grammar reads (derive/check/parser.py), with the recognised losses in
them: which reading a written symbol takes, what scales, what a node holds."""

from __future__ import annotations

from dataclasses import replace

from derive.check import parser as P
from derive.check.semantics import FUNCTION_NAMES
from derive.equations.losses import Loss
from derive.equations.symbols import Reading, readings

# The generic functions a problem may apply (their derivatives stay symbolic), by their tokens.
GENERIC_FUNCTIONS = {"f": "f", "g": "g", "\\phi": "phi", "\\varphi": "varphi", "\\psi": "psi", "\\rho": "rho"}


def pick(options: list[Reading], time_keys: set[str], split: set[str] = frozenset()) -> Reading:
    """The reading of a written symbol: h_0 is h at time 0 when h is indexed by t somewhere, else a
    symbol named h_0; E_t is the per-step E where the problem also computes E once (E = Σ_t E_t)."""
    first = options[0]
    if first.time is not None and first.name.key in split:
        return Reading(replace(first.name, step=True), first.time)
    if first.time is not None and first.name.key in time_keys:
        return first
    return options[-1] if options[-1].time is None else Reading(first.name, None)


def is_coefficient(node, symbols: dict, time_keys: set[str]) -> bool:
    """A number, a constant, T, a size, or a fraction or product of them: it scales."""
    if isinstance(node, P.Num):
        return True
    found = readings(node)
    if found:
        s = symbols.get(pick(found, time_keys).name.key)
        return s is not None and s.role in ("constant", "size")
    if isinstance(node, P.Frac):
        return is_coefficient(node.num, symbols, time_keys) and is_coefficient(node.den, symbols, time_keys)
    if isinstance(node, P.Product):
        return all(is_coefficient(x, symbols, time_keys) for x in node.items) and all(
            op in ("", "·", "/") for op in node.ops)
    if isinstance(node, P.Neg):
        return is_coefficient(node.arg, symbols, time_keys)
    return False


def children(node):
    if isinstance(node, Loss):
        return [node.prediction, node.target]
    if isinstance(node, P.Sum):
        return [x for _, x in node.terms]
    if isinstance(node, (P.Neg, P.Transpose)):
        return [node.arg]
    if isinstance(node, P.Product):
        return list(node.items)
    if isinstance(node, P.Frac):
        return [node.num, node.den]
    if isinstance(node, P.Power):
        return [node.base]
    if isinstance(node, P.BigOp):
        return [node.body]
    if isinstance(node, P.Call):
        return list(node.args)
    return []


def walk(node):
    yield node
    for child in children(node):
        yield from walk(child)


def losses_in(node):
    return [x for x in walk(node) if isinstance(x, Loss)]


def function_symbol(name: str) -> str | None:
    return FUNCTION_NAMES.get(name)


def what(node) -> str:
    return {"Deriv": "a derivative", "Indicator": "an indicator", "Dots": "⋯", "Ones": "a ones vector",
            "Group": "a list of values"}.get(type(node).__name__, type(node).__name__)
