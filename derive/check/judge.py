"""Judging one claim: read it, compare it with the truth at two random points, and for a
wrong one say what is wrong.

The comparison runs over every value of the free indices (t, k, ...) in 1..T at which both
sides are defined, in both layouts unless the answer fixes one (a vector's derivative is a
column in denominator layout and a row in numerator layout; a matrix parameter's is shaped
like it, or in numerator layout the row over its entries). A claim that fails everywhere is
tried again in the special cases a student may have had in mind (the activation the identity,
σ' constant) and, for a diagnosis, with single edits: a transpose, an index shifted by one, a
factor dropped or an activation derivative added, the sign, 1/T.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field, fields, replace

import numpy

from derive.check import parser as P
from derive.check import semantics as S
from derive.check.reader import Claim
from derive.check.world import MIXED, ShapeError, Undefined, World, without_activation
from derive.model import Model, size_value
from derive.network import DeclarationError
from derive.nodes import Grad
from derive.nodes import T as T_symbol
from derive.nodes import t as t_symbol
from derive.primitives import Activation
from derive.printing.latex import LatexPrinter

STEPS = 4  # T of the worlds answers are checked in: t < T and t = T both occur
MAX_STEPS = 50  # --set T=... for checking: every claim is compared at every t
SEEDS = (11, 29)  # two random points
TOLERANCE = 1e-12
CLAIM_SECONDS = 3.0  # the most one claim may take, edits included
MAX_EDITS = 160


@dataclass
class Verdict:
    line: int
    quantity: str
    latex: str
    verdict: str  # correct | incorrect | conditional | unchecked
    reason: str
    expected: str = ""
    layout: str = ""

    def as_json(self) -> dict:
        return {"line": self.line, "quantity": self.quantity, "latex": self.latex, "verdict": self.verdict,
                "reason": self.reason, "expected": self.expected}


@dataclass
class Outcome:
    """How one reading of a claim compares with the truth over all index values."""

    matched: dict  # layout -> list of envs where it matched
    compared: list  # envs where both sides had values
    shape_problem: str = ""
    undefined: str = ""
    out_of_range: bool = False
    valued_layouts: set = field(default_factory=set)  # layouts in which the answer had a value of the right shape

    def correct_layout(self) -> str | None:
        for layout, envs in self.matched.items():
            if self.compared and len(envs) == len(self.compared):
                return layout
        return None


class Checker:
    """Judges claims about ``model`` built with ``settings``, against its own derivation."""

    def __init__(self, model: Model, layout: str = "auto", notation: dict | None = None,
                 settings: dict[str, str] | None = None):
        self.model = model
        self.settings = model.without_time(dict(settings or {}))
        self.layout = layout
        self.notation = notation or {}
        self.timed = "T" in model.sizes
        self.steps = self._steps(self.settings.pop("T", None))
        self._networks = {}
        self._worlds = {}
        self._special = {}
        self._verdicts = {}
        self.worlds = self.worlds_for(self.steps)
        self.net = self.worlds[0].net
        self.symbols = S.Symbols(self.net, {S.spelling_key(k): v for k, v in self.notation.items()})
        self.printer = LatexPrinter(self.net.notation, objective=self.net.objective.name)

    def _steps(self, written: str | None) -> int:
        """T of the worlds claims are checked in: --set T=6 (or set: {T: 6}), else STEPS."""
        if written is None or not self.timed:
            return STEPS
        steps = size_value("T", written)
        if steps > MAX_STEPS:
            raise DeclarationError(f"T for checking must be at most {MAX_STEPS}, not {steps}")
        return steps

    def network(self, steps: int):
        if steps not in self._networks:
            settings = {**self.settings, "T": str(steps)} if self.timed else self.settings
            self._networks[steps] = self.model.build(settings)
        return self._networks[steps]

    def worlds_for(self, steps: int) -> list[World]:
        """The two random points with ``steps`` steps (an answer that writes T = 3 gets T = 3)."""
        if steps not in self._worlds:
            self._worlds[steps] = [World(self.network(steps), steps, seed) for seed in SEEDS]
        return self._worlds[steps]

    def special_worlds(self, steps: int) -> list[World] | None:
        """The worlds of the same network with its hidden activation the identity (None: it has none)."""
        if steps not in self._special:
            linear = without_activation(self.network(steps))
            self._special[steps] = None if linear is None else [World(linear, steps, seed) for seed in SEEDS]
        return self._special[steps]

    # ---------------------------------------------------------------- one claim

    def check(self, claim: Claim) -> Verdict:
        """The verdict on one claim; the same claim again (a class writes the same answers) gets the
        same verdict without a second search."""
        key = (claim.lhs, claim.rhs, claim.condition)
        if key not in self._verdicts:
            self._verdicts[key] = self._check_in_its_world(claim)
        return replace(self._verdicts[key], line=claim.line, latex=claim.latex)

    def _check_in_its_world(self, claim: Claim) -> Verdict:
        """The verdict on one claim (in the world with the T the claim writes, if it writes one)."""
        steps = _written_steps(claim.rhs, self.symbols)
        if steps is None or steps == self.steps or not self.net.sequential:
            return self._check(claim)
        saved = self.worlds
        self.worlds = self.worlds_for(steps)
        try:
            verdict = self._check(claim)
        finally:
            self.worlds = saved
        verdict.reason += f" (T = {steps}, as the claim writes)"
        return verdict

    def _check(self, claim: Claim) -> Verdict:
        verdict = Verdict(claim.line, _quantity(claim.lhs), claim.latex, "unchecked", "")
        try:
            lhs = S.Resolver(self.symbols).resolve(P.parse(claim.lhs))
        except (P.ParseError, S.Unmapped) as err:
            verdict.reason = f"the left side cannot be read: {err}"
            return verdict
        if not isinstance(lhs, (S.Adjoint, S.Jacobian)):
            verdict.reason = "the left side is not a derivative of the model's loss or of one of its variables"
            return verdict
        world = self.worlds[0]
        wrt = lhs.name if isinstance(lhs, S.Adjoint) else lhs.wrt
        if not world.knows(wrt):
            from sympy import Symbol

            from derive.printing.unicode import UnicodePrinter

            name = UnicodePrinter().doprint(Symbol(wrt))
            verdict.reason = (f"{name} is a constant of the model, not a parameter or a variable: its derivation "
                              "has no gradient with respect to it")
            return verdict
        verdict.expected = self.expected(lhs)
        try:
            rhs = S.Resolver(self.symbols).resolve(P.parse(claim.rhs))
        except (P.ParseError, S.Unmapped) as err:
            verdict.reason = f"the right side cannot be read: {err}"
            return verdict
        deadline = time.monotonic() + CLAIM_SECONDS
        condition = _condition(claim.condition, self.symbols)
        outcome = self.compare(lhs, rhs, self.worlds, condition)
        layout = outcome.correct_layout()
        if layout:
            verdict.verdict, verdict.layout = "correct", "denominator" if layout == MIXED else layout
            verdict.reason = f"matches the true value ({_layout_named(layout)}) {_where(outcome.compared)}"
            return verdict
        special = self._special_case(lhs, rhs, condition)
        if special:
            # right only if the activation were the identity (at every t: d2l's closed form with
            # (W^T)^{T-i}): a condition the problem leaves open for a generic φ (conditional), and
            # rules out for a named one such as σ (incorrect)
            reason, left_open = special
            verdict.verdict, verdict.reason = ("conditional" if left_open else "incorrect"), reason
            return verdict
        last_only = self._only_at_last_step(outcome)
        if last_only:  # a case the problem rules out (it asks for every t): wrong, and the reason says where
            verdict.verdict, verdict.layout = "incorrect", last_only
            verdict.reason = "holds only at t = T (the last step), not for t < T"
            return verdict
        if not outcome.compared and (outcome.out_of_range or not outcome.shape_problem):
            if outcome.out_of_range:
                verdict.verdict = "incorrect"
                verdict.reason = f"{outcome.undefined}: the index is wrong"
                edit = self.search_edits(lhs, rhs, condition, deadline)
                if edit:
                    verdict.reason += f"; becomes correct if {edit}"
                return verdict
            verdict.reason = outcome.undefined or "no value of the indices at which every term is defined"
            return verdict
        verdict.verdict = "incorrect"
        if outcome.valued_layouts:
            layouts = " or ".join(sorted(outcome.valued_layouts - {MIXED})) or "denominator"
            verdict.reason = f"differs from the true value ({layouts} layout) {_where(outcome.compared)}"
        else:
            verdict.reason = outcome.shape_problem or "it cannot be compared with the true value"
        edit = self.search_edits(lhs, rhs, condition, deadline)
        if edit:
            verdict.reason += f"; becomes correct if {edit}"
        return verdict

    # ---------------------------------------------------------------- comparing

    def compare(self, lhs, rhs, worlds, condition=None, reverse=False) -> Outcome:
        letters = sorted((_letters(lhs) | _letters(rhs) | (condition.letters() if condition else set())) - {"T"})
        outcome = Outcome({"denominator": [], "numerator": [], MIXED: []}, [])
        if len(letters) > 3:
            outcome.undefined = "too many free indices"
            return outcome
        steps = worlds[0].steps
        for values in itertools.product(range(1, steps + 1), repeat=len(letters)):
            env = dict(zip(letters, values, strict=True))
            env["T"] = steps
            if condition is not None and not condition.holds(env):
                continue
            self._compare_at(lhs, rhs, worlds, env, outcome, reverse)
        return outcome

    def _compare_at(self, lhs, rhs, worlds, env, outcome, reverse):
        """Compare at one value of the indices, reading the answer in each layout in turn."""
        layouts = ("denominator", "numerator") if self.layout == "auto" else (self.layout,)
        if self.layout == "auto" and (isinstance(lhs, S.Jacobian) or _has(rhs, S.Jacobian)):
            # Jacobians as numerator layout shapes them beside gradients as columns: Goodfellow's
            # (∂h_{t+1}/∂h_t)ᵀ ∂L/∂h_{t+1}, and derive's own documents
            layouts += (MIXED,)
        matched = {layout: True for layout in layouts}
        compared = False
        if isinstance(lhs, S.Jacobian) and lhs.of_index is not None and lhs.wrt_index is not None \
                and lhs.of_index.value(env) < lhs.wrt_index.value(env):
            return  # dh_t/dh_k is meant for k <= t
        truth_layout = "numerator" if isinstance(lhs, S.Jacobian) else "denominator"  # the forms below start here
        for layout in layouts:
            for world in worlds:
                try:
                    truth = world.evaluate(lhs, env, layout=truth_layout, total=True)
                except (Undefined, ShapeError):
                    return
                try:
                    claimed = _as_matrix(world.evaluate(rhs, env, reverse, layout))
                except Undefined as err:
                    outcome.undefined = outcome.undefined or str(err)
                    outcome.out_of_range = outcome.out_of_range or err.out_of_range
                    matched[layout] = False
                    break
                except ShapeError as err:
                    outcome.shape_problem = outcome.shape_problem or f"{err}"
                    matched[layout] = False
                    break
                except (ZeroDivisionError, OverflowError, ValueError, TypeError) as err:
                    why = {ZeroDivisionError: "a division by 0", OverflowError: "a value too large"}.get(
                        type(err), type(err).__name__)
                    outcome.undefined = outcome.undefined or f"it cannot be evaluated at the sample points ({why})"
                    matched[layout] = False
                    break
                compared = True
                if isinstance(lhs, S.Jacobian) and _as_matrix(truth).shape[0] == 1:
                    # d(scalar)/dX is a gradient: shaped like X (numerator layout: also its row)
                    truth = _as_matrix(truth).reshape(numpy.shape(world.value(lhs.wrt, None if lhs.wrt_index is None
                                                                              else lhs.wrt_index.value(env))))
                    lhs_forms = S.Adjoint(lhs.wrt)
                else:
                    lhs_forms = lhs
                if not self._matches(lhs_forms, truth, claimed, layout, outcome):
                    matched[layout] = False
        if compared:
            outcome.compared.append(env)
            for layout, ok in matched.items():
                if ok:
                    outcome.matched[layout].append(env)

    def _matches(self, lhs, truth, claimed, layout, outcome) -> bool:
        forms = [form for lay, form in _forms(lhs, _as_matrix(truth)) if lay == layout]
        if claimed.shape == (1, 1) and claimed[0, 0] == 0 and all(_close(form, 0 * form) for form in forms):
            return True  # "= 0" for a derivative that is zero (∂L/∂o_1 where the loss reads o_T alone)
        if any(form.shape == claimed.shape for form in forms):
            outcome.valued_layouts.add(layout)
        if any(form.shape == claimed.shape and _close(claimed, form) for form in forms):
            return True
        if not any(form.shape == claimed.shape for form in forms):
            shapes = " or ".join(dict.fromkeys(f"{f.shape[0]}×{f.shape[1]}" for f in forms))
            outcome.shape_problem = outcome.shape_problem or (
                f"it is a {claimed.shape[0]}×{claimed.shape[1]} matrix, where the derivative is {shapes} "
                f"({layout} layout)")
        return False

    def _only_at_last_step(self, outcome: Outcome) -> str | None:
        if not outcome.compared or "t" not in outcome.compared[0]:
            return None
        steps = outcome.compared[0]["T"]
        for layout, envs in outcome.matched.items():
            last = [e for e in outcome.compared if e["t"] == steps]
            if envs and len(envs) == len(last) and all(e["t"] == steps for e in envs) and \
                    len(outcome.compared) > len(last):
                return layout
        return None

    # ---------------------------------------------------------------- special cases and edits

    def _special_case(self, lhs, rhs, condition) -> tuple[str, bool] | None:
        """(why the claim holds only if the activation were linear, whether the problem leaves that open)."""
        special = self.special_worlds(self.worlds[0].steps)
        if special is None:
            return None
        outcome = self.compare(lhs, rhs, special, condition)
        if not outcome.correct_layout():
            return None
        activation = self.worlds[0].activation
        left_open = not isinstance(activation, Activation)  # a generic φ may be the identity
        if _has_bare_prime(rhs):
            return ("holds only if σ' is constant (a linear activation): the derivative changes from step to step",
                    left_open)
        if isinstance(activation, Activation):
            return (f"holds only if the activation were the identity, and it is {activation.unicode}: its derivative "
                    f"{activation.unicode}' is missing", False)
        prime = self.net.notation.unicode(activation.fname) + "'"
        return f"holds only if the activation is the identity: its derivative {prime} is missing", True

    def search_edits(self, lhs, rhs, condition, deadline) -> str | None:
        world = self.worlds[:1]
        outcome = self.compare(lhs, rhs, self.worlds, condition, reverse=True)
        if outcome.correct_layout() and _has(rhs, S.Reduce):
            return "the product is read in increasing index order (it is only right that way round)"
        for description, variant in itertools.islice(self.edits(rhs), MAX_EDITS):
            if time.monotonic() > deadline:
                return None
            if self.compare(lhs, variant, world, condition).correct_layout() and \
                    self.compare(lhs, variant, self.worlds, condition).correct_layout():
                return description
        return None

    def edits(self, rhs):
        """(description, rhs with one edit) for the mistakes students make."""
        nodes = list(_paths(rhs))
        yield "the sign is flipped", (rhs.arg if isinstance(rhs, S.Neg) else S.Neg(rhs))
        for path, node in nodes:
            if isinstance(node, (S.Value, S.Adjoint)) and node.index is not None and node.index.letters():
                for by in (-1, 1):
                    moved = replace(node, index=node.index.shifted(by))
                    yield f"{self.show(node)} is replaced by {self.show(moved)}", _put(rhs, path, moved)
        for path, node in nodes:
            if isinstance(node, S.Transpose):
                yield f"the transpose on {self.show(node.arg)} is dropped", _put(rhs, path, node.arg)
            elif isinstance(node, (S.Value, S.Adjoint)) and node.name != "T":
                yield f"{self.show(node)} is transposed", _put(rhs, path, S.Transpose(node))
        for path, node in nodes:
            if isinstance(node, S.BinOp) and node.op in ("·", "⊙"):
                yield f"the factor {self.show(node.a)} is dropped", _put(rhs, path, node.b)
                yield f"the factor {self.show(node.b)} is dropped", _put(rhs, path, node.a)
        pre = self.worlds[0].pre_activation
        if pre is not None:
            states = {s.name for s in self.net.states}
            for path, node in nodes:
                if isinstance(node, S.Adjoint) and node.name in states and node.index is not None:
                    prime = S.ActPrime("activation", S.Value(pre, node.index))
                    yield (f"{self.show(node)} is multiplied entrywise by {self.show(prime)}",
                           _put(rhs, path, S.BinOp("⊙", node, prime)))
        for path, node in nodes:
            if isinstance(node, S.Reduce):
                kind = "sum" if node.kind == "sum" else "product"
                for by in (-1, 1):
                    yield (f"the {kind} over {node.var} starts at {node.lo.shifted(by)}",
                           _put(rhs, path, replace(node, lo=node.lo.shifted(by))))
                    yield (f"the {kind} over {node.var} ends at {node.hi.shifted(by)}",
                           _put(rhs, path, replace(node, hi=node.hi.shifted(by))))
        for path, node in nodes:
            if isinstance(node, S.BinOp) and node.op == "·" and isinstance(node.b, S.ActPrime):
                yield (f"the product with {self.show(node.b)} is entrywise (⊙)",
                       _put(rhs, path, replace(node, op="⊙")))
        if self.worlds[0].positions is not None:
            yield ("it is summed over the positions, Σ_k (·)_k: the bias is shared by every position of its "
                   "channel, so its derivative adds up the output gradient there", S.PositionSum(rhs))
        yield "the whole right side is transposed", S.Transpose(rhs)
        for path, node in nodes:
            if path and isinstance(node, S.BinOp) and node.op == "·":
                yield f"the product {self.show(node)} is transposed", _put(rhs, path, S.Transpose(node))
        if self.net.sequential:
            yield "it is divided by T", S.BinOp("/", rhs, S.Value("T"))
            yield "it is multiplied by T (the 1/T is dropped)", S.BinOp("·", S.Value("T"), rhs)

    # ---------------------------------------------------------------- showing

    def _at(self, name: str, index) -> str:
        return name if index is None else self.net.notation.at_time(name, str(index))

    def show(self, node) -> str:
        """A short LaTeX spelling of part of an answer, for a diagnosis."""
        p = self.printer
        if isinstance(node, S.Value):
            return self._at(p.name(node.name), node.index)
        if isinstance(node, S.Adjoint):
            return rf"\partial {p.name(self.net.objective.name)}/\partial {self._at(p.name(node.name), node.index)}"
        if isinstance(node, S.Transpose):
            return self.show(node.arg) + "^T"
        if isinstance(node, S.ActPrime):
            arg = "" if node.arg is None else f"({self.show(node.arg)})"
            generic = self.net.notation.latex(self.symbols.generic.get("activation", "phi"))
            name = {"sigmoid": r"\sigma", "activation": generic}.get(node.fn, node.fn)
            return f"{name}'{arg}"
        if isinstance(node, S.Diag):
            return rf"\operatorname{{diag}}({self.show(node.arg)})"
        if isinstance(node, S.Const):
            return f"{node.value:g}"
        if isinstance(node, S.BinOp):
            op = {"·": " ", "⊙": r" \odot ", "⊗": r" \otimes ", "/": "/"}[node.op]
            return f"{self._grouped(node.a)}{op}{self._grouped(node.b)}"
        if isinstance(node, S.Add):
            return " ".join(("- " if sign < 0 else ("+ " if j else "")) + self.show(term)
                            for j, (sign, term) in enumerate(node.terms))
        if isinstance(node, S.Neg):
            return "-" + self._grouped(node.arg)
        if isinstance(node, S.Conv):
            return rf"\operatorname{{conv}}({self.show(node.kernel)}, {self.show(node.image)})"
        if isinstance(node, (S.Act, S.Indicator, S.Reduce, S.Jacobian, S.Power, S.LossGrad, S.Identity)):
            return {S.Act: "f(·)", S.Indicator: r"\mathbb{I}(·)", S.Reduce: r"\sum/\prod(·)",
                    S.Jacobian: r"\partial/\partial", S.Power: "(·)^n", S.LossGrad: r"\partial\ell/\partial o",
                    S.Identity: "I"}[type(node)]
        return "(·)"

    def _grouped(self, node) -> str:
        text = self.show(node)
        return f"({text})" if isinstance(node, (S.Add, S.BinOp)) else text

    def expected(self, lhs) -> str:
        """The correct expression, from the derivation, in the model's notation."""
        d = self.worlds[0].derivation
        if self.layout == "numerator":
            d = d.with_layout("numerator")
        try:
            if isinstance(lhs, S.Adjoint) and lhs.name in d.adjoints:
                steps = self.worlds[0].steps
                at = lhs.index.value({"T": steps}) if lhs.index is not None and \
                    not lhs.index.letters() - {"T"} else None  # a claim about one step: h_1, h_T, g_{T+1}
                boundary = self.worlds[0].learned_boundary.get(lhs.name)
                if boundary is not None and at == boundary[0]:  # ∂L/∂h_0 of a learned h_0 = s: its share
                    state = next(x for x in d.network.states if x.name == lhs.name)
                    share = d.as_layout(d.initial_adjoints[lhs.name], state.learned)
                    return f"{self.printer.doprint(Grad(state.initial))} = {self.printer.doprint(share)}"
                eqs = d.adjoint_equations(lhs.name, inlined=True)
                if at is not None:  # the cases that hold at that step (h_T: t = T; g_1 of a backward state: t = 1)
                    eqs = [eq for eq in eqs if eq.condition is None
                           or bool(eq.condition.subs({t_symbol: at, T_symbol: steps}))] or eqs
                return "; ".join(self._equation(eq) for eq in eqs)
            if isinstance(lhs, S.Jacobian) and lhs.of == lhs.wrt and len(d.states) == 1 and lhs.of in d.state_names:
                return self.printer.doprint(d.jacobian_product(lhs.of))
            one_step = (isinstance(lhs, S.Jacobian) and lhs.of_index is not None and lhs.wrt_index is not None
                        and lhs.of_index.shifted(-1) == lhs.wrt_index)
            if one_step and (lhs.of, lhs.wrt) in d.step_jacobians:
                return self.printer.doprint(d.step_jacobians[(lhs.of, lhs.wrt)])
        except (KeyError, ValueError):
            return ""
        return ""

    def _equation(self, eq) -> str:
        text = f"{self.printer.doprint(eq.lhs)} = {self.printer.doprint(eq.rhs)}"
        return text + (f" \\quad ({self.printer.doprint(eq.condition)})" if eq.condition is not None else "")


# ---------------------------------------------------------------------------- helpers


def _quantity(lhs: str) -> str:
    return " ".join(lhs.split())


def _layout_named(layout: str) -> str:
    if layout == MIXED:
        return "denominator layout, its Jacobians ∂y/∂x shaped y by x and transposed in the chain rule"
    return f"{layout} layout"


def _forms(lhs, truth):
    """(layout, the truth as that layout writes it) for the left side's derivative."""
    if isinstance(lhs, S.Jacobian):  # MIXED writes Jacobians as numerator layout does
        return [("numerator", truth), ("denominator", truth.T), (MIXED, truth)]
    rows, cols = truth.shape
    if cols == 1:
        return [("denominator", truth), ("numerator", truth.T), (MIXED, truth)]
    forms = [("denominator", truth), ("numerator", truth.reshape(1, -1)), (MIXED, truth)]
    if rows > 1:
        forms.append(("numerator", truth))
    return forms


def _as_matrix(x):
    if isinstance(x, numpy.ndarray):
        return x if x.ndim == 2 else x.reshape(-1, 1)
    return numpy.array([[x]], dtype=object)


def _close(a, b) -> bool:
    diff = max((abs(v) for v in (a - b).reshape(-1)), default=0)
    scale = max([1] + [abs(v) for v in b.reshape(-1)])
    return diff <= TOLERANCE * scale


def _where(envs) -> str:
    if not envs or not envs[0] or set(envs[0]) == {"T"}:
        return "at two random points"
    letters = [k for k in envs[0] if k != "T"]
    values = sorted({tuple(e[v] for v in letters) for e in envs})
    shown = ", ".join("(" + ", ".join(map(str, v)) + ")" if len(v) > 1 else str(v[0]) for v in values[:6])
    more = ", …" if len(values) > 6 else ""
    return f"for {', '.join(letters)} = {shown}{more} (T = {envs[0]['T']}) at two random points"


def _written_steps(rhs: str, symbols) -> int | None:
    r"""The T a claim writes out, as in \sum_{t=1}^{3}: the one number every sum over t ends at."""
    import re

    ends = {int(n) for n in re.findall(r"\\sum_\{?\s*t\s*=\s*\d+\s*\}?\s*\^\s*\{?\s*(\d+)", rhs)}
    if len(ends) == 1:
        steps = ends.pop()
        return steps if 1 <= steps <= 12 else None
    return None


def _letters(node) -> set[str]:
    found, bound = set(), set()

    def walk(x, bound):
        if isinstance(x, S.Reduce):
            found.update(x.lo.letters() | x.hi.letters())
            walk(x.body, bound | {x.var})
            return
        for attr in ("index", "of_index", "wrt_index", "exponent"):
            idx = getattr(x, attr, None)
            if isinstance(idx, S.Index):
                found.update(idx.letters() - bound)
        for child in _node_children(x):
            walk(child, bound)

    walk(node, bound)
    return found - {"@"}


def _node_children(x):
    if isinstance(x, tuple):
        return list(x)
    if hasattr(x, "__dataclass_fields__"):
        return [getattr(x, f.name) for f in fields(x)]
    return []


def _paths(node, path=()):
    yield path, node
    if hasattr(node, "__dataclass_fields__") and not isinstance(node, S.Index):
        for f in fields(node):
            child = getattr(node, f.name)
            if hasattr(child, "__dataclass_fields__") and not isinstance(child, S.Index):
                yield from _paths(child, path + (f.name,))
            elif isinstance(child, tuple):
                for j, item in enumerate(child):
                    if isinstance(item, tuple) and len(item) == 2 and hasattr(item[1], "__dataclass_fields__"):
                        yield from _paths(item[1], path + (f.name, j, 1))


def _put(node, path, new):
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(head, str):
        return replace(node, **{head: _put(getattr(node, head), rest, new)})
    items = list(node)
    j, k = head, rest[0]
    pair = list(items[j])
    pair[k] = _put(pair[k], rest[1:], new)
    items[j] = tuple(pair)
    return tuple(items)


def _has(node, cls) -> bool:
    return any(isinstance(n, cls) for _, n in _paths(node))


def _has_bare_prime(node) -> bool:
    return any(isinstance(n, S.ActPrime) and n.arg is None for _, n in _paths(node))




@dataclass(frozen=True)
class Condition:
    letter: str
    relation: str
    bound: S.Index

    def letters(self) -> set[str]:
        return {self.letter} | self.bound.letters()

    def holds(self, env) -> bool:
        left, right = env[self.letter], self.bound.value(env)
        return {"<": left < right, ">": left > right, "=": left == right, "\\le": left <= right,
                "\\leq": left <= right, "\\ge": left >= right, "\\geq": left >= right,
                "\\neq": left != right}[self.relation]


def _condition(text: str | None, symbols: S.Symbols) -> Condition | None:
    if not text:
        return None
    import re

    match = re.match(r"([a-zA-Z])\s*(<|>|=|\\leq?|\\geq?|\\neq)\s*(.+)$", text)
    if not match:
        return None
    bound = S.parse_index(match.group(3), symbols.index_aliases)
    if bound is None:
        return None
    letter = symbols.index_aliases.get(match.group(1), match.group(1))
    return Condition(letter, match.group(2), bound)
