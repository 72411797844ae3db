"""What a planned module is made of: its lines, allocations and interface entries, and the
expression helpers the planner and its passes share."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache, cached_property
from typing import NamedTuple

from sympy import Basic
from sympy.matrices.expressions import MatMul, MatrixExpr, MatrixSymbol

from derive.algebra import add, matmul, rebuild, rows_of_transposed_product, split_coefficient
from derive.nodes import ColSlice, Concat, Grad, RowSlice, T, TimeSym, t


class NotGeneratable(ValueError):
    """A network the module generator cannot lay out (the message says which part)."""


@dataclass(frozen=True)
class Line:
    """``target = code``, implementing ``equation``; ``in_forward`` marks the lines that
    ``forward`` (outputs only, no targets) runs too."""

    target: str
    code: str
    equation: str
    in_forward: bool = True
    statements: tuple[str, ...] = ()  # in a loop: the statements that compute it in place
    forward_target: str = ""  # the target as ``forward`` writes it, "_" for what it does not keep
    per_example: bool = False  # its value has a row per example (so a size that grows with B and T)

    @cached_property
    def names(self) -> frozenset[str]:
        """The variables its code and statements name (what liveness and frees are read from)."""
        return frozenset().union(*(names_in(code) for code in (self.code, *self.statements)))


@dataclass(frozen=True)
class Allocation:
    name: str
    shape: str  # a Python tuple, in the module's size names
    zeros: bool = False
    comment: str = ""
    view: str = ""  # the columns of another array it is (a gate's adjoint in a stack's)
    slot: int | None = None  # its place among the buffers gradients() keeps between calls
    boundary: str = ""  # the statement giving a state its learned boundary value (h[0] = s)


class Port(NamedTuple):
    """A parameter or input of the module's interface."""

    ident: str  # the module's identifier for it
    key: str  # its name in the caller's dict
    shape: str  # its NumPy shape, as code
    fan_in: str  # a parameter's fan-in, as code (its initial scale)
    doc: str  # its shape as the docstring shows it, in the model's own names
    initial: str = ""  # a parameter's starting value as code (0.0: a bias), "" where it starts random

    @property
    def ndim(self) -> int:
        """The number of axes of ``shape``: () 0, (n,) 1, (n, d) 2."""
        inner = self.shape.strip()[1:-1].strip().rstrip(",")
        return inner.count(",") + 1 if inner else 0


@dataclass(frozen=True)
class Target:
    name: str
    kind: str  # onehot | binary | real
    shape: str  # what the caller passes, for the docstring
    setup: str  # the code turning it into the math's y
    classes: str = ""  # a one-hot target's number of classes (the size's name)
    key: str = ""  # its name in the caller's dict
    expect: str = ""  # its NumPy shape, as code (what _validate checks)


def time_reads(expr) -> set[tuple[str, object]]:
    """(name, shift) of each time-indexed value read at t + shift (shift None: not at t);
    the variable inside an adjoint dL/dX is not a read of X."""
    found = set()

    def walk(x):
        if isinstance(x, TimeSym):
            shift = x.index - t
            found.add((x.name, None if shift.has(t) or shift.has(T) else shift))
        elif isinstance(x, Basic) and not isinstance(x, Grad):
            for a in x.args:
                walk(a)

    walk(expr)
    return found


def shift_range(expr) -> tuple[int, int]:
    """(the smallest s <= 0, the largest s >= 0) for which ``expr`` reads a value (or an adjoint)
    of step t + s: a value reading t + 1 exists for t < T, one reading t - 1 for t > 1."""
    shifts = [0]

    def walk(x):
        if isinstance(x, TimeSym):
            shift = x.index - t
            if shift.is_Integer:
                shifts.append(int(shift))
        for a in getattr(x, "args", ()):
            if isinstance(a, Basic):
                walk(a)

    walk(expr)
    return min(shifts), max(shifts)


def split_blocks(expr):
    """Products with stacked vectors split into column blocks, and slices of transposed
    products read as blocks, so that nothing is stacked or computed only to be cut:

        W [h; x]         ->  W[:, 0:n] h + W[:, n:n+d] x     (the x part hoists out of the loop)
        (Wᵀ g)[0:n]      ->  W[:, 0:n]ᵀ g                     (no wasted columns)
    """
    if not isinstance(expr, MatrixExpr) or not expr.args:
        return expr
    expr = rebuild(expr, [split_blocks(a) for a in expr.args])
    if isinstance(expr, MatMul):
        coeff, mats = split_coefficient(expr)
        if len(mats) == 2 and isinstance(mats[0], MatrixSymbol) and isinstance(mats[1], Concat):
            return add(*[matmul(coeff, ColSlice(mats[0], start, stop), part)
                         for (start, stop), part in zip(mats[1].offsets(), mats[1].args, strict=True)])
    if isinstance(expr, RowSlice) and isinstance(expr.mat, MatMul):
        block = rows_of_transposed_product(expr.mat, expr.args[1], expr.args[2])
        if block is not None:
            return block
    return expr


def stored_shape(rows: str, per_step: bool, state: bool) -> str:
    lead = ("T + 1, " if state else "T, ") if per_step else ""
    return f"({lead}B, {rows})"




@cache
def names_in(code: str) -> frozenset[str]:
    """The variables a statement or an expression of generated code names (read, written or
    deleted), by Python's own parser: attributes (.T, np.tanh), keywords (out=) and strings
    are not variables."""
    return frozenset(node.id for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Name))


@cache
def calls_in(code: str) -> frozenset[str]:
    """The plain names a piece of generated code calls (its helpers: _sigmoid, _matmul)."""
    return frozenset(node.func.id for node in ast.walk(ast.parse(code))
                     if isinstance(node, ast.Call) and isinstance(node.func, ast.Name))


def subscripts_in(code: str, array: str) -> set[str]:
    """How ``code`` reads ``array``: "[t - 1]" for array[t - 1], "" for the whole array."""
    nodes = list(ast.walk(ast.parse(code)))
    subscripts = [x for x in nodes if isinstance(x, ast.Subscript) and isinstance(x.value, ast.Name)
                  and x.value.id == array]
    inside = {id(x.value) for x in subscripts}
    found = {f"[{ast.unparse(x.slice)}]" for x in subscripts}
    return found | {"" for x in nodes if isinstance(x, ast.Name) and x.id == array and id(x) not in inside}


def names_of(block) -> set[str]:
    """The variables some lines name, their statements included."""
    return set().union(*(line.names for line in block))
