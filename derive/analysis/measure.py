"""The numbers of an analysis: the recurrent matrices' eigendecompositions and powers, and along
one sampled trajectory the norms of dh_T/dh_k computed from the derivation's own one-step
Jacobians, with the bound and the pure power beside them, and a verdict for each.

Norms are spectral (the 2-norm, the largest singular value). The measured series s_j at
distance j = T − k (j = 1..T) is judged over this horizon: its per-step rate r is the
exponential of the least-squares slope of log s_j over the second half of the distances, where
the transient of the first steps is over, and it is vanishing when r^{T/2} ≤ 1/2 (the norm at
least halves over that half), exploding when r^{T/2} ≥ 2, and neither otherwise; with fewer
than four steps there is no verdict. The pure power ‖W^j‖ is judged by the spectral radius ρ,
its exact asymptotic rate, and the bound (γ‖W‖)^j by γ‖W‖: below 1 it proves the norms tend to
0 as T − k grows; at or above 1 an upper bound decides nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy

from derive.analysis.paths import Recurrence
from derive.evaluate import Point, forward, value
from derive.network import size_of
from derive.nodes import Jac, T, k

SHRINKING, GROWING = 0.99, 1.01


@dataclass
class Series:
    """s_j for j = 1..T, and what it says."""

    label: str
    norms: list[float]
    verdict: str = ""
    rate: float | None = None
    note: str = ""


@dataclass
class Eigen:
    """A recurrent matrix M: its eigendecomposition M = QΛQ⁻¹ and M^n checked against it."""

    name: str  # as the analysis prints it (W, W_f[:, 1..n])
    matrix: numpy.ndarray
    eigenvalues: numpy.ndarray
    vectors: numpy.ndarray | None  # Q, or None where M is not diagonalisable (numerically)
    radius: float
    norm: float
    power: int
    power_error: float | None  # ||QΛⁿQ⁻¹ − Mⁿ|| / ||Mⁿ||, None without Q
    condition: float
    expr: object = None  # the matrix as the derivation writes it (for other printers)


@dataclass
class Numbers:
    steps: int
    sizes: dict[str, int]
    eigen: list[Eigen]
    measured: Series
    bound: Series | None
    power: Series | None
    cells: list[Series] = field(default_factory=list)
    gamma: float | None = None
    step_norms: list[float] = field(default_factory=list)  # ||ds_t/ds_{t−1}|| at t = 1..T
    products: dict[int, numpy.ndarray] = field(default_factory=dict)  # k -> ds_T/ds_k (tests read it)


def eigen(name: str, matrix: numpy.ndarray, power: int, expr=None) -> Eigen:
    values, vectors = numpy.linalg.eig(matrix)
    condition = float(numpy.linalg.cond(vectors))
    with numpy.errstate(all="ignore"):
        direct = numpy.linalg.matrix_power(matrix, power)
    error = None
    if not numpy.all(numpy.isfinite(direct)):
        pass  # the power overflows: there is nothing to compare
    elif numpy.isfinite(condition) and condition < 1e8:
        rebuilt = vectors @ numpy.diag(values**power) @ numpy.linalg.inv(vectors)
        scale = numpy.linalg.norm(direct, 2)
        if scale > 0 and numpy.isfinite(scale):
            error = float(numpy.linalg.norm(rebuilt - direct, 2) / scale)
        elif scale == 0:
            error = float(numpy.linalg.norm(rebuilt, 2))
    else:
        vectors = None
    return Eigen(name, matrix, values, vectors, float(numpy.max(numpy.abs(values))),
                 float(numpy.linalg.norm(matrix, 2)), power, error, condition, expr)


MIN_STEPS = 4
TABLE_DISTANCES = (1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


def shown_distances(steps: int) -> list[int]:
    """The distances T − k a table of norms shows (every one is in the JSON): a few, and T."""
    return [d for d in TABLE_DISTANCES if d < steps] + [steps]
FACTOR = 2.0  # over the last half of the horizon: halved (vanishing) or doubled (exploding)


def judge(series: Series) -> Series:
    """The verdict and per-step rate of a measured series, over its horizon."""
    norms = numpy.asarray(series.norms, dtype=float)
    steps = len(norms)
    nan = numpy.flatnonzero(numpy.isnan(norms))
    if nan.size:
        series.verdict = "no conclusion"
        series.note = f"not a number from T − k = {nan[0] + 1}: a derivative overflowed"
        return series
    infinite = numpy.flatnonzero(numpy.isinf(norms))
    if infinite.size:
        series.verdict, series.rate = "exploding", float("inf")
        series.note = f"overflows from T − k = {infinite[0] + 1}"
        return series
    zero = numpy.flatnonzero(norms == 0)
    if zero.size:
        series.verdict = "vanishing"
        series.note = f"0 from T − k = {zero[0] + 1}"
        return series
    if steps < MIN_STEPS:
        series.verdict = "no conclusion"
        series.note = f"{steps} step{'s' if steps > 1 else ''} are too few for a rate"
        return series
    start = steps // 2
    distances = numpy.arange(1, steps + 1)[start:]
    slope = float(numpy.polyfit(distances, numpy.log(norms[start:]), 1)[0])
    series.rate = float(numpy.exp(slope))
    change = slope * (steps - start)  # log of the change over the last half at this rate
    if change <= -numpy.log(FACTOR):
        series.verdict = "vanishing"
    elif change >= numpy.log(FACTOR):
        series.verdict = "exploding"
    else:
        series.verdict = "neither"
    return series


def by_rate(series: Series, rate: float, upper_bound: bool) -> Series:
    """A series whose asymptotic per-step rate is known exactly (ρ of a pure power, γ‖W‖ of the bound)."""
    series.rate = rate
    if rate < 1:
        series.verdict = "vanishing"
    elif upper_bound or rate == 1:
        series.verdict = "no conclusion" if upper_bound else "neither"
    else:
        series.verdict = "exploding"
    return series


def measure(rec: Recurrence, sizes: dict[str, int], steps: int, params: dict, data: dict,
            show: Callable[[object], str]) -> Numbers:
    """The numbers for a trajectory of ``steps`` steps; ``show`` prints an expression."""
    net = rec.derivation.network
    point = Point(sizes, steps, params, data, {sym: float(v) for sym, v in net.hypers.items()}, {})
    with numpy.errstate(all="ignore"):  # the loss may overflow where the states explode; it is not used
        ns = forward(net, point)
    widths = [size_of(s.shape[0], sizes) for s in rec.states]
    offsets = numpy.concatenate([[0], numpy.cumsum(widths)])
    total = int(offsets[-1])

    def step_jacobian(step: int) -> numpy.ndarray:
        ns["t"] = step
        block = numpy.zeros((total, total))
        for r, s in enumerate(rec.states):
            for c, s2 in enumerate(rec.states):
                jac = rec.step_jacobian(s.name, s2.name)
                if jac is not None:
                    block[offsets[r]:offsets[r + 1], offsets[c]:offsets[c + 1]] = value(jac, ns)
        return block

    with numpy.errstate(all="ignore"):
        jacobians = {step: step_jacobian(step) for step in range(1, steps + 1)}
    products, product = {}, numpy.eye(total)
    measured = []
    with numpy.errstate(over="ignore", invalid="ignore"):
        for kk in range(steps - 1, -1, -1):  # ds_T/ds_k = J_T ⋯ J_{k+1}
            product = product @ jacobians[kk + 1]
            products[kk] = product
            measured.append(_norm(product))
    if rec.single:
        label = f"‖{show(Jac(rec.states[0].now.at(T), rec.states[0].now.at(k)))}‖"
    else:
        label = "‖∂(" + ", ".join(show(s.now.at(T)) for s in rec.states) + ")/∂(…)ₖ‖"
    step_norms = [_norm(jacobians[step]) for step in range(1, steps + 1)]
    numbers = Numbers(steps, dict(sizes), [], judge(Series(label, measured)), None, None, products=products,
                      step_norms=step_norms)
    if numbers.measured.note.startswith("0 from"):
        first = first_zero(numbers.measured)
        dead = [step for step, norm in enumerate(step_norms, 1) if norm == 0]
        before = measured[first - 2] if first >= 2 else 1.0
        if dead:
            numbers.measured.note = (f"exactly 0 from T − k = {first}: the step Jacobian is 0 at t = {dead[-1]} "
                                     "(every unit's derivative is 0 there: dead or saturated)")
        elif before > 1e-200:
            numbers.measured.note = f"exactly 0 from T − k = {first}: the product of the step Jacobians is 0"
        else:
            numbers.measured.note = f"below the smallest float from T − k = {first} (underflow)"

    for m in rec.matrices:
        numbers.eigen.append(eigen(show(m), numpy.asarray(value(m, ns), dtype=float), steps, m))
    if rec.bound is not None:
        matrix = numpy.asarray(value(rec.bound.matrix, ns), dtype=float)
        gamma = rec.bound.gamma.number
        numbers.gamma = gamma
        factor = gamma * numpy.linalg.norm(matrix, 2)
        with numpy.errstate(over="ignore"):
            bound = [float(factor**j) for j in range(1, steps + 1)]
        numbers.bound = by_rate(Series(f"(γ‖{show(rec.bound.matrix)}‖)^(T−k)", bound), float(factor), True)
        powers, power = [], numpy.eye(matrix.shape[0])
        with numpy.errstate(over="ignore", invalid="ignore"):
            for _ in range(steps):
                power = power @ matrix
                powers.append(_norm(power))
        finite = numpy.all(numpy.isfinite(matrix))
        radius = float(numpy.max(numpy.abs(numpy.linalg.eigvals(matrix)))) if finite else None
        numbers.power = Series(f"‖{show(rec.bound.matrix)}^(T−k)‖", powers)
        if radius is None:
            numbers.power.verdict = "no conclusion"
        else:
            by_rate(numbers.power, radius, False)
            numbers.power.note = f"ρ = {radius:.4g}"
    for cell in rec.cell_paths:
        path, norms = None, []
        for step in range(steps, 0, -1):
            ns["t"] = step
            factor = numpy.asarray(value(cell.factor, ns), dtype=float).ravel()
            path = factor if path is None else path * factor
            norms.append(float(numpy.max(numpy.abs(path))))
        numbers.cells.append(judge(Series(f"‖Π diag({show(cell.factor)})‖", norms)))
    return numbers


def first_zero(series: Series) -> int:
    """The distance T − k at which a series first is 0."""
    return int(numpy.flatnonzero(numpy.asarray(series.norms) == 0)[0]) + 1


def _norm(matrix: numpy.ndarray) -> float:
    """The spectral norm; nan where an entry is not a number, inf where one overflowed."""
    if numpy.any(numpy.isnan(matrix)):
        return float("nan")
    if not numpy.all(numpy.isfinite(matrix)):
        return float("inf")
    return float(numpy.linalg.norm(matrix, 2))
