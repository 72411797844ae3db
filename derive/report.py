"""The terminal view of a derivation (``derive show``): every section as aligned Unicode lines."""

from __future__ import annotations

from sympy import Integer

from derive.derivation import Derivation, Equation
from derive.printing.unicode import UnicodePrinter
from derive.printing.words import FUSED_LABELS, rule_label, shown_rules

# A long unrolled double sum shows its first and last terms only.
HEAD_TERMS, TAIL_TERMS = 3, 2


def _aligned(rows: list[tuple[str, str, str]], indent: str = "  ") -> list[str]:
    """(lhs, rhs, suffix) rows with the '=' signs in one column."""
    width = max((len(lhs) for lhs, _, _ in rows), default=0)
    return [f"{indent}{lhs.ljust(width)} = {rhs}{suffix}".rstrip() for lhs, rhs, suffix in rows]


class TerminalReport:
    def _dim(self, size) -> str:
        """A size, in parentheses when it is a sum (n + d columns of an LSTM's W_f)."""
        text = self.show(size)
        return f"({text})" if size.is_Add else text

    def __init__(self, derivation: Derivation, steps: int):
        self.d = derivation
        self.net = derivation.network
        self.steps = steps
        self.p = UnicodePrinter(self.net.notation, objective=self.net.objective.name)

    def show(self, expr) -> str:
        return self.p.doprint(expr)

    def row(self, eq: Equation) -> tuple[str, str, str]:
        suffix = ""
        if eq.condition is not None:
            suffix = f"    ({self.show(eq.condition)})"
        elif eq.note:
            suffix = f"    ({eq.note})"
        return self.show(eq.lhs), self.show(eq.rhs), suffix

    def section(self, title: str, equations: list[Equation]) -> list[str]:
        if not equations:
            return []
        return ["", title] + _aligned([self.row(eq) for eq in equations])

    def header(self) -> list[str]:
        options = ", ".join(f"{k}={v}" for k, v in self.net.options.items())
        sizes = ", ".join(f"{k}={v}" for k, v in self.net.sizes_default.items() if k != "T")
        time = f" · T = {self.steps}" if self.net.sequential else ""
        source = f" (seed {self.net.seed})" if self.net.seed else ""
        notes = "; ".join(f"{k} {v}" for k, v in self.net.size_notes.items())
        return [f"{self.net.name}{source} · {self.d.layout} layout{time}",
                *([f"  options: {options}"] if options else []), f"  sizes: {sizes}" + (f" ({notes})" if notes else "")]

    def forward(self) -> list[str]:
        params = ", ".join(f"{self.show(p)} ∈ ℝ^({self._dim(p.shape[0])}×{self._dim(p.shape[1])})"
                           for p in self.net.params)
        rows = [(self.show(a.target), self.show(a.expr), "") for a in self.net.assignments]
        lines = ["", "Forward"] + _aligned(rows)
        if self.net.states:
            lines.append("  " + ", ".join(f"{self.show(s.initial)} = {self.show(s.learned) if s.learned else 0}"
                                          for s in self.net.states))
        return lines + [f"  parameters: {params}"]

    def chain_steps(self) -> list[str]:
        lines = ["", "Chain-rule steps (reverse mode)"]
        params = set(self.net.params)
        for number, step in enumerate(self.d.steps, 1):
            rules = " ∘ ".join(rule_label(r) for r in shown_rules(step.rules)) or "identity"
            if step.fused:
                rules = f"fused {FUSED_LABELS[step.rules[:2]]}"
            param = step.wrt if step.wrt in params else None
            result = self.d.as_layout(step.result, param)
            lines.append(f"  {number:>2}. ∂{self.p.name(self.net.objective.name)}/∂{self.show(step.wrt)}"
                         f" via {self.show(step.via)}  [{rules}]: {self.show(result)}")
            if step.chain is not None:
                lines.append(f"      = {self.show(self.d.as_layout(step.chain, param))} before simplifying")
        return lines

    def bptt(self) -> list[str]:
        params = self.d.bptt_params()
        if not params:
            return []
        count = self.d.bptt_count(self.steps)
        lines = ["", f"Backprop through time, unrolled for T = {self.steps} ({count} terms per parameter)"]
        shown = self.d.bptt_shown(self.steps, HEAD_TERMS, TAIL_TERMS, HEAD_TERMS + TAIL_TERMS)
        for theta in params:
            general = self.d.bptt_symbolic(theta.name)
            lines += _aligned([(self.show(general.lhs), self.show(general.rhs), "")])
            lines.append(f"    term (t, k) = {self.show(self.d.bptt_term(theta.name))}")
            for pair in shown:
                if pair is None:
                    lines.append(f"    ⋯ {count - HEAD_TERMS - TAIL_TERMS} more terms ⋯")
                    continue
                term = self.d.bptt_term(theta.name, Integer(pair[0]), Integer(pair[1]), Integer(self.steps))
                lines.append(f"    (t={pair[0]}, k={pair[1]})  {self.show(term)}")
        return lines

    def render(self) -> str:
        d = self.d
        lines = self.header() + self.forward() + self.chain_steps()
        lines += self.section("Adjoints (each in terms of its consumers)", d.variable_equations())
        if d.states:
            recurrences = d.recurrences()
            if d.unrolls:
                recurrences += d.stack_equations()[:1] + [d.closed_form()]
            lines += self.section("Adjoint recurrence", recurrences)
        lines += self.section("Gradients", d.gradient_equations())
        lines += self.section("Jacobians (numerator layout)", d.jacobian_equations() + d.stack_equations()[1:])
        lines += self.bptt()
        return "\n".join(lines) + "\n"
