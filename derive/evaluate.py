"""Numbers for a network and its derivation at concrete sizes, T and values.

``forward`` runs the declared network (its expressions printed by the NumPy printer and run
with ``np`` bound to NumPy, or to autograd's NumPy for the autograd oracle); ``backward`` runs
the derivation's adjoint definitions backwards in time; ``value`` evaluates any derived
expression (a gradient, a recurrence, a BPTT term) in the resulting namespace.

The code evaluated here is the NumPy printer's own output for expressions derive built; no text
from a user is ever compiled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy

from derive import rules
from derive.derivation import ALWAYS, BEFORE_LAST, LAST, STATIC, Derivation
from derive.network import Network, size_of
from derive.nodes import RowGrad, T, TimeSym, t
from derive.printing.numpy import HELPERS, NumpyPrinter, adjoint_name


@dataclass
class Point:
    """Concrete values: sizes, the number of steps, parameters, data and generic functions.

    ``data`` maps an input or target name to {t: array} (per step) or an array; ``functions``
    maps a generic function's name (phi, dphi, ell, dell) to a factory taking ``np``.
    """

    sizes: dict[str, int]
    steps: int
    params: dict[str, numpy.ndarray]
    data: dict[str, object]
    hypers: dict[str, float] = field(default_factory=dict)
    functions: dict[str, object] = field(default_factory=dict)


def _rules_fingerprint() -> tuple:
    """Which derivative rules are in force: printed code depends on them (a test may swap one)."""
    return tuple(id(rule) for rule in rules.DERIVATIVES.values())


@lru_cache(maxsize=4096)
def _compiled(expr, fingerprint: tuple):
    # derive's own printer output for its own expression, never user text
    return compile(NumpyPrinter().doprint(expr), "<derive>", "eval")


def value(expr, namespace: dict):
    """The value of a derived expression in a namespace made by ``forward``/``backward``.

    Printing and compiling are cached per expression and per rule table in force.
    """
    return eval(_compiled(expr, _rules_fingerprint()), namespace)  # noqa: S307 - see _compiled


def _namespace(point: Point, np_module) -> dict:
    ns = {"np": np_module, "T": point.steps, **point.sizes}
    for source in HELPERS.values():
        exec(source, ns)  # noqa: S102 - fixed helper source from derive's printer module
    for name, factory in point.functions.items():
        ns[name] = factory(np_module)
    printer = NumpyPrinter()
    for sym, number in point.hypers.items():
        ns[printer.doprint(sym)] = number
    return ns


def forward(net: Network, point: Point, params=None, probes=None, np_module=numpy) -> dict:
    """Run the network; return the namespace holding every value (and the objective's).

    ``probes`` (name -> {t: array} or array) are added to the variables as they are computed:
    the gradient of the objective with respect to a zero probe is that variable's total
    adjoint, which is how the oracles check dL/dh_t without trusting the derivation.
    """
    probes = probes or {}
    ns = _namespace(point, np_module)
    ns.update(params if params is not None else point.params)
    ns.update(point.data)
    for s in net.states:
        initial = numpy.zeros((size_of(s.shape[0], point.sizes), 1))
        probe = probes.get(s.name, {})
        ns[s.name] = {0: initial + probe[0] if 0 in probe else initial}
    before, step, after = net.schedule()

    def run(a, step_t=None):
        result = value(a.expr, ns)
        probe = probes.get(a.name)
        if probe is not None:
            result = result + (probe[step_t] if step_t is not None else probe)
        return result

    for a in before:
        ns[a.name] = run(a)
    for a in step:
        ns.setdefault(a.name, {})
    for step_t in range(1, point.steps + 1):
        ns["t"] = step_t
        for a in step:
            ns[a.name][step_t] = run(a, step_t)
    for a in after:
        ns[a.name] = run(a)
    return ns


def objective(net: Network, ns: dict):
    """The objective's value as a Python scalar (or an autograd box)."""
    return ns[net.objective.name][0, 0]


def backward(derivation: Derivation, ns: dict) -> dict:
    """Evaluate every adjoint the derivation defines, backwards; return the parameter gradients."""
    net = derivation.network
    before, step, after = net.schedule()

    def adjoint(name, whens, step_t=None):
        adj = derivation.adjoints[name]
        parts = [c.expr for c in adj.terms if c.when in whens]
        if step_t is not None:
            ns["t"] = step_t
        return sum(value(p, ns) for p in parts) if parts else 0.0

    for a in reversed(after):
        if a.target != net.objective:
            ns[adjoint_name(a.name)] = adjoint(a.name, (ALWAYS, STATIC))
    for a in step:
        ns[adjoint_name(a.name)] = {}
    for step_t in range(ns["T"], 0, -1):
        whens = (ALWAYS, LAST) if step_t == ns["T"] else (ALWAYS, BEFORE_LAST)
        for a in reversed(step):
            ns[adjoint_name(a.name)][step_t] = adjoint(a.name, whens, step_t)
    for a in reversed(before):
        if a.target != net.objective:
            ns[adjoint_name(a.name)] = adjoint(a.name, (ALWAYS, STATIC))
    grads = {}
    for p in net.params:
        grads[p.name] = numpy.asarray(value(derivation.gradient_expr(p.name), ns))
        ns[adjoint_name(p.name)] = grads[p.name]
    return grads


def equation_values(eq, ns: dict):
    """(t, left, right) for each step t at which the equation holds (t is None without time).

    The left side dL/dX is read from the adjoints ``backward`` computed; the right side is
    evaluated from the equation itself.
    """
    var = eq.lhs.var
    table = ns[adjoint_name(var.name)]
    as_row = isinstance(eq.lhs, RowGrad)
    if not isinstance(var, TimeSym):
        yield None, (numpy.reshape(table, (1, -1)) if as_row else table), value(eq.rhs, ns)
        return
    steps = ns["T"]
    for step in range(1, steps + 1):
        if eq.condition is not None and not bool(eq.condition.subs({t: step, T: steps})):
            continue
        ns["t"] = step
        left = table[int(var.index.subs({t: step, T: steps}))]
        yield step, (numpy.reshape(left, (1, -1)) if as_row else left), value(eq.rhs, ns)
