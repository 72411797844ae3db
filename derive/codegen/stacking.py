"""One GEMM per step for every block that reads the same previous state.

An LSTM's four gates each multiply h_{t-1} by a block of their weights; a GRU's reset and
update gates do too. Four (B × n)·(n × n) products per step cost four NumPy calls and four
passes over h_{t-1}; one (B × n)·(n × 4n) product with the blocks stacked costs one. Backwards
the same: Σ_g W_gᵀ ∂L/∂a_{g,t+1} is one product with the gates' adjoints side by side, which
the module keeps in one array (each gate's adjoint a view of its columns).

The rewrite is pure algebra on the planned loop expressions,

    a_{g,t} = … + W_g h_{t-1}        ->  a_{g,t} = … + (W_stack h_{t-1})[rows of g]
    Σ_g W_gᵀ ∂L/∂a_{g,t+1}           ->  W_stackᵀ [∂L/∂a_{f,t+1}; …; ∂L/∂a_{o,t+1}]

with W_stack = [W_o; W_f; W_i; W_C]: the blocks whose results one function reads side by side, so
that it can be one call (fusing.py), and those whose adjoints multiply the same factor side by
side, so that those products can be one call too (``_order``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import permutations, product

from sympy import Integer
from sympy.matrices.expressions import MatAdd, MatMul, MatrixSymbol, Transpose, ZeroMatrix

from derive.algebra import add, matmul, split_coefficient
from derive.derivation import SUMMED
from derive.nodes import ColSlice, Concat, Elementwise, Grad, RowSlice, TimeSym, t


@dataclass
class Stack:
    state: TimeSym  # s_{t-1}, the operand every block reads
    weights: MatrixSymbol  # W_stack: the blocks one above the other
    product: TimeSym  # W_stack s_{t-1}, a loop local
    members: list  # (assignment name, block, first row, last row + 1)
    adjoint: TimeSym | None = None  # the members' adjoints side by side, when the backward loop reads them so
    inputs: list = field(default_factory=list)  # (block, bias or None) of each member's hoisted part, stacked too
    input_weights: MatrixSymbol | None = None  # those blocks one above the other
    input_biases: MatrixSymbol | None = None  # those biases one above the other

    def rows_of(self, name: str):
        return next((start, stop) for member, _, start, stop in self.members if member == name)


def _is_block(x) -> bool:
    return isinstance(x, MatrixSymbol) or (isinstance(x, ColSlice) and isinstance(x.mat, MatrixSymbol))


def _terms(expr):
    return list(expr.args) if isinstance(expr, MatAdd) else [expr]


def _reads_previous_state(term, states, shift: int = -1):
    """(block, state) for a term block · s_{t+shift} (the state the step reads: s_{t-1} forward
    in time, s_{t+1} backward), else None."""
    if not isinstance(term, MatMul):
        return None
    coeff, mats = split_coefficient(term)
    if coeff != 1 or len(mats) != 2 or not _is_block(mats[0]):
        return None
    operand = mats[1]
    if isinstance(operand, TimeSym) and operand.name in states and operand.index == t + shift:
        return mats[0], operand
    return None


def stack_forward(loop: list, states: set[str], fresh, factor_of=lambda name: None, shift: int = -1) -> list[Stack]:
    """Rewrite the loop entries (mode, target, expr) in place; return the stacks made (named by
    ``fresh(base)``, the module's namer).
    ``factor_of(name)``: the adjoint ∂L/∂name multiplies entrywise (∂L/∂C_t for an LSTM's
    a_f, a_i and a_C), or None, which orders the blocks (``_order``)."""
    groups: dict = {}
    for j, (_, target, expr) in enumerate(loop):
        for term in _terms(expr):
            found = _reads_previous_state(term, states, shift)
            if found is not None:
                groups.setdefault(found[1], []).append((j, target.name, term, found[0]))
    stacks = []
    for state, members in groups.items():
        if len({j for j, *_ in members}) < 2 or len({j for j, *_ in members}) != len(members):
            continue  # one block: nothing to stack; two in one line: leave that line alone
        members = _order(loop, members, factor_of)
        start, rows = Integer(0), []
        for _, name, _, block in members:
            rows.append((name, block, start, start + block.shape[0]))
            start = start + block.shape[0]
        weights = MatrixSymbol(fresh(f"W_stack_{state.name}"), start, state.shape[0])
        product = TimeSym(fresh(f"{state.name}_stack"), t, start, 1)
        for (j, _, term, _), (_, _, lo, hi) in zip(members, rows, strict=True):
            mode, target, expr = loop[j]
            loop[j] = (mode, target, add(*[RowSlice(product, lo, hi) if x == term else x for x in _terms(expr)]))
        loop.insert(0, ("step", product, matmul(weights, state.at(t + shift))))
        stacks.append(Stack(state, weights, product, rows))
    return stacks


def _input_part(expr):
    """(block, u, biases) for a hoisted part block · u_t + the biases; (None, None, biases) for
    biases alone; else None."""
    terms = _terms(expr)
    products = [x for x in terms if isinstance(x, MatMul)]
    biases = [x for x in terms if _is_bias(x)]
    if len(products) > 1 or len(products) + len(biases) != len(terms):
        return None
    if not products:
        return None, None, biases
    coeff, mats = split_coefficient(products[0])
    if coeff != 1 or len(mats) != 2 or not _is_block(mats[0]) or not isinstance(mats[1], TimeSym):
        return None
    return mats[0], mats[1], biases


def _is_bias(x) -> bool:
    return isinstance(x, MatrixSymbol) and not isinstance(x, TimeSym) and x.shape[1] == 1


def _member_parts(expr, stack: Stack, parts: dict):
    """The loop-independent terms of a member's line ``expr`` (the stack's rows + the rest):
    (the terms, (block or None, u or None, biases)); None when they are not an input block
    and biases."""
    rest = [x for x in _terms(expr) if not (isinstance(x, RowSlice) and x.mat == stack.product)]
    hoisted = [x for x in rest if isinstance(x, TimeSym) and x.name in parts and x.index == t]
    static = [x for x in rest if _is_bias(x)]
    if len(hoisted) > 1 or len(hoisted) + len(static) != len(rest):
        return None
    found = _input_part(parts[hoisted[0].name]) if hoisted else (None, None, [])
    if found is None:
        return None
    block, u, biases = found
    return rest, (block, u, [*biases, *static])


def stack_hoisted(loop: list, hoisted: list, stacks: list[Stack], fresh) -> None:
    """The members' loop-independent parts stacked as well: one GEMM over every t for all of
    them and one add per step, after which each member is a view of the step's product,

        a_{g,t} = a_in_{g,t} + (W_stack h_{t-1})[rows of g]
            ->  stack_t = W_stack h_{t-1} + stack_in_t,   a_{g,t} = (stack_t)[rows of g]

    with stack_in_t = [W_f[:, x cols]; …] x_t + [b_f; …]. A member's part is an input block and
    its biases (summed: PyTorch's b_ir + b_hr), or, for members after all those with a block,
    biases alone (a GRU's b_hn) or nothing, added to their rows of the product beside
    stack_in_t: stack_t = W_stack h_{t-1} + [stack_in_t; b_hn]. Rewrites ``loop`` and ``hoisted`` (name,
    expr) in place; a stack whose members' parts are of another form, read another input or
    have biases only in part, is left as it was."""
    parts = dict(hoisted)
    for stack in stacks:
        lines = {entry[1].name: j for j, entry in enumerate(loop)}
        found = [_member_parts(loop[lines[name]][2], stack, parts) for name, *_ in stack.members]
        if any(f is None for f in found):
            continue
        with_block = [block is not None for _, (block, _, _) in found]
        inputs = {u for _, (_, u, _) in found if u is not None}
        count = with_block.count(True)  # the members with a block come first, then those with biases alone
        with_bias = {bool(biases) for _, (_, _, biases) in found[:count]}
        if len(inputs) != 1 or len(with_bias) != 1 or with_block != [True] * count + [False] * (len(found) - count):
            continue
        u, with_bias = inputs.pop(), with_bias.pop()
        stack.inputs = [(block, tuple(biases)) for _, (block, _, biases) in found[:count]]
        rows = stack.members[count - 1][3]
        stack.input_weights = MatrixSymbol(fresh(f"W_stack_{u.name}"), rows, u.shape[0])
        stack.input_biases = MatrixSymbol(fresh(f"b_stack_{stack.state.name}"), rows, 1) if with_bias else None
        total = matmul(stack.input_weights, u)
        joint = TimeSym(fresh(f"{stack.product.name}_in"), t, rows, 1)
        moved = {x.name for rest, _ in found for x in rest if isinstance(x, TimeSym)}
        hoisted[:] = [(n, e) for n, e in hoisted if n not in moved]
        hoisted.append((joint.name, add(total, stack.input_biases) if with_bias else total))
        for (name, *_), (rest, _) in zip(stack.members, found, strict=True):
            mode, target, expr = loop[lines[name]]
            loop[lines[name]] = (mode, target, add(*[x for x in _terms(expr) if x not in rest]))
        # the rest of the rows: their biases, or nothing (W_hn h_{t-1} alone) where they have none
        alone = [add(*biases) if biases else ZeroMatrix(stop - start, 1)
                 for (_, (_, _, biases)), (_, _, start, stop) in zip(found[count:], stack.members[count:], strict=True)]
        mode, target, expr = loop[lines[stack.product.name]]
        loop[lines[stack.product.name]] = (mode, target, add(expr, Concat(joint, *alone) if alone else joint))


def _order(loop: list, members: list, factor_of) -> list:
    """The members with those that one function reads side by side, so that their activations
    can be one call (fusing.py); of those orders, one where the most neighbours' adjoints
    multiply the same factor, so that their products can be one call too (an LSTM's
    [o, f, i, C̃]: σ of the first three at once, then ∂L/∂a_{f,i,C} = … ⊙ ∂L/∂C_t at once).
    Among equals, the forward pass's order, each function's group where its first member is."""
    def function_of(name):
        return next((type(expr) for _, _, expr in loop if isinstance(expr, Elementwise)
                     and isinstance(expr.arg, TimeSym) and expr.arg.name == name), None)

    kinds = [function_of(name) for _, name, _, _ in members]
    groups: dict = {}
    for j, kind in enumerate(kinds):
        groups.setdefault(kind, []).append(j)
    factors = [factor_of(name) for _, name, _, _ in members]

    def shared(order):
        pairs = zip(order, order[1:], strict=False)
        return sum(1 for a, b in pairs if factors[a] is not None and factors[a] == factors[b])

    orders = [[j for group in inner for j in group] for outer in permutations(groups.values())
              for inner in product(*(permutations(group) for group in outer))] if len(members) <= 6 else []
    first = [j for group in groups.values() for j in group]
    best = max([first, *orders], key=shared)  # the first of the best: the forward pass's order if it is one
    return [members[j] for j in best]


def stack_backward(expr, stacks: list[Stack], fresh, shift: int = -1):
    """Σ_g blockᵀ ∂L/∂a_{g,t-shift} over every member of a stack -> W_stackᵀ (their adjoints):
    the step after, t + 1, forward in time (shift -1); t - 1 backward."""
    terms = _terms(expr)
    for stack in stacks:
        found = {}
        for term in terms:
            coeff, mats = split_coefficient(term) if isinstance(term, MatMul) else (None, [])
            if coeff != 1 or len(mats) != 2 or not isinstance(mats[0], Transpose) or not isinstance(mats[1], Grad):
                continue
            var = mats[1].var
            for name, block, _, _ in stack.members:
                if mats[0].arg == block and isinstance(var, TimeSym) and var.name == name and var.index == t - shift:
                    found[name] = term
        if len(found) != len(stack.members):
            continue
        if stack.adjoint is None:
            stack.adjoint = TimeSym(fresh(f"dL_d{stack.product.name}"), t, *stack.product.shape)
        joint = matmul(Transpose(stack.weights), stack.adjoint.at(t - shift))
        terms = [x for x in terms if x not in found.values()] + [joint]
    return add(*terms)


def gradient_of_member(terms, stack: Stack):
    """(member, u) when a parameter's gradient is Σ_t ∂L/∂a_{g,t} uᵀ for a member g of the
    stack (u None for a bias, Σ_t ∂L/∂a_{g,t}); else None."""
    if len(terms) != 1 or terms[0].when != SUMMED:
        return None
    expr = terms[0].expr
    names = {name for name, *_ in stack.members}
    if isinstance(expr, Grad):
        grad, operand = expr, None
    elif isinstance(expr, MatMul):
        coeff, mats = split_coefficient(expr)
        if coeff != 1 or len(mats) != 2 or not isinstance(mats[0], Grad) or not isinstance(mats[1], Transpose):
            return None
        grad, operand = mats[0], mats[1].arg
    else:
        return None
    var = grad.var
    if isinstance(var, TimeSym) and var.name in names and var.index == t:
        return var.name, operand
    return None
