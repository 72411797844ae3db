"""Plan a generated NumPy module from a network and its derivation.

The derivation says what to compute; the plan says when and where. The network's phases
(derive/schedule.py) become the module's segments, in order forward and in reverse backward:

* values computed once, and per-step values that no recurrence carries, are lines run for
  every t at once (one GEMM over T·B rows for U x_t, a sum over axis 0 for a reduction over
  time), with their adjoints likewise;
* each recurrence is a loop over t (``sweep.py``: hoisting, stacked GEMMs, fused activations,
  loop locals, in-place adjoints), backwards peeled at the step no later step feeds back;
* a parameter's gradient Σ_t g_t u_tᵀ is one GEMM; the loss is summed over the batch in one
  expression; arrays are freed once no later line reads them.

Planning is in two phases: first the expressions of every line, then (knowing which values
are read outside their iteration) the printing. Each line keeps the equation it implements.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sympy import Basic, preorder_traversal
from sympy.matrices.expressions import MatrixExpr, MatrixSymbol, ZeroMatrix

from derive.algebra import add, rebuild, split_coefficient, substitute
from derive.codegen import interface
from derive.codegen.buffers import reuse_buffers
from derive.codegen.intermediates import named_intermediates
from derive.codegen.lines import (
    Allocation,
    Line,
    NotGeneratable,
    Port,
    Target,
    names_in,
    names_of,
)
from derive.codegen.sweep import Sweep, Window
from derive.derivation import ALWAYS, FIRST, LAST, STATIC, SUMMED, Derivation
from derive.deriver import derive
from derive.layout import grads_in
from derive.naming import MODULE, network_namer, renamed
from derive.network import Assignment, Network, matrix_symbols
from derive.nodes import CrossEntropy, Grad, LogSumExp, Softmax, T, TimeSym, t
from derive.printing.numpy_module import HELPERS, Arrays, ModulePrinter, _unwrap
from derive.printing.unicode import UnicodePrinter

MODULE_RESERVED = MODULE | set(HELPERS)  # the module's own names and its helpers

__all__ = ["Allocation", "Line", "NotGeneratable", "Plan", "Planner", "Port", "Target", "plan_module"]


@dataclass
class Block:
    """Lines run once, outside every loop."""

    lines: list[Line] = field(default_factory=list)
    kind: str = "block"


@dataclass
class ForwardLoop:
    """A recurrence's loop over t: t = 1..T forward in time, T..1 backward."""

    direction: str
    alloc: list[Allocation]
    lines: list[Line]
    kind: str = "loop"


@dataclass
class BackwardLoop:
    """A recurrence's adjoints: the step no later one feeds back (t = T forward in time, t = 1
    backward), then the loop over the others; ``released``: what no later line reads."""

    direction: str
    alloc: list[Allocation]
    boundary: list[Line]
    lines: list[Line]
    released: list[str] = field(default_factory=list)
    last: bool = False  # the last backward loop: only the gradients come after it
    kind: str = "loop"


@dataclass
class Plan:
    network: Network
    sizes: dict[str, int]
    size_sources: list[tuple[str, str]]  # size name, expression reading it off params/inputs
    params: list[Port]
    inputs: list[Port]
    targets: list[Target]
    hypers: list[tuple[str, str]]  # python name, value
    forward: list = field(default_factory=list)  # Block | ForwardLoop, in order
    backward: list = field(default_factory=list)  # Block | BackwardLoop, in order
    outputs: list[tuple[str, str]] = field(default_factory=list)  # key, code
    objective: str = ""
    gradients: list[Line] = field(default_factory=list)
    released: list[str] = field(default_factory=list)  # forward arrays no backward line reads
    keys: dict[str, str] = field(default_factory=dict)  # identifier -> the caller's name for it
    initial: list[tuple[str, str, str]] = field(default_factory=list)  # state, input key of h_0, shape
    arrays: Arrays | None = None  # where each value is kept, and the module's namer
    source: Network | None = None  # the network as declared (the docstring's forward pass)
    buffer_count: int = 0  # the buffers gradients() keeps between calls (buffers.py)

    @property
    def sequential(self) -> bool:
        return self.network.sequential

    def forward_lines(self) -> list[Line]:
        return [line for seg in self.forward for line in seg.lines]

    def backward_lines(self) -> list[Line]:
        return [line for seg in self.backward for line in getattr(seg, "boundary", []) + seg.lines]


class Planner:
    def __init__(self, derivation: Derivation, sizes: dict[str, int]):
        if derivation.layout != "denominator":
            derivation = derivation.with_layout("denominator")
        # Every identifier of the module comes from one namer: the network's symbols under their
        # own names where free (else renamed, spelled as before in the comments), then every
        # generated name made unique against them.
        original = derivation.network
        identifiers_ = network_namer(original, MODULE_RESERVED)
        net = renamed(original, identifiers_)
        self.names = network_namer(net, MODULE_RESERVED)
        self.keys = {self.names.symbol(x.name): x0.name for x, x0 in zip(
            [*net.params, *net.inputs, *net.target_symbols, *[s.now for s in net.states], *net.assignments],
            [*original.params, *original.inputs, *original.target_symbols, *[s.now for s in original.states],
             *original.assignments], strict=True)}  # identifier -> the name the caller's dicts use
        self.keys.update({self.names.size(k): k0 for k, k0 in zip(net.sizes_default, original.sizes_default,
                                                                   strict=True)})
        # intermediate values of the recurrences named, each one array and one adjoint (intermediates.py)
        recurrent = {a.name for p in net.phases() if p.kind in ("forward", "backward") for a in p.assignments}
        net = named_intermediates(net, recurrent, self.names.fresh)
        if net is not original:
            derivation = derive(net)
        self.d = derivation
        self.net = net
        self.original = original
        self.sizes = {identifiers_.size(k): v for k, v in sizes.items()}
        self.unicode = UnicodePrinter(net.notation, objective=net.objective.name)
        self._segments()
        backward = [c.expr for adj in self.d.adjoints.values() for c in adj.terms]
        for sweep in self.sweeps:
            sweep.share_functions(backward)
        self._share_after_sweeps()
        shared = [a for sweep in self.sweeps for a in sweep.shared]
        data = {a.name for a in net.assignments + shared} | {x.name for x in net.inputs} | set(net.targets)
        definitions = {a.name: a.expr for a in net.assignments + shared}
        forward_states = {s.name for s in net.states if s.direction == "forward"}
        self.arrays = Arrays(states=forward_states, definitions=definitions, data=data, names=self.names)
        for s in net.states:
            if s.direction == "backward":  # g_t at index t - 1, g_{T+1} = 0 at index T
                self.arrays.spans[s.name] = (1, 1)
        self.hoisted = 0
        self.loss_names = self._loss_names()
        for y in net.target_symbols:
            if net.targets[y.name] == "onehot":
                self.arrays.labels[y.name] = self.size(y.shape[0])
                self.arrays.label_at[y.name] = self.names.fresh(f"{y.name}_at")

    # ---------------------------------------------------------------- the segments

    def _segments(self):
        """The phases as segments: ("steps", mode, assignments) run once ('static') or for every
        t at once ('all'), and ("sweep", Sweep) for each recurrence."""
        self.segments, self.sweeps = [], []
        for phase in self.net.phases():
            if phase.kind in ("forward", "backward"):
                sweep = Sweep(self, phase)
                self.sweeps.append(sweep)
                self.segments.append(("sweep", sweep))
            else:
                self.segments.append(("steps", "static" if phase.kind == "static" else "all",
                                      list(phase.assignments)))

    def _share_after_sweeps(self):
        """Per-step values after a sweep read the f(X_t) it keeps instead of computing it again."""
        seen, out = [], []
        for kind, *rest in self.segments:
            if kind == "sweep":
                seen.append(rest[0])
                out.append((kind, *rest))
                continue
            mode, assignments = rest
            if mode == "all":
                assignments = [Assignment(a.target, self._share_from(seen, a.expr), a.per_step) for a in assignments]
            out.append((kind, mode, assignments))
        self.segments = out

    @staticmethod
    def _share_from(sweeps, expr):
        for sweep in sweeps:
            expr = sweep.share(expr)
        return expr

    def share(self, expr):
        """``expr`` reading every sweep's kept f(X_t) (backward expressions come after them all)."""
        return self._share_from(self.sweeps, expr)

    def outside_of(self, sweep) -> list[Assignment]:
        """The assignments after ``sweep``'s loop, in other segments (they may read its values)."""
        out, after = [], False
        for kind, *rest in self.segments:
            if kind == "sweep":
                if rest[0] is sweep:
                    after = True
                elif after:
                    out += rest[0].recurrent
            elif after:
                out += rest[1]
        return out

    # ---------------------------------------------------------------- hoisting

    def hoist(self, expr, depends, base: str, into: list):
        """``expr`` with its loop-independent, time-varying parts computed before the loop."""
        from sympy.matrices.expressions import HadamardProduct, MatAdd

        from derive.algebra import hadamard

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
        return any(isinstance(x, TimeSym) for x in matrix_symbols(expr)) or bool(grads_in(expr))

    def _hoisted(self, expr, base, into):
        self.hoisted += 1
        numbered = f"{base}{self.hoisted}"
        name = self.names.fresh(base if self.names.free(base) else numbered)
        steps = self._steps_defined(expr)
        if steps != (1, 0):  # it reads step t + 1 of a value that has no T + 1: it exists for t < T
            self.arrays.spans[name] = steps
        into.append((name, expr))
        return TimeSym(name, t, *expr.shape)

    def _steps_defined(self, expr) -> tuple[int, int]:
        """(first t, last t - T) at which every value ``expr`` reads exists: f_{t+1} exists for
        t < T, h_{t-1} of a state for every t (h_0 = 0), x_{t-1} for t > 1."""
        lo, hi = 1, 0

        def walk(x, adjoint=False):
            nonlocal lo, hi
            if isinstance(x, Grad):
                walk(x.var, True)
                return
            if isinstance(x, TimeSym):
                shift = x.index - t
                if shift.is_Integer:
                    name = self.names.adjoint(x.name) if adjoint else x.name
                    first, extra = self.arrays.span(name)
                    lo, hi = max(lo, first - int(shift)), min(hi, extra - int(shift))
                return
            for a in getattr(x, "args", ()):
                if isinstance(a, Basic):
                    walk(a, adjoint)

        walk(expr)
        return lo, hi

    # ---------------------------------------------------------------- phase 1: expressions

    def schedule(self):
        """The (mode, target, expr) of every line outside the loops, block by block: forward,
        block k comes before sweep k; backward, block k before the k-th sweep from the end."""
        net = self.net
        needed = self._needed_adjoints()
        inlined = {id(sweep): sweep.inlined_adjoints(needed) for sweep in self.sweeps}
        forward = [[]]
        for kind, *rest in self.segments:
            if kind == "steps":
                mode, assignments = rest
                for a in assignments:
                    forward[-1] += self._emit(mode, a)
                continue
            sweep, hoisted = rest[0], []
            sweep.schedule_forward(hoisted, inlined[id(sweep)])
            forward[-1] += [("all", TimeSym(n, t, *e.shape), e) for n, e in hoisted]
            forward.append([])
        backward = [[]]
        for kind, *rest in reversed(self.segments):
            if kind == "steps":
                mode, assignments = rest
                for a in reversed(assignments):
                    if a.name in needed and a.target != net.objective:
                        backward[-1] += self._adjoint_lines(mode, a)
                continue
            sweep, hoisted = rest[0], []
            sweep.schedule_backward(needed, inlined[id(sweep)], hoisted)
            backward[-1] += [("all", TimeSym(n, t, *e.shape), e) for n, e in hoisted]
            backward.append([])
        return forward, backward

    def _adjoint_lines(self, mode: str, a: Assignment) -> list:
        """The lines of ∂L/∂a outside the loop: once for a value computed once (its uses in
        steps summed over t), for every t at once for a per-step one (the uses at t = T or t = 1
        from outside the steps added to that entry)."""
        adj = self.d.adjoints[a.name]
        if mode == "static":
            return [("static", Grad(a.target), self.share(self.d.total_adjoint(a.name)))]
        lines = [("all", Grad(a.target), self._adjoint(a.name, ALWAYS, LAST, FIRST, only=ALWAYS))]
        for when, index in ((LAST, T), (FIRST, 1)):
            part = adj.of(when)
            if not isinstance(part, ZeroMatrix):
                at = Grad(a.target.at(index))
                lines.append(("static", at, add(at, self.share(substitute(part, {t: index})))))
        return lines

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
        return self.share(part)

    def _needed_adjoints(self) -> set[str]:
        """Adjoints some gradient reads, directly or through other adjoints."""
        needed, todo = set(), [self.d.gradient_expr(p.name) for p in self.net.params]
        while todo:
            for g in grads_in(todo.pop()):
                name = g.var.name
                if name not in needed and not self.d.adjoints[name].is_constant:
                    needed.add(name)
                    todo.append(add(*[c.expr for c in self.d.adjoints[name].terms]))
        return needed

    # ---------------------------------------------------------------- phase 2: storage and printing

    def build(self) -> Plan:
        net = self.net
        forward, backward = self.schedule()
        self._decide_locals(forward, backward)
        plan = Plan(net, self.sizes, interface.size_sources(self), interface.params(self), interface.inputs(self),
                    interface.targets(self),
                    [(ModulePrinter(self.arrays).doprint(h), str(float(v))) for h, v in net.hypers.items()])
        blocks = iter(forward)
        plan.forward = [Block([self.line(*entry) for entry in next(blocks)])]
        for sweep in self.sweeps:
            lines = sweep.name_fused([self.line(*entry) for entry in sweep.entries])
            plan.forward.append(ForwardLoop(sweep.direction, sweep.loop_arrays(), lines))
            plan.forward.append(Block([self.line(*entry) for entry in next(blocks)]))
        for k, sweep in enumerate(self.sweeps):  # a stack's weights before the block that reads them
            where = plan.forward[2 * k]
            where.lines = sweep.stacked_weights() + where.lines
        plan.backward = self._backward(backward, plan)
        shared, use = [], {}
        for sweep in self.sweeps:
            lines, found = sweep.shared_gradients()
            shared += lines
            use.update(found)
        plan.backward[-1].lines += shared
        plan.gradients = [use.get(p.name) or self.gradient(p) for p in net.params]
        self._backward_passes(backward, plan)
        plan.outputs = interface.outputs(self)
        plan.initial = interface.initial_states(self)
        _forward_only(plan)
        definitions = {a.name: a.expr for a in net.assignments if a.name in self.loss_names}
        plan.objective = ModulePrinter(self.arrays, "static").batch_total(net.objective, definitions)
        plan.released = _released(plan)
        _released_after_loops(plan)
        plan.keys, plan.arrays, plan.source = dict(self.keys), self.arrays, self.original
        reuse_buffers(plan)
        return plan

    def _backward(self, backward, plan: Plan) -> list:
        """The backward segments: each block (its lines may overwrite a stored array no later
        line reads, ŷ becoming ∂L/∂o), then the next sweep's loop, from the last sweep back."""
        out = []
        sweeps = list(reversed(self.sweeps))
        loops = [(sweep, [self.line(*e) for e in sweep.back_last], [self.line(*e) for e in sweep.back_loop])
                 for sweep in sweeps]
        for j, entries in enumerate(backward):
            later_blocks = [self.line(*e) for block in backward[j + 1:] for e in block]
            later = [line for _, last, loop in loops[j:] for line in last + loop] + later_blocks
            out.append(Block(self._lines_reusing_dead_arrays(entries, later, plan)))
            if j < len(loops):
                sweep, last, loop = loops[j]
                out.append(BackwardLoop(sweep.direction, [], last, loop, last=j == len(loops) - 1))
        return out

    def _backward_passes(self, backward, plan: Plan) -> None:
        """The passes on each sweep's backward loop and the block before it (sweep.py)."""
        loop_segments = [seg for seg in plan.backward if isinstance(seg, BackwardLoop)]
        block_segments = [seg for seg in plan.backward if isinstance(seg, Block)]
        for j, (sweep, seg) in enumerate(zip(reversed(self.sweeps), loop_segments, strict=True)):
            before = block_segments[j]
            after = [line for s in plan.backward[plan.backward.index(seg) + 1:]
                     for line in getattr(s, "boundary", []) + s.lines]
            window = Window(backward[j], before.lines, [], seg.boundary, seg.lines, after, plan.gradients)
            window.backward_alloc = sweep.adjoint_arrays(window)
            sweep.hoisted_into_stacks(window)
            sweep.joint_products(window)
            before.lines, seg.alloc = window.backward_pre, window.backward_alloc
            seg.boundary, seg.lines = window.backward_last, window.backward_loop

    def _decide_locals(self, forward, backward):
        """Loop values that no code outside their own iteration reads become plain names.

        What is read is taken from the printed code (σ'(a_t) prints from h_t, so a_t need not
        be kept), with every value an array while deciding.
        """
        self.arrays.locals = set()
        blocks = []
        for entries in forward + backward:
            blocks += [ModulePrinter(self.arrays, mode).doprint(e) for mode, _, e in entries]
        blocks += [self.gradient(p).code for p in self.net.params] + [code for _, code in interface.outputs(self)]
        for sweep in self.sweeps:
            others = [ModulePrinter(self.arrays, "step").doprint(e) for other in self.sweeps if other is not sweep
                      for _, _, e in other.entries + other.back_last + other.back_loop]
            sweep.decide_locals(set().union(*map(names_in, blocks + others)))

    def line(self, mode, target, expr, dead=frozenset()) -> Line:
        name = getattr(target, "name", None)
        printer = ModulePrinter(self.arrays, mode, self.arrays.spans.get(name, (1, 0)) if mode == "all" else (1, 0))
        if isinstance(target, tuple):  # (log p, p) = log softmax(o), softmax(o) in one helper call
            lhs = ", ".join(self._all_target(x) if mode == "all" else printer.doprint(x) for x in target)
            code = f"_softmax_and_logsumexp({printer.doprint(expr[0].arg)})"
            equation = ", ".join(self.equation(x, e) for x, e in zip(target, expr, strict=True))
            return Line(lhs, code, equation, per_example=True)
        lhs = printer.doprint(target) if mode != "all" else self._all_target(target)
        statements = tuple(printer.statements(lhs, expr, into_slot="[" in lhs, dead=dead))
        if mode != "step" and len(statements) == 1:  # one line: the plain assignment reads best
            statements = ()
        value = target.var if isinstance(target, Grad) else target  # an adjoint has its variable's rows
        return Line(lhs, _unwrap(printer.doprint(expr)), self.equation(target, expr), True, statements,
                    per_example=mode == "all" or printer.is_data(value))

    def _lines_reusing_dead_arrays(self, entries, later: list[Line], plan) -> list[Line]:
        """The lines of a backward block, each allowed to overwrite a stored array that no
        later line reads (ŷ becomes ∂L/∂o in place)."""
        first = [self.line(*entry) for entry in entries]
        read_by_later = names_of(later) | names_of(self.gradient(p) for p in self.net.params)
        stored = {name.strip() for seg in plan.forward if isinstance(seg, Block) for line in seg.lines
                  for name in line.target.split(",") if name.strip().isidentifier()}
        lines = []
        for j, entry in enumerate(entries):
            read_later = names_of(first[j + 1:]) | read_by_later
            lines.append(self.line(*entry, dead=frozenset(stored - read_later)))
        return lines

    def _all_target(self, target) -> str:
        return self.names.adjoint(target.var.name) if isinstance(target, Grad) else target.name

    def equation(self, target, expr) -> str:
        return f"{self.unicode.doprint(target)} = {self.unicode.doprint(expr)}"

    def gradient(self, param) -> Line:
        """dL/dparam averaged over the batch: per-example terms summed (over t and batch in one
        GEMM each) and divided by B, constant terms (lambda W) added once."""
        adj = self.d.adjoints[param.name]
        every, once = ModulePrinter(self.arrays, "all"), ModulePrinter(self.arrays, "static")
        summed = [every.gradient_term(self.share(c.expr)) for c in adj.terms if c.when == SUMMED]
        summed += [once.gradient_term(c.expr) for c in adj.terms if c.when == STATIC and once.is_data(c.expr)]
        constant = [once.doprint(c.expr) for c in adj.terms if c.when == STATIC and not once.is_data(c.expr)]
        parts = []
        if summed:
            parts.append(f"({' + '.join(summed)}) / B" if len(summed) > 1 else f"{summed[0]} / B")
        parts += constant
        return Line(param.name, " + ".join(parts) or f"np.zeros_like({param.name})",  # (a parameter nothing reads)
                    self.equation(Grad(param), self.d.gradient_expr(param.name)))

    # ---------------------------------------------------------------- interface

    def size(self, dim) -> str:
        """A size as the module's code names it (renamed where a symbol has its name)."""
        return self.names.size(str(dim))

    def key(self, ident: str) -> str:
        """The name the caller's dicts use for the module's identifier ``ident``."""
        return self.keys.get(ident, ident)


def _made(lines, allocations) -> list[str]:
    names = [name.strip() for line in lines for name in line.target.split(",")]
    return [name for name in names + [a.name for a in allocations] if name.isidentifier()]


def _released(plan: Plan) -> list[str]:
    """The forward's arrays that nothing after the loss reads (U x_t + b once the loop has
    run, the logits once the loss is summed): ``gradients`` lets them go before the backward
    pass allocates its own."""
    views = [a.view for seg in plan.backward + plan.forward for a in getattr(seg, "alloc", []) if a.view]
    read = names_of(plan.backward_lines() + plan.gradients).union(*map(names_in, views))
    blocks = [line for seg in plan.forward if isinstance(seg, Block) for line in seg.lines]
    allocs = [a for seg in plan.forward if isinstance(seg, ForwardLoop) for a in seg.alloc]
    return [name for name in _made(blocks, allocs) if name not in read]


def _released_after_loops(plan: Plan) -> None:
    """After each backward loop, the arrays it was the last to read (the gates, σ'(a_t)): let
    go before the next segment's, or the gradients' products, allocate theirs."""
    if not plan.sequential:
        return
    gone = set(plan.released)
    for j, seg in enumerate(plan.backward):
        if not isinstance(seg, BackwardLoop) or not seg.boundary:
            continue
        later = [line for s in plan.backward[j + 1:] for line in getattr(s, "boundary", []) + s.lines]
        read = names_of(later + plan.gradients)
        blocks = [line for s in plan.forward + plan.backward[:j] if isinstance(s, Block) for line in s.lines]
        allocs = [a for s in plan.forward + plan.backward[:j + 1] for a in getattr(s, "alloc", [])]
        views = set().union(*(names_in(a.view) for s in plan.backward[j + 1:] for a in getattr(s, "alloc", [])
                              if a.view))
        seg.released = [name for name in dict.fromkeys(_made(blocks, allocs))
                        if name not in read and name not in gone and name not in views]
        gone |= set(seg.released)


def _forward_only(plan: Plan) -> None:
    """Mark the forward lines that the outputs need (the loops' states always are)."""
    needed = set().union(*(names_in(code) for _, code in plan.outputs))
    for seg in plan.forward:
        if isinstance(seg, ForwardLoop):
            needed |= names_of(seg.lines)
    marked, targets = {}, {}
    blocks = [seg for seg in plan.forward if isinstance(seg, Block)]
    for line in reversed([line for block in blocks for line in block.lines]):
        name = {x.strip() for x in line.target.split("[")[0].split(",")}
        marked[id(line)] = bool(name & needed)
        if "," in line.target:  # (ŷ, log Σ exp o) from one call: forward keeps what it reads
            targets[id(line)] = ", ".join(x if x in needed else "_" for x in map(str.strip, line.target.split(",")))
        if marked[id(line)]:
            needed |= line.names
    for block in blocks:
        block.lines = [replace(x, in_forward=marked[id(x)], forward_target=targets.get(id(x), ""))
                       for x in block.lines]


def plan_module(derivation: Derivation, sizes: dict[str, int]) -> Plan:
    for a in derivation.network.assignments:
        generic = next((x for x in preorder_traversal(a.expr) if getattr(x, "generic", False)), None)
        if generic is not None:
            raise NotGeneratable(f"{a.name} uses the generic function {generic.fname}, which has no numbers: "
                                 "generated code needs a concrete one")
    return Planner(derivation, sizes).build()

