"""One recurrence of a generated module: its loop over t each way, and the passes that make it
run like a careful hand-written BPTT.

A sweep runs forward in time (its states read themselves at t - 1, h_0 = 0; the backward pass
peels t = T and loops down) or backward (they read t + 1, g_{T+1} = 0; the backward pass peels
t = 1 and loops up). Around its loops:

* each loop-independent part of a step is hoisted and computed for every t at once before the
  loop (U x_t + b: one GEMM over T·B rows), and so is each loop-independent part of an adjoint
  (Vᵀ ∂L/∂o_t, σ'(a_t));
* the blocks of every step that read the same state are one GEMM per step each way
  (stacking.py), the activations of a stack one call (fusing.py), f(X_t) that the backward pass
  reads again computed once (sharing.py);
* a value used only within one iteration is a plain name, not an array; σ'(a_t) is computed in
  the array its adjoint then overwrites; neighbouring gates' adjoint products are one call.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

from sympy import Basic, Integer
from sympy.matrices.expressions import HadamardProduct

from derive.algebra import add, substitute, transpose
from derive.codegen.fusing import fuse_activations
from derive.codegen.lines import (
    Allocation,
    Line,
    names_in,
    names_of,
    split_blocks,
    stored_shape,
    subscripts_in,
    time_reads,
)
from derive.codegen.sharing import share, shared_functions, walk_computed
from derive.codegen.stacking import gradient_of_member, stack_backward, stack_forward, stack_hoisted
from derive.derivation import AFTER_FIRST, ALWAYS, BEFORE_LAST, FIRST, LAST
from derive.layout import grads_in
from derive.network import Assignment
from derive.nodes import Elementwise, Grad, Prime, T, TimeSym, t
from derive.printing.inplace import inplace_statements
from derive.printing.numpy_module import ModulePrinter


class _GateProduct(NamedTuple):
    """A stack member's backward line ∂L/∂a_{g,t} = X_{g,t} ⊙ ∂L/∂s_t (``joint_products``)."""

    printed: str  # the line's target as the module prints it
    target: Grad  # ∂L/∂a_{g,t}
    own: TimeSym  # X_{g,t}, kept in the member's own columns of the stack's adjoint
    shared: Grad  # ∂L/∂s_t, which neighbouring members may multiply too


class Window:
    """What the passes on a sweep's backward lines see: the block just before its loop (which
    they may rewrite), the loop itself, and every line after it."""

    def __init__(self, pre_entries, backward_pre, alloc, last, loop, post, gradients):
        self.pre_entries = pre_entries  # (mode, target, expr) of the block before the loop
        self.backward_pre, self.backward_alloc = backward_pre, alloc
        self.backward_last, self.backward_loop = last, loop
        self.backward_post, self.gradients = post, gradients


class Sweep:
    def __init__(self, planner, phase):
        self.p = planner
        self.direction = phase.kind
        self.forward = phase.kind == "forward"
        self.shift = -1 if self.forward else 1  # the step reads its own state at t + shift
        self.carried_when = BEFORE_LAST if self.forward else AFTER_FIRST
        self.boundary_when = LAST if self.forward else FIRST
        self.boundary = T if self.forward else Integer(1)  # where the backward loop starts, peeled
        names = {a.name for a in phase.assignments}
        self.states = {s.name for s in planner.net.states if s.name in names}
        self.learned = {s.name: s.learned for s in planner.net.states if s.name in names and s.learned is not None}
        self.recurrent = list(phase.assignments)
        self.recurrent_names = names
        self.loop_names = self.states | names
        self.shared = []
        self.stacks, self.fused = [], []
        self.entries = []  # the forward loop's (mode, target, expr)
        self.back_last, self.back_loop = [], []  # the backward loop's, peeled step and the rest
        self.in_columns_of: dict[str, str] = {}  # a hoisted factor -> the stack member whose columns hold it

    # ---------------------------------------------------------------- what the loop reads

    def share_functions(self, backward: list):
        """f(X_t) that a loop line computes inside its expression and the backward pass reads
        again (tanh(C_t)) becomes a loop value of its own, computed once (codegen/sharing.py)."""
        self.shared = shared_functions(self.recurrent, backward, self.loop_names, self.p.names.fresh)
        recurrent = []
        for a in self.recurrent:
            recurrent += [x for x in self.shared if x not in recurrent and a.expr.has(x.expr)]
            recurrent.append(Assignment(a.target, self.share(a.expr), a.per_step))
        self.recurrent = recurrent
        self.recurrent_names = {a.name for a in self.recurrent}

    def share(self, expr):
        return share(expr, self.shared, self.loop_names)

    def reads_loop(self, expr) -> bool:
        """True when a forward expression needs a value of the current iteration."""
        return any((n in self.states and s == self.shift) or (n in self.recurrent_names and s == 0)
                   for n, s in time_reads(expr))

    def reads_loop_adjoint(self, expr) -> bool:
        return any(g.var.name in self.recurrent_names for g in grads_in(expr))

    def _read_elsewhere(self) -> set[str]:
        """Loop values read other than by the one function applied to them: by another loop
        line, outside the loop, or by the backward pass (f' read from f(x) does not count)."""
        read = set()
        for _, _, expr in self.entries:
            if not (isinstance(expr, Elementwise) and isinstance(expr.arg, TimeSym)):
                read |= {name for name, _ in time_reads(expr)}
        for a in self.p.outside_of(self):
            read |= {name for name, _ in time_reads(a.expr)}
        for adj in self.p.d.adjoints.values():
            read |= {x.name for c in adj.terms for x in walk_computed(c.expr) if isinstance(x, TimeSym)}
        return read

    # ---------------------------------------------------------------- phase 1: expressions

    def schedule_forward(self, hoisted: list, inlined: dict):
        """The loop's entries; its hoisted parts go to ``hoisted`` (name, expr)."""
        for a in self.recurrent:
            expr = split_blocks(a.expr)
            self.entries.append(("step", a.target, self.p.hoist(expr, self.reads_loop, f"{a.name}_in", hoisted)))
        fresh = self.p.names.fresh
        self.stacks = stack_forward(self.entries, self.states, fresh, lambda name: self._factor_of(name, inlined),
                                    self.shift)
        stack_hoisted(self.entries, hoisted, self.stacks, fresh)
        self.fused = fuse_activations(self.entries, self.stacks, self._read_elsewhere(), fresh)
        self.p.arrays.data |= {group.target.name for group in self.fused}
        self.p.arrays.data |= {stack.product.name for stack in self.stacks} | {n for n, _ in hoisted}

    def schedule_backward(self, needed: set[str], inlined: dict, hoisted: list):
        """The backward loop's entries: the peeled boundary step (t = T, or t = 1) and the rest;
        their loop-independent parts go to ``hoisted``."""
        d, fresh = self.p.d, self.p.names.fresh
        for a in reversed(self.recurrent):
            if a.name not in needed or Grad(a.target) in inlined:
                continue
            adj = d.adjoints[a.name]
            base = f"{self.p.names.adjoint(a.name)}_in"

            def prepared(expr):
                return split_blocks(self.p.share(substitute(expr, inlined)))

            local = self.p.hoist(prepared(adj.of(ALWAYS)), self.reads_loop_adjoint, base, hoisted)
            carried = self.p.hoist(prepared(adj.of(self.carried_when)), self.reads_loop_adjoint, base, hoisted)
            if a.name in self.states:
                carried = stack_backward(carried, self.stacks, fresh, self.shift)
            boundary = substitute(add(local, prepared(adj.of(self.boundary_when))), {t: self.boundary})
            self.back_last.append(("step", Grad(a.target.at(self.boundary)), boundary))
            self.back_loop.append(("step", Grad(a.target), add(local, carried)))

    def inlined_adjoints(self, needed: set[str]) -> dict:
        """Grad(x_t) -> its expression, for the entrywise adjoints of loop values that one
        entrywise term of one other adjoint alone reads (∂L/∂o_t = tanh(C_t) ⊙ ∂L/∂h_t, read
        only by ∂L/∂a_{o,t} = σ'(a_{o,t}) ⊙ ∂L/∂o_t). Written into their reader, the stored
        factors multiply once for every t before the loop (σ'(a_o) ⊙ tanh(C)), and each step
        has one product less."""
        terms = [c.expr for adj in self.p.d.adjoints.values() for c in adj.terms if isinstance(c.expr, Basic)]
        inlined = {}
        for a in self.recurrent:
            adj = self.p.d.adjoints.get(a.name)
            if a.name in self.states or a.name not in needed or adj is None \
                    or any(c.when != ALWAYS for c in adj.terms) or not isinstance(adj.of(ALWAYS), HadamardProduct):
                continue
            readers = [x for x in terms if x.has(Grad(a.target))]
            other_steps = [x for x in terms if any(g.var.name == a.name and g != Grad(a.target) for g in grads_in(x))]
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
        adj = self.p.d.adjoints.get(name)
        if adj is None or any(c.when != ALWAYS for c in adj.terms):
            return None
        expr = substitute(adj.of(ALWAYS), inlined)
        found = [x for x in getattr(expr, "args", ()) if isinstance(x, Grad)]
        return found[0] if isinstance(expr, HadamardProduct) and len(found) == 1 and len(grads_in(expr)) == 1 else None

    def _reader_is_loop_adjoint(self, term) -> bool:
        """True when ``term`` belongs to the adjoint of a loop value (not to a gradient)."""
        return any(term in [c.expr for c in self.p.d.adjoints[a.name].terms]
                   for a in self.recurrent if a.name in self.p.d.adjoints)

    # ---------------------------------------------------------------- phase 2: storage

    def decide_locals(self, outside: set[str]) -> None:
        """Loop values that no code outside their own iteration reads become plain names
        (``outside``: the identifiers every line not of this loop reads)."""
        read = set(outside)
        for _, _, e in self.entries:  # read at another step than its own
            read |= {n for n, shift in time_reads(e) if shift != 0}
        for _, _, e in self.back_loop + self.back_last:
            read |= {n for n, _ in time_reads(e)}
        fused = {name for group in self.fused for name, *_ in group.members}
        arrays, names = self.p.arrays, self.p.names
        arrays.locals |= {a.name for a in self.recurrent
                          if a.name not in self.states and a.name not in read and a.name not in fused}
        arrays.locals |= {stack.product.name for stack in self.stacks}
        arrays.locals |= {names.adjoint(a.name) for a in self.recurrent if names.adjoint(a.name) not in read}

    def loop_arrays(self) -> list[Allocation]:
        """The arrays the forward loop fills; fused activations are columns of their group's."""
        size = self.p.size
        views = {}
        for group in self.fused:
            for name, start, stop in group.members:
                views[name] = (group, f"{group.target.name}[..., {size(start)}:{size(stop)}]")
        out, made = [], set()
        for a in self.recurrent:
            if a.name in self.p.arrays.locals:
                continue
            group, view = views.get(a.name, (None, ""))
            if group is not None and group.target.name not in made:
                made.add(group.target.name)
                shown = ", ".join(self.p.unicode.doprint(TimeSym(name, t, 1, 1)) for name, *_ in group.members)
                out.append(Allocation(group.target.name, stored_shape(size(group.target.shape[0]), True, False),
                                      False, f"[{shown}] side by side, at index t - 1"))
            learned = self.learned.get(a.name)
            start = "" if learned is None else ModulePrinter(self.p.arrays, "static").doprint(learned)
            boundary = f"{a.name}[{0 if self.forward else 'T'}] = {start}" if start else ""  # h_0 = s for every example
            out.append(Allocation(a.name, stored_shape(size(a.target.shape[0]), True, a.name in self.states),
                                  a.name in self.states and learned is None, self.storage_note(a.target), view=view,
                                  boundary=boundary))
        return out

    def storage_note(self, value) -> str:
        shown = self.p.unicode.doprint(value)
        if isinstance(value, TimeSym) and value.name in self.states:
            learned = self.learned.get(value.name)
            start = "0" if learned is None else self.p.unicode.doprint(learned)
            if self.forward:
                return f"{shown} at index t; {self.p.unicode.doprint(value.at(0))} = {start} at index 0"
            return f"{shown} at index t - 1; {self.p.unicode.doprint(value.at(T + 1))} = {start} at index T"
        return f"{shown} at index t - 1"

    def name_fused(self, lines: list[Line]) -> list[Line]:
        """A fused line's equation names the values it computes: [fₜ, iₜ, oₜ] = σ(…)."""
        targets = {group.target.name: group for group in self.fused}
        out = []
        for line in lines:
            group = targets.get(line.target.split("[")[0])
            if group is not None:
                shown = ", ".join(self.p.unicode.doprint(TimeSym(name, t, 1, 1)) for name, *_ in group.members)
                line = replace(line, equation=f"[{shown}]{line.equation[line.equation.index(' = '):]}")
            out.append(line)
        return out

    def stacked_weights(self) -> list[Line]:
        printer = ModulePrinter(self.p.arrays, "static")
        unicode = self.p.unicode
        lines = []
        for stack in self.stacks:
            blocks = ", ".join(printer.doprint(block) for _, block, _, _ in stack.members)
            names = ", ".join(unicode.doprint(block) for _, block, _, _ in stack.members)
            lines.append(Line(stack.weights.name, f"np.concatenate([{blocks}])",
                              f"the blocks that read {unicode.doprint(stack.state)}, stacked: "
                              f"[{names}] (one GEMM per step)"))
            if stack.input_weights is None:
                continue
            blocks = ", ".join(printer.doprint(block) for block, _ in stack.inputs)
            shown = ", ".join(unicode.doprint(block) for block, _ in stack.inputs)
            lines.append(Line(stack.input_weights.name, f"np.concatenate([{blocks}])",
                              f"their input blocks, stacked: [{shown}] (one GEMM for every t)"))
            if stack.input_biases is not None:
                biases = [printer.doprint(add(*parts)) for _, parts in stack.inputs]
                shown = [unicode.doprint(add(*parts)) for _, parts in stack.inputs]
                lines.append(Line(stack.input_biases.name, f"np.concatenate([{', '.join(biases)}])",
                                  f"their input biases, stacked: [{', '.join(shown)}] (one add for every t)"))
        return lines

    # ---------------------------------------------------------------- passes on the backward lines

    def adjoint_arrays(self, w: Window) -> list[Allocation]:
        """The per-step adjoints the backward loop stores; a stack's members are views of
        one array with their adjoints side by side; an adjoint that alone reads a hoisted
        array, at the step it writes, overwrites it (∂L/∂a_t over σ'(a_t))."""
        size, names, unicode = self.p.size, self.p.names, self.p.unicode
        views = {}
        out = []
        for stack in self.stacks:
            if stack.adjoint is None:
                continue
            name = stack.adjoint.name
            shown = ", ".join(unicode.doprint(Grad(TimeSym(m, t, 1, 1))) for m, *_ in stack.members)
            out.append(Allocation(name, stored_shape(size(stack.product.shape[0]), True, False), False,
                                  f"[{shown}] side by side, at index t - 1"))
            for member, _, start, stop in stack.members:
                views[member] = f"{name}[..., {size(start)}:{size(stop)}]"
        for a in self.recurrent:
            name = names.adjoint(a.name)
            if name in self.p.arrays.locals or not any(entry[1] == Grad(a.target) for entry in self.back_loop):
                continue
            note, view = self.storage_note(Grad(a.target)), views.get(a.name, "")
            if not view:
                hoisted = [target.name for mode, target, _ in w.pre_entries
                           if mode == "all" and isinstance(target, TimeSym) and target.shape == a.target.shape
                           and target.name not in self.p.arrays.spans]
                view = next((h for h in hoisted if only_read_where_written(h, name, w)), "")
                note += f", in {view}'s place (each step reads its entry, then overwrites it)" \
                    if view else ""
            out.append(Allocation(name, stored_shape(size(a.target.shape[0]), True, False), False, note, view=view))
        return out

    def hoisted_into_stacks(self, w: Window) -> None:
        """A hoisted factor that only its gate's adjoint reads, at the step it writes (σ'(a_{o,t})
        in ∂L/∂a_{o,t} = σ'(a_{o,t}) ⊙ ∂L/∂o_t), is computed in that adjoint's columns of the
        stack's array, which then overwrites it step by step: no array of its own."""
        printer = ModulePrinter(self.p.arrays, "all")
        entries = {target.name: expr for mode, target, expr in w.pre_entries
                   if mode == "all" and isinstance(target, TimeSym) and target.name not in self.p.arrays.spans}
        by_name = {a.name: a for a in w.backward_alloc}
        for stack in self.stacks:
            if stack.adjoint is None:
                continue
            moved, holders = {}, {}  # factor -> (adjoint shown, statements, note); factor -> member
            for member, *_ in stack.members:
                adjoint = by_name.get(self.p.names.adjoint(member))
                if adjoint is None or not adjoint.view:
                    continue
                for name, expr in entries.items():
                    steps = None
                    if name not in moved and only_read_where_written(name, adjoint.name, w):
                        steps = inplace_statements(name, expr, printer, existing=True)
                    if steps:
                        shown = self.p.unicode.doprint(Grad(TimeSym(member, t, 1, 1)))
                        moved[name] = (shown, [f"{name} = {adjoint.view}", *steps], "")
                        holders[name] = member
                        self.in_columns_of[name] = member
                        break
            if not moved:
                continue
            own = [a for a in w.backward_alloc if a.name == stack.adjoint.name or a.view.startswith(
                f"{stack.adjoint.name}[")]
            w.backward_alloc = [a for a in w.backward_alloc if a not in own]
            early = [Line(a.name, a.view or f"np.empty({a.shape}, dtype=dtype)", a.comment, per_example=True)
                     for a in own]
            early += self._derivative_passes(stack, moved, holders, entries)
            lines = [Line(x.target, x.code, f"{x.equation}, in the columns of {moved[x.target][0]} (which "
                          f"overwrite it step by step){moved[x.target][2]}", x.in_forward, tuple(moved[x.target][1]))
                     if x.target in moved else x for x in w.backward_pre]
            first = next(j for j, x in enumerate(lines) if x.target in moved)
            w.backward_pre = lines[:first] + early + lines[first:]

    def joint_products(self, w: Window) -> None:
        """Neighbouring members of a stack whose adjoints are their factor (kept in their own
        columns) times one and the same adjoint, ∂L/∂a_{g,t} = X_{g,t} ⊙ ∂L/∂C_t for g = f, i, C̃
        of an LSTM, as one product a step over their columns seen as (T, B, gates, n): one
        NumPy call instead of one per gate."""
        for stack in self.stacks:
            widths = {stop - start for _, _, start, stop in stack.members}
            if stack.adjoint is None or len(widths) != 1:
                continue
            width, names = widths.pop(), [name for name, *_ in stack.members]
            for block, entries in (("backward_loop", self.back_loop), ("backward_last", self.back_last)):
                products = {}  # member -> its _GateProduct
                for mode, target, expr in entries:
                    member = target.var.name if isinstance(target, Grad) else None
                    args = expr.args if isinstance(expr, HadamardProduct) and len(expr.args) == 2 else ()
                    own = [x for x in args if isinstance(x, TimeSym) and self.in_columns_of.get(x.name) == member]
                    other = next((x for x in args if own and x != own[0]), None)
                    if member in names and len(own) == 1 and isinstance(other, Grad):
                        products[member] = _GateProduct(ModulePrinter(self.p.arrays, mode).doprint(target), target,
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
                    self._joint_product(stack, width, run, products, block, w)

    def _joint_product(self, stack, width, run: list, products: dict, block: str, w: Window) -> None:
        """One run's lines of ``block`` as one in-place product over a (T, B, gates, n) view of
        the stack's adjoint (made once, after it); the gates' own views go where nothing reads them."""
        printer = ModulePrinter(self.p.arrays, "step")
        unicode, size = self.p.unicode, self.p.size
        shared = products[run[0]].shared
        joint = f"{stack.adjoint.name}_times_{printer.doprint(shared).split('[')[0]}"
        joint = next((line.target for line in w.backward_pre if line.target == joint), None) \
            or self.p.names.fresh(joint)
        first = [name for name, *_ in stack.members].index(run[0])
        count = len(stack.members)
        gates = ", ".join(unicode.doprint(Grad(TimeSym(m, t, 1, 1))) for m in run)
        view = f"{stack.adjoint.name}.reshape(T, B, {count}, {size(width)})[:, :, {first}:{first + len(run)}]"
        made = [line.code for line in w.backward_pre if line.target == joint]
        if made and made != [view]:
            return  # the loop's run and the last step's differ: each keeps its own products
        if not made:
            at = next(j for j, line in enumerate(w.backward_pre) if line.target == stack.adjoint.name) + 1
            w.backward_pre.insert(at, Line(joint, view, f"[{gates}] as (T, B, {len(run)}, "
                                                        f"{size(width)}), at index t - 1"))
        targets = {products[m].printed for m in run}
        index = products[run[0]].printed[products[run[0]].printed.index("["):]
        lines, done = [], False
        for line in getattr(w, block):
            if line.target not in targets:
                lines.append(line)
            elif not done:
                done = True
                sides = ", ".join(unicode.doprint(products[m].target) for m in run)
                factors = ", ".join(unicode.doprint(products[m].own) for m in run)
                lines.append(Line(f"{joint}{index}", f"{joint}{index} * {printer.doprint(shared)}[:, None]",
                                  f"[{sides}] = [{factors}] ⊙ {unicode.doprint(shared)}: one product for "
                                  f"the gates side by side (each factor in its adjoint's columns)", True,
                                  (f"{joint}{index} *= {printer.doprint(shared)}[:, None]",)))
        setattr(w, block, lines)
        views = {self.p.names.adjoint(m) for m in run}
        others = [line for line in w.backward_pre if line.target not in views]
        read = names_of(others + w.backward_last + w.backward_loop + w.backward_post + w.gradients)
        w.backward_pre = [line for line in w.backward_pre if line.target not in views - read]

    def _derivative_passes(self, stack, moved: dict, holders: dict, entries: dict) -> list[Line]:
        """f' of a fused group in one pass over its members' columns of the stack's adjoint,
        when each member's factor there is X_g ⊙ f'(a_g): σ'(a_f), σ'(a_i) and σ'(a_o) of an
        LSTM from [o, f, i] in two NumPy calls instead of two each, then one product per gate
        (``moved``'s statements rewritten to that product)."""
        printer = ModulePrinter(self.p.arrays, "all")
        unicode, size = self.p.unicode, self.p.size
        lines = []
        for group in (g for g in self.fused if g.stack is stack):
            others = {}  # activation g -> (its factor's name, X_g, f'(a_g))
            for name, member in holders.items():
                expr = entries[name]
                if isinstance(expr, Prime):  # f'(a_g) alone: X_g = 1
                    prime, other = expr, None
                else:
                    primes = [x for x in getattr(expr, "args", ()) if isinstance(x, Prime)]
                    if not isinstance(expr, HadamardProduct) or len(expr.args) != 2 or len(primes) != 1:
                        continue
                    prime = primes[0]
                    other = next(x for x in expr.args if x != prime)
                if isinstance(prime.fx, group.function) and getattr(prime.fx.arg, "name", None) == member \
                        and isinstance(prime.ans, TimeSym) and prime.ans.index == t:
                    others[prime.ans.name] = (name, other, prime)
            in_place = {g: (group.start + start, group.start + stop) for g, start, stop in group.members}
            if set(others) != set(in_place) or any(stack.rows_of(holders[name]) != in_place[g]
                                                   for g, (name, _, _) in others.items()):
                continue  # not every member's factor is X ⊙ f' in the columns its activation has
            target = self.p.names.fresh(f"{group.target.name}_prime")
            stop = group.start + group.target.shape[0]
            view = f"{stack.adjoint.name}[..., {size(group.start)}:{size(stop)}]"
            derivative = Prime(group.function(TimeSym(target, t, *group.target.shape)), group.target)
            steps = inplace_statements(target, derivative, printer, existing=True)
            if not steps:
                continue
            members = [g for g, *_ in group.members]
            derivatives = ", ".join(unicode.doprint(others[g][2]) for g in members)
            answers = ", ".join(unicode.doprint(TimeSym(g, t, 1, 1)) for g in members)
            adjoints = ", ".join(unicode.doprint(Grad(TimeSym(holders[others[g][0]], t, 1, 1))) for g in members)
            lines.append(Line(target, printer.doprint(derivative), f"[{derivatives}] from [{answers}] in one pass, "
                              f"in the columns of [{adjoints}]", True, (f"{target} = {view}", *steps)))
            for g in members:
                name, other, prime = others[g]
                shown, (assign, *_), _ = moved[name]
                product = [] if other is None else [f"{name} *= {printer.doprint(other)}"]
                moved[name] = (shown, [assign, *product], f"; {unicode.doprint(prime)} is there already")
        return lines

    # ---------------------------------------------------------------- gradients

    def shared_gradients(self) -> tuple[list[Line], dict[str, Line]]:
        """The gradients of a stack's blocks as one product, Σ_t [∂L/∂a_f; …; ∂L/∂a_o] uᵀ, read
        by rows: one GEMM (and one pass over u) instead of one per gate."""
        every = ModulePrinter(self.p.arrays, "all")
        unicode, size = self.p.unicode, self.p.size
        lines, use = [], {}
        for stack in self.stacks:
            if stack.adjoint is None:
                continue
            by_operand: dict = {}
            for param in self.p.net.params:
                found = gradient_of_member(self.p.d.adjoints[param.name].terms, stack)
                if found is not None:
                    member, operand = found
                    by_operand.setdefault(operand, {})[member] = param
            joint = stack.adjoint.name
            for j, (operand, members) in enumerate(by_operand.items()):
                if len(members) != len(stack.members):
                    continue
                name = self.p.names.fresh(f"{joint}_grads{j}")
                if operand is None:
                    code = f"{joint}.sum(axis=(0, 1))"
                else:
                    code = f"_outer_sum({joint}, {every.doprint(operand)})"
                shown = "" if operand is None else " " + unicode.doprint(transpose(operand))
                adjoints = "; ".join(unicode.doprint(Grad(TimeSym(m, t, 1, 1))) for m, *_ in stack.members)
                lines.append(Line(name, code, f"Σ[t=1..T] [{adjoints}]{shown}: every block's gradient at once, "
                                  "averaged over the batch (each parameter's gradient is a block of it)",
                                  statements=(f"{name} = {code}", f"{name} /= B")))
                for member, param in members.items():
                    start, stop = stack.rows_of(member)
                    use[param.name] = Line(param.name, f"{name}[{size(start)}:{size(stop)}]",
                                           self.p.equation(Grad(param), self.p.d.gradient_expr(param.name)))
        return lines, use


def only_read_where_written(array: str, target: str, plan) -> bool:
    """True when the only lines reading ``array`` are those writing ``target``, each reading
    the entry it writes (array[t - 1] into target[t - 1]) in the one statement that first
    writes it (a later statement would read what that one wrote)."""
    own = [line for line in plan.backward_last + plan.backward_loop if line.target.split("[")[0] == target]
    others = [line for block in (plan.backward_pre, plan.backward_last, plan.backward_loop, plan.backward_post,
                                 plan.gradients) for line in block if line not in own and line.target != array]
    if not own or any(array in line.names for line in others):
        return False
    for line in own:
        written = line.target[len(target):]
        reads = set().union(*(subscripts_in(code, array) for code in (line.code, *line.statements)))
        if not written or reads != {written}:
            return False
        if any(array in names_in(statement) for statement in line.statements[1:]):
            return False
    return True
