"""The ``Derivation``: everything the deriver found, which renderers, code generators and the
checker read (none of them differentiates anything itself).

It holds, in denominator layout, the chain-rule steps in the order reverse mode takes them, the
adjoint of every variable as a sum of contributions (one per path, each valid for some t), the
one-step Jacobians between states and the immediate parameter VJPs of a step. Views build the
equations a reader wants, in either layout: adjoint definitions, the adjoint recurrence of each
state, every dL/dtheta as a sum over t, Jacobian products dh_t/dh_k and the unrolled
backprop-through-time double sum for a concrete T.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from sympy import And, Eq, Gt, Integer, Lt, Symbol
from sympy.matrices.expressions import Identity, MatAdd, MatrixExpr, MatrixSymbol, ZeroMatrix

from derive import layout as lay
from derive.algebra import add, matmul, substitute, transpose
from derive.network import Network
from derive.nodes import Diag, Grad, Jac, LocalGrad, RowGrad, StepJacobian, T, TimeProduct, TimeSum, TimeSym, i, k, t
from derive.primitives import Block, RowSlice

# When a contribution to an adjoint holds.
ALWAYS = "always"  # every t (or a variable without time)
BEFORE_LAST = "before_last"  # t < T: the path through step t + 1 (a state forward in time)
LAST = "last"  # t = T: a head on the last state
AFTER_FIRST = "after_first"  # t > 1: the path through step t - 1 (a state backward in time)
FIRST = "first"  # t = 1: a head on the first step (where a backward state ends)
SUMMED = "summed"  # a parameter used at every step: summed over t
STATIC = "static"  # a parameter used once

LAYOUTS = ("denominator", "numerator")


@dataclass(frozen=True)
class Contribution:
    """One path's share of an adjoint (denominator layout), valid when ``when`` holds."""

    expr: MatrixExpr
    via: MatrixExpr  # the variable whose assignment the path goes through
    when: str
    rules: tuple  # node classes whose rules were applied, outermost first
    chain: MatrixExpr | None = None  # the composition a fused rule simplified


@dataclass(frozen=True)
class Step:
    """One application of the chain rule: the gradient reaching ``wrt`` through ``via``."""

    wrt: MatrixExpr  # as it appears in the assignment: h_{t-1}, W, h_T
    via: MatrixExpr
    rules: tuple
    result: MatrixExpr
    chain: MatrixExpr | None = None
    fused: bool = False


@dataclass
class Adjoint:
    """dL/dvar, as the sum of its contributions."""

    var: MatrixExpr
    terms: list[Contribution] = field(default_factory=list)

    def of(self, *whens) -> MatrixExpr:
        """The sum of the contributions of the given kinds, in the order they were found."""
        parts = [c.expr for c in self.terms if c.when in whens]
        return add(*parts) if parts else ZeroMatrix(*self.var.shape)

    @property
    def is_constant(self) -> bool:
        """True when the adjoint is a plain number (dL/dL = 1, dL/dl_t = 1/T)."""
        return len(self.terms) == 1 and not isinstance(self.terms[0].expr, MatrixExpr)


@dataclass(frozen=True)
class Equation:
    """lhs = rhs, for the values of t where ``condition`` holds (None: all of them)."""

    lhs: object
    rhs: object
    condition: object = None
    note: str = ""


@dataclass
class Derivation:
    network: Network
    layout: str
    steps: list[Step]
    adjoints: dict[str, Adjoint]
    step_jacobians: dict[tuple[str, str], MatrixExpr]  # (s, s'): ds_t/ds'_{t-1}, numerator
    param_vjps: dict[tuple[str, str], MatrixExpr]  # (s, theta): VJP of a seed at s_t
    seeds: dict[str, MatrixSymbol]  # the placeholder seed vector of each state
    # a learned boundary value's own share: ∂L/∂h_0 (h_0 = s), which is all of ∂L/∂s only when
    # nothing else reads s
    initial_adjoints: dict[str, MatrixExpr] = field(default_factory=dict)

    def _repr_latex_(self) -> str:
        """Jupyter shows a derivation as its gradients and adjoint recurrences, typeset."""
        from derive.printing.latex import LatexPrinter

        printer = LatexPrinter(self.network.notation, objective=self.network.objective.name)
        rows = []
        for eq in self.gradient_equations() + self.recurrences():
            condition = "" if eq.condition is None else rf" \qquad ({printer.doprint(eq.condition)})"
            rows.append(f"{printer.doprint(eq.lhs)} &= {printer.doprint(eq.rhs)}{condition}")
        return r"$$\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}$$"

    # ------------------------------------------------------------------ basic queries

    @property
    def states(self):
        return self.network.states

    @property
    def state_names(self) -> list[str]:
        return [s.name for s in self.network.states]

    @property
    def params(self):
        return self.network.params

    def adjoint(self, name: str) -> Adjoint:
        return self.adjoints[name]

    def with_layout(self, layout: str) -> Derivation:
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}")
        return Derivation(self.network, layout, self.steps, self.adjoints, self.step_jacobians,
                          self.param_vjps, self.seeds, self.initial_adjoints)

    # ------------------------------------------------------------------ inlining

    def inline(self, expr, keep=()):
        """Replace every dL/dX by its definition, except for X in ``keep`` (state names) and
        adjoints that depend on t in cases (those stay symbols)."""
        keep = set(keep)
        memo = {}

        def definition(g: Grad):
            var = g.var
            adj = self.adjoints.get(var.name)
            if adj is None or var.name in keep:
                return None
            if {c.when for c in adj.terms} - {ALWAYS, STATIC}:
                return None
            body = adj.of(ALWAYS, STATIC)
            if isinstance(var, TimeSym):
                body = substitute(body, {t: var.index})
            return body

        def walk(x):
            if isinstance(x, Grad):
                if x not in memo:
                    d = definition(x)
                    memo[x] = x if d is None else walk(d)
                return memo[x]
            if not getattr(x, "args", None) or not isinstance(x, MatrixExpr):
                return x
            return substitute(x, {g: walk(g) for g in lay.grads_in(x)})

        return walk(expr)

    # ------------------------------------------------------------------ layout

    def as_layout(self, expr, param=None):
        """A denominator-layout expression in this derivation's layout."""
        if self.layout == "denominator":
            return expr
        if param is not None:
            return lay.vec_form(expr, param)
        return lay.to_row(expr)

    def lhs(self, var):
        return Grad(var) if self.layout == "denominator" else RowGrad(var)

    # ------------------------------------------------------------------ views

    def adjoint_equations(self, name: str, inlined: bool = False) -> list[Equation]:
        """dL/dvar for one variable: a single equation, or one for t < T and one for t = T."""
        adj = self.adjoints[name]
        var = adj.var
        keep = self.state_names if inlined else ()

        def form(expr, param=None):
            return self.as_layout(self.inline(expr, keep) if inlined else expr, param)

        param = var if isinstance(var, MatrixSymbol) and var in self.params else None
        if param is not None:
            return [Equation(self.lhs(var), form(self.gradient_expr(name), param))]
        whens = {c.when for c in adj.terms}
        if not isinstance(var, TimeSym):  # a value computed once: its uses at every step summed
            return [Equation(self.lhs(var), form(self.total_adjoint(name)))]
        if whens <= {ALWAYS, STATIC}:
            return [Equation(self.lhs(var), form(adj.of(ALWAYS, STATIC)))]
        forward, backward = whens & {BEFORE_LAST, LAST}, whens & {AFTER_FIRST, FIRST}
        if forward and backward:  # read through both ends: t = 1, 1 < t < T and t = T
            first = substitute(adj.of(ALWAYS, BEFORE_LAST, FIRST), {t: 1})
            middle = adj.of(ALWAYS, BEFORE_LAST, AFTER_FIRST)
            last = substitute(adj.of(ALWAYS, AFTER_FIRST, LAST), {t: T})
            return [Equation(self.lhs(var.at(1)), form(first), Eq(t, 1)),
                    Equation(self.lhs(var), form(middle), And(Lt(1, t), Lt(t, T))),
                    Equation(self.lhs(var.at(T)), form(last), Eq(t, T))]
        if backward:
            after = adj.of(ALWAYS, AFTER_FIRST)
            first = substitute(adj.of(ALWAYS, FIRST), {t: 1})
            return [Equation(self.lhs(var), form(after), Gt(t, 1)),
                    Equation(self.lhs(var.at(1)), form(first), Eq(t, 1))]
        before = adj.of(ALWAYS, BEFORE_LAST)
        last = substitute(adj.of(ALWAYS, LAST), {t: T})
        return [Equation(self.lhs(var), form(before), Lt(t, T)),
                Equation(self.lhs(var.at(T)), form(last), Eq(t, T))]

    def gradient_expr(self, name: str) -> MatrixExpr:
        """dL/dtheta (denominator layout): the sum over t of the per-step terms, plus the rest."""
        return self.total_adjoint(name)

    def total_adjoint(self, name: str) -> MatrixExpr:
        """dL/dX for X computed once (a parameter, a static value): the sum over t of its uses
        at every step, plus its uses outside time."""
        adj = self.adjoints[name]
        summed = adj.of(SUMMED)
        parts = [] if isinstance(summed, ZeroMatrix) else [TimeSum(summed, t, 1, T)]
        static = adj.of(STATIC, ALWAYS)
        if not isinstance(static, ZeroMatrix):
            parts.append(static)
        return add(*parts) if parts else ZeroMatrix(*adj.var.shape)

    def gradient_equations(self, inlined: bool = True) -> list[Equation]:
        return [eq for p in self.params for eq in self.adjoint_equations(p.name, inlined)]

    def recurrences(self) -> list[Equation]:
        """The adjoint recurrence of every state, in terms of state adjoints and the loss."""
        return [eq for s in self.state_names for eq in self.adjoint_equations(s, inlined=True)]

    def variable_equations(self) -> list[Equation]:
        """dL/dX for every assigned variable, each in terms of its consumers' adjoints."""
        names = [a.name for a in reversed(self.network.assignments) if a.target != self.network.objective]
        return [eq for n in names for eq in self.adjoint_equations(n)]

    # ------------------------------------------------------------------ Jacobians

    def step_jacobian(self, of: str, wrt: str | None = None, index=t) -> MatrixExpr:
        """ds_index/ds'_{index-1} (numerator layout, as every Jacobian here)."""
        jac = substitute(self.step_jacobians[(of, wrt or of)], {t: index})
        if isinstance(jac, MatAdd):  # several paths: shown by name (defined once)
            now = {s.name: s.now for s in self.states}
            return StepJacobian(jac, now[of].at(index), now[wrt or of].at(index - 1))
        return jac

    def _free_index(self, *letters: str, avoid=()) -> Symbol:
        """The first of ``letters`` that names nothing of the network (nor ``avoid``), as an index symbol."""
        taken = self.network.variable_names | {x.name for x in self.network.inputs + self.network.target_symbols}
        taken |= set(self.network.sizes_default) | {str(h) for h in self.network.hypers} | set(avoid)
        letter = next((x for x in letters if x not in taken), letters[-1] + "'")
        return i if letter == "i" else Symbol(letter, integer=True)

    @property
    def product_index(self) -> Symbol:
        """The index of a product over steps: i, or j where the network names something i
        (an LSTM's input gate i_t)."""
        return self._free_index("i", "j", "q", "r", avoid=self._stack_letter())

    def jacobian_product(self, state: str, upper=t, lower=k) -> MatrixExpr:
        """dh_upper/dh_lower = prod_{i=lower+1}^{upper} J_i, in decreasing i."""
        index = self.product_index
        return TimeProduct(self.step_jacobian(state, state, index), index, lower + 1, upper)

    def direct_path_states(self) -> list:
        """States whose products of one-step Jacobians are worth showing: every state of a
        one-state network; with several states (h_t and C_t), only those carried by a diagonal
        Jacobian (the cell path dC_t/dC_{t-1} = diag(f_t)), where the product is the direct
        path; the full dC_t/dC_k also runs through the other states."""
        forward = [s for s in self.states if s.direction == "forward"]
        if len(self.states) == 1:
            return forward
        return [s for s in forward if isinstance(self.step_jacobians[(s.name, s.name)], Diag)]

    def jacobian_equations(self) -> list[Equation]:
        eqs = []
        for s in self.states:
            for s2 in self.states:
                jac = self.step_jacobians[(s.name, s2.name)]
                if not isinstance(jac, ZeroMatrix):
                    eqs.append(Equation(Jac(s.now, s2.carried), jac))
        single = len(self.states) == 1
        for s in self.states:
            if s in self.direct_path_states():
                note = ("k < t; the empty product (k = t) is the identity" if single else
                        "along the direct path only, k < t; paths through the other states add to it")
                eqs.append(Equation(Jac(s.now, s.now.at(k)), self.jacobian_product(s.name), note=note))
        return eqs

    # ------------------------------------------------------------------ BPTT

    @property
    def single_forward_state(self) -> bool:
        """One state, forward in time: the network whose one-step Jacobian a bound can read."""
        return len(self.states) == 1 and self.states[0].direction == "forward"

    @property
    def unrolls(self) -> bool:
        """Every state runs forward in time: the network the BPTT double sum and closed form are
        for (several states are stacked into one, z_t = [h_t; C_t])."""
        return bool(self.states) and all(s.direction == "forward" for s in self.states)

    @property
    def stacked(self) -> bool:
        return self.unrolls and len(self.states) > 1

    @property
    def stacked_state(self) -> MatrixExpr:
        """The state BPTT runs over: the one state, or the stack z_t of all of them (a name for
        the documents only, chosen so that it names nothing of the network)."""
        if not self.stacked:
            return self.states[0].now
        rows = sum((s.shape[0] for s in self.states), Integer(0))
        return TimeSym(self._stack_letter()[0], t, rows, 1)

    def _stack_letter(self) -> tuple:
        """The stack's name, (z,) or the next free letter, for several states; () for one."""
        if not self.stacked:
            return ()
        return (self._free_index("z", "s", "u", "v").name,)

    def _offsets(self):
        """(state name, first row, last row + 1) of each state in the stack."""
        start, spans = Integer(0), []
        for s in self.states:
            spans.append((s.name, start, start + s.shape[0]))
            start = start + s.shape[0]
        return spans

    def stacked_step_jacobian(self, index=t) -> MatrixExpr:
        """∂z_index/∂z_{index-1}: the one-step Jacobian, in blocks for several states."""
        names = self.state_names
        if len(names) == 1:
            return self.step_jacobian(names[0], names[0], index)
        z = self.stacked_state
        return StepJacobian(self.stack_block(index), z.at(index), z.at(index - 1))  # shown by name

    def stack_block(self, index=t) -> MatrixExpr:
        """The blocks of ∂z_index/∂z_{index-1}: row a, column b is ∂a_index/∂b_{index-1}."""
        now = {s.name: s.now for s in self.states}

        def block(a, b):
            jac = self.step_jacobian(a, b, index)
            if isinstance(jac, (ZeroMatrix, Diag, StepJacobian)):
                return jac
            return StepJacobian(jac, now[a].at(index), now[b].at(index - 1))  # by name: a block stays narrow

        return Block([[block(a, b) for b in self.state_names] for a in self.state_names])

    def bptt_params(self) -> list[MatrixSymbol]:
        """Parameters reached inside the recurrence."""
        if not self.unrolls:
            return []
        return [p for p in self.params if any((s, p.name) in self.param_vjps for s in self.state_names)]

    @property
    def loss_at_last_step(self) -> bool:
        """True when only the last step's state feeds the loss (dL_t/dz_t = 0 for t < T)."""
        every = [self._loss_share(name, ALWAYS) for name in self.state_names]
        last = [self._loss_share(name, LAST) for name in self.state_names]
        return all(isinstance(e, ZeroMatrix) for e in every) and not all(isinstance(e, ZeroMatrix) for e in last)

    def _inlined_share(self, name: str, when: str):
        """The terms of a state's adjoint of one kind (ALWAYS: at its own step; LAST: at T), every
        intermediate adjoint written out and the states' own adjoints kept; None if there are none."""
        terms = [c.expr for c in self.adjoints[name].terms if c.when == when]
        return self.inline(add(*terms), self.state_names) if terms else None

    def _loss_share(self, name: str, when: str) -> MatrixExpr:
        """The loss's own derivative at a state, ∂L_t/∂X_t with the other states of the step held
        fixed: its inlined terms with every state's adjoint at the same step set to zero, for the
        paths through another state of the step (C_t → a_o,t → o_t → h_t with peepholes) belong to
        the stack's Jacobian, not to the loss."""
        state = next(s for s in self.states if s.name == name)
        expr = self._inlined_share(name, when)
        if expr is None:
            return ZeroMatrix(*state.shape)
        index = T if when == LAST else t
        zero = {g: ZeroMatrix(*g.shape) for g in lay.grads_in(expr)
                if g.var.name in self.state_names and getattr(g.var, "index", None) == index}
        expr = substitute(expr, zero)
        if expr == 0 or isinstance(expr, ZeroMatrix) or getattr(expr, "is_ZeroMatrix", False):
            return ZeroMatrix(*state.shape)
        return expr

    def states_read_in_step(self) -> list:
        """(state, the states that read it within the same step, directly or through the step's
        variables): C_t and h_t = o_t ⊙ tanh(C_t)."""
        by_name = {s.name: s for s in self.states}
        found = []
        for s in self.states:
            expr = self._inlined_share(s.name, ALWAYS)
            grads = lay.grads_in(expr) if expr is not None else []
            readers = [by_name[g.var.name] for g in grads
                       if g.var.name in by_name and g.var.name != s.name and getattr(g.var, "index", None) == t]
            if readers:
                found.append((s, list(dict.fromkeys(readers))))
        return found

    def local_grad(self, index=t, steps=None, whens=(ALWAYS,)) -> MatrixExpr:
        """∂L_index/∂z_index: the loss term at step ``index`` alone, in denominator layout (a
        column of blocks for several states).

        The loss's own share at step t (every path from z_t not through z_{t+1} nor through
        another state of step t); a head on z_T adds its term when index is the last step (T, or
        ``steps``), or alone with ``whens=(LAST,)``.
        """
        last = index == T or (steps is not None and index == steps)
        parts = []
        for name in self.state_names:
            expr = None
            if ALWAYS in whens:
                share = self._loss_share(name, ALWAYS)
                expr = None if isinstance(share, ZeroMatrix) else substitute(share, {t: index})
            if LAST in whens or last:
                share = self._loss_share(name, LAST)
                if not isinstance(share, ZeroMatrix):
                    share = share if steps is None else substitute(share, {T: steps})
                    expr = share if expr is None else add(expr, share)
            state = next(s for s in self.states if s.name == name)
            parts.append(expr if expr is not None else ZeroMatrix(*state.shape))
        return parts[0] if len(parts) == 1 else Block([[p] for p in parts])

    def _local_row(self, local):
        """∂L_t/∂z_t as a row (numerator layout)."""
        if isinstance(local, Block):
            return Block([[lay.to_row(row[0]) for row in local.rows]])
        return lay.to_row(local)

    def bptt_sum(self, param: str) -> MatrixExpr:
        """dL/dtheta as the double sum of the general (t, k) term (the sum over k alone when
        only z_T is in the loss), plus the sum over k of a head on z_T where the loss also has
        one besides its terms at every step."""
        term = self.bptt_term(param)
        if self.loss_at_last_step:
            return TimeSum(term, k, 1, T)
        total = TimeSum(TimeSum(term, k, 1, t), t, 1, T)
        head = self.bptt_head_term(param)
        return total if head is None else add(total, TimeSum(head, k, 1, T))

    def bptt_head_term(self, param: str):
        """The k-th term of a head on z_T where the loss also has terms at every step (None
        without one): (dH/dz_T)(dz_T/dz_k)(dz_k/dtheta)."""
        if self.loss_at_last_step:
            return None
        head = self.local_grad(T, whens=(LAST,))
        return None if _all_zero(head) else self.bptt_term(param, T, k, local=head)

    def bptt_term(self, param: str, upper=t, lower=k, steps=None, local=None) -> MatrixExpr:
        """The (t, k) term of dL/dtheta = sum_t sum_{k<=t} (dL_t/dz_t)(dz_t/dz_k)(dz_k/dtheta)
        (``local`` in place of dL_t/dz_t where given: a head on z_T)."""
        if self.loss_at_last_step and steps is None:
            upper = T
        product = self.state_product(upper, lower)
        local = self.local_grad(upper, steps) if local is None else local
        theta = next(p for p in self.params if p.name == param)
        if self.layout == "denominator":
            reaching = local if isinstance(product, Identity) else matmul(transpose(product), local)
            parts = []
            for j, (name, start, stop) in enumerate(self._offsets()):
                if (name, param) not in self.param_vjps:
                    continue
                if len(self.states) == 1:
                    seed = reaching
                elif isinstance(reaching, Block):  # k = t: the loss's own block, no product to slice
                    seed = reaching.rows[j][0]
                else:
                    seed = RowSlice(reaching, start, stop)
                if isinstance(seed, ZeroMatrix):  # the loss does not read this state at step t
                    continue
                vjp = substitute(self.param_vjps[(name, param)], {t: lower})
                parts.append(substitute(vjp, {self.seeds[name]: seed}))
            return add(*parts) if parts else ZeroMatrix(*theta.shape)
        blocks = []
        now = {s.name: s.now for s in self.states}
        for name, start, stop in self._offsets():
            if (name, param) in self.param_vjps:
                vjp = substitute(self.param_vjps[(name, param)], {t: lower})
                jac = lay.param_jacobian(vjp, self.seeds[name], theta)
                # in blocks, by name (∂h_k/∂W within step k): a column of them stays narrow
                blocks.append(jac if len(self.states) == 1 else StepJacobian(jac, now[name].at(lower), theta))
            else:
                blocks.append(ZeroMatrix(stop - start, theta.shape[0] * theta.shape[1]))
        dz_dtheta = blocks[0] if len(blocks) == 1 else Block([[b] for b in blocks])
        return matmul(self._local_row(local), product, dz_dtheta)

    @property
    def closed_form_index(self) -> Symbol:
        """The step s ≥ t whose loss the closed form sums: s, or u where the network names an s."""
        return self._free_index("s", "u", "r", "q", avoid=(*self._stack_letter(), str(self.product_index)))

    def closed_form(self) -> Equation:
        """dL/dz_t without recursion: sum_{s=t}^{T} (dL_s/dz_s)(dz_s/dz_t) (only s = T when the
        loss sits on the last step); for several states, the stack of their adjoints."""
        m = self.closed_form_index
        upper = T if self.loss_at_last_step else m
        product, local = self.state_product(upper, t), self.local_grad(upper)
        rhs = self.reach(product, local)
        if not self.loss_at_last_step:
            rhs = TimeSum(rhs, m, t, T)
            head = self.local_grad(T, whens=(LAST,))
            if not _all_zero(head):  # a head on z_T besides the loss at every step
                rhs = add(rhs, self.reach(self.state_product(T, t), head))
        return Equation(self.lhs(self.stacked_state), rhs)

    def reach(self, product, local):
        """The loss's share ``local`` carried back through ``product``, in this layout."""
        if self.layout == "denominator":
            return matmul(transpose(product), local)
        return matmul(self._local_row(local), product)

    def stack_equations(self) -> list[Equation]:
        """For several states: the stack z_t = [h_t; C_t], its one-step Jacobian in blocks and
        their product (numerator layout, as every Jacobian here)."""
        if not self.stacked:
            return []
        z = self.stacked_state
        stack = Block([[s.now] for s in self.states])
        return [Equation(z, stack, note="each state a coordinate of its own"),
                Equation(Jac(z, z.at(t - 1)), self.stack_block(t)),
                Equation(Jac(z, z.at(k)), self.state_product(t, k), note="k < t; the empty product is the identity")]

    def state_product(self, upper, lower):
        """dz_upper/dz_lower; the identity for upper = lower. One factor stays a product of one, so
        that the (2, 1) term is written as the (3, 1) term is, (J₂)ᵀ beside (J₃ J₂)ᵀ, and not with
        its transpose distributed over the factors of J₂."""
        if upper == lower:
            return Identity(self.stacked_state.shape[0])
        index = self.product_index
        return TimeProduct(self.stacked_step_jacobian(index), index, lower + 1, upper)

    def bptt_symbolic(self, param: str) -> Equation:
        """dL/dtheta = sum_t sum_{k<=t} (dL_t/dz_t)(dz_t/dz_k)(dz_k/dtheta), with the general term."""
        z = self.stacked_state
        theta = next(p for p in self.params if p.name == param)
        upper = T if self.loss_at_last_step else t
        generic = matmul(LocalGrad(z.at(upper)), Jac(z.at(upper), z.at(k)), Jac(z.at(k), theta))
        double = TimeSum(generic, k, 1, T) if self.loss_at_last_step else TimeSum(TimeSum(generic, k, 1, t), t, 1, T)
        head = self.bptt_head_term(param)
        if head is not None:  # a head on z_T besides the loss at every step: its terms written out
            double = add(double, TimeSum(head, k, 1, T))
        return Equation(self.lhs(theta), double, note=str(self.bptt_term(param)))

    def bptt_pairs(self, steps: int):
        """The (t, k) of every term of the double sum for T = ``steps``, in order, one at a time:
        T(T+1)/2 pairs, or the T with t = T when the loss sits on the last step."""
        ts = [steps] if self.loss_at_last_step else range(1, steps + 1)
        return ((tt, kk) for tt in ts for kk in range(1, tt + 1))

    def bptt_count(self, steps: int) -> int:
        return steps if self.loss_at_last_step else steps * (steps + 1) // 2

    def bptt_shown(self, steps: int, head: int, tail: int, full: int) -> list:
        """The pairs a reader is shown: all of them up to ``full``, else the first ``head``, None
        (the elided middle) and the last ``tail`` — found without listing the rest, so that
        showing T = 100 000 costs what T = 10 does."""
        if self.bptt_count(steps) <= max(full, head + tail + 1):  # never "1 more term" for one term
            return list(self.bptt_pairs(steps))
        first = list(itertools.islice(self.bptt_pairs(steps), head))
        last = [(steps, kk) for kk in range(steps - tail + 1, steps + 1)]  # the last row is t = T in both sums
        return first + [None] + last

    def bptt_terms(self, param: str, steps: int):
        """Every (t, k, term) of the double sum for T = ``steps``, built lazily."""
        for tt, kk in self.bptt_pairs(steps):
            yield tt, kk, self.bptt_term(param, Integer(tt), Integer(kk), Integer(steps))


def _all_zero(local) -> bool:
    """A loss share that is zero in every block."""
    if isinstance(local, Block):
        return all(isinstance(row[0], ZeroMatrix) for row in local.rows)
    return isinstance(local, ZeroMatrix)
