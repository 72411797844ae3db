"""Three independent oracles for the gradients derive emits, none of which reads a derivation:

(a) ``sympy_gradients``: the network at small sizes with every parameter entry an explicit
    scalar symbol, unrolled over T steps from each node's entrywise meaning, differentiated
    with ``sympy.diff`` and evaluated exactly at a random rational point;
(b) ``finite_differences``: central differences of the forward pass;
(c) ``autograd_gradients``: HIPS autograd through the same forward pass, for the parameters and,
    through zero probes added to each variable, for every adjoint dL/dX.

Generic functions (phi, l) are replaced by random smooth functions, so a derivation that
passes holds for every such function, not for one convenient choice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import mpmath
import numpy
from sympy import Derivative, Function, ImmutableMatrix, Integer, Lambda, Rational, Subs, Symbol, lambdify, tanh
from sympy.core.function import AppliedUndef

from derive.algebra import substitute, unroll
from derive.evaluate import Point, forward, key, objective
from derive.network import Network, matrix_symbols
from derive.nodes import GenericLoss, Phi, T, TimeSym, t


def _rational(rng: random.Random, scale: float = 1.0, denominator: int = 64) -> Rational:
    """A random multiple of 1/denominator, never 0: a zero weight or input puts a ReLU exactly on
    its kink, where the oracles rightly disagree about the derivative."""
    numerator = 0
    while numerator == 0:
        numerator = round(rng.gauss(0.0, scale) * denominator)
    return Rational(numerator, denominator)


@dataclass(frozen=True)
class SmoothPhi:
    """phi(x) = alpha tanh(beta x) + gamma x."""

    alpha: Rational
    beta: Rational
    gamma: Rational

    def sympy(self) -> Lambda:
        x = Symbol("x")
        return Lambda(x, self.alpha * tanh(self.beta * x) + self.gamma * x)

    def numpy(self):
        a, b, g = float(self.alpha), float(self.beta), float(self.gamma)
        return (lambda np: lambda x: a * np.tanh(b * x) + g * x,
                lambda np: lambda x: a * b * (1 - np.tanh(b * x) ** 2) + g)


@dataclass(frozen=True)
class SmoothLoss:
    """l(o, y) = sum_i alpha_i (o_i - y_i)^2 / 2 + beta_i o_i^3 / 3 + gamma_i o_i y_i.

    A polynomial: nested inside a tanh-like phi, a transcendental l makes SymPy's assumption
    queries explode, and a polynomial tests the chain rule just as well.
    """

    alpha: tuple
    beta: tuple
    gamma: tuple

    def sympy(self) -> Lambda:
        size = len(self.alpha)
        o = [Symbol(f"o{r}") for r in range(size)]
        y = [Symbol(f"y{r}") for r in range(size)]
        body = sum(self.alpha[r] * (o[r] - y[r]) ** 2 / 2 + self.beta[r] * o[r] ** 3 / 3 + self.gamma[r] * o[r] * y[r]
                   for r in range(size))
        return Lambda((*o, *y), body)

    def numpy(self):
        a, b, g = (numpy.array([[float(v)] for v in c]) for c in (self.alpha, self.beta, self.gamma))
        return (lambda np: lambda o, y: np.sum(a * (o - y) ** 2 / 2 + b * o**3 / 3 + g * o * y, axis=0, keepdims=True),
                lambda np: lambda o, y: a * (o - y) + b * o**2 + g * y)


def generic_functions(net: Network) -> dict[str, type]:
    """The generic functions a network uses: name -> Phi or GenericLoss."""
    found = {}

    def walk(x):
        if isinstance(x, (Phi, GenericLoss)):
            found[x.fname] = type(x)
        for a in getattr(x, "args", ()):
            walk(a)

    for a in net.assignments:
        walk(a.expr)
    return found


def random_point(net: Network, steps: int, seed: int = 0, sizes: dict | None = None) -> tuple[Point, dict]:
    """A random point for ``net`` with ``steps`` steps, as floats and as exact rationals.

    Returns (point, exact) where ``exact`` maps names to the rational values (ImmutableMatrix,
    or {t: ImmutableMatrix}) and generic functions to their SymPy Lambdas.
    """
    rng = random.Random(seed)
    sizes = {**{k: v for k, v in net.sizes_default.items() if k != "T"}, **(sizes or {})}
    dims = {Symbol(k, integer=True, positive=True): v for k, v in sizes.items()}

    def dim(x):
        return int(x.subs(dims)) if hasattr(x, "subs") else int(x)

    def matrix(rows, cols, scale=0.6):
        return ImmutableMatrix(rows, cols, lambda r, c: _rational(rng, scale))

    exact, floats = {}, {}
    for p in net.params:
        rows, cols = dim(p.shape[0]), dim(p.shape[1])
        exact[p.name] = matrix(rows, cols, 0.6 / max(1, cols) ** 0.5 + 0.2)
    data = {}
    for x in net.inputs:
        rows = dim(x.shape[0])
        data[x.name] = ({tt: matrix(rows, 1, 1.0) for tt in range(1, steps + 1)}
                        if isinstance(x, TimeSym) else matrix(rows, 1, 1.0))

    def target(rows, kind):
        if kind == "onehot":
            hot = rng.randrange(rows)
            return ImmutableMatrix(rows, 1, lambda r, c: Integer(r == hot))
        if kind == "binary":
            return ImmutableMatrix(rows, 1, lambda r, c: Integer(rng.random() < 0.5))
        return matrix(rows, 1, 1.0)

    for y in net.target_symbols:
        rows, kind = dim(y.shape[0]), net.targets[y.name]
        data[y.name] = ({tt: target(rows, kind) for tt in range(1, steps + 1)}
                        if isinstance(y, TimeSym) else target(rows, kind))
    exact.update(data)

    functions = {}
    for name, kind in generic_functions(net).items():
        if kind is Phi:
            fn = SmoothPhi(*(Rational(rng.randint(40, 120), 80) for _ in range(2)), _rational(rng, 0.2))
        else:
            size = dim(next(loss.args[0].shape[0] for a in net.assignments for loss in _losses(a.expr, name)))
            fn = SmoothLoss(*(tuple(_rational(rng, 0.7) for _ in range(size)) for _ in range(3)))
        value, derivative = fn.numpy()
        functions[name], functions["d" + name] = value, derivative
        exact[("function", name)] = fn.sympy()

    def as_float(v):
        if isinstance(v, dict):
            return {key: as_float(m) for key, m in v.items()}
        return numpy.array(v.tolist(), dtype=float)

    floats = {p.name: as_float(exact[p.name]) for p in net.params}
    point = Point(sizes, steps, floats, {k: as_float(v) for k, v in data.items()},
                  {sym: float(val) for sym, val in net.hypers.items()}, functions)
    return point, exact


def _losses(expr, name):
    """The generic losses called ``name`` in an expression (a step's ℓ_t, or ℓ inside Σ_t)."""
    if isinstance(expr, GenericLoss) and expr.fname == name:
        yield expr
    for a in getattr(expr, "args", ()):
        yield from _losses(a, name)


# ---------------------------------------------------------------------------- (b) and (c)


def finite_differences(net: Network, point: Point, eps: float = 1e-6) -> dict[str, numpy.ndarray]:
    """Central differences (L(theta + eps e_j) - L(theta - eps e_j)) / 2 eps of every entry."""
    grads = {}
    for name, base in point.params.items():
        grad = numpy.zeros_like(base)
        for index in numpy.ndindex(base.shape):
            values = []
            for sign in (1, -1):
                moved = {**point.params, name: base.copy()}
                moved[name][index] += sign * eps
                values.append(objective(net, forward(net, point, moved)))
            grad[index] = (values[0] - values[1]) / (2 * eps)
        grads[name] = grad
    return grads


def autograd_gradients(net: Network, point: Point):
    """(dL/dtheta for every parameter, dL/dX for every variable) from HIPS autograd.

    Variables get zero probes added as they are computed; the gradient with respect to a probe
    is the total derivative of L with respect to that variable.
    """
    import autograd
    import autograd.numpy as anp

    ns = forward(net, point)
    probes = {}
    for a in net.assignments:
        if a.target == net.objective:
            continue
        v = ns[key(ns, a.name)]
        zeros = numpy.zeros_like
        probes[a.name] = {tt: zeros(m) for tt, m in v.items()} if isinstance(v, dict) else zeros(v)

    def loss(params, probes):
        return objective(net, forward(net, point, params, probes, np_module=anp))

    param_grads, adjoints = autograd.grad(loss, argnum=(0, 1))(dict(point.params), probes)
    return param_grads, adjoints


# ---------------------------------------------------------------------------- (a)


def sympy_gradients(net: Network, point: Point, exact: dict) -> dict[str, numpy.ndarray]:
    """dL/dtheta by ``sympy.diff`` of the network written out in scalars, at the exact point."""
    sizes = {Symbol(k, integer=True, positive=True): Integer(v) for k, v in point.sizes.items()}
    symbols, values = {}, {}
    for p in net.params:
        m = exact[p.name]
        entries = [[Symbol(f"{p.name}[{r},{c}]") for c in range(m.shape[1])] for r in range(m.shape[0])]
        symbols[p.name] = ImmutableMatrix(entries)
        values.update({entries[r][c]: m[r, c] for r in range(m.shape[0]) for c in range(m.shape[1])})

    # Inputs are symbols too, with their values substituted only at the end: SymPy's
    # assumption queries on exact nested numbers (tanh(3/64 + ...)) cost far more than diff.
    env = {name: exact[name] for name in point.data}
    for x in net.inputs:
        def symbolic(m, label):
            entries = [[Symbol(f"{label}[{r},{c}]") for c in range(m.shape[1])] for r in range(m.shape[0])]
            values.update({entries[r][c]: m[r, c] for r in range(m.shape[0]) for c in range(m.shape[1])})
            return ImmutableMatrix(entries)

        stored = exact[x.name]
        env[x.name] = ({tt: symbolic(m, f"{x.name}_{tt}") for tt, m in stored.items()}
                       if isinstance(stored, dict) else symbolic(stored, x.name))
    env.update(symbols)
    for s in net.states:
        at = 0 if s.direction == "forward" else point.steps + 1  # h_0 = 0, or g_{T+1} = 0
        env[s.name] = {at: env[s.learned.name] if s.learned is not None
                       else ImmutableMatrix.zeros(int(s.shape[0].subs(sizes)), 1)}
    scalars = {**sizes, T: Integer(point.steps)}
    values.update(net.hypers)

    def explicit(expr, step=None):
        if step is not None:
            expr = substitute(expr, {t: Integer(step)})
        expr = unroll(substitute(expr, {T: Integer(point.steps)}))
        leaves = {}
        for leaf in set(matrix_symbols(expr)):
            stored = env[leaf.name]
            leaves[leaf] = stored[int(leaf.index)] if isinstance(leaf, TimeSym) else stored
        out = substitute(expr, {**leaves, **scalars}).doit()
        return ImmutableMatrix(out)

    for phase in net.phases():
        if not phase.per_step:
            for a in phase.assignments:
                env[a.name] = explicit(a.expr)
            continue
        for a in phase.assignments:
            env.setdefault(a.name, {})
        for tt in phase.steps(point.steps):
            for a in phase.assignments:
                env[a.name][tt] = explicit(a.expr, tt)
    loss = env[net.objective.name][0, 0]
    entries = [m[r, c] for p in net.params for m in [symbols[p.name]]
               for r in range(m.shape[0]) for c in range(m.shape[1])]
    # phi and l stay abstract while SymPy differentiates (their derivatives appear as
    # phi'(.) and dl/do_j(.)); the random smooth functions are bound only in the numbers.
    derivatives = [_name_partials(loss.diff(e)) for e in entries]
    functions = {}
    for entry, lam in exact.items():
        if isinstance(entry, tuple) and entry[0] == "function":
            functions.update(_mpmath_functions(entry[1], lam))
    arguments = list(values)
    evaluate = lambdify(arguments, derivatives, modules=[functions, "mpmath"], cse=True)
    with mpmath.workdps(30):
        numbers = iter(evaluate(*[mpmath.mpf(values[a].p) / values[a].q for a in arguments]))
        grads = {}
        for p in net.params:
            m = symbols[p.name]
            grads[p.name] = numpy.array([[float(next(numbers)) for _ in range(m.shape[1])]
                                         for _ in range(m.shape[0])])
    return grads


def _partial_name(name: str, position: int) -> str:
    return f"d{name}_{position}"


def _name_partials(expr):
    """Write each first partial derivative of an undefined function f as a call of a named
    function d<f>_<j> (which lambdify can bind), then resolve the Subs SymPy wrapped it in."""

    def is_partial(e):
        return (isinstance(e, Derivative) and isinstance(e.expr, AppliedUndef)
                and len(e.variable_count) == 1 and e.variable_count[0][1] == 1)

    def partial(e):
        call, var = e.expr, e.variable_count[0][0]
        return Function(_partial_name(type(call).__name__, call.args.index(var)))(*call.args)

    named = expr.replace(is_partial, partial)
    return named.replace(lambda e: isinstance(e, Subs),
                         lambda e: e.expr.xreplace(dict(zip(e.variables, e.point, strict=True))))


def _mpmath_functions(name: str, lam: Lambda) -> dict:
    """f and each first partial d<f>_<j> of a random smooth function, for mpmath."""
    variables = lam.variables
    out = {name: lambdify(variables, lam.expr, "mpmath")}
    for position, var in enumerate(variables):
        out[_partial_name(name, position)] = lambdify(variables, lam.expr.diff(var), "mpmath")
    return out
