"""The content of a LaTeX derivation document: sections of sentences and displayed equations,
all printed from the ``Derivation`` (nothing is derived here). The Jinja2 template in
templates/latex/ lays them out; ``render`` gives the .tex source.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sympy import Integer
from sympy.matrices.expressions import MatrixSymbol

from derive import templates
from derive.algebra import add, matmul, substitute, transpose
from derive.derivation import AFTER_FIRST, ALWAYS, BEFORE_LAST, FIRST, LAST, Derivation
from derive.latex_conv import MAX_EXPANDED_OUTPUTS, conv_expansions
from derive.network import reads
from derive.nodes import Grad, Jac, LocalGrad, RowGrad, T, TimeSum, TimeSym, k, t
from derive.printing import describe, latex_layout
from derive.printing.latex import LatexPrinter
from derive.printing.words import FUSED_PHRASES, phrase, rule_phrase, shown_rules

# An unrolled double sum longer than this shows its first and last terms with \cdots.
HEAD_TERMS, TAIL_TERMS = 3, 2
FULL_EXPANSION = 10


@dataclass
class Item:
    """A paragraph of text, or a displayed block of equations (align* lines)."""

    text: str = ""
    lines: list[str] = field(default_factory=list)
    table: list[list[str]] = field(default_factory=list)  # a header row, then rows (math or text cells)
    figure: str = ""  # an image file beside the document, ``text`` its caption


@dataclass
class Section:
    title: str
    items: list[Item] = field(default_factory=list)

    def say(self, text: str) -> None:
        self.items.append(Item(text=text))

    def show(self, lines: list[str]) -> None:
        if lines:
            self.items.append(Item(lines=lines))


class Document:
    def __init__(self, derivation: Derivation, steps: int, lang: str = "en", extra: list[Section] | None = None):
        self.d = derivation
        self.extra = extra or []  # sections made elsewhere (derive analyze's), after the derivation
        self.net = derivation.network
        self.steps = steps
        self.lang = lang
        self.p = LatexPrinter(self.net.notation, objective=self.net.objective.name)
        self.numerator = derivation.layout == "numerator"

    def say(self, key: str, **values) -> str:
        return phrase(self.lang, key, **values)

    def m(self, expr) -> str:
        """Inline math."""
        return f"${self.p.doprint(expr)}$"

    def _dim(self, size) -> str:
        """A size, in parentheses when it is a sum (n + d columns of an LSTM's W_f)."""
        text = self.p.doprint(size)
        return f"({text})" if size.is_Add else text

    def eq(self, lhs, rhs, condition=None, note: str = "") -> list[str]:
        suffix = ""
        if condition is not None:
            suffix = rf"\qquad ({self.p.doprint(condition)})"
        elif note:
            suffix = rf"\qquad \text{{({note})}}"
        lhs_tex = lhs if isinstance(lhs, str) else self.p.doprint(lhs)
        return latex_layout.lines(lhs_tex, rhs, self.p, suffix)

    # ---------------------------------------------------------------- sections

    def network(self) -> Section:
        s = Section(self.say("network_title"))
        params = ", ".join(rf"${self.p.doprint(p)} \in \mathbb{{R}}^{{{self._dim(p.shape[0])} \times "
                           rf"{self._dim(p.shape[1])}}}$" for p in self.net.params)
        what = describe.features(self.net, self.p, self.lang, self.d.unrolls and self.d.loss_at_last_step)
        intro = self.say("network_intro" if what else "network_intro_plain", kind=describe.kind(self.net, self.lang),
                         features=what)
        s.say(intro + " " + self.say("parameters", params=params))
        lines = []
        for a in self.net.assignments:
            lines += self.eq(a.target, a.expr)
        s.show(lines)
        if self.net.sequential:
            initial = ", ".join(rf"${self.p.doprint(st.initial)} = "
                                + (self.p.doprint(st.learned) if st.learned is not None else r"\mathbf{0}") + "$"
                                for st in self.net.states)
            s.say(self.say("time_range", initial=initial))
        return s

    def conventions(self) -> Section:
        s = Section(self.say("conventions_title"))
        s.say(self.say("layout_" + self.d.layout, objective=self.p.name(self.net.objective.name)))
        s.say(self.say("adjoint_meaning", objective=self.p.name(self.net.objective.name)))
        legend = self._derivative_legend()
        if legend:
            s.say(self.say("derivatives"))
            s.show(legend)
        return s

    def _fused_names(self, argument) -> dict[str, str]:
        """z, p and y of a fused rule's sentence in the model's own symbols: the argument z, the
        prediction p = f(z) and the target y of the loss that reads p (y_pred and y_gt, not p and y)."""
        from derive.nodes import LOSSES

        p = y = None
        for a in self.net.assignments:
            for node in _walk(a.expr):
                if isinstance(node, LOSSES) and len(node.args) >= 2:
                    prediction = node.args[0]
                    defined = next((b.expr for b in self.net.assignments if b.target == prediction), prediction)
                    if any(x == argument for x in _walk(defined)):
                        p, y = prediction, node.args[1]
        if p is None:
            return {"z": "z", "p": "p", "pt": r"p^{\top}", "y": "y"}
        return {"z": self.p.doprint(argument), "p": self.p.doprint(p), "pt": self.p.doprint(transpose(p)),
                "y": self.p.doprint(y)}

    def _derivative_legend(self) -> list[str]:
        """f'(x) for every activation the network uses, in the form the rule table gives it
        (from x and the forward result f(x))."""
        from sympy import Symbol

        from derive.nodes import Elementwise, Phi
        from derive.rules import derivative_of

        seen, lines = [], []
        for a in self.net.assignments:
            for node in _walk(a.expr):
                if isinstance(node, Elementwise) and not isinstance(node, Phi) and type(node) not in seen:
                    seen.append(type(node))
        x = MatrixSymbol("x", 1, 1)
        plain = LatexPrinter()  # x here is a placeholder, not the model's x
        for cls in seen:
            fx = plain.doprint(cls(x))
            rule = plain.doprint(derivative_of(cls(x))(Symbol("XX"), Symbol("ANS")))
            rule = rule.replace("ANS", fx).replace("XX", "x")
            rule = rule.replace(rf"{fx} > 0", "x > 0")  # ReLU(x) > 0 exactly when x > 0
            head = fx.rsplit("(", 1)[0]
            lines.append(rf"{head}'(x) &= {rule}")
        return lines

    def backward(self) -> Section:
        """Each adjoint: the chain rule over its consumers, then what the rules give."""
        s = Section(self.say("backward_title"))
        s.say(self.say("backward_intro"))
        objective = self.net.objective
        for a in reversed(self.net.assignments):
            if a.target == objective:
                continue
            adj = self.d.adjoints[a.name]
            fused = [c for c in adj.terms if c.chain is not None]
            lhs = self.d.lhs(a.target)
            lines = []
            chain = None if adj.is_constant else self._chain(adj)
            if chain is not None and self.p.doprint(chain) != self.p.doprint(lhs):  # read by the objective
                # alone, the chain rule would write ∂L/∂y = ∂L/∂y: nothing to show
                lines += self.eq(lhs, chain)
                if fused:
                    lines += self.eq("", self.d.as_layout(fused[0].chain))
            for j, eq in enumerate(self.d.adjoint_equations(a.name)):
                shown = "" if (lines and j == 0 and eq.lhs == lhs) else eq.lhs
                lines += self.eq(shown, eq.rhs, eq.condition, eq.note)
            rules = sorted({rule_phrase(self.lang, r) for c in adj.terms for r in shown_rules(c.rules)[:1]})
            text = self.say("adjoint_of", var=self.m(a.target), rules=", ".join(rules) or "—")
            if fused:
                names = self._fused_names(a.target)
                text += " " + self.say("fused", why=self.say(FUSED_PHRASES[fused[0].rules[:2]], **names))
            s.say(text)
            s.show(lines)
        return s

    def _chain(self, adj):
        """The chain rule for dL/dX: one product per consumer (Jacobians left symbolic)."""
        var = adj.var
        parts = []
        for c in adj.terms:
            via = c.via
            here = var
            if c.when == BEFORE_LAST:
                via = substitute(via, {t: t + 1})
            if c.when == AFTER_FIRST:
                via = substitute(via, {t: t - 1})
            if c.when in (LAST, FIRST):
                here = var.at(T if c.when == LAST else 1) if isinstance(var, TimeSym) else var
            if c.when in (LAST, FIRST) and isinstance(var, TimeSym):
                continue  # shown in the t = T (t = 1) case
            jac = Jac(via, here)
            if via == self.net.objective:  # dL/dL = 1: the chain starts here
                parts.append(jac if self.numerator else transpose(jac))
            elif self.numerator:
                parts.append(matmul(RowGrad(via), jac))
            else:
                parts.append(matmul(transpose(jac), Grad(via)))
        return add(*parts) if parts else Integer(0)

    def recurrence(self) -> Section | None:
        if not self.net.states:
            return None
        s = Section(self.say("recurrence_title"))
        s.say(self.say("recurrence_intro"))
        lines = []
        for eq in self.d.recurrences():
            lines += self.eq(eq.lhs, eq.rhs, eq.condition, eq.note)
        s.show(lines)
        if self.d.stacked:
            stack, step = self.d.stack_equations()[:2]
            s.say(self.say("stack", stack=self.m(stack.lhs)))
            s.show(self.eq(stack.lhs, stack.rhs) + self.eq(step.lhs, step.rhs))
            read = self.d.states_read_in_step()
            if read:
                s.say(self.say("stack_partial", adjoint=self.m(self.d.lhs(stack.lhs)),
                               read=self._and([self.m(x.now) for x, _ in read]),
                               readers=self._and([self.m(y.now) for _, ys in read for y in ys])))
        if self.d.unrolls:
            s.say(self.say("closed_form_last" if self.d.loss_at_last_step else "closed_form",
                           state=self.m(self.d.stacked_state),
                           index=self.p.doprint(self.d.closed_form_index)))
            eq = self.d.closed_form()
            s.show(self.eq(eq.lhs, eq.rhs))
        return s

    def _and(self, items: list[str]) -> str:
        items = list(dict.fromkeys(items))
        if len(items) <= 1:
            return "".join(items)
        return self.say("list_comma").join(items[:-1]) + self.say("and") + items[-1]

    def gradients(self) -> Section:
        s = Section(self.say("gradients_title"))
        s.say(self.say("gradients_intro" if self.net.sequential else "gradients_intro_static"))
        for state in (st for st in self.net.states if st.learned is not None):
            initial, param = self.p.doprint(state.initial), self.p.doprint(state.learned)
            objective = self.p.doprint(self.net.objective)
            # s read elsewhere too (a bias as well): ∂L/∂h_0 is one of the terms of ∂L/∂s
            alone = state.learned.name not in {name for a in self.net.assignments for name in reads(a.expr)}
            equation = rf"$\partial {objective}/\partial {param} = \partial {objective}/\partial {initial}$"
            s.say(self.say("learned_initial" if alone else "learned_initial_shared",
                           initial=f"${initial} = {param}$", equation=equation,
                           share=rf"$\partial {objective}/\partial {initial}$"))
        lines = []
        for p in self.net.params:
            chain = self.d.as_layout(self.d.gradient_expr(p.name), p)
            inlined = self.d.gradient_equations(inlined=True)
            lines += self.eq(self.d.lhs(p), chain)
            inline_rhs = next(eq.rhs for eq in inlined if eq.lhs.var == p)
            if inline_rhs != chain:
                lines += self.eq("", inline_rhs)
        s.show(lines)
        if self.numerator and any(p.shape[1] != 1 and p.shape[0] != 1 for p in self.net.params):
            s.say(self.say("kronecker", objective=self.p.name(self.net.objective.name)))
        return s

    def jacobians(self) -> Section | None:
        eqs = self.d.jacobian_equations()
        if not eqs:
            return None
        s = Section(self.say("jacobians_title"))
        s.say(self.say("jacobians_intro"))
        lines = []
        for eq in eqs:
            lines += self.eq(eq.lhs, eq.rhs)
        s.show(lines)
        if self.d.stacked:
            product = self.d.stack_equations()[2]
            s.say(self.say("stack_product", stack=self.m(self.d.stacked_state)))
            s.show(self.eq(product.lhs, product.rhs, note=self.say("empty_product")))
        if not self.numerator and self.d.bptt_params():  # the sums of the next section
            s.say(self.say("jacobians_denominator"))
        if len(self.d.states) > 1:
            for state in self.d.direct_path_states():
                gate = self.d.step_jacobians[(state.name, state.name)].vec  # diag(f_t): the gate f_t
                s.say(self.say("direct_path", state=self.m(state.now), gate=self.m(gate)))
        if self.d.single_forward_state and self.steps >= 3:
            state = self.d.state_names[0]
            h = self.d.states[0].now
            product = self.d.jacobian_product(state, Integer(3), Integer(1))
            s.say(self.say("product_example"))
            s.show(self.eq(Jac(h.at(3), h.at(1)), product))
        return s

    def bptt(self) -> Section | None:
        params = self.d.bptt_params()
        if not params:
            return None
        s = Section(self.say("bptt_title", steps=self.steps))
        count = self.d.bptt_count(self.steps)
        shown = self.d.bptt_shown(self.steps, HEAD_TERMS, TAIL_TERMS, FULL_EXPANSION)
        s.say(self.say("bptt_intro", count=count))
        for theta in params:
            general = self.d.bptt_symbolic(theta.name)
            lines = self.eq(general.lhs, general.rhs)
            lines += self.eq("", self.d.bptt_sum(theta.name))
            s.show(lines)
            s.say(self.say("bptt_terms", theta=self.m(theta), steps=self.steps))
            terms = []
            for pair in shown:
                if pair is None:
                    more = self.say("more_terms", count=count - HEAD_TERMS - TAIL_TERMS)
                    terms.append(rf"&\quad \cdots \qquad \text{{({more})}}")
                    continue
                tt, kk = pair
                term = self.d.bptt_term(theta.name, Integer(tt), Integer(kk), Integer(self.steps))
                terms += latex_layout.lines(rf"(t, k) = ({tt}, {kk})", term, self.p, relation=r"\colon")
            s.show(terms)
        state = self.d.stacked_state
        s.say(self.say("bptt_equal", state=self.m(state.at(k))))
        product = self.d.state_product(t, k)
        identity = TimeSum(matmul(transpose(product), LocalGrad(state)), t, k, T)
        if self.numerator:
            identity = TimeSum(matmul(LocalGrad(state), product), t, k, T)
        if self.d.bptt_head_term(params[0].name) is not None:  # and the head on z_T, carried back to k
            identity = add(identity, self.d.reach(self.d.state_product(T, k), self.d.local_grad(T, whens=(LAST,))))
        s.show(self.eq(self.d.lhs(state.at(k)), identity))
        return s

    def convolutions(self) -> list[Section]:
        """Each convolution entry by entry (seed 000): the kernel's and the bias's derivatives."""
        sections = []
        for e in conv_expansions(self.d, self.p):
            s = Section(self.say("conv_title"))
            s.say(self.say("conv_intro", image=e.image_note, outputs=e.output_note))
            s.show(e.lines)
            if e.too_large:
                s.say(self.say("conv_too_large", count=e.too_large, limit=MAX_EXPANDED_OUTPUTS))
            if e.elided:
                s.say(self.say("conv_elided", count=e.elided))
            if e.bias_lines:
                s.say(self.say("conv_bias"))
                s.show(e.bias_lines)
            sections.append(s)
        return sections

    # ---------------------------------------------------------------- the whole document

    def sections(self) -> list[Section]:
        network = self.network()
        parts = [network, self.conventions(), self.backward(), self.recurrence(), self.gradients(),
                 *self.convolutions(), self.jacobians(), self.bptt()]
        # every notation the equations use, defined where the network is stated (the printer saw them all)
        notes = []
        for cls in self.p.printed:
            note = getattr(cls, "defines", {}).get(self.lang)
            if note and note not in notes:
                notes.append(note)
        if notes:  # right after the forward pass, which may use them first
            network.say(self.say("notation", notes=self.say("list_semicolon").join(notes)))
        return [p for p in parts + self.extra if p is not None]

    def _subtitle(self) -> str:
        layout = self.say("layout_name_" + self.d.layout)
        if self.net.sequential:
            return self.say("subtitle", layout=layout, steps=self.steps)
        return self.say("subtitle_static", layout=layout)

    def render(self) -> str:
        env = templates.latex_environment()
        sections = self.sections()
        return env.get_template("document.tex.j2").render(
            lang=self.lang,
            graphics=any(item.figure for s in sections for item in s.items),
            title=self.say("title", kind=describe.kind(self.net, self.lang)),
            subtitle=self._subtitle(),
            sections=sections,
        )


def _walk(expr):
    yield expr
    for a in getattr(expr, "args", ()):
        yield from _walk(a)


def latex_document(derivation: Derivation, steps: int, lang: str = "en", extra: list[Section] | None = None) -> str:
    return Document(derivation, steps, lang, extra).render()


__all__ = ["ALWAYS", "Document", "latex_document"]


_SPECIAL = {"\\": r"\textbackslash{}", "_": r"\_", "&": r"\&", "%": r"\%", "#": r"\#", "$": r"\$",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def plain_text(text: str) -> str:
    """A name as text in a document (a model file's stem may hold _ or &), every special escaped."""
    return "".join(_SPECIAL.get(ch, ch) for ch in text)
