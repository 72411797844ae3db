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
from sympy.matrices.expressions import ZeroMatrix

from derive.derivation import AFTER_FIRST, ALWAYS, BEFORE_LAST, FIRST, LAST, STATIC, SUMMED, Derivation
from derive.naming import Namer, network_namer
from derive.network import Network, size_of
from derive.nodes import RowGrad, T, TimeSum, TimeSym, t
from derive.primitives import REGISTRY
from derive.printing.numpy import HELPERS, NumpyPrinter


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
    return tuple(id(op.__dict__.get("derivative")) for op in REGISTRY)


NAMES = "__derive_names__"  # the namespace's namer, under a key no identifier can take


def _helper_names() -> set[str]:
    scratch = {"np": numpy}
    for source in HELPERS.values():
        exec(source, scratch)  # noqa: S102 - fixed helper source from derive's printer module
    return {name for name in scratch if not name.startswith("__")}


HELPER_NAMES = _helper_names()
INDEX_NAMES = {"k", "i", "j", "q", "r", "s", "u"}  # the indices of sums and products a derivation prints


def names_of(net: Network) -> Namer:
    """The identifiers of ``net``'s symbols in an evaluation namespace (made once per network)."""
    names = net.__dict__.get("_evaluation_names")
    if names is None:
        names = network_namer(net, HELPER_NAMES | INDEX_NAMES)
        net.__dict__["_evaluation_names"] = names
    return names


def key(ns: dict, name: str) -> str:
    """Where the value of the symbol ``name`` sits in a namespace."""
    return ns[NAMES].symbol(name)


def adjoint_key(ns: dict, name: str) -> str:
    """Where dL/d``name`` sits in a namespace."""
    return ns[NAMES].adjoint(name)


@lru_cache(maxsize=4096)
def _compiled(expr, fingerprint: tuple, names: Namer | None):
    # derive's own printer output for its own expression, never user text
    return compile(NumpyPrinter(names).doprint(expr), "<derive>", "eval")


def value(expr, namespace: dict):
    """The value of a derived expression in a namespace made by ``forward``/``backward``.

    Printing and compiling are cached per expression, per rule table in force and per namer.
    """
    return eval(_compiled(expr, _rules_fingerprint(), namespace.get(NAMES)), namespace)  # noqa: S307 - see _compiled


def _namespace(net: Network, point: Point, np_module) -> dict:
    names = names_of(net)
    ns = {"np": np_module, "T": point.steps, NAMES: names}
    ns.update({names.size(k): v for k, v in point.sizes.items()})
    for source in HELPERS.values():
        exec(source, ns)  # noqa: S102 - fixed helper source from derive's printer module
    functions = net.generic_function_names()
    for name, factory in point.functions.items():
        if name in functions:
            ns[names.function(name)] = factory(np_module)
        else:  # d<name>: the derivative of a generic function
            ns[names.derivative(name[1:])] = factory(np_module)
    for sym, number in point.hypers.items():
        ns[names.scalar(str(sym))] = number
    return ns


def forward(net: Network, point: Point, params=None, probes=None, np_module=numpy) -> dict:
    """Run the network; return the namespace holding every value (and the objective's).

    ``probes`` (name -> {t: array} or array) are added to the variables as they are computed:
    the gradient of the objective with respect to a zero probe is that variable's total
    adjoint, which is how the oracles check dL/dh_t without trusting the derivation.
    """
    probes = probes or {}
    ns = _namespace(net, point, np_module)
    names = ns[NAMES]
    ns.update({names.symbol(k): v for k, v in (params if params is not None else point.params).items()})
    ns.update({names.symbol(k): v for k, v in point.data.items()})
    for s in net.states:
        initial = (ns[names.symbol(s.learned.name)] if s.learned is not None  # h_0 = s, learned
                   else numpy.zeros((size_of(s.shape[0], point.sizes), 1)))
        at = 0 if s.direction == "forward" else point.steps + 1  # h_0, or g_{T+1}
        probe = probes.get(s.name, {})
        ns[names.symbol(s.name)] = {at: initial + probe[at] if at in probe else initial}

    def run(a, step_t=None):
        result = value(a.expr, ns)
        probe = probes.get(a.name)
        if probe is not None:
            result = result + (probe[step_t] if step_t is not None else probe)
        return result

    for phase in net.phases():
        if not phase.per_step:
            for a in phase.assignments:
                ns[names.symbol(a.name)] = run(a)
            continue
        for a in phase.assignments:
            ns.setdefault(names.symbol(a.name), {})
        for step_t in phase.steps(point.steps):
            ns["t"] = step_t
            for a in phase.assignments:
                ns[names.symbol(a.name)][step_t] = run(a, step_t)
    return ns


def objective(net: Network, ns: dict):
    """The objective's value as a Python scalar (or an autograd box)."""
    return ns[key(ns, net.objective.name)][0, 0]


def whens_at(step: int, steps: int) -> tuple[str, ...]:
    """The kinds of contributions to a per-step adjoint that hold at t = ``step`` of ``steps``."""
    return (ALWAYS, BEFORE_LAST if step < steps else LAST, AFTER_FIRST if step > 1 else FIRST)


def backward(derivation: Derivation, ns: dict) -> dict:
    """Evaluate every adjoint the derivation defines, backwards; return the parameter gradients."""
    net = derivation.network
    steps = ns["T"]

    def adjoint(name, whens, step_t=None):
        adj = derivation.adjoints[name]
        parts = [c.expr for c in adj.terms if c.when in whens]
        if step_t is not None:
            ns["t"] = step_t
        if parts:
            return sum(value(p, ns) for p in parts)
        # nothing reads it then (y_t for t < T where the loss reads y_T): zeros of its shape, which
        # a product such as W^T dL/dy_t needs (a bare 0.0 cannot be multiplied as a matrix)
        stored = ns[key(ns, name)]
        return 0 * (stored[step_t] if step_t is not None else stored)

    def once(name):
        """dL/dX for X computed once: its uses outside time, plus the sum of those in steps."""
        total = adjoint(name, (ALWAYS, STATIC))
        summed = derivation.adjoints[name].of(SUMMED)
        if not isinstance(summed, ZeroMatrix):
            total = total + value(TimeSum(summed, t, 1, T), ns)
        return total

    for phase in reversed(net.phases()):
        if not phase.per_step:
            for a in reversed(phase.assignments):
                if a.target != net.objective:
                    ns[adjoint_key(ns, a.name)] = once(a.name)
            continue
        for a in phase.assignments:
            ns[adjoint_key(ns, a.name)] = {}
        for step_t in reversed(phase.steps(steps)):
            for a in reversed(phase.assignments):
                ns[adjoint_key(ns, a.name)][step_t] = adjoint(a.name, whens_at(step_t, steps), step_t)
    grads = {}
    for p in net.params:
        grads[p.name] = numpy.asarray(value(derivation.gradient_expr(p.name), ns))
        ns[adjoint_key(ns, p.name)] = grads[p.name]
    return grads


def equation_values(eq, ns: dict):
    """(t, left, right) for each step t at which the equation holds (t is None without time).

    The left side dL/dX is read from the adjoints ``backward`` computed; the right side is
    evaluated from the equation itself.
    """
    var = eq.lhs.var
    table = ns[adjoint_key(ns, var.name)]
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
