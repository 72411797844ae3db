"""The numbers of an analysis: the recurrent matrices' eigendecompositions and powers, and along
one sampled trajectory the norms of dh_T/dh_k computed from the derivation's own one-step
Jacobians, with the bound and the pure power beside them, and a verdict for each.

Norms are spectral (the 2-norm, the largest singular value). A series of norms s_j at distance
j = T − k (j = 1..T) has a per-step rate: the exponential of the least-squares slope of log s_j
over the second half of the distances, where the transient of the first steps is over. It is
vanishing when the rate is below 0.99 (s_j shrinks geometrically, to 0 as j grows), exploding
above 1.01, and neither within 1 % of 1. The bound (γ‖W‖)^j has the rate γ‖W‖ exactly: below 1
it proves the norms vanish; at or above 1 an upper bound decides nothing.
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
    direct = numpy.linalg.matrix_power(matrix, power)
    error = None
    if numpy.isfinite(condition) and condition < 1e8:
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


def judge(series: Series, upper_bound: bool = False) -> Series:
    """The verdict and rate of a series (an upper bound can show vanishing, never exploding)."""
    norms = numpy.asarray(series.norms, dtype=float)
    steps = len(norms)
    zero = numpy.flatnonzero(norms == 0)
    if zero.size:
        series.verdict, series.rate = "vanishing", 0.0
        series.note = f"exactly 0 from T − k = {zero[0] + 1}"
        return series
    finite = numpy.isfinite(norms)
    if not finite.all():
        series.verdict, series.rate = ("exploding", float("inf")) if not upper_bound else ("no conclusion", None)
        series.note = f"overflows from T − k = {numpy.flatnonzero(~finite)[0] + 1}"
        return series
    start = steps // 2 if steps >= 4 else 0
    distances = numpy.arange(1, steps + 1)[start:]
    logs = numpy.log(norms[start:])
    slope = float(numpy.polyfit(distances, logs, 1)[0]) if len(distances) > 1 else float(logs[0])
    series.rate = float(numpy.exp(slope))
    if upper_bound:
        series.verdict = "vanishing" if series.rate < 1 else "no conclusion"
    elif series.rate < SHRINKING:
        series.verdict = "vanishing"
    elif series.rate > GROWING:
        series.verdict = "exploding"
    else:
        series.verdict = "neither"
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
    numbers = Numbers(steps, dict(sizes), [], judge(Series(label, measured)), None, None, products=products,
                      step_norms=[_norm(jacobians[step]) for step in range(1, steps + 1)])

    for m in rec.matrices:
        numbers.eigen.append(eigen(show(m), numpy.asarray(value(m, ns), dtype=float), steps, m))
    if rec.bound is not None:
        matrix = numpy.asarray(value(rec.bound.matrix, ns), dtype=float)
        gamma = rec.bound.gamma.number
        numbers.gamma = gamma
        factor = gamma * numpy.linalg.norm(matrix, 2)
        with numpy.errstate(over="ignore"):
            bound = [float(factor**j) for j in range(1, steps + 1)]
        numbers.bound = Series(f"(γ‖{show(rec.bound.matrix)}‖)^(T−k)", bound, rate=float(factor),
                               verdict="vanishing" if factor < 1 else "no conclusion")
        powers, power = [], numpy.eye(matrix.shape[0])
        with numpy.errstate(over="ignore", invalid="ignore"):
            for _ in range(steps):
                power = power @ matrix
                powers.append(_norm(power))
        numbers.power = judge(Series(f"‖{show(rec.bound.matrix)}^(T−k)‖", powers))
    for cell in rec.cell_paths:
        path, norms = None, []
        for step in range(steps, 0, -1):
            ns["t"] = step
            factor = numpy.asarray(value(cell.factor, ns), dtype=float).ravel()
            path = factor if path is None else path * factor
            norms.append(float(numpy.max(numpy.abs(path))))
        numbers.cells.append(judge(Series(f"‖Π diag({show(cell.factor)})‖", norms)))
    return numbers


def _norm(matrix: numpy.ndarray) -> float:
    if not numpy.all(numpy.isfinite(matrix)):
        return float("inf")
    return float(numpy.linalg.norm(matrix, 2))
