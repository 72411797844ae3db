"""Compare everything a Derivation claims with the independent oracles.

The derivation's formulas are evaluated numerically (NumPy printer); the oracles never read the
derivation. Each check returns a list of failures (empty when all agree) so a test can show
every disagreement at once, and so a deliberately broken rule can be seen to produce some.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from sympy import Integer

from derive import oracles, source
from derive.deriver import derive
from derive.evaluate import backward, forward, key, value
from derive.nodes import T as T_SYM
from derive.nodes import TimeSym
from derive.nodes import t as t_sym

SMALL = dict(n=2, d=1, k=2)  # sizes for the SymPy scalar oracle


def close(a, b, tol) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim == 0:  # a constant adjoint (dL/dl_t = 1/T) against its (1, 1) value
        a = np.broadcast_to(a, b.shape)
    return a.shape == b.shape and bool(np.max(np.abs(a - b), initial=0.0) <= tol * max(1.0, np.max(np.abs(b))))


def as_param_shape(v, shape):
    """A numerator-layout row (row-major vec) back in the parameter's shape."""
    v = np.asarray(v, dtype=float)
    return v.reshape(shape)


@dataclass
class Case:
    preset: str
    settings: dict
    steps: int
    sizes: dict | None = None
    seed: int = 1

    def network(self):
        """The network of a preset name or a model file's path, with the case's settings."""
        return _model(self.preset).build(dict(self.settings))

    def point(self):
        net = self.network()
        sizes = None
        if self.sizes:
            sizes = {k: v for k, v in self.sizes.items() if k in net.sizes_default}
            sizes = {**{k: v for k, v in net.sizes_default.items() if k != "T"}, **sizes}
        return oracles.random_point(net, self.steps, seed=self.seed, sizes=sizes)


@cache
def _model(ref: str):
    return source.resolve(ref)


@cache
def _oracle_values(preset, settings_items, steps, sizes_items, seed, with_sympy):
    case = Case(preset, dict(settings_items), steps, dict(sizes_items) if sizes_items else None, seed)
    net = case.network()
    point, exact = case.point()
    auto_params, auto_adjoints = oracles.autograd_gradients(net, point)
    fd = oracles.finite_differences(net, point)
    sym = oracles.sympy_gradients(net, point, exact) if with_sympy else None
    return auto_params, auto_adjoints, fd, sym


def oracle_values(case: Case, with_sympy: bool):
    key = (case.preset, tuple(sorted(case.settings.items())), case.steps,
           tuple(sorted((case.sizes or {}).items())), case.seed)
    return _oracle_values(*key, with_sympy)


def derived_gradients(derivation, ns) -> dict[str, dict[str, np.ndarray]]:
    """Every form of each dL/dtheta the derivation offers, as numbers in the parameter's shape."""
    net = derivation.network
    forms = {p.name: {} for p in net.params}
    steps = ns["T"]
    for p in net.params:
        shape = ns[key(ns, p.name)].shape
        forms[p.name]["recurrence form"] = as_param_shape(value(derivation.gradient_expr(p.name), ns), shape)
    for eq in derivation.gradient_equations(inlined=True):
        name = eq.lhs.var.name
        forms[name]["inlined, " + derivation.layout] = as_param_shape(value(eq.rhs, ns), ns[key(ns, name)].shape)
    for theta in derivation.bptt_params():
        total = sum(value(term, ns) for _, _, term in derivation.bptt_terms(theta.name, steps))
        shape = ns[key(ns, theta.name)].shape
        forms[theta.name]["BPTT double sum, " + derivation.layout] = as_param_shape(total, shape)
        general = derivation.bptt_sum(theta.name)  # the sums as a document writes them, with T free
        forms[theta.name]["BPTT general sum, " + derivation.layout] = as_param_shape(value(general, ns), shape)
    return forms


def adjoint_checks(derivation, ns, auto_adjoints, point=None):
    """(label, derived value, the oracles' value, tolerance) for every adjoint equation at every valid t."""
    eqs = derivation.variable_equations() + derivation.recurrences()
    if derivation.unrolls:
        eqs.append(derivation.closed_form())
    steps = ns["T"]
    for eq in eqs:
        if derivation.stacked and eq.lhs.var == derivation.stacked_state:  # dL/dz_t, z_t = [h_t; C_t]
            yield from _stacked_checks(derivation, eq, ns, auto_adjoints, point)
            continue
        var = eq.lhs.var
        truth = auto_adjoints[var.name]
        if not isinstance(var, TimeSym):
            yield str(eq.lhs), value(eq.rhs, ns), _layout(truth, derivation), 1e-10
            continue
        for tt in range(1, steps + 1):
            if eq.condition is not None and not bool(eq.condition.subs({t_sym: tt, T_SYM: steps})):
                continue
            ns["t"] = tt
            index = int(var.index.subs({t_sym: Integer(tt), T_SYM: steps}))
            yield f"{eq.lhs} at t={tt}", value(eq.rhs, ns), _layout(truth[index], derivation), 1e-10


def _stacked_checks(derivation, eq, ns, auto_adjoints, point):
    """The closed form of several states, ∂L/∂z_t for z_t = [h_t; C_t] with the states as separate
    coordinates, at every t. Its truth from two oracles: autograd's total adjoints, and the
    within-step Jacobians D_YX = dY_t/dX_t by central differences of the forward pass (a probe on
    X_t, read at Y_t). The total of X_t is its own coordinate's share plus the shares reaching it
    through the states computed from it in the same step, total_X = p_X + Σ_Y D_YXᵀ p_Y, solved
    for p (the in-step dependencies form a chain: as many sweeps as states make it exact)."""
    net, steps = derivation.network, ns["T"]
    names = derivation.state_names
    sizes = {n: np.asarray(auto_adjoints[n][1]).shape[0] for n in names}
    for tt in range(1, steps + 1):
        ns["t"] = tt
        got = np.asarray(value(eq.rhs, ns))
        within = {}
        for x in names:
            for j in range(sizes[x]):
                moved = {}
                for sign in (1, -1):
                    probe = np.zeros((sizes[x], 1))
                    probe[j] = sign * 1e-6
                    at = {step: probe if step == tt else np.zeros_like(probe) for step in range(steps + 2)}
                    run = forward(net, point, probes={x: at})
                    moved[sign] = {y: np.asarray(run[key(run, y)][tt]) for y in names if y != x}
                for y in moved[1]:
                    within.setdefault((y, x), np.zeros((sizes[y], sizes[x])))[:, j] = \
                        ((moved[1][y] - moved[-1][y]) / 2e-6).ravel()
        total = {n: np.asarray(auto_adjoints[n][tt]).reshape(-1, 1) for n in names}
        share = dict(total)
        for _ in names:
            share = {x: total[x] - sum((within[(y, x)].T @ share[y] for y in names if y != x), np.zeros_like(total[x]))
                     for x in names}
        start = 0
        for n in names:
            part = got[:, start:start + sizes[n]] if derivation.layout == "numerator" else got[start:start + sizes[n]]
            start += sizes[n]
            yield f"closed form, the block of {n} at t={tt}", part, _layout(share[n], derivation), 1e-7


def _layout(v, derivation):
    return np.reshape(v, (1, -1)) if derivation.layout == "numerator" else v


def failures(case: Case, layout: str, with_sympy: bool) -> list[str]:
    """Every disagreement between the derivation of ``case`` and the three oracles."""
    net = case.network()
    derivation = derive(net, layout)
    point, _ = case.point()
    ns = forward(net, point)
    backward(derivation, ns)
    auto_params, auto_adjoints, fd, sym = oracle_values(case, with_sympy)
    found = []
    for name, forms in derived_gradients(derivation, ns).items():
        for form, got in forms.items():
            checks = [("autograd", auto_params[name], 1e-10), ("finite differences", fd[name], 1e-6)]
            if sym is not None:
                checks.append(("SymPy", sym[name], 1e-12))
            for oracle, truth, tol in checks:
                if not close(got, truth, tol):
                    found.append(f"dL/d{name} ({form}) disagrees with {oracle}: {got.ravel()} vs {np.ravel(truth)}")
    for label, got, truth, tol in adjoint_checks(derivation, ns, auto_adjoints, point):
        if not close(got, truth, tol):
            found.append(f"{label} disagrees with autograd: {np.ravel(got)} vs {np.ravel(truth)}")
    return found


def network_failures(net, steps: int, layout: str, with_sympy: bool, sizes=None, seed: int = 1) -> list[str]:
    """``failures`` for a network built in the test itself (no model source)."""
    point, exact = oracles.random_point(net, steps, seed=seed, sizes=sizes)
    derivation = derive(net, layout)
    ns = forward(net, point)
    backward(derivation, ns)
    auto_params, auto_adjoints = oracles.autograd_gradients(net, point)
    truths = {"autograd": (auto_params, 1e-10), "finite differences": (oracles.finite_differences(net, point), 1e-6)}
    if with_sympy:
        truths["SymPy"] = (oracles.sympy_gradients(net, point, exact), 1e-12)
    found = []
    for name, forms in derived_gradients(derivation, ns).items():
        for form, got in forms.items():
            for oracle, (values, tol) in truths.items():
                if not close(got, values[name], tol):
                    found.append(f"dL/d{name} ({form}) disagrees with {oracle}: {got.ravel()} vs "
                                 f"{np.ravel(values[name])}")
    for label, got, truth, tol in adjoint_checks(derivation, ns, auto_adjoints, point):
        if not close(got, truth, tol):
            found.append(f"{label} disagrees with autograd: {np.ravel(got)} vs {np.ravel(truth)}")
    return found
