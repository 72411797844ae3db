"""An analysis in the terminal (``derive analyze``) and as one JSON object (``--json``)."""

from __future__ import annotations

import json
import math

import numpy
from sympy import Symbol

from derive.algebra import substitute
from derive.analysis import Analysis
from derive.analysis.measure import Eigen, Series, shown_distances
from derive.nodes import Jac, k, t
from derive.printing.unicode import UnicodePrinter

MAX_EIGENVALUES = 8


def _printer(a: Analysis, numeric: bool = False) -> UnicodePrinter:
    net = (a.numeric if numeric else a.symbolic).derivation.network
    return UnicodePrinter(net.notation, objective=net.objective.name)


def number(x: float | None) -> str:
    if x is None:
        return "—"
    if not math.isfinite(x):
        return "∞"
    return f"{x:.4g}" if x == 0 or 1e-3 <= abs(x) < 1e5 else f"{x:.3e}"


def complex_number(z: complex) -> str:
    if abs(z.imag) < 1e-12 * max(1.0, abs(z.real)):
        return number(z.real)
    sign = "+" if z.imag >= 0 else "−"
    return f"{number(z.real)}{sign}{number(abs(z.imag))}i"


def symbolic_lines(a: Analysis, p: UnicodePrinter) -> list[str]:
    rec = a.symbolic
    d = rec.derivation
    lines = ["The recurrent Jacobian (numerator layout)"]
    for eq in d.jacobian_equations():
        note = f"    ({eq.note})" if eq.note else ""
        lines.append(f"  {p.doprint(eq.lhs)} = {p.doprint(eq.rhs)}{note}")
    lines += ["", "The bound (spectral norms)"]
    s = rec.states[0]
    index = d.product_index
    if rec.bound is not None and rec.bound.gamma.factor is None:
        m = p.doprint(rec.bound.matrix)
        jac = p.doprint(Jac(s.now, s.now.at(k)))
        lines.append(f"  ‖{jac}‖ = ‖{m}^(t−k)‖ ≤ ‖{m}‖^(t−k)    (no activation between the steps: γ = 1)")
    elif rec.bound is not None:
        factor = p.doprint(substitute(rec.bound.gamma.factor, {t: index}))
        m = p.doprint(rec.bound.matrix)
        jac = p.doprint(Jac(s.now, s.now.at(k)))
        lines.append(f"  ‖{jac}‖ ≤ Π[{index}=k+1..t] ‖diag({factor})‖ ‖{m}‖ ≤ (γ ‖{m}‖)^(t−k)")
        lines.append("  " + gamma_text(a, p))
    elif rec.single:
        lines.append(f"  none of the form (γ‖W‖)^(t−k): ∂{s.name}ₜ/∂{s.name}ₜ₋₁ is not one diagonal factor times one "
                     "matrix with bounded entries; the measured norms stand alone")
    else:
        lines.append("  none of the form (γ‖W‖)^(t−k): the step Jacobian couples "
                     + ", ".join(p.doprint(st.now) for st in rec.states) + "; the measured norms stand alone")
    for cell in rec.cell_paths:
        lines.append("  " + cell_text(cell, p))
    for b in rec.backward:
        lines.append(f"  {b.name} runs backward in time ({p.doprint(b.now)} reads {p.doprint(b.now.at(t + 1))}): "
                     "its products run from the first step on and are not measured here")
    return lines


def gamma_text(a: Analysis, p: UnicodePrinter) -> str:
    gamma = a.symbolic.bound.gamma
    factor = p.doprint(gamma.factor)
    if gamma.generic:
        name = generic_name(gamma, p)
        numeric = a.numeric.bound.gamma if a.numeric.bound is not None else None
        scale = "" if gamma.value == 1 else f"{p.doprint(gamma.value)} · "
        known = numeric is not None and not numeric.generic
        used = f"; the numbers use γ = {p.doprint(numeric.value)}" if known else ""
        return f"γ = {scale}sup |{name}'|, a bound of every entry of {factor} ({name} is generic{used})"
    return f"γ = {p.doprint(gamma.value)}, a bound of every entry of {factor}"


def generic_name(gamma, p) -> str:
    """φ, as the printer writes the generic function whose derivative γ bounds."""
    fn = gamma.generic_function
    return p.doprint(fn).split("(", 1)[0] if fn is not None else gamma.generic


def cell_text(cell, p: UnicodePrinter) -> str:
    j = Symbol("j", integer=True)
    factor = p.doprint(substitute(cell.factor, {t: j}))
    jac = p.doprint(Jac(cell.state.now, cell.state.now.at(k)))
    text = f"{jac} along the direct path = Π[j=k+1..t] diag({factor})"
    if cell.gamma is not None and not cell.gamma.generic:
        text += (f"; every entry of {factor} is at most {p.doprint(cell.gamma.value)} in size, so this path never "
                 f"grows, and it is the identity exactly when {factor} = 1 for every j")
    else:
        text += f"; it is the identity exactly when {factor} = 1 for every j"
    return text


def eigen_lines(e: Eigen, gamma: float | None) -> list[str]:
    order = numpy.argsort(-numpy.abs(e.eigenvalues))
    shown = [complex_number(complex(e.eigenvalues[i])) for i in order[:MAX_EIGENVALUES]]
    more = f", … ({len(order) - MAX_EIGENVALUES} more)" if len(order) > MAX_EIGENVALUES else ""
    rows, cols = e.matrix.shape
    lines = [f"Recurrent matrix {e.name} ({rows}×{cols})", f"  eigenvalues: {', '.join(shown)}{more}"]
    radius = f"  spectral radius ρ = {number(e.radius)}, ‖{e.name}‖ = {number(e.norm)}"
    if gamma is not None:
        radius += f", γ‖{e.name}‖ = {number(gamma * e.norm)}"
    lines.append(radius)
    if e.power_error is not None:
        lines.append(f"  {e.name}^{e.power} = QΛ^{e.power}Q⁻¹ agrees with the direct power to a relative "
                     f"{number(e.power_error)}")
    elif rows == cols:
        lines.append(f"  not diagonalisable in floating point (cond(Q) = {number(e.condition)}): no QΛⁿQ⁻¹")
    return lines


def verdict_text(series: Series, what: str) -> str:
    rate = "" if series.rate is None else f", ×{number(series.rate)} per step"
    note = f" ({series.note})" if series.note else ""
    return f"  {what} {series.label}: {series.verdict}{rate}{note}"


def text(a: Analysis) -> str:
    p = _printer(a)
    n = a.numbers
    sizes = ", ".join(f"{k} = {v}" for k, v in n.sizes.items())
    options = ", ".join(f"{k}={v}" for k, v in a.numeric.derivation.network.options.items())
    lines = [f"{a.symbolic.derivation.network.name} · analysis over T = {n.steps} · sizes {sizes}",
             *([f"  options: {options}"] if options else []),
             f"  weights: {a.source}", *[f"  {note}" for note in a.notes], ""]
    lines += symbolic_lines(a, p)
    if n.eigen and a.numeric.bound is None:
        lines += ["", "The matrices on the path (the step Jacobian has other terms too, so their eigenvalues do not "
                  "decide the product alone)"]
    for e in n.eigen:
        lines += [""] + eigen_lines(e, n.gamma if a.numeric.bound is not None else None)
    series = [n.measured] + [s for s in (n.bound, n.power) if s is not None] + n.cells
    step = " (k is a step here, not the size k)" if "k" in n.sizes else ""
    lines += ["", f"Along the sampled trajectory, at distance T − k{step}"]
    header = ["T − k"] + [s.label for s in series]
    rows = [[str(j)] + [number(s.norms[j - 1]) for s in series] for j in shown_distances(n.steps)]
    widths = [max(len(r[c]) for r in [header] + rows) for c in range(len(header))]
    for r in [header] + rows:
        lines.append("  " + "  ".join(cell.rjust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    lines += ["", "Verdicts (measured: over this horizon, by the rate of its last half — vanishing where the norm "
              "at least halves there, exploding where it at least doubles; the bound by γ‖W‖ < 1; the pure power "
              "by ρ)"]
    lines.append(verdict_text(n.measured, "measured"))
    if n.bound is not None:
        guarantee = (" — the bound proves it tends to 0 as T − k grows" if n.bound.verdict == "vanishing" else
                     " — an upper bound at or above 1 decides nothing")
        lines.append(verdict_text(n.bound, "bound") + guarantee)
    if n.power is not None:
        lines.append(verdict_text(n.power, "pure power"))
    for cell in n.cells:
        lines.append(verdict_text(cell, "cell path"))
    return "\n".join(lines) + "\n"


def _finite(x):
    """A float for JSON: inf and nan as null (JSON has neither)."""
    return float(x) if x is not None and math.isfinite(x) else None


def _series(s: Series | None):
    if s is None:
        return None
    return {"label": s.label, "norms": [_finite(x) for x in s.norms], "verdict": s.verdict,
            "rate": _finite(s.rate), "note": s.note}


def as_dict(a: Analysis) -> dict:
    n = a.numbers
    p = _printer(a)
    rec = a.symbolic
    bound = None
    if rec.bound is not None:
        factor = rec.bound.gamma.factor
        bound = {"matrix": p.doprint(rec.bound.matrix), "factor": None if factor is None else p.doprint(factor),
                 "gamma": None if rec.bound.gamma.generic else str(rec.bound.gamma.value),
                 "generic": rec.bound.gamma.generic, "gamma_used": _finite(n.gamma)}
    return {
        "model": a.model.ref,
        "steps": n.steps,
        "sizes": n.sizes,
        "settings": a.settings,
        "weights": a.source,
        "drawn": a.drawn,
        "seed": a.seed,
        "scale": a.scale,
        "notes": a.notes,
        "jacobians": [{"lhs": p.doprint(eq.lhs), "rhs": p.doprint(eq.rhs), "note": eq.note}
                      for eq in rec.derivation.jacobian_equations()],
        "bound": bound,
        "matrices": [{
            "name": e.name, "matrix": e.matrix.tolist(),
            "eigenvalues": [[float(z.real), float(z.imag)] for z in e.eigenvalues],
            "Q": None if e.vectors is None else [[[float(z.real), float(z.imag)] for z in row] for row in e.vectors],
            "spectral_radius": e.radius, "norm": e.norm, "power": e.power,
            "power_relative_error": e.power_error, "condition_of_Q": _finite(e.condition),
        } for e in n.eigen],
        "distances": list(range(1, n.steps + 1)),
        "step_norms": [_finite(x) for x in n.step_norms],
        "measured": _series(n.measured),
        "bound_norms": _series(n.bound),
        "power_norms": _series(n.power),
        "cell_paths": [_series(c) for c in n.cells],
    }


def as_json(a: Analysis) -> str:
    return json.dumps(as_dict(a), ensure_ascii=False, indent=1, allow_nan=False)
