"""``derive analyze``: how dh_T/dh_k behaves as T − k grows — the product the derivation gives,
the bound (γ‖W‖)^{T−k}, and the numbers along a sampled trajectory for given or random weights.

``analyze`` runs it for a model; paths.py holds the symbolic part, sample.py the weights and
inputs, measure.py the numbers and verdicts; report.py, plot.py and section.py show them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy

from derive.analysis import sample
from derive.analysis.measure import Numbers, measure
from derive.analysis.paths import NotRecurrent, Recurrence, recurrence
from derive.analysis.sample import WeightsError
from derive.deriver import derive
from derive.model import Model
from derive.network import DeclarationError, size_of
from derive.printing.unicode import UnicodePrinter

DEFAULT_STEPS = 100
MAX_STEPS = 5000
MAX_WORK = 4e9  # T · (state width)³: the products dh_T/dh_k cost about this many flops


class AnalysisError(ValueError):
    """A model or input that cannot be analysed (one line for the user)."""


@dataclass
class Analysis:
    model: Model
    symbolic: Recurrence  # on the model as declared (a generic φ keeps γ_φ)
    numeric: Recurrence  # on the model the numbers ran on (φ made concrete)
    numbers: Numbers
    settings: dict[str, str]
    source: str  # where the weights came from: "random (seed 0, scale 1.0)" or the file
    drawn: list[str]  # the parameters drawn at random
    notes: list[str] = field(default_factory=list)
    seed: int | None = None
    scale: float | None = None
    params: dict = field(default_factory=dict, repr=False)  # the values the numbers ran on
    data: dict = field(default_factory=dict, repr=False)  # the sampled inputs (name -> {t: array})

    def show(self, expr) -> str:
        net = self.numeric.derivation.network
        return UnicodePrinter(net.notation, objective=net.objective.name).doprint(expr)


def analyze(model: Model, settings: dict[str, str], steps: int = DEFAULT_STEPS, weights_path: str | None = None,
            seed: int = 0, scale: float = 1.0) -> Analysis:
    if not 1 <= steps <= MAX_STEPS:
        raise AnalysisError(f"--T must be between 1 and {MAX_STEPS} for an analysis, not {steps}")
    settings = {k: v for k, v in settings.items() if k != "T"}
    try:
        symbolic = recurrence(derive(model.build(settings), "numerator"))
        weights = sample.read_weights(weights_path) if weights_path else {}
        concrete, notes = model.concrete_settings(settings, user="the analysis")
        if weights:
            fixed = set(concrete)
            implied = sample.implied_sizes(model.build(concrete), weights, fixed)
            concrete = {**concrete, **{k: str(v) for k, v in implied.items()}}
        net = model.build(concrete)
        numeric = recurrence(derive(net, "numerator"))
    except (DeclarationError, NotRecurrent, WeightsError) as err:
        raise AnalysisError(str(err)) from None
    sizes = {k: v for k, v in net.sizes_default.items() if k != "T"}
    width = sum(size_of(s.shape[0], sizes) for s in numeric.states)
    if steps * width**3 > MAX_WORK:
        raise AnalysisError(f"T = {steps} with a state of {width} numbers is too much work for an analysis "
                            f"(T · width³ ≤ {MAX_WORK:.0e}); lower --T or the sizes")
    rng = numpy.random.default_rng(seed)
    try:
        params, drawn = sample.parameters(net, sizes, weights, rng, scale)
    except WeightsError as err:
        raise AnalysisError(str(err)) from None
    data = sample.trajectory_data(net, sizes, steps, rng)
    printer = UnicodePrinter(net.notation, objective=net.objective.name)
    numbers = measure(numeric, sizes, steps, params, data, printer.doprint)
    if weights_path:
        drawn_text = f" (drawn at random, seed {seed}, scale {scale:g}: {', '.join(drawn)})" if drawn else ""
        source = weights_path + drawn_text
    else:
        source = f"random (seed {seed}, scale {scale:g})"
    return Analysis(model, symbolic, numeric, numbers, concrete, source, drawn, notes,
                    seed=seed, scale=scale, params=params, data=data)


__all__ = ["Analysis", "AnalysisError", "analyze"]
