"""Plan a generated NumPy module from a network and its derivation.

The derivation says what to compute; the plan says when and where, so that the module runs
like a careful hand-written BPTT:

* a step assignment is *recurrent* when it lies on a path from h_{t-1} to h_t (it runs in the
  loop over t), *pre* when it reads no state (it runs for every t at once before the loop) and
  *head* otherwise (for every t at once after the loop);
* inside a recurrent assignment, each subexpression that does not depend on the loop is
  hoisted and computed for all t at once (U x_t + b becomes one GEMM over T * B rows);
* backwards the same: head adjoints for every t at once, only the recurrence in the reversed
  loop (its last step peeled off, where no step T + 1 feeds back), with its loop-independent
  terms (Vᵀ dL/do_t, σ'(a_t)) hoisted; a parameter's gradient sum_t g_t u_tᵀ is one GEMM;
* a value used only within one iteration is a loop local, not an array.

Planning is in two phases: first the expressions of every line, then (knowing which values
are read outside their iteration) the printing. Each line keeps the equation it implements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from sympy import Basic, Integer, degree
from sympy.matrices.expressions import HadamardProduct, MatAdd, MatMul, MatrixExpr, MatrixSymbol, ZeroMatrix

from derive.algebra import (
    add,
    hadamard,
    matmul,
    rebuild,
    rows_of_transposed_product,
    split_coefficient,
    substitute,
    transpose,
)
from derive.codegen.fusing import fuse_activations
from derive.codegen.sharing import share, shared_functions, walk_computed
from derive.codegen.stacking import gradient_of_member, stack_backward, stack_forward, stack_hoisted
from derive.derivation import ALWAYS, BEFORE_LAST, FIRST, LAST, STATIC, SUMMED, Derivation
from derive.deriver import derive
from derive.naming import MODULE, network_namer, renamed
from derive.network import Assignment, Network, matrix_symbols
from derive.nodes import (
    LOSSES,
    ColSlice,
    Concat,
    CrossEntropy,
    Elementwise,
    Grad,
    LogSumExp,
    Prime,
    RowSlice,
    Softmax,
    T,
    TimeSym,
    t,
)
from derive.printing.inplace import inplace_statements
from derive.printing.numpy_module import HELPERS, Arrays, ModulePrinter, _unwrap
from derive.printing.unicode import UnicodePrinter


class _GateProduct(NamedTuple):
    """A stack member's backward line ∂L/∂a_{g,t} = X_{g,t} ⊙ ∂L/∂s_t (``_joint_products``)."""

    printed: str  # the line's target as the module prints it
    target: Grad  # ∂L/∂a_{g,t}
    own: TimeSym  # X_{g,t}, kept in the member's own columns of the stack's adjoint
    shared: Grad  # ∂L/∂s_t, which neighbouring members may multiply too


MODULE_RESERVED = MODULE | set(HELPERS)  # the module's own names and its helpers


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


@dataclass(frozen=True)
class Allocation:
    name: str
    shape: str  # a Python tuple, in the module's size names
    zeros: bool = False
    comment: str = ""
    view: str = ""  # the columns of another array it is (a gate's adjoint in a stack's)


class Port(NamedTuple):
    """A parameter or input of the module's interface."""

    ident: str  # the module's identifier for it
    key: str  # its name in the caller's dict
    shape: str  # a parameter's NumPy shape, as code
    fan_in: str  # a parameter's fan-in, as code (its initial scale)
    doc: str  # its shape as the docstring shows it, in the model's own names


@dataclass(frozen=True)
class Target:
    name: str
    kind: str  # onehot | binary | real
    shape: str  # what the caller passes, for the docstring
    setup: str  # the code turning it into the math's y
    classes: str = ""  # a one-hot target's number of classes (the size's name)
    key: str = ""  # its name in the caller's dict


@dataclass
class Plan:
    network: Network
    sizes: dict[str, int]
    size_sources: list[tuple[str, str]]  # size name, expression reading it off params/inputs
    params: list[Port]
    inputs: list[Port]
    targets: list[Target]
    hypers: list[tuple[str, str]]  # python name, value
    forward_pre: list[Line] = field(default_factory=list)
    forward_alloc: list[Allocation] = field(default_factory=list)
    forward_loop: list[Line] = field(default_factory=list)
    forward_post: list[Line] = field(default_factory=list)
    outputs: list[tuple[str, str]] = field(default_factory=list)  # key, code
    objective: str = ""
    backward_pre: list[Line] = field(default_factory=list)
    backward_alloc: list[Allocation] = field(default_factory=list)
    backward_last: list[Line] = field(default_factory=list)
    backward_loop: list[Line] = field(default_factory=list)
    backward_post: list[Line] = field(default_factory=list)
    gradients: list[Line] = field(default_factory=list)
    released: list[str] = field(default_factory=list)  # forward arrays no backward line reads
    released_after_loop: list[str] = field(default_factory=list)  # arrays no gradient line reads
    keys: dict[str, str] = field(default_factory=dict)  # identifier -> the caller's name for it
    arrays: Arrays | None = None  # where each value is kept, and the module's namer

    @property
    def sequential(self) -> bool:
        return self.network.sequential


def _time_reads(expr) -> set[tuple[str, object]]:
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


def _max_shift(expr) -> int:
    """The largest s for which ``expr`` reads a value (or an adjoint) of step t + s, at least 0."""
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
    return max(shifts)


def _grads(expr) -> list[Grad]:
    out = []

    def walk(x):
        if isinstance(x, Grad):
            out.append(x)
        elif isinstance(x, Basic):
            for a in x.args:
                walk(a)

    walk(expr)
    return out


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


def _shape(rows: str, per_step: bool, state: bool) -> str:
    lead = ("T + 1, " if state else "T, ") if per_step else ""
    return f"({lead}B, {rows})"


class Planner:
    def __init__(self, derivation: Derivation, sizes: dict[str, int]):
        if derivation.layout != "denominator":
            derivation = derivation.with_layout("denominator")
        # Every identifier of the module comes from one namer: the network's symbols under their
        # own names where free (else renamed, spelled as before in the comments), then every
        # generated name made unique against them.
        original = derivation.network
        identifiers = network_namer(original, MODULE_RESERVED)
        net = renamed(original, identifiers)
        if net is not original:
            derivation = derive(net)
        self.names = network_namer(net, MODULE_RESERVED)
        self.keys = {self.names.symbol(x.name): x0.name for x, x0 in zip(
            [*net.params, *net.inputs, *net.target_symbols, *[s.now for s in net.states]],
            [*original.params, *original.inputs, *original.target_symbols, *[s.now for s in original.states]],
            strict=True)}  # identifier -> the name the caller's dicts use
        self.keys.update({self.names.symbol(a.name): a0.name for a, a0 in zip(net.assignments, original.assignments,
                                                                               strict=True)})
        self.keys.update({self.names.size(k): k0 for k, k0 in zip(net.sizes_default, original.sizes_default,
                                                                   strict=True)})
        self.d = derivation
        self.net = derivation.network
        self.original = original
        self.sizes = {identifiers.size(k): v for k, v in sizes.items()}
        self.states = {s.name for s in net.states}
        self.unicode = UnicodePrinter(net.notation, objective=net.objective.name)
        self.in_columns_of: dict[str, str] = {}  # a hoisted factor -> the stack member whose columns hold it
        self.shortened: dict[str, int] = {}  # a hoisted array that reads step t + s -> s: it holds t < T - s + 1
        self._segments(original.name)
        self._share_functions()
        data = {a.name for a in net.assignments + self.shared} | {x.name for x in net.inputs} | set(net.targets)
        definitions = {a.name: a.expr for a in net.assignments + self.shared}
        self.arrays = Arrays(states=set(self.states), definitions=definitions, data=data, names=self.names)
        self.hoisted = 0
        self.loss_names = self._loss_names()
        for y in net.target_symbols:
            if net.targets[y.name] == "onehot":
                self.arrays.labels[y.name] = self._size(y.shape[0])
                self.arrays.label_at[y.name] = self.names.fresh(f"{y.name}_at")

    # ---------------------------------------------------------------- where each assignment runs

    def _segments(self, name: str):
        """The network's phases (derive/schedule.py) around the loop over t: (mode, assignment)
        before it and after it, in order ('static' once, 'all' for every t at once), and the
        loop's own assignments (none for a network without a recurrence)."""
        phases = self.net.phases()
        sweeps = [j for j, p in enumerate(phases) if p.kind in ("forward", "backward")]
        if len(sweeps) > 1 or any(phases[j].kind == "backward" for j in sweeps):
            kinds = ", then ".join(p.kind for p in phases)
            raise NotGeneratable(f"generated code cannot lay out {name} yet: its phases ({kinds}) hold more than "
                                 "one recurrence forward in time")
        cut = sweeps[0] if sweeps else len(phases)

        def mode(phase):
            return "static" if phase.kind == "static" else "all"

        self.pre_segments = [(mode(p), a) for p in phases[:cut] for a in p.assignments]
        self.recurrent = list(phases[cut].assignments) if sweeps else []
        self.post_segments = [(mode(p), a) for p in phases[cut + 1:] for a in p.assignments]
        self.recurrent_names = {a.name for a in self.recurrent}

    def _share_functions(self):
        """f(X_t) that a loop line computes inside its expression and the backward pass reads
        again (tanh(C_t)) becomes a loop value of its own, computed once (codegen/sharing.py)."""
        self.loop_names = self.states | self.recurrent_names
        backward = [c.expr for adj in self.d.adjoints.values() for c in adj.terms]
        self.shared = shared_functions(self.recurrent, backward, self.loop_names, self.names.fresh)
        recurrent = []
        for a in self.recurrent:
            recurrent += [x for x in self.shared if x not in recurrent and a.expr.has(x.expr)]
            recurrent.append(Assignment(a.target, self._share(a.expr), a.per_step))
        self.recurrent = recurrent
        self.post_segments = [(mode, Assignment(a.target, self._share(a.expr), a.per_step) if mode == "all" else a)
                              for mode, a in self.post_segments]
        self.recurrent_names = {a.name for a in self.recurrent}

    def _read_elsewhere(self, loop) -> set[str]:
        """Loop values read other than by the one function applied to them: by another loop
        line, after the loop, or by the backward pass (f' read from f(x) does not count)."""
        read = set()
        for _, _, expr in loop:
            if not (isinstance(expr, Elementwise) and isinstance(expr.arg, TimeSym)):
                read |= {name for name, _ in _time_reads(expr)}
        for _, a in self.post_segments:
            read |= {name for name, _ in _time_reads(a.expr)}
        for adj in self.d.adjoints.values():
            read |= {x.name for c in adj.terms for x in walk_computed(c.expr) if isinstance(x, TimeSym)}
        return read

    def _share(self, expr):
        return share(expr, self.shared, self.loop_names)

    def _reads_loop(self, expr) -> bool:
        """True when a forward expression needs a value of the current iteration."""
        return any((n in self.states and s == -1) or (n in self.recurrent_names and s == 0)
                   for n, s in _time_reads(expr))

    def _reads_loop_adjoint(self, expr) -> bool:
        return any(g.var.name in self.recurrent_names for g in _grads(expr))

    # ---------------------------------------------------------------- hoisting

    def hoist(self, expr, depends, base: str, into: list):
        """``expr`` with its loop-independent, time-varying parts computed before the loop."""
        if not isinstance(expr, MatrixExpr) or not expr.args:
            return expr
        if not depends(expr):
            return self._hoisted(expr, base, into) if self._worth(expr) else expr
        if isinstance(expr, (MatAdd, HadamardProduct)):
            combine = add if isinstance(expr, MatAdd) else hadamard
            free = [a for a in expr.args if not depends(a)]
            tied = [self.hoist(a, depends, base, into) for a in expr.args if depends(a)]
            if free and self._worth(combine(*free)):
                return combine(self._hoisted(combine(*free), base, into), *tied)
            return combine(*free, *tied)
        return rebuild(expr, [self.hoist(a, depends, base, into) for a in expr.args])

    @staticmethod
    def _worth(expr) -> bool:
        """Worth its own array: it varies with t and is more than a stored value."""
        if isinstance(expr, (TimeSym, Grad)) or not isinstance(expr, MatrixExpr):
            return False
        _, mats = split_coefficient(expr)
        if len(mats) == 1 and isinstance(mats[0], (TimeSym, Grad)):
            return False
        return any(isinstance(x, TimeSym) for x in matrix_symbols(expr)) or bool(_grads(expr))

    def _hoisted(self, expr, base, into):
        self.hoisted += 1
        numbered = f"{base}{self.hoisted}"
        name = self.names.fresh(base if self.names.free(base) else numbered)
        ahead = _max_shift(expr)
        if ahead > 0:  # it reads step t + ahead: it exists for t = 1..T - ahead
            self.shortened[name] = ahead
        into.append((name, expr))
        self.arrays.data.add(name)
        return TimeSym(name, t, *expr.shape)

    # ---------------------------------------------------------------- phase 1: expressions

    def schedule(self):
        net, d = self.net, self.d
        s = {"forward_pre": [], "loop": [], "forward_post": [], "backward_pre": [],
             "backward_last": [], "backward_loop": [], "backward_post": [], "gradients": []}
        for mode, a in self.pre_segments:
            s["forward_pre"] += self._emit(mode, a)
        hoisted = []
        for a in self.recurrent:
            expr = split_blocks(a.expr)
            s["loop"].append(("step", a.target, self.hoist(expr, self._reads_loop, f"{a.name}_in", hoisted)))
        needed = self._needed_adjoints()
        inlined = self._inlined_adjoints(needed)
        fresh = self.names.fresh
        self.stacks = stack_forward(s["loop"], self.states, fresh, lambda name: self._factor_of(name, inlined))
        stack_hoisted(s["loop"], hoisted, self.stacks, fresh)
        self.fused = fuse_activations(s["loop"], self.stacks, self._read_elsewhere(s["loop"]), fresh)
        self.arrays.data |= {group.target.name for group in self.fused}
        s["forward_pre"] += [("all", TimeSym(n, t, *e.shape), e) for n, e in hoisted]
        self.arrays.data |= {stack.product.name for stack in self.stacks} | {n for n, _ in hoisted}
        for mode, a in self.post_segments:
            s["forward_post"] += self._emit(mode, a)

        for mode, a in reversed(self.post_segments):
            if a.name in needed:
                s["backward_pre"] += self._adjoint_lines(mode, a)
        hoisted = []
        for a in reversed(self.recurrent):
            if a.name not in needed or Grad(a.target) in inlined:
                continue
            adj = d.adjoints[a.name]
            base = f"{self.names.adjoint(a.name)}_in"

            def prepared(expr):
                return split_blocks(self._share(substitute(expr, inlined)))

            local = self.hoist(prepared(adj.of(ALWAYS)), self._reads_loop_adjoint, base, hoisted)
            carried = self.hoist(prepared(adj.of(BEFORE_LAST)), self._reads_loop_adjoint, base, hoisted)
            if a.name in self.states:
                carried = stack_backward(carried, self.stacks, fresh)
            last = substitute(add(local, prepared(adj.of(LAST))), {t: T})
            s["backward_last"].append(("step", Grad(a.target.at(T)), last))
            s["backward_loop"].append(("step", Grad(a.target), add(local, carried)))
        s["backward_pre"] += [("all", TimeSym(n, t, *e.shape), e) for n, e in hoisted]
        for mode, a in reversed(self.pre_segments):
            if a.name in needed and a.target != net.objective:
                s["backward_post"] += self._adjoint_lines(mode, a)
        return s

    def _adjoint_lines(self, mode: str, a: Assignment) -> list:
        """The lines of ∂L/∂a outside the loop: once for a value computed once (its uses in
        steps summed over t), for every t at once for a per-step one (the uses at t = T or t = 1
        from outside the steps added to that entry)."""
        adj = self.d.adjoints[a.name]
        if mode == "static":
            return [("static", Grad(a.target), self._share(self.d.total_adjoint(a.name)))]
        lines = [("all", Grad(a.target), self._adjoint(a.name, ALWAYS, LAST, FIRST, only=ALWAYS))]
        for when, index in ((LAST, T), (FIRST, 1)):
            part = adj.of(when)
            if not isinstance(part, ZeroMatrix):
                at = Grad(a.target.at(index))
                lines.append(("static", at, add(at, self._share(substitute(part, {t: index})))))
        return lines

    def _inlined_adjoints(self, needed: set[str]) -> dict:
        """Grad(x_t) -> its expression, for the entrywise adjoints of loop values that one
        entrywise term of one other adjoint alone reads (∂L/∂o_t = tanh(C_t) ⊙ ∂L/∂h_t, read
        only by ∂L/∂a_{o,t} = σ'(a_{o,t}) ⊙ ∂L/∂o_t). Written into their reader, the stored
        factors multiply once for every t before the loop (σ'(a_o) ⊙ tanh(C)), and each step
        has one product less."""
        terms = [c.expr for adj in self.d.adjoints.values() for c in adj.terms if isinstance(c.expr, Basic)]
        inlined = {}
        for a in self.recurrent:
            adj = self.d.adjoints.get(a.name)
            if a.name in self.states or a.name not in needed or adj is None \
                    or any(c.when != ALWAYS for c in adj.terms) or not isinstance(adj.of(ALWAYS), HadamardProduct):
                continue
            readers = [x for x in terms if x.has(Grad(a.target))]
            other_steps = [x for x in terms if any(g.var.name == a.name and g != Grad(a.target) for g in _grads(x))]
            if len(readers) == 1 and not other_steps and isinstance(readers[0], HadamardProduct) \
                    and Grad(a.target) in readers[0].args and self._reader_is_loop_adjoint(readers[0]):
                inlined[Grad(a.target)] = adj.of(ALWAYS)
        for key, value in inlined.items():  # a chain (∂L/∂x inside ∂L/∂y, both inlined) all the way
            for _ in inlined:
                value = substitute(value, inlined)
            inlined[key] = value
        return inlined

    def _factor_of(self, name: str, inlined: dict):
        """The one adjoint that ∂L/∂name_t multiplies entrywise, with the inlined adjoints
        written out (∂L/∂C_t for an LSTM's a_f: σ'(a_f) ⊙ C_{t-1} ⊙ ∂L/∂C_t); else None."""
        adj = self.d.adjoints.get(name)
        if adj is None or any(c.when != ALWAYS for c in adj.terms):
            return None
        expr = substitute(adj.of(ALWAYS), inlined)
        grads = [x for x in getattr(expr, "args", ()) if isinstance(x, Grad)]
        return grads[0] if isinstance(expr, HadamardProduct) and len(grads) == 1 and len(_grads(expr)) == 1 else None

    def _reader_is_loop_adjoint(self, term) -> bool:
        """True when ``term`` belongs to the adjoint of a loop value (not to a gradient)."""
        return any(term in [c.expr for c in self.d.adjoints[a.name].terms]
                   for a in self.recurrent if a.name in self.d.adjoints)

    def _loss_names(self) -> set[str]:
        """Assignments that only feed the objective's value (their adjoints are numbers, and
        nothing else reads them): the module sums the loss over the batch in one expression
        instead of keeping them."""
        names = {self.net.objective.name} | {n for n, adj in self.d.adjoints.items() if adj.is_constant}
        names &= {a.name for a in self.net.assignments}
        for a in self.net.assignments:
            if a.name not in names and {x.name for x in matrix_symbols(a.expr)} & names:
                names -= {x.name for x in matrix_symbols(a.expr)}
        return names

    def _emit(self, mode, a):
        """The lines of one assignment run outside the loop. p = softmax(o) read by a
        cross-entropy computes log Σ exp(o) alongside (one exp for both): the loss reads it
        and o, stable for any logits."""
        if a.name in self.loss_names:
            return []
        if isinstance(a.expr, Softmax) and any(isinstance(b.expr, CrossEntropy) and b.expr.args[0] == a.target
                                               for b in self.net.assignments):
            logits = a.expr.arg
            lse_name = self.names.fresh(f"logsumexp_{getattr(logits, 'name', a.name)}")
            lse_target = a.target.func(lse_name, a.target.args[1], 1, 1) if isinstance(a.target, TimeSym) \
                else MatrixSymbol(lse_name, 1, 1)
            self.arrays.logsumexp[a.name] = (lse_name, logits)
            self.arrays.data.add(lse_name)
            return [(mode, (a.target, lse_target), (a.expr, LogSumExp(logits)))]
        return [(mode, a.target, a.expr)]

    def _adjoint(self, name, *whens, only=None):
        """The contributions of the given kinds to ∂L/∂name (``only`` of them, when given)."""
        adj = self.d.adjoints[name]
        if {c.when for c in adj.terms} - set(whens):
            raise NotGeneratable(f"dL/d{name} holds in cases the module layout does not cover")
        part = adj.of(only) if only else adj.of(*whens)
        if isinstance(part, ZeroMatrix):  # only read at t = T or t = 1: zero elsewhere
            return part
        return self._share(part)

    def _needed_adjoints(self) -> set[str]:
        """Adjoints some gradient reads, directly or through other adjoints."""
        needed, todo = set(), [self.d.gradient_expr(p.name) for p in self.net.params]
        while todo:
            for g in _grads(todo.pop()):
                name = g.var.name
                if name not in needed and not self.d.adjoints[name].is_constant:
                    needed.add(name)
                    todo.append(add(*[c.expr for c in self.d.adjoints[name].terms]))
        return needed

    # ---------------------------------------------------------------- phase 2: storage and printing

    def build(self) -> Plan:
        net = self.net
        s = self.schedule()
        self._decide_locals(s)
        plan = Plan(net, self.sizes, self._size_sources(), self._params(), self._inputs(), self._targets(),
                    [(ModulePrinter(self.arrays).doprint(h), str(float(v))) for h, v in net.hypers.items()])
        plan.forward_pre = [self._line(*entry) for entry in s["forward_pre"]]
        plan.forward_loop = [self._line(*entry) for entry in s["loop"]]
        plan.forward_post = [self._line(*entry) for entry in s["forward_post"]]
        plan.forward_alloc = self._loop_arrays()
        self._name_fused(plan)
        plan.backward_pre = self._lines_reusing_dead_arrays(s["backward_pre"], s, plan)
        plan.backward_last = [self._line(*entry) for entry in s["backward_last"]]
        plan.backward_loop = [self._line(*entry) for entry in s["backward_loop"]]
        plan.backward_post = [self._line(*entry) for entry in s["backward_post"]]
        plan.forward_pre = self._stacked_weights() + plan.forward_pre
        shared, use = self._shared_gradients()
        plan.backward_post += shared
        plan.gradients = [use.get(p.name) or self._gradient(p) for p in net.params]
        plan.backward_alloc = self._adjoint_arrays(s, plan)
        self._hoisted_into_stacks(s, plan)
        self._joint_products(s, plan)
        plan.outputs = self._outputs()
        plan.forward_pre, plan.forward_post = _forward_only(plan)
        definitions = {a.name: a.expr for a in net.assignments if a.name in self.loss_names}
        plan.objective = ModulePrinter(self.arrays, "static").batch_total(net.objective, definitions)
        plan.released = _released(plan)
        plan.released_after_loop = _released_after_loop(plan)
        plan.keys, plan.arrays = dict(self.keys), self.arrays
        return plan

    def _decide_locals(self, s):
        """Loop values that no code outside their own iteration reads become plain names.

        What is read is taken from the printed code (σ'(a_t) prints from h_t, so a_t need not
        be kept), with every value an array while deciding.
        """
        self.arrays.locals = set()
        outside = []
        for group in ("forward_pre", "forward_post", "backward_pre", "backward_post"):
            outside += [ModulePrinter(self.arrays, mode).doprint(e) for mode, _, e in s[group]]
        outside += [self._gradient(p).code for p in self.net.params] + [code for _, code in self._outputs()]
        read = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", " ".join(outside)))
        for _, _, e in s["loop"]:  # read at another step than its own
            read |= {n for n, shift in _time_reads(e) if shift != 0}
        for _, _, e in s["backward_loop"] + s["backward_last"]:
            read |= {n for n, _ in _time_reads(e)}
        fused = {name for group in self.fused for name, *_ in group.members}
        self.arrays.locals = {a.name for a in self.recurrent
                              if a.name not in self.states and a.name not in read and a.name not in fused}
        self.arrays.locals |= {stack.product.name for stack in self.stacks}
        self.arrays.locals |= {self.names.adjoint(a.name) for a in self.recurrent
                               if self.names.adjoint(a.name) not in read}

    def _loop_arrays(self) -> list[Allocation]:
        """The arrays the forward loop fills; fused activations are columns of their group's."""
        views = {}
        for group in self.fused:
            for name, start, stop in group.members:
                views[name] = (group, f"{group.target.name}[..., {self._size(start)}:{self._size(stop)}]")
        out, made = [], set()
        for a in self.recurrent:
            if a.name in self.arrays.locals:
                continue
            group, view = views.get(a.name, (None, ""))
            if group is not None and group.target.name not in made:
                made.add(group.target.name)
                shown = ", ".join(self.unicode.doprint(TimeSym(name, t, 1, 1)) for name, *_ in group.members)
                out.append(Allocation(group.target.name, _shape(self._size(group.target.shape[0]), True, False),
                                      False, f"[{shown}] side by side, at index t - 1"))
            out.append(Allocation(a.name, _shape(self._size(a.target.shape[0]), True, a.name in self.states),
                                  a.name in self.states, self._storage_note(a.target), view=view))
        return out

    def _name_fused(self, plan: Plan) -> None:
        """A fused line's equation names the values it computes: [fₜ, iₜ, oₜ] = σ(…)."""
        targets = {group.target.name: group for group in self.fused}
        lines = []
        for line in plan.forward_loop:
            group = targets.get(line.target.split("[")[0])
            if group is not None:
                shown = ", ".join(self.unicode.doprint(TimeSym(name, t, 1, 1)) for name, *_ in group.members)
                line = Line(line.target, line.code, f"[{shown}]{line.equation[line.equation.index(' = '):]}",
                            line.in_forward, line.statements)
            lines.append(line)
        plan.forward_loop = lines

    def _stacked_weights(self) -> list[Line]:
        printer = ModulePrinter(self.arrays, "static")
        lines = []
        for stack in self.stacks:
            blocks = ", ".join(printer.doprint(block) for _, block, _, _ in stack.members)
            names = ", ".join(self.unicode.doprint(block) for _, block, _, _ in stack.members)
            lines.append(Line(stack.weights.name, f"np.concatenate([{blocks}])",
                              f"the blocks that read {self.unicode.doprint(stack.state.at(t - 1))}, stacked: "
                              f"[{names}] (one GEMM per step)"))
            if stack.input_weights is None:
                continue
            for stacked, parts, what, why in (
                    (stack.input_weights, [block for block, _ in stack.inputs], "blocks", "one GEMM for every t"),
                    (stack.input_biases, [bias for _, bias in stack.inputs], "biases", "one add for every t")):
                if stacked is not None:
                    code = ", ".join(printer.doprint(x) for x in parts)
                    names = ", ".join(self.unicode.doprint(x) for x in parts)
                    lines.append(Line(stacked.name, f"np.concatenate([{code}])",
                                      f"their input {what}, stacked: [{names}] ({why})"))
        return lines

    def _adjoint_arrays(self, s, plan: Plan) -> list[Allocation]:
        """The per-step adjoints the backward loop stores; a stack's members are views of
        one array with their adjoints side by side; an adjoint that alone reads a hoisted
        array, at the step it writes, overwrites it (∂L/∂a_t over σ'(a_t))."""
        views = {}
        out = []
        for stack in self.stacks:
            if stack.adjoint is None:
                continue
            name = stack.adjoint.name
            shown = ", ".join(self.unicode.doprint(Grad(TimeSym(m, t, 1, 1))) for m, *_ in stack.members)
            out.append(Allocation(name, _shape(self._size(stack.product.shape[0]), True, False), False,
                                  f"[{shown}] side by side, at index t - 1"))
            for member, _, start, stop in stack.members:
                views[member] = f"{name}[..., {self._size(start)}:{self._size(stop)}]"
        for a in self.recurrent:
            name = self.names.adjoint(a.name)
            if name in self.arrays.locals or not any(entry[1] == Grad(a.target) for entry in s["backward_loop"]):
                continue
            note, view = self._storage_note(Grad(a.target)), views.get(a.name, "")
            if not view:
                hoisted = [target.name for mode, target, _ in s["backward_pre"]
                           if mode == "all" and isinstance(target, TimeSym) and target.shape == a.target.shape
                           and target.name not in self.shortened]
                view = next((h for h in hoisted if _only_read_where_written(h, name, plan)), "")
                note += f", in {view}'s place (each step reads its entry, then overwrites it)" \
                    if view else ""
            out.append(Allocation(name, _shape(self._size(a.target.shape[0]), True, False), False, note, view=view))
        return out

    def _hoisted_into_stacks(self, s, plan: Plan) -> None:
        """A hoisted factor that only its gate's adjoint reads, at the step it writes (σ'(a_{o,t})
        in ∂L/∂a_{o,t} = σ'(a_{o,t}) ⊙ ∂L/∂o_t), is computed in that adjoint's columns of the
        stack's array, which then overwrites it step by step: no array of its own."""
        printer = ModulePrinter(self.arrays, "all")
        entries = {target.name: expr for mode, target, expr in s["backward_pre"]
                   if mode == "all" and isinstance(target, TimeSym) and target.name not in self.shortened}
        by_name = {a.name: a for a in plan.backward_alloc}
        for stack in self.stacks:
            if stack.adjoint is None:
                continue
            moved, holders = {}, {}  # factor -> (adjoint shown, statements, note); factor -> member
            for member, *_ in stack.members:
                adjoint = by_name.get(self.names.adjoint(member))
                if adjoint is None or not adjoint.view:
                    continue
                for name, expr in entries.items():
                    steps = None
                    if name not in moved and _only_read_where_written(name, adjoint.name, plan):
                        steps = inplace_statements(name, expr, printer, existing=True)
                    if steps:
                        shown = self.unicode.doprint(Grad(TimeSym(member, t, 1, 1)))
                        moved[name] = (shown, [f"{name} = {adjoint.view}", *steps], "")
                        holders[name] = member
                        self.in_columns_of[name] = member
                        break
            if not moved:
                continue
            own = [a for a in plan.backward_alloc if a.name == stack.adjoint.name or a.view.startswith(
                f"{stack.adjoint.name}[")]
            plan.backward_alloc = [a for a in plan.backward_alloc if a not in own]
            early = [Line(a.name, a.view or f"np.empty({a.shape}, dtype=dtype)", a.comment) for a in own]
            early += self._derivative_passes(stack, moved, holders, entries)
            lines = [Line(x.target, x.code, f"{x.equation}, in the columns of {moved[x.target][0]} (which "
                          f"overwrite it step by step){moved[x.target][2]}", x.in_forward, tuple(moved[x.target][1]))
                     if x.target in moved else x for x in plan.backward_pre]
            first = next(j for j, x in enumerate(lines) if x.target in moved)
            plan.backward_pre = lines[:first] + early + lines[first:]

    def _joint_products(self, s, plan: Plan) -> None:
        """Neighbouring members of a stack whose adjoints are their factor (kept in their own
        columns) times one and the same adjoint, ∂L/∂a_{g,t} = X_{g,t} ⊙ ∂L/∂C_t for g = f, i, C̃
        of an LSTM, as one product a step over their columns seen as (T, B, gates, n): one
        NumPy call instead of one per gate."""
        for stack in self.stacks:
            widths = {stop - start for _, _, start, stop in stack.members}
            if stack.adjoint is None or len(widths) != 1:
                continue
            width, names = widths.pop(), [name for name, *_ in stack.members]
            for block in ("backward_loop", "backward_last"):
                products = {}  # member -> its _GateProduct
                for mode, target, expr in s[block]:
                    member = target.var.name if isinstance(target, Grad) else None
                    args = expr.args if isinstance(expr, HadamardProduct) and len(expr.args) == 2 else ()
                    own = [x for x in args if isinstance(x, TimeSym) and self.in_columns_of.get(x.name) == member]
                    other = next((x for x in args if own and x != own[0]), None)
                    if member in names and len(own) == 1 and isinstance(other, Grad):
                        products[member] = _GateProduct(ModulePrinter(self.arrays, mode).doprint(target), target,
                                                        own[0], other)
                runs, run = [], []
                for name in names + [None]:
                    if name in products and run and products[name].shared == products[run[-1]].shared:
                        run.append(name)
                        continue
                    if len(run) > 1:
                        runs.append(run)
                    run = [name] if name in products else []
                for run in runs:
                    self._joint_product(stack, width, run, products, block, plan)

    def _joint_product(self, stack, width, run: list, products: dict, block: str, plan: Plan) -> None:
        """One run's lines of ``block`` as one in-place product over a (T, B, gates, n) view of
        the stack's adjoint (made once, after it); the gates' own views go where nothing reads them."""
        printer = ModulePrinter(self.arrays, "step")
        shared = products[run[0]].shared
        joint = f"{stack.adjoint.name}_times_{printer.doprint(shared).split('[')[0]}"
        joint = next((line.target for line in plan.backward_pre if line.target == joint), None) \
            or self.names.fresh(joint)
        first = [name for name, *_ in stack.members].index(run[0])
        count = len(stack.members)
        gates = ", ".join(self.unicode.doprint(Grad(TimeSym(m, t, 1, 1))) for m in run)
        view = f"{stack.adjoint.name}.reshape(T, B, {count}, {self._size(width)})[:, :, {first}:{first + len(run)}]"
        made = [line.code for line in plan.backward_pre if line.target == joint]
        if made and made != [view]:
            return  # the loop's run and the last step's differ: each keeps its own products
        if not made:
            at = next(j for j, line in enumerate(plan.backward_pre) if line.target == stack.adjoint.name) + 1
            plan.backward_pre.insert(at, Line(joint, view, f"[{gates}] as (T, B, {len(run)}, "
                                                           f"{self._size(width)}), at index t - 1"))
        targets = {products[m].printed for m in run}
        index = products[run[0]].printed[products[run[0]].printed.index("["):]
        lines, done = [], False
        for line in getattr(plan, block):
            if line.target not in targets:
                lines.append(line)
            elif not done:
                done = True
                sides = ", ".join(self.unicode.doprint(products[m].target) for m in run)
                factors = ", ".join(self.unicode.doprint(products[m].own) for m in run)
                lines.append(Line(f"{joint}{index}", f"{joint}{index} * {printer.doprint(shared)}[:, None]",
                                  f"[{sides}] = [{factors}] ⊙ {self.unicode.doprint(shared)}: one product for "
                                  f"the gates side by side (each factor in its adjoint's columns)", True,
                                  (f"{joint}{index} *= {printer.doprint(shared)}[:, None]",)))
        setattr(plan, block, lines)
        views = {self.names.adjoint(m) for m in run}
        others = [line for line in plan.backward_pre if line.target not in views]
        read = _identifiers(_code(others + plan.backward_last + plan.backward_loop + plan.backward_post
                                  + plan.gradients))
        plan.backward_pre = [line for line in plan.backward_pre if line.target not in views - read]

    def _derivative_passes(self, stack, moved: dict, holders: dict, entries: dict) -> list[Line]:
        """f' of a fused group in one pass over its members' columns of the stack's adjoint,
        when each member's factor there is X_g ⊙ f'(a_g): σ'(a_f), σ'(a_i) and σ'(a_o) of an
        LSTM from [o, f, i] in two NumPy calls instead of two each, then one product per gate
        (``moved``'s statements rewritten to that product)."""
        printer = ModulePrinter(self.arrays, "all")
        lines = []
        for group in (g for g in self.fused if g.stack is stack):
            others = {}  # activation g -> (its factor's name, X_g, f'(a_g))
            for name, member in holders.items():
                expr = entries[name]
                primes = [x for x in getattr(expr, "args", ()) if isinstance(x, Prime)]
                if not isinstance(expr, HadamardProduct) or len(expr.args) != 2 or len(primes) != 1:
                    continue
                prime = primes[0]
                if isinstance(prime.fx, group.function) and getattr(prime.fx.arg, "name", None) == member \
                        and isinstance(prime.ans, TimeSym) and prime.ans.index == t:
                    others[prime.ans.name] = (name, next(x for x in expr.args if x != prime), prime)
            in_place = {g: (group.start + start, group.start + stop) for g, start, stop in group.members}
            if set(others) != set(in_place) or any(stack.rows_of(holders[name]) != in_place[g]
                                                   for g, (name, _, _) in others.items()):
                continue  # not every member's factor is X ⊙ f' in the columns its activation has
            target = self.names.fresh(f"{group.target.name}_prime")
            stop = group.start + group.target.shape[0]
            view = f"{stack.adjoint.name}[..., {self._size(group.start)}:{self._size(stop)}]"
            derivative = Prime(group.function(TimeSym(target, t, *group.target.shape)), group.target)
            steps = inplace_statements(target, derivative, printer, existing=True)
            if not steps:
                continue
            members = [g for g, *_ in group.members]
            derivatives = ", ".join(self.unicode.doprint(others[g][2]) for g in members)
            answers = ", ".join(self.unicode.doprint(TimeSym(g, t, 1, 1)) for g in members)
            adjoints = ", ".join(self.unicode.doprint(Grad(TimeSym(holders[others[g][0]], t, 1, 1))) for g in members)
            lines.append(Line(target, printer.doprint(derivative), f"[{derivatives}] from [{answers}] in one pass, "
                              f"in the columns of [{adjoints}]", True, (f"{target} = {view}", *steps)))
            for g in members:
                name, other, prime = others[g]
                shown, (assign, *_), _ = moved[name]
                moved[name] = (shown, [assign, f"{name} *= {printer.doprint(other)}"],
                               f"; {self.unicode.doprint(prime)} is there already")
        return lines

    def _storage_note(self, value) -> str:
        shown = self.unicode.doprint(value)
        if isinstance(value, TimeSym) and value.name in self.states:
            return f"{shown} at index t; {self.unicode.doprint(value.at(0))} = 0 at index 0"
        return f"{shown} at index t - 1"

    def _line(self, mode, target, expr, dead=frozenset()) -> Line:
        printer = ModulePrinter(self.arrays, mode, self.shortened.get(getattr(target, "name", None), 0)
                                if mode == "all" else 0)
        if isinstance(target, tuple):  # (log p, p) = log softmax(o), softmax(o) in one helper call
            lhs = ", ".join(self._all_target(x) if mode == "all" else printer.doprint(x) for x in target)
            code = f"_softmax_and_logsumexp({printer.doprint(expr[0].arg)})"
            equation = ", ".join(self._equation(x, e) for x, e in zip(target, expr, strict=True))
            return Line(lhs, code, equation)
        lhs = printer.doprint(target) if mode != "all" else self._all_target(target)
        statements = tuple(printer.statements(lhs, expr, into_slot="[" in lhs, dead=dead))
        if mode != "step" and len(statements) == 1:  # one line: the plain assignment reads best
            statements = ()
        return Line(lhs, _unwrap(printer.doprint(expr)), self._equation(target, expr), True, statements)

    def _lines_reusing_dead_arrays(self, entries, s, plan) -> list[Line]:
        """The backward lines before the loop, each allowed to overwrite a stored array that
        no later line of ``gradients`` reads (ŷ becomes ∂L/∂o in place)."""
        first = [self._line(*entry) for entry in entries]
        later = [self._line(*entry) for group in ("backward_last", "backward_loop", "backward_post")
                 for entry in s[group]]
        later_code = [line.code + " " + " ".join(line.statements) for line in later]
        later_code += [self._gradient(p).code for p in self.net.params]
        lines = []
        for j, entry in enumerate(entries):
            read_later = set()
            for line in first[j + 1:]:
                read_later |= _identifiers(line.code + " " + " ".join(line.statements))
            for code in later_code:
                read_later |= _identifiers(code)
            stored = {name.strip() for line in plan.forward_pre + plan.forward_post for name in line.target.split(",")
                      if name.strip().isidentifier()}
            lines.append(self._line(*entry, dead=frozenset(stored - read_later)))
        return lines

    def _all_target(self, target) -> str:
        name = self.names.adjoint(target.var.name) if isinstance(target, Grad) else target.name
        return name

    def _equation(self, target, expr) -> str:
        return f"{self.unicode.doprint(target)} = {self.unicode.doprint(expr)}"

    def _shared_gradients(self) -> tuple[list[Line], dict[str, Line]]:
        """The gradients of a stack's blocks as one product, Σ_t [∂L/∂a_f; …; ∂L/∂a_o] uᵀ, read
        by rows: one GEMM (and one pass over u) instead of one per gate."""
        every = ModulePrinter(self.arrays, "all")
        lines, use = [], {}
        for stack in self.stacks:
            if stack.adjoint is None:
                continue
            by_operand: dict = {}
            for p in self.net.params:
                found = gradient_of_member(self.d.adjoints[p.name].terms, stack)
                if found is not None:
                    member, operand = found
                    by_operand.setdefault(operand, {})[member] = p
            joint = stack.adjoint.name
            for j, (operand, members) in enumerate(by_operand.items()):
                if len(members) != len(stack.members):
                    continue
                name = self.names.fresh(f"{joint}_grads{j}")
                if operand is None:
                    code = f"{joint}.sum(axis=(0, 1))"
                else:
                    code = f"_outer_sum({joint}, {every.doprint(operand)})"
                shown = "" if operand is None else " " + self.unicode.doprint(transpose(operand))
                adjoints = "; ".join(self.unicode.doprint(Grad(TimeSym(m, t, 1, 1))) for m, *_ in stack.members)
                lines.append(Line(name, code, f"Σ[t=1..T] [{adjoints}]{shown}: every block's gradient at once, "
                                  "averaged over the batch (each parameter's gradient is a block of it)",
                                  statements=(f"{name} = {code}", f"{name} /= B")))
                for member, p in members.items():
                    start, stop = stack.rows_of(member)
                    use[p.name] = Line(p.name, f"{name}[{self._size(start)}:{self._size(stop)}]",
                                       self._equation(Grad(p), self.d.gradient_expr(p.name)))
        return lines, use

    def _gradient(self, param) -> Line:
        """dL/dparam averaged over the batch: per-example terms summed (over t and batch in one
        GEMM each) and divided by B, constant terms (lambda W) added once."""
        adj = self.d.adjoints[param.name]
        every, once = ModulePrinter(self.arrays, "all"), ModulePrinter(self.arrays, "static")
        summed = [every.gradient_term(self._share(c.expr)) for c in adj.terms if c.when == SUMMED]
        summed += [once.gradient_term(c.expr) for c in adj.terms if c.when == STATIC and once.is_data(c.expr)]
        constant = [once.doprint(c.expr) for c in adj.terms if c.when == STATIC and not once.is_data(c.expr)]
        parts = []
        if summed:
            parts.append(f"({' + '.join(summed)}) / B" if len(summed) > 1 else f"{summed[0]} / B")
        parts += constant
        return Line(param.name, " + ".join(parts) or "0.0",
                    self._equation(Grad(param), self.d.gradient_expr(param.name)))

    # ---------------------------------------------------------------- interface

    def _size(self, dim) -> str:
        """A size as the module's code names it (renamed where a parameter has its name)."""
        return self.names.size(str(dim))

    def _size_sources(self) -> list[tuple[str, str]]:
        """(size, the code reading it off the parameters' and inputs' shapes): an axis that is the
        size itself, else one linear in it and in sizes already read (2*n, n + d)."""
        axes = [(dim, f'params["{self.key(p.name)}"].shape[{axis}]')
                for p in self.net.params for axis, dim in enumerate(p.shape)]
        axes += [(x.shape[0], f'inputs["{self.key(x.name)}"].shape[-1]') for x in self.net.inputs]
        found = {}
        for dim, code in axes:
            if dim.is_Symbol and dim.name not in found:
                found[dim.name] = code
        direct = sorted((name, code) for name, code in found.items())
        derived, progress = [], True
        while progress:
            progress = False
            for dim, code in axes:
                unknown = [x for x in dim.free_symbols if x.name not in found]
                if len(unknown) != 1 or not dim.is_polynomial(unknown[0]) or degree(dim, unknown[0]) != 1:
                    continue
                size = unknown[0]
                factor, rest = dim.coeff(size), dim - dim.coeff(size) * size
                if not factor.is_Integer or factor <= 0:
                    continue
                value = code if rest == 0 else f"({code} - ({ModulePrinter(self.arrays).doprint(rest)}))"
                found[size.name] = value if factor == 1 else f"{value} // {factor}"
                derived.append((size.name, found[size.name]))
                progress = True
        return direct + derived

    def _params(self):
        out = []
        for p, p0 in zip(self.net.params, self.original.params, strict=True):
            shape, fan_in = _array_shape(p.shape)
            out.append(Port(p.name, self.key(p.name), shape, fan_in, _array_shape(p0.shape)[0]))
        return out

    def _inputs(self):
        lead = "T, B" if self.net.sequential else "B"
        return [Port(x.name, self.key(x.name), "", "", f"({lead}, {x0.shape[0]})")
                for x, x0 in zip(self.net.inputs, self.original.inputs, strict=True)]

    def key(self, ident: str) -> str:
        """The name the caller's dicts use for the module's identifier ``ident``."""
        return self.keys.get(ident, ident)

    def _targets(self) -> list[Target]:
        out = []
        for y in self.net.target_symbols:
            kind = self.net.targets[y.name]
            lead = "T, B" if isinstance(y, TimeSym) else "B"
            rows = y.shape[0]
            key = self.key(y.name)
            if kind == "onehot":  # kept as labels; the printer expands them where a formula needs it
                out.append(Target(y.name, kind, f"({lead}) integer classes in [0, {rows})",
                                  f'np.asarray(targets["{key}"])', self.arrays.labels[y.name], key))
            elif kind == "binary":
                shape = f"({lead})" if rows == 1 else f"({lead}, {rows})"
                code = f'np.asarray(targets["{key}"], dtype=dtype)'
                out.append(Target(y.name, kind, f"{shape} labels in {{0, 1}}",
                                  code + ("[..., None]" if rows == 1 else ""), key=key))
            else:
                out.append(Target(y.name, kind, f"({lead}, {rows}) real values",
                                  f'np.asarray(targets["{key}"], dtype=dtype)', key=key))
        return out

    def _outputs(self):
        out = []
        loss = next(a for a in reversed(self.net.assignments) if isinstance(a.expr, LOSSES))
        prediction = loss.expr.args[0]
        per_step = any(isinstance(x, TimeSym) for x in matrix_symbols(prediction))
        printer = ModulePrinter(self.arrays, "all" if per_step else "static")
        code = _unwrap(printer.doprint(prediction))
        if prediction.shape[0] == 1:
            code = f"{code}[..., 0]"
        out.append((self.key(_output_name(prediction)), code))
        for state in self.net.states:
            out.append((self.key(state.name), f"{state.name}[1:]"))
        return out


def _output_name(prediction) -> str:
    """The key of a prediction in ``forward``'s result: its name, or for one written inside
    the loss (cross_entropy(softmax(o), y)) the function and its argument's name."""
    name = getattr(prediction, "name", None)
    if name is not None:
        return name
    inner = getattr(prediction, "args", ())
    arg = _output_name(inner[0]) if inner else "output"
    return f"{type(prediction).__name__.lower()}_{arg}"


def _array_shape(shape) -> tuple[str, str]:
    """(the NumPy shape of a parameter, its fan-in) as code: (n, d) and d, (n,) and 1."""
    rows, cols = shape
    if cols == 1 and rows == 1:
        return "()", "1"
    if cols == 1:
        return f"({rows},)", "1"
    return f"({rows}, {cols})", str(cols)


def _identifiers(code: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", code))


def _only_read_where_written(array: str, target: str, plan: Plan) -> bool:
    """True when the only lines reading ``array`` are those writing ``target``, each reading
    the entry it writes (array[t - 1] into target[t - 1])."""
    own = [line for line in plan.backward_last + plan.backward_loop if line.target.split("[")[0] == target]
    others = [line for block in (plan.backward_pre, plan.backward_last, plan.backward_loop, plan.backward_post,
                                 plan.gradients) for line in block if line not in own and line.target != array]
    if not own or any(array in _identifiers(line.code + " " + " ".join(line.statements)) for line in others):
        return False
    for line in own:
        code = line.code + " " + " ".join(line.statements)
        written = line.target[len(target):]
        if not written or set(re.findall(rf"\b{array}(\[[^\]]*\]|\b)", code)) != {written}:
            return False
        # the array becomes the target's storage: only the statement that first writes the
        # entry may read it (a later one would read what that statement wrote)
        if any(array in _identifiers(statement) for statement in line.statements[1:]):
            return False
    return True


def _code(block) -> str:
    return " ".join(line.code + " " + " ".join(line.statements) for line in block)


def _made(lines, allocations) -> list[str]:
    names = [name.strip() for line in lines for name in line.target.split(",")]
    return [name for name in names + [a.name for a in allocations] if name.isidentifier()]


def _released(plan: Plan) -> list[str]:
    """The forward's arrays that nothing after the loss reads (U x_t + b once the loop has
    run, the logits once the loss is summed): ``gradients`` lets them go before the backward
    pass allocates its own."""
    later = _code(plan.backward_pre + plan.backward_last + plan.backward_loop + plan.backward_post + plan.gradients)
    read = _identifiers(later + " " + " ".join(a.view for a in plan.backward_alloc + plan.forward_alloc))
    return [name for name in _made(plan.forward_pre + plan.forward_post, plan.forward_alloc) if name not in read]


def _released_after_loop(plan: Plan) -> list[str]:
    """The arrays the backward loop was the last to read (the gates, σ'(a_t)): let go before
    the gradients' products allocate theirs."""
    if not plan.sequential or not plan.backward_last:
        return []
    read = _identifiers(_code(plan.backward_post + plan.gradients))
    made = _made(plan.forward_pre + plan.forward_post + plan.backward_pre, plan.forward_alloc + plan.backward_alloc)
    return [name for name in made if name not in read and name not in plan.released]


def _forward_only(plan: Plan):
    """Mark the forward lines that the outputs need (the loop's states always are)."""
    needed = _identifiers(" ".join(code for _, code in plan.outputs))
    for line in plan.forward_loop:
        needed |= _identifiers(line.code + " " + " ".join(line.statements))
    marked, targets = {}, {}
    for line in reversed(plan.forward_pre + plan.forward_post):
        name = _identifiers(line.target.split("[")[0])
        marked[id(line)] = bool(name & needed)
        if "," in line.target:  # (ŷ, log Σ exp o) from one call: forward keeps what it reads
            targets[id(line)] = ", ".join(x if x in needed else "_" for x in map(str.strip, line.target.split(",")))
        if marked[id(line)]:
            needed |= _identifiers(line.code + " " + " ".join(line.statements))

    def mark(block):
        return [replace(x, in_forward=marked[id(x)], forward_target=targets.get(id(x), "")) for x in block]

    return mark(plan.forward_pre), mark(plan.forward_post)


def plan_module(derivation: Derivation, sizes: dict[str, int]) -> Plan:
    return Planner(derivation, sizes).build()


__all__ = ["Allocation", "Line", "MatrixSymbol", "NotGeneratable", "Plan", "Planner", "Integer", "plan_module"]
