"""Keep f(X_t) once when the loop computes it inside a line and the backward pass reads it again.

An LSTM's h_t = o_t ⊙ tanh(C_t) computes tanh(C_t) in the forward loop; ∂L/∂o_t = tanh(C_t) ⊙
∂L/∂h_t and tanh'(C_t) = 1 − tanh²(C_t) in ∂L/∂C_t read it again. A transcendental function
costs more than any other entrywise work of a step, so the module computes it once, in the loop,
into an array of its own (tanh_C), and every later line reads that array:

    tanh_C_t = tanh(C_t);   h_t = o_t ⊙ tanh_C_t;   ∂L/∂o_t = tanh_C_t ⊙ ∂L/∂h_t;   1 − tanh_C_t²
"""

from __future__ import annotations

from sympy import Basic

from derive.algebra import rebuild
from derive.network import Assignment
from derive.nodes import Elementwise, Grad, Prime, TimeSym, t


def _key(expr, loop_names: set[str]):
    """(function, variable) for f(X_s), X a loop value at any step s; else None."""
    if isinstance(expr, Elementwise) and isinstance(expr.arg, TimeSym) and expr.arg.name in loop_names:
        return type(expr), expr.arg.name
    return None


def walk_computed(expr):
    """Every node of ``expr`` that printing reads (f'(x) reads f(x) and not x; ∂L/∂X does
    not read X)."""
    yield expr
    if isinstance(expr, Grad):
        return
    if isinstance(expr, Prime):  # f' reads f(x) as its answer; f(x) inside fx is not computed
        yield from walk_computed(expr.ans)
        return
    for arg in getattr(expr, "args", ()):
        if isinstance(arg, Basic):
            yield from walk_computed(arg)


def shared_functions(recurrent: list[Assignment], backward: list, loop_names: set[str], fresh) -> list[Assignment]:
    """The new assignments name_X_t = f(X_t), for each f(X_t) that a loop line computes as part
    of its expression and some backward expression reads as well (named by ``fresh``)."""
    read_back = {_key(x, loop_names) for expr in backward for x in walk_computed(expr)} - {None}
    found = {}
    for a in recurrent:
        for x in walk_computed(a.expr):
            key = _key(x, loop_names)
            if key in read_back and x is not a.expr and x.arg.index == t and key not in found:
                name = fresh(f"{key[0].__name__.lower()}_{key[1]}")
                found[key] = Assignment(TimeSym(name, t, *x.shape), x, True)
    return list(found.values())


def share(expr, shared: list[Assignment], loop_names: set[str]):
    """``expr`` reading the shared arrays instead of computing f(X_s) again."""
    names = {_key(a.expr, loop_names): a.name for a in shared}
    return _share(expr, names, loop_names) if names else expr


def _share(expr, names: dict, loop_names: set[str]):
    key = _key(expr, loop_names)
    if key in names:
        return TimeSym(names[key], expr.arg.index, *expr.shape)
    if isinstance(expr, Prime):
        return Prime(expr.fx, _share(expr.ans, names, loop_names))
    if not isinstance(expr, Basic) or not expr.args:
        return expr
    args = [_share(a, names, loop_names) for a in expr.args]
    return expr if args == list(expr.args) else rebuild(expr, args)
