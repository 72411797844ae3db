"""The analysis as a section of the LaTeX derivation (``derive latex MODEL --analysis``): the
product, the derivation of the bound, the eigendecomposition, a table of the norms, the
verdicts and the plot. Sentences come from the phrase table, math from the LaTeX printer."""

from __future__ import annotations

import math

import numpy
from sympy import Symbol

from derive.algebra import substitute
from derive.analysis import Analysis
from derive.analysis.measure import Series, shown_distances
from derive.latexdoc import Item, Section, plain_text
from derive.nodes import Jac, k, t
from derive.printing import latex_layout
from derive.printing.latex import LatexPrinter
from derive.printing.words import phrase

MAX_EIGENVALUES = 6


def tex_number(x: float | None) -> str:
    if x is None:
        return "-"
    if not math.isfinite(x):
        return r"\infty"
    if x == 0 or 1e-3 <= abs(x) < 1e5:
        return f"{x:.4g}"
    mantissa, exponent = f"{x:.3e}".split("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


def tex_complex(z: complex) -> str:
    if abs(z.imag) < 1e-12 * max(1.0, abs(z.real)):
        return tex_number(z.real)
    sign = "+" if z.imag >= 0 else "-"
    return f"{tex_number(z.real)} {sign} {tex_number(abs(z.imag))}i"


def analysis_section(a: Analysis, lang: str, figure: str = "") -> Section:
    """The section; ``figure`` names the PNG beside the document (none: no figure)."""
    net = a.symbolic.derivation.network
    p = LatexPrinter(net.notation, objective=net.objective.name)

    def say(key, **values):
        return phrase(lang, key, **values)

    rec, n = a.symbolic, a.numbers
    s = Section(say("analysis_title"))
    s.say(say("analysis_jacobians"))
    s.show([line for eq in rec.derivation.jacobian_equations()
            for line in latex_layout.lines(p.doprint(eq.lhs), eq.rhs, p, "")])
    state = rec.states[0]
    if rec.bound is not None and rec.bound.gamma.factor is None:
        m = p.doprint(rec.bound.matrix)
        s.show([rf"\left\lVert {p.doprint(Jac(state.now, state.now.at(k)))} \right\rVert_2 &= "
                rf"\lVert {m}^{{t-k}} \rVert_2 \le \lVert {m} \rVert_2^{{t-k}}"])
    elif rec.bound is not None:
        index = rec.derivation.product_index
        factor = p.doprint(substitute(rec.bound.gamma.factor, {t: index}))
        m = p.doprint(rec.bound.matrix)
        s.say(say("analysis_bound", factor=f"${p.doprint(rec.bound.gamma.factor)}$"))
        s.show([rf"\left\lVert {p.doprint(Jac(state.now, state.now.at(k)))} \right\rVert_2 &\le "
                rf"\prod_{{{p.doprint(index)}=k+1}}^{{t}} \lVert \operatorname{{diag}}({factor}) \rVert_2 "
                rf"\lVert {m} \rVert_2 \le \left(\gamma \lVert {m} \rVert_2\right)^{{t-k}}"])
        gamma = rec.bound.gamma
        if gamma.generic:
            used = ", ".join(rf"\texttt{{{plain_text(f'{key}={value}')}}}" for key, value in a.settings.items()
                             if key not in a.model.defaults or a.model.defaults[key] != value)
            numeric = a.numeric.bound.gamma if a.numeric.bound is not None else None
            phi = p.doprint(gamma.generic_function).split(r"\left(")[0].split("(")[0]
            s.say(say("analysis_gamma_generic", phi=phi, used=used or "a concrete function",
                      gamma=p.doprint(numeric.value) if numeric is not None and not numeric.generic else "?"))
        else:
            s.say(say("analysis_gamma", gamma=p.doprint(gamma.value)))
    else:
        s.say(say("analysis_no_bound"))
    j = Symbol("j", integer=True)
    for cell in rec.cell_paths:
        if cell.gamma is not None and not cell.gamma.generic:
            s.say(say("analysis_cell", jac=f"${p.doprint(Jac(cell.state.now, cell.state.now.at(k)))}$",
                      factor=p.doprint(substitute(cell.factor, {t: j})), gamma=f"${p.doprint(cell.gamma.value)}$"))

    sizes = ", ".join(f"${key} = {value}$" for key, value in n.sizes.items())
    s.say(say("analysis_numbers", source=rf"\texttt{{{plain_text(a.source)}}}", steps=n.steps, sizes=sizes))
    for e in n.eigen:
        order = numpy.argsort(-numpy.abs(e.eigenvalues))
        values = ", ".join(f"${tex_complex(complex(e.eigenvalues[i]))}$" for i in order[:MAX_EIGENVALUES])
        if len(order) > MAX_EIGENVALUES:
            values += r", \dots"
        name = p.doprint(e.expr)
        text = say("analysis_matrix", name=name, values=values, radius=tex_number(e.radius), norm=tex_number(e.norm))
        if e.power_error is not None:
            text += say("analysis_power", name=name, n=e.power, error=tex_number(e.power_error))
        s.say(text)

    series = [("series_measured", n.measured), ("series_bound", n.bound), ("series_power", n.power)]
    series += [("series_cell", c) for c in n.cells]
    series = [(key, x) for key, x in series if x is not None]
    s.say(say("analysis_table"))
    header = ["$T - k$"] + [say(key) for key, _ in series]
    rows = [[str(d)] + [f"${tex_number(x.norms[d - 1])}$" for _, x in series] for d in shown_distances(n.steps)]
    s.items.append(Item(table=[header, *rows]))
    s.say(say("analysis_verdicts"))
    s.show([rf"\text{{{say(key)}}} &: \text{{{_verdict(x, say)}}}" for key, x in series])
    if figure:
        s.items.append(Item(text=say("analysis_figure"), figure=figure))
    return s


def _verdict(x: Series, say) -> str:
    verdict = say(f"verdict_{x.verdict}")
    if x.rate is None or not math.isfinite(x.rate):
        return verdict
    return say("analysis_rate", verdict=verdict, rate=tex_number(x.rate))
