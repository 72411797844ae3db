"""Reverse mode over the unrolled-in-time graph, symbolically and at matrix level.

Each assignment ``target := expr`` is differentiated once, for a symbolic step t: its
expression tree is walked from the top with the upstream gradient dL/dtarget, applying the
rule of each node (``rules.rule_for``: a primitive's own, else the algebra's), down to the
variables it reads. Where a variable is read fixes which adjoint the gradient joins and when:

    x_t    in the step at t   -> dL/dx_t, every t
    h_{t-1} in the step at t  -> dL/dh_t shifted to t + 1, for t < T
    h_T    after the loop     -> dL/dh_t at t = T
    theta  in the step at t   -> dL/dtheta, summed over t

Nothing is expanded into scalars and nothing depends on T, so the cost is that of one step.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from sympy.matrices.expressions import MatrixExpr, MatrixSymbol, ZeroMatrix

from derive.algebra import add, linear_map, substitute, transpose
from derive.derivation import (
    AFTER_FIRST,
    ALWAYS,
    BEFORE_LAST,
    FIRST,
    LAST,
    STATIC,
    SUMMED,
    Adjoint,
    Contribution,
    Derivation,
    Step,
)
from derive.network import Assignment, DeclarationError, Network, reads
from derive.nodes import Grad, T, TimeSum, TimeSym, t
from derive.rules import FUSED, rule_for, rule_kind


@dataclass(frozen=True)
class Reach:
    """The gradient that reaches a variable read in an expression."""

    leaf: MatrixExpr
    grad: MatrixExpr
    rules: tuple
    in_time: bool  # read at step t (inside the step or a sum over t)
    chain: MatrixExpr | None = None
    fused: bool = False


def _leaf_name(x):
    if isinstance(x, (MatrixSymbol, TimeSym)):
        return x.name
    return None


class Deriver:
    def __init__(self, network: Network):
        self.net = network
        self.wrt = network.variable_names
        self.state_names = {s.name for s in network.states}
        self.directions = {s.name: s.direction for s in network.states}
        self.learned = {s.name: s for s in network.states if s.learned is not None}
        self.initial_terms: dict[str, list] = {}  # what reaches a learned h_0, by state
        self.by_name = {a.name: a for a in network.assignments}
        self.uses = Counter(name for a in network.assignments for name in reads(a.expr))
        self.adjoints: dict[str, Adjoint] = {}
        for p in network.params:
            self.adjoints[p.name] = Adjoint(p)
        for a in network.assignments:
            self.adjoints[a.name] = Adjoint(a.target)
        self.steps: list[Step] = []

    # ------------------------------------------------------------------ one expression

    def depends(self, expr) -> bool:
        return bool(reads(expr) & self.wrt)

    def backprop(self, expr, g, ans, in_time: bool) -> list[Reach]:
        """Every (variable, gradient) reached from ``expr`` given the upstream gradient g."""
        name = _leaf_name(expr)
        if name is not None:
            return [Reach(expr, g, (), in_time)] if name in self.wrt else []
        fused = self._inline_fused(expr, g)
        if fused is not None:
            inner, grad = fused
            return [Reach(r.leaf, r.grad, (type(inner), type(expr)) + r.rules, r.in_time, r.chain, True)
                    for r in self.backprop(inner.args[0], grad, inner.args[0], in_time)]
        grads = rule_for(expr)(g, expr, ans)
        inner_time = in_time or isinstance(expr, TimeSum)
        reaches = []
        for arg, grad in zip(expr.args, grads, strict=True):
            if grad is None or not isinstance(arg, MatrixExpr) or not self.depends(arg):
                continue
            for r in self.backprop(arg, grad, arg, inner_time):
                reaches.append(Reach(r.leaf, r.grad, (rule_kind(expr),) + r.rules, r.in_time, r.chain, r.fused))
        return reaches

    def _inline_fused(self, expr, g):
        """loss(f(x), y) written in one expression, with a fused rule for (f, loss)."""
        if not expr.args or not isinstance(expr.args[0], MatrixExpr):
            return None
        inner = expr.args[0]
        rule = FUSED.get((type(inner), type(expr)))
        if rule is None:
            return None
        return inner, rule(g, inner, expr.args[1])

    # ------------------------------------------------------------------ assignments

    def seed(self, target) -> MatrixExpr:
        """The upstream gradient of an assignment: dL/dtarget, or its value when constant."""
        if target == self.net.objective:
            return 1
        adj = self.adjoints[target.name]
        return adj.terms[0].expr if adj.is_constant else Grad(target)

    def _fused_assignment(self, a: Assignment):
        """p := f(x) read only by l := loss(p, y), with a fused rule for (f, loss)."""
        if self.uses[a.name] != 1:
            return None
        consumers = [c for c in self.net.assignments if a.name in reads(c.expr)]
        loss = consumers[0].expr
        rule = FUSED.get((type(a.expr), type(loss)))
        if rule is None or loss.args[0] != a.target:
            return None
        grad = rule(self.seed(consumers[0].target), a.target, loss.args[1])
        chain = rule_for(a.expr)(Grad(a.target), a.expr, a.target)[0]
        return grad, chain, type(loss)

    def process(self, a: Assignment) -> None:
        fused = self._fused_assignment(a)
        if fused is not None:
            grad, chain, loss_type = fused
            arg = a.expr.args[0]
            reaches = [Reach(r.leaf, r.grad, (rule_kind(a.expr), loss_type) + r.rules, r.in_time,
                             chain if r.leaf == arg else None, True)
                       for r in self.backprop(arg, grad, arg, a.per_step)]
        else:
            reaches = self.backprop(a.expr, self.seed(a.target), a.target, a.per_step)
        for r in reaches:
            self.steps.append(Step(r.leaf, a.target, r.rules, r.grad, r.chain, r.fused))
            name, when, expr = self.place(r)
            self.adjoints[name].terms.append(Contribution(expr, a.target, when, r.rules, r.chain))
            self._into_learned_initial(r, a)

    def _into_learned_initial(self, r: Reach, a: Assignment) -> None:
        """A state's learned boundary value s (h_0 = s) gets what reaches h_{t-1} from step 1
        (g_{t+1} from step T for a state running backward): ∂L/∂s = ∂L/∂h_0."""
        state = self.learned.get(r.leaf.name) if isinstance(r.leaf, TimeSym) and r.in_time else None
        if state is None or r.leaf != state.carried:
            return
        edge = 1 if state.direction == "forward" else T
        grad = substitute(r.grad, {t: edge})
        param = state.learned
        self.steps.append(Step(state.initial, a.target.at(edge) if isinstance(a.target, TimeSym) else a.target,
                               r.rules, grad, r.chain, r.fused))
        self.adjoints[param.name].terms.append(Contribution(grad, a.target, STATIC, r.rules, r.chain))
        self.initial_terms.setdefault(state.name, []).append(grad)

    def place(self, r: Reach):
        """Which adjoint a reached variable's gradient joins, and when it holds."""
        leaf, name = r.leaf, r.leaf.name
        if not isinstance(leaf, TimeSym):  # a parameter or a value computed once
            if r.in_time:  # read at every step: the sum over t
                return name, SUMMED, r.grad
            return name, STATIC if leaf in self.net.params else ALWAYS, r.grad
        shift = leaf.index - t
        if r.in_time and shift == 0:
            return name, ALWAYS, r.grad
        if r.in_time and shift == -1 and self.directions.get(name) == "forward":
            return name, BEFORE_LAST, substitute(r.grad, {t: t + 1})
        if r.in_time and shift == 1 and self.directions.get(name) == "backward":
            return name, AFTER_FIRST, substitute(r.grad, {t: t - 1})
        if not r.in_time and leaf.index == T:
            return name, LAST, r.grad
        if not r.in_time and leaf.index == 1:
            return name, FIRST, r.grad
        raise DeclarationError(f"{name} is read at index {leaf.index}, which derive cannot place")

    def order(self) -> list[Assignment]:
        """Assignments in reverse order of evaluation, so each adjoint is complete when used."""
        return [a for phase in reversed(self.net.phases()) for a in reversed(phase.assignments)]

    # ------------------------------------------------------------------ within one step

    def within_step(self, seed_state: str, seed) -> dict[MatrixExpr, MatrixExpr]:
        """Propagate a seed at state s_t through one step only: the gradient at every
        previous state s'_{t-1} and parameter (the step's VJP, not the loss)."""
        adj = {seed_state: seed}
        out = defaultdict(list)
        for a in reversed(self.net.per_step_order()):
            if a.name not in adj:
                continue
            for r in self.backprop(a.expr, adj[a.name], a.target, True):
                leaf = r.leaf
                if isinstance(leaf, TimeSym) and leaf.index == t and leaf.name in self.by_name:
                    adj[leaf.name] = add(adj[leaf.name], r.grad) if leaf.name in adj else r.grad
                else:  # a previous state or a parameter
                    out[leaf].append(r.grad)
        return {leaf: add(*grads) for leaf, grads in out.items()}

    def jacobians(self):
        seeds, step_jacobians, param_vjps = {}, {}, {}
        for s in self.net.states:
            seeds[s.name] = MatrixSymbol(f"_seed_{s.name}", *s.shape)
            reached = self.within_step(s.name, seeds[s.name])
            for s2 in self.net.states:
                vjp = reached.get(s2.carried)
                if vjp is None:
                    step_jacobians[(s.name, s2.name)] = ZeroMatrix(s.shape[0], s2.shape[0])
                else:
                    step_jacobians[(s.name, s2.name)] = transpose(linear_map(vjp, seeds[s.name]))
            for p in self.net.params:
                if p in reached:
                    param_vjps[(s.name, p.name)] = reached[p]
        return seeds, step_jacobians, param_vjps

    def run(self, layout: str) -> Derivation:
        for a in self.order():
            self.process(a)
        # Terms read best in the order the forward pass declares their paths.
        position = {a.name: j for j, a in enumerate(self.net.assignments)}
        for adj in self.adjoints.values():
            adj.terms.sort(key=lambda c: position[c.via.name])
        seeds, step_jacobians, param_vjps = self.jacobians() if self.net.states else ({}, {}, {})
        initial = {name: add(*terms) for name, terms in self.initial_terms.items()}
        return Derivation(self.net, layout, self.steps, self.adjoints, step_jacobians, param_vjps, seeds, initial)


def derive(network: Network, layout: str = "denominator") -> Derivation:
    """Every dL/dtheta of ``network``, with its adjoints, Jacobians and chain-rule steps."""
    if layout not in ("denominator", "numerator"):
        raise ValueError("layout must be 'denominator' or 'numerator'")
    return Deriver(network).run(layout)

