"""One call of an entrywise function for the stack members that share it.

After stacking, an LSTM step reads each gate's pre-activation as columns of one product,
a_{f,t} = (stack_t)[rows of f], and applies its function: f_t = σ(a_{f,t}), i_t = σ(a_{i,t}),
o_t = σ(a_{o,t}). Three σ calls of four NumPy operations each become one over the columns of
f, i and o together (stacking puts the members one function reads side by side), written
into one array whose columns the gates are:

    [o_t, f_t, i_t] = σ((stack_t)[rows of o, f, i])     o = stack_sigmoid[..., 0:n], ...

A member is fused only when its pre-activation is nothing but those columns and nothing else
reads it: the derivative of the function must be a function of its answer alone (σ' from σ,
tanh' from tanh), so that the backward pass reads f_t, never a_{f,t}.
"""

from __future__ import annotations

from dataclasses import dataclass

from sympy import Symbol

from derive.codegen.stacking import Stack
from derive.nodes import Elementwise, RowSlice, TimeSym, t
from derive.rules import derivative_of


@dataclass
class Fused:
    target: TimeSym  # the members' activations side by side, one array over t
    members: list  # (activated value's name, first column, last column + 1) in the target
    function: type  # the entrywise function they share
    stack: Stack  # whose product they read
    start: object  # the first row of that product they read


def _activation(expr, name):
    """The function of f(name_t), when ``expr`` is exactly that; else None."""
    if isinstance(expr, Elementwise) and isinstance(expr.arg, TimeSym) and expr.arg.name == name \
            and expr.arg.index == t:
        return type(expr)
    return None


def _from_answer_alone(function, arg) -> bool:
    x, ans = Symbol("x"), Symbol("ans")
    return not derivative_of(function(arg))(x, ans).has(x)


@dataclass
class _Member:
    pre_line: int  # the line a_{g,t} = (stack_t)[rows]
    line: int  # the line g_t = f(a_{g,t})
    start: object  # its rows in the stack's product
    stop: object
    function: type
    target: TimeSym  # g_t


def fuse_activations(loop: list, stacks: list[Stack], read_elsewhere: set[str], fresh) -> list[Fused]:
    """Rewrite ``loop`` (mode, target, expr) in place; ``read_elsewhere``: the loop values
    that lines other than their own function read (the backward pass included); ``fresh``
    names the fused arrays."""
    fused = []
    for stack in stacks:
        while runs := _runs([_member(loop, stack, member, read_elsewhere) for member in stack.members]):
            fused.append(_fuse(loop, stack, runs[0], len(fused), fresh))
    return fused


def _member(loop: list, stack: Stack, member, read_elsewhere: set[str]) -> _Member | None:
    """The member's lines when they can be fused: a_{g,t} is only the stack's rows, and only
    g_t = f(a_{g,t}) reads it, f' being a function of the answer alone."""
    name, _, start, stop = member
    lines = {entry[1].name: j for j, entry in enumerate(loop)}
    readers = [j for j, (_, _, expr) in enumerate(loop) if _activation(expr, name)]
    if name not in lines or loop[lines[name]][2] != RowSlice(stack.product, start, stop) or len(readers) != 1 \
            or name in read_elsewhere:
        return None
    _, target, expr = loop[readers[0]]
    if not _from_answer_alone(type(expr), expr.arg):
        return None
    return _Member(lines[name], readers[0], start, stop, type(expr), target)


def _runs(members: list) -> list[list[_Member]]:
    """Maximal runs of two or more neighbouring members with the same function."""
    runs, current = [], []
    for member in members + [None]:
        if member is not None and current and member.function is current[-1].function:
            current.append(member)
            continue
        if len(current) > 1:
            runs.append(current)
        current = [member] if member is not None else []
    return runs


def _fuse(loop: list, stack: Stack, run: list[_Member], number: int, fresh) -> Fused:
    function, start, stop = run[0].function, run[0].start, run[-1].stop
    name = function.__name__.lower() + (str(number) if number else "")
    target = TimeSym(fresh(f"{stack.product.name}_{name}"), t, stop - start, 1)
    drop = {j for member in run for j in (member.pre_line, member.line)}
    first = min(member.line for member in run)  # where the first of them was computed
    line = ("step", target, function(RowSlice(stack.product, start, stop)))
    loop[:] = [line if j == first else entry for j, entry in enumerate(loop) if j not in drop or j == first]
    return Fused(target, [(member.target.name, member.start - start, member.stop - start) for member in run],
                 function, stack, start)
