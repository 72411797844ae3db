"""Declaring a network one time step at a time.

A ``Network`` holds parameters, inputs, targets and recurrent states as matrix symbols with
(symbolic) shapes, and the computation as an ordered list of assignments built from the
primitives in ``ops``:

    net = Network("rnn-softmax", sizes=dict(n=3, d=2, k=2, T=3))
    n, d, k = net.sizes("n d k")
    W, U, b = net.param("W", n, n), net.param("U", n, d), net.param("b", n)
    x, h = net.input("x", d), net.state("h", n)
    a = net.step("a", add(U @ x, W @ h.prev, b))     # a_t, for t = 1..T
    net.step(h, sigmoid(a))                          # h_t; h_0 = 0

Step assignments run at every t (time stays a symbolic index); static ones run once, before
the loop (an MLP) or after it (a head on h_T, the objective). The last static assignment is the
objective that every gradient is taken of.
"""

from __future__ import annotations

from dataclasses import dataclass

from sympy import Basic, Rational, Symbol, sympify
from sympy.matrices.expressions import HadamardProduct, MatAdd, MatMul, MatrixExpr, MatrixSymbol

from derive.nodes import Concat, DeclaredSymbol, Divide, T, TimeSym, t
from derive.notation import Notation


class DeclarationError(ValueError):
    """A network that cannot be built as declared (shapes, names, options)."""


@dataclass(frozen=True)
class Assignment:
    """``target := expr``; per-step assignments hold at every t, static ones once."""

    target: MatrixExpr
    expr: MatrixExpr
    per_step: bool

    @property
    def name(self) -> str:
        return self.target.name


@dataclass(frozen=True)
class State:
    """A recurrent state h_t with h_0 = 0."""

    now: TimeSym

    name = property(lambda self: self.now.name)
    prev = property(lambda self: self.now.at(t - 1))
    last = property(lambda self: self.now.at(T))
    shape = property(lambda self: self.now.shape)


TARGET_KINDS = ("onehot", "binary", "real")


class Network:
    """A network's declaration: symbols, assignments, notation and the options it was built with."""

    def __init__(self, name, sizes, *, seed="", summary="", sequential=True, notation=None, options=None):
        self.name, self.seed, self.summary, self.sequential = name, seed, summary, sequential
        self.sizes_default = dict(sizes)
        self.notation = notation or Notation()
        self.options = dict(options or {})
        self.size_symbols = {s: Symbol(s, integer=True, positive=True) for s in sizes if s != "T"}
        self.params: list[MatrixSymbol] = []
        self.inputs: list[MatrixExpr] = []
        self.targets: dict[str, str] = {}
        self.target_symbols: list[MatrixExpr] = []
        self.states: list[State] = []
        self.hypers: dict[Symbol, Rational] = {}
        self.assignments: list[Assignment] = []
        self._names: set[str] = set()

    # ------------------------------------------------------------------ declarations

    def sizes(self, names: str):
        """The size symbols, e.g. ``n, d, k = net.sizes("n d k")``."""
        return [self.size_symbols[s] for s in names.split()]

    def _claim(self, name: str) -> None:
        if not name.isidentifier() or name in self._names:
            raise DeclarationError(f"name {name!r} is not a fresh identifier")
        self._names.add(name)

    def _symbol(self, name, rows, cols):
        if self.sequential:
            return TimeSym(name, t, rows, cols)
        return DeclaredSymbol(name, rows, cols)

    def param(self, name: str, rows, cols=1) -> MatrixSymbol:
        self._claim(name)
        p = DeclaredSymbol(name, rows, cols)
        self.params.append(p)
        return p

    def input(self, name: str, rows, cols=1):
        """An input: x_t in a sequential network, x otherwise."""
        self._claim(name)
        x = self._symbol(name, rows, cols)
        self.inputs.append(x)
        return x

    def target(self, name: str, rows, kind: str, *, per_step: bool | None = None):
        """A target (label) of kind 'onehot', 'binary' or 'real'."""
        if kind not in TARGET_KINDS:
            raise DeclarationError(f"target kind must be one of {TARGET_KINDS}")
        self._claim(name)
        per_step = self.sequential if per_step is None else per_step
        y = TimeSym(name, t, rows, 1) if per_step else DeclaredSymbol(name, rows, 1)
        self.targets[name] = kind
        self.target_symbols.append(y)
        return y

    def state(self, name: str, rows) -> State:
        if not self.sequential:
            raise DeclarationError("a network without time has no recurrent state")
        self._claim(name)
        s = State(TimeSym(name, t, rows, 1))
        self.states.append(s)
        return s

    def hyper(self, name: str, value) -> Symbol:
        """A scalar hyperparameter (lambda), symbolic in derivations, ``value`` in numbers."""
        self._claim(name)
        sym = Symbol(name, positive=True)
        self.hypers[sym] = sympify(value)
        return sym

    def _assign(self, target, expr, per_step: bool):
        if not isinstance(expr, MatrixExpr):
            raise DeclarationError(f"{getattr(target, 'name', target)} is assigned {type(expr).__name__}, "
                                   "not a matrix expression of the network's symbols")
        problem = shape_problem(expr)
        if problem:
            raise DeclarationError(f"{getattr(target, 'name', target)}: {problem}")
        if isinstance(target, State):
            if not per_step:
                raise DeclarationError(f"state {target.name} is assigned per step")
            if any(a.target == target.now for a in self.assignments):
                raise DeclarationError(f"state {target.name} is assigned twice")
            sym = target.now
        else:
            self._claim(target)
            sym = TimeSym(target, t, *expr.shape) if per_step else DeclaredSymbol(target, *expr.shape)
        if sym.shape != expr.shape:
            raise DeclarationError(f"{sym.name} has shape {sym.shape}, its expression {expr.shape}")
        self.assignments.append(Assignment(sym, expr, per_step))
        return sym

    def step(self, target, expr):
        """target_t := expr at every time step t = 1..T."""
        if not self.sequential:
            raise DeclarationError("a network without time has no step assignments")
        return self._assign(target, expr, per_step=True)

    def let(self, target: str, expr):
        """target := expr once (outside the time loop)."""
        return self._assign(target, expr, per_step=False)

    def with_assignments(self, assignments: list[Assignment]) -> Network:
        """A copy of this network computing ``assignments`` instead (same symbols and names)."""
        copy = object.__new__(Network)
        copy.__dict__.update(self.__dict__)
        copy.sizes_default = dict(self.sizes_default)
        copy.assignments = list(assignments)
        return copy

    # ------------------------------------------------------------------ queries

    @property
    def objective(self) -> MatrixSymbol:
        statics = [a for a in self.assignments if not a.per_step]
        if not statics:
            raise DeclarationError(f"{self.name} declares no objective")
        return statics[-1].target

    @property
    def step_assignments(self) -> list[Assignment]:
        return [a for a in self.assignments if a.per_step]

    @property
    def static_assignments(self) -> list[Assignment]:
        return [a for a in self.assignments if not a.per_step]

    def schedule(self) -> tuple[list[Assignment], list[Assignment], list[Assignment]]:
        """The assignments in evaluation order: static ones before the loop over t, the step,
        and static ones after it (those that read a state or anything computed in the loop)."""
        step = self.step_assignments
        before, after = [], []
        late = {a.name for a in step} | {s.name for s in self.states}
        for a in self.static_assignments:
            if _reads_time(a.expr) or reads(a.expr) & late:
                after.append(a)
                late.add(a.name)
            else:
                before.append(a)
        return before, step, after

    @property
    def variable_names(self) -> set[str]:
        """Names of everything a gradient flows to: parameters and assigned variables."""
        return {p.name for p in self.params} | {a.name for a in self.assignments}

    def size_values(self, **overrides) -> dict[str, int]:
        values = dict(self.sizes_default)
        for key, value in overrides.items():
            if key not in values:
                raise DeclarationError(f"{self.name} has no size {key!r} (sizes: {', '.join(values)})")
            values[key] = value
        return values


def size_of(dim, sizes: dict[str, int]) -> int:
    """A shape expression (n, 2*n, n + d) as a number, for the given size values."""
    value = sympify(dim).subs({s: sizes[s.name] for s in sympify(dim).free_symbols if s.name in sizes})
    if not value.is_Integer:
        raise DeclarationError(f"the size {dim} needs values for {', '.join(sorted(map(str, value.free_symbols)))}")
    return int(value)


def shape_problem(expr) -> str | None:
    """Why the shapes in ``expr`` do not fit (a product that does not conform, a sum or entrywise
    product of different shapes), or None."""
    if not isinstance(expr, Basic):
        return None
    for a in expr.args:
        problem = shape_problem(a)
        if problem:
            return problem
    mats = [a for a in expr.args if isinstance(a, MatrixExpr)]
    if isinstance(expr, MatMul):
        for a, b in zip(mats, mats[1:], strict=False):
            if a.shape[1] != b.shape[0]:
                return (f"the matrix product of a {_shape(a)} and a {_shape(b)} matrix does not conform (an "
                        "entrywise product is ops.hadamard(a, b), or a * b where a or b is a declared symbol: "
                        "between two sums or products * is SymPy's matrix product)")
    elif isinstance(expr, (MatAdd, HadamardProduct, Divide)):
        what = {MatAdd: "a sum", HadamardProduct: "an entrywise product", Divide: "an entrywise quotient"}
        kind = next(v for k, v in what.items() if isinstance(expr, k))
        if len({a.shape for a in mats}) > 1:
            return f"{kind} of matrices of different shapes ({', '.join(_shape(a) for a in mats)})"
    elif isinstance(expr, Concat) and len({a.shape[1] for a in mats}) > 1:
        return f"stacking matrices with different numbers of columns ({', '.join(_shape(a) for a in mats)})"
    return None


def _shape(x) -> str:
    return f"{x.shape[0]}×{x.shape[1]}"


def reads(expr) -> set[str]:
    """The names of the matrix symbols an expression reads."""
    return {x.name for x in matrix_symbols(expr)}


def _reads_time(expr) -> bool:
    return any(isinstance(x, TimeSym) for x in matrix_symbols(expr))


def matrix_symbols(expr):
    """The matrix symbols (plain or time-indexed) an expression reads."""
    if isinstance(expr, (TimeSym, MatrixSymbol)):
        yield expr
    elif isinstance(expr, Basic):
        for a in expr.args:
            yield from matrix_symbols(a)
