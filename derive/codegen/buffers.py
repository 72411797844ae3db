"""Buffers that ``gradients`` keeps between calls, so that a training loop does not allocate its
activations again on every call.

A default process pays for every fresh large array: glibc hands big blocks back to the kernel
when they are freed, and the next call faults each page in again (about a fifth of a medium
RNN's time). So every array with a row per example that the module makes outside its loops
(U x_t + b for every t, the logits, σ'(a_t)) and every array a loop fills (the states, the
gates, the adjoints) gets a slot among the call's buffers, and its statement writes into that
slot's array:

    a_in = _matmul(x, U.T)          ->   a_in = buffers[0] = _matmul(x, U.T, out=buffers[0])
    dL_da_in = 1 - h[1:]            ->   dL_da_in = buffers[5] = np.subtract(1, h[1:], out=buffers[5])
    h = np.zeros((T + 1, B, n), …)  ->   h = _zeros(buffers, 1, (T + 1, B, n), dtype)

The first call with given shapes and dtype reads every slot as None (which every out= takes as
"make a new array") and the module's Workspace notes the shape and dtype of what each statement
made, keeping nothing: that call's memory is what it was without buffers. From the second call
on, the slots are views into one block of memory, laid out from those shapes and from each
slot's lifetime (``lifetimes``, read off the rendered gradients(): the first and last statement
that uses its array, through every name that may be a view of it), two slots sharing bytes only
when no statement lives in both lifetimes. So a slot's array always has exactly the shape and
dtype NumPy gave it, no shape is printed for it, and the memory kept is the peak of what is
alive at once.

What is returned never lives in a buffer: the gradients are reductions (fresh arrays), the
states for the next chunk are copies, and ``forward`` keeps nothing. A name a gradient reads as
a view (a stack's columns) is given no slot.
"""

from __future__ import annotations

import ast
import itertools
from dataclasses import replace

import numpy as np

from derive.codegen.lines import Line
from derive.printing.numpy_module import takes_out

_OPERATORS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "divide", ast.Pow: "power"}
# what returns a new array whatever it is given (anything else may return a view of an argument)
_FRESH_FUNCTIONS = {"dot", "concatenate", "zeros", "empty", "ones", "full", "eye", "sum", "where"}  # and ufuncs
_FRESH_METHODS = {"sum", "max", "min", "mean", "copy", "take", "dot", "prod", "any", "all"}
# the module's own helpers that return a new array (numpy_module.py)
_FRESH_HELPERS = {"_outer_sum", "_pick", "_one_hot", "_label_index"}


def reuse_buffers(plan) -> None:
    """Give every per-example array made outside the loops, and every loop array, a slot
    (``plan.buffer_count`` of them; ``lifetimes`` reads their lifetimes off the rendered code)."""
    # a gradient that is a name or a view of one (a stack's columns): that name gets no slot
    viewed = set().union(*(_may_view(ast.parse(line.code, mode="eval").body) for line in plan.gradients))
    slots = itertools.count()
    for seg in plan.forward + plan.backward:
        if hasattr(seg, "alloc") and getattr(seg, "boundary", True):  # (a backward loop with none is not printed)
            seg.alloc = [a if a.view or a.name in viewed else replace(a, slot=next(slots)) for a in seg.alloc]
        if seg.kind == "block":
            seg.lines = [_buffered(line, slots, viewed) for line in seg.lines]
    plan.buffer_count = next(slots)


# ---------------------------------------------------------------- statements into slots


def _buffered(line: Line, slots, viewed: set[str]) -> Line:
    """``line`` with the statement that makes its array writing into a slot (unchanged where
    it makes none, or where the result's array is not its own per-example one)."""
    names = [name.strip() for name in line.target.split(",")]
    if not line.per_example or not all(name.isidentifier() for name in names) or set(names) & viewed:
        return line
    statements = list(line.statements) or [f"{line.target} = {line.code}"]
    for j, statement in enumerate(statements):
        if statement.startswith(f"{line.target} = "):
            made = _into_slot(statement, len(names), slots)
            if made is None:
                return line
            statements[j] = made
            if not line.statements:
                return replace(line, code=statements[0].split(" = ", 1)[1])
            return replace(line, statements=tuple(statements))
    return line


def _into_slot(statement: str, count: int, slots):
    """``target = buffers[j] = f(…, out=buffers[j])`` for ``target = f(…)``, a call
    that writes into ``out`` or an arithmetic operator (as its ufunc); None for anything else
    (a view, a name, a call with no ``out``)."""
    tree = ast.parse(statement).body[0]
    if not isinstance(tree, ast.Assign) or len(tree.targets) != 1:
        return None
    target, value = ast.get_source_segment(statement, tree.targets[0]), tree.value
    if isinstance(value, ast.Call) and any(k.arg == "out" for k in value.keywords):
        return None  # it writes into an array already
    made = _made_empty(statement, value)
    if made is not None and count == 1:  # np.empty(shape, dtype=dtype) -> _empty(buffers, j, shape, dtype)
        slot = next(slots)
        return f"{target} = _{made[0]}(buffers, {slot}, {made[1]}, dtype)"
    if isinstance(value, ast.Call) and _writes_out(value.func, count):
        head, args = ast.get_source_segment(statement, value)[:-1], ""
    elif isinstance(value, ast.BinOp) and type(value.op) in _OPERATORS and count == 1:
        left, right = (ast.get_source_segment(statement, side) for side in (value.left, value.right))
        if isinstance(value.op, ast.Pow) and right == "2":  # np.power has no fast path for squares
            head, args = "np.square(", left
        else:
            head, args = f"np.{_OPERATORS[type(value.op)]}(", f"{left}, {right}"
    elif isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub) and count == 1:
        head, args = "np.negative(", ast.get_source_segment(statement, value.operand)
    else:
        return None
    taken = tuple(next(slots) for _ in range(count))
    slot = f"buffers[{taken[0]}]" if count == 1 else f"buffers[{taken[0]}:{taken[-1] + 1}]"
    separator = ", " if args or not head.endswith("(") else ""
    return f"{target} = {slot} = {head}{args}{separator}out={slot})"


def _made_empty(statement: str, value):
    """("empty" or "zeros", the shape's code) for np.empty(shape, dtype=dtype) or np.zeros(…)."""
    func = value.func if isinstance(value, ast.Call) else None
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "np"
            and func.attr in ("empty", "zeros") and len(value.args) == 1):
        return None
    if [(k.arg, getattr(k.value, "id", None)) for k in value.keywords] != [("dtype", "dtype")]:
        return None
    return func.attr, ast.get_source_segment(statement, value.args[0])


def _writes_out(func, count: int) -> bool:
    """True for a NumPy ufunc or out-taking function (one result), or a module helper with an
    ``out`` parameter (as many results as it returns)."""
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "np":
        return count == 1 and takes_out(f"np.{func.attr}")
    return isinstance(func, ast.Name) and takes_out(func.id)


# ---------------------------------------------------------------- lifetimes


def lifetimes(module_source: str, count: int) -> list[tuple[int, int]]:
    """(first step, last step) of each of ``count`` slots in a rendered module's gradients():
    from the statement that makes its array to the last statement that names it or any name
    that may be a view of it. Read off the code as printed, so the order is the one that runs:
    each statement of the function's body is a step, a loop or an if with all it holds one step
    (whatever it reads lives through all of it), a del no use."""
    function = next(node for node in ast.parse(module_source).body
                    if isinstance(node, ast.FunctionDef) and node.name == "gradients")
    numbers = _numbers(function)
    roots, first, mentions = _Roots(), {}, []
    for position, step in enumerate(function.body):
        if isinstance(step, ast.Delete):
            mentions.append(set())
            continue
        mentions.append({n.id for n in ast.walk(step) if isinstance(n, ast.Name)} - numbers)
        for statement in ast.walk(step):
            if not isinstance(statement, ast.Assign):
                continue
            made = _slots_made(statement)
            for name, slot in made:
                roots.join(name, ("slot", slot))
                first.setdefault(slot, position)
            if not made:
                _join_views(statement, roots, numbers)
    last = {}
    for position, names in enumerate(mentions):
        for name in names:
            last[roots.find(name)] = position
    missing = sorted(set(range(count)) - set(first))
    if missing:  # a slot no statement makes: its lifetime would be a guess
        raise AssertionError(f"buffers {missing} are made by no statement of gradients()")
    return [(first[slot], max(first[slot], last.get(roots.find(("slot", slot)), first[slot]))) for slot in range(count)]


def _slots_made(statement: ast.Assign) -> list[tuple[str, int]]:
    """(name, slot) for a statement that makes a slot's array: ``x = buffers[j] = …``,
    ``a, b = buffers[j:j + 2] = …`` or ``x = _empty(buffers, j, …)`` (``_zeros``)."""
    *names, kept = statement.targets
    if names and isinstance(kept, ast.Subscript) and isinstance(kept.value, ast.Name) and kept.value.id == "buffers":
        index = kept.slice
        slots = (range(index.lower.value, index.upper.value) if isinstance(index, ast.Slice) else [index.value])
        bound = names[0].elts if isinstance(names[0], ast.Tuple) else [names[0]]
        return [(b.id, slot) for b, slot in zip(bound, slots, strict=True)]
    value = statement.value
    if (len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name) and isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name) and value.func.id in ("_empty", "_zeros")
            and isinstance(value.args[0], ast.Name) and value.args[0].id == "buffers"):
        return [(statement.targets[0].id, value.args[1].value)]
    return []


def _numbers(function: ast.FunctionDef) -> set[str]:
    """Names that hold numbers, never arrays (sizes read off shapes, ``n = W.shape[0]``,
    ``T, B = x.shape[:2]``; t, the dtype): no array shares memory with them."""
    found = {"T", "B", "t", "dtype", "np"}
    for node in ast.walk(function):
        shape = getattr(getattr(node, "value", None), "value", None)  # x.shape in x.shape[0]
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Subscript) \
                and isinstance(shape, ast.Attribute) and shape.attr == "shape":
            found |= {n.id for target in node.targets for n in ast.walk(target) if isinstance(n, ast.Name)}
    return found


class _Roots:
    """Union-find over names and slots: a name that may be a view of another shares its root."""

    def __init__(self):
        self.parent: dict = {}

    def find(self, x):
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, a, b):
        self.parent[self.find(a)] = self.find(b)


def _join_views(tree: ast.Assign, roots: _Roots, numbers: set[str]) -> None:
    """Join each name an assignment binds with every name its value may be a view of (``numbers``:
    names of numbers, which no array shares memory with)."""
    # x[i] = value copies value into x: only names bound to it (x = …, a, b = …) may share its memory
    bound = [n.id for target in tree.targets for n in (target.elts if isinstance(target, ast.Tuple) else [target])
             if isinstance(n, ast.Name)]
    for name in _may_view(tree.value) - numbers:
        for b in bound:
            roots.join(b, name)


def _may_view(node) -> set[str]:
    """The names whose memory the value of ``node`` may share: none for arithmetic and for
    functions that always make a new array; the name itself through indexing, .T, reshape and
    the like; every name it reads for anything else (a helper, a method it does not know)."""
    if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Compare, ast.Constant)):
        return set()
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, ast.Subscript) or (isinstance(node, ast.Attribute) and node.attr == "T"):
        return _may_view(node.value)
    if isinstance(node, ast.Call):
        func = node.func
        numpy_call = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "np"
        if numpy_call:
            fresh = func.attr in _FRESH_FUNCTIONS or isinstance(getattr(np, func.attr, None), np.ufunc)
        elif isinstance(func, ast.Attribute):
            fresh = func.attr in _FRESH_METHODS
        else:
            fresh = isinstance(func, ast.Name) and func.id in _FRESH_HELPERS
        if fresh and not any(k.arg == "out" for k in node.keywords):  # (with out=, it returns out)
            return set()
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):  # holds each element as it is
        return set().union(*map(_may_view, node.elts))
    if isinstance(node, ast.Dict):
        return set().union(*map(_may_view, node.values))
    if isinstance(node, ast.IfExp):
        return _may_view(node.body) | _may_view(node.orelse)
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
