"""Declaring a network one time step at a time.

A ``Network`` holds parameters, inputs, targets and recurrent states as matrix symbols with
(symbolic) shapes, and the computation as an ordered list of assignments built from the
primitives in ``ops``:

    net = Network("elman", sizes=dict(n=3, d=2, k=2, T=3))
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

from sympy import Basic, Float, Rational, Symbol, sympify
from sympy.matrices.expressions import HadamardProduct, MatAdd, MatMul, MatrixExpr, MatrixSymbol

from derive.algebra import substitute
from derive.nodes import Concat, DeclaredSymbol, Divide, T, TimeSum, TimeSym, lowered, t
from derive.notation import Notation
from derive.schedule import CannotPlace, Phase, check_reads, phases


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
    """A recurrent state: forward in time, h_t reads h_{t-1} and h_0 = 0; backward in time (one
    half of a bidirectional RNN), g_t reads g_{t+1} and g_{T+1} = 0. A learned boundary value
    is a parameter: h_0 = s (or g_{T+1} = s)."""

    now: TimeSym
    direction: str = "forward"
    learned: MatrixSymbol | None = None  # the parameter its boundary value is (h_0 = s), None for 0

    name = property(lambda self: self.now.name)
    last = property(lambda self: self.now.at(T))
    first = property(lambda self: self.now.at(1))
    shape = property(lambda self: self.now.shape)

    @property
    def prev(self) -> TimeSym:
        """h_{t-1}, read by a forward state's step."""
        if self.direction != "forward":
            raise DeclarationError(f"{self.name} runs backward in time: its step reads {self.name}.next (t + 1)")
        return self.now.at(t - 1)

    @property
    def next(self) -> TimeSym:
        """g_{t+1}, read by a backward state's step."""
        if self.direction != "backward":
            raise DeclarationError(f"{self.name} runs forward in time: its step reads {self.name}.prev (t - 1)")
        return self.now.at(t + 1)

    @property
    def initial(self) -> TimeSym:
        """The boundary value: h_0, or g_{T+1}."""
        return self.now.at(0) if self.direction == "forward" else self.now.at(T + 1)

    @property
    def carried(self) -> TimeSym:
        """The value the step reads of the state itself: h_{t-1}, or g_{t+1}."""
        return self.prev if self.direction == "forward" else self.next


TARGET_KINDS = ("onehot", "binary", "real")


class Network:
    """A network's declaration: symbols, assignments, notation and the options it was built with."""

    def __init__(self, name, sizes, *, seed="", summary="", sequential=True, notation=None, options=None, kind=""):
        self.name, self.seed, self.summary, self.sequential = name, seed, summary, sequential
        # what a handout calls the network: ``summary`` in the user's words ("a minimal gated
        # unit"), else the built-in family's ``kind`` (rnn, lstm, gru, mlp, conv), else recurrent or
        # feed-forward by its structure
        self.kind = kind
        self.size_notes: dict[str, str] = {}  # a size the declaration left open -> what it measures
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
        self.initial: dict[str, float] = {}  # a parameter's initial value in generated modules, where declared
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

    def param(self, name: str, rows, cols=1, *, initial: float | None = None) -> MatrixSymbol:
        """A parameter; ``initial`` fixes every entry's starting value in generated modules (an
        LSTM's forget-gate bias 1). Otherwise a weight starts random, and a bias (a parameter no
        product multiplies) starts at 0."""
        self._claim(name)
        p = DeclaredSymbol(name, rows, cols)
        self.params.append(p)
        if initial is not None:
            self.initial[name] = float(initial)
        return p

    def bias_params(self) -> set[str]:
        """The parameters only ever added (a term of a sum, or a bias broadcast over positions):
        biases. Every other parameter multiplies something (W h, vᵀ h, a kernel, a peephole): a weight."""
        from derive.primitives import Broadcast

        names = {p.name for p in self.params}
        added, elsewhere = set(), set()

        def walk(x, parent):
            if isinstance(x, TimeSym):
                return  # a variable (its shape's sizes are no parameters)
            if isinstance(x, MatrixSymbol) and x.name in names:
                (added if isinstance(parent, (MatAdd, Broadcast)) else elsewhere).add(x.name)
                return
            for a in getattr(x, "args", ()):
                if isinstance(a, Basic) and not a.is_Symbol:
                    walk(a, x)

        for a in self.assignments:
            walk(a.expr, None)
        return added - elsewhere

    def multiplied_params(self) -> set[str]:
        """The weights: every parameter that is not a bias."""
        return {p.name for p in self.params} - self.bias_params()

    def initial_value(self, name: str) -> float | None:
        """The starting value of every entry of a parameter, or None where it starts random."""
        if name in self.initial:
            return self.initial[name]
        learned = {s.learned.name for s in self.states if s.learned is not None}  # h_0 = s starts at 0
        return 0.0 if name in self.bias_params() | learned else None

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

    def state(self, name: str, rows, *, backward: bool = False, initial: MatrixSymbol | None = None) -> State:
        """A recurrent state of ``rows`` entries: it runs forward in time (its step reads
        ``.prev``), or with ``backward=True`` backward (its step reads ``.next``). Its boundary
        value (h_0, or g_{T+1}) is 0, or ``initial``: a parameter of ``rows`` entries, learned."""
        if not self.sequential:
            raise DeclarationError("a network without time has no recurrent state")
        if initial is not None and (initial not in self.params or tuple(initial.shape) != (rows, 1)):
            raise DeclarationError(f"the initial value of {name} must be a parameter of shape ({rows}, 1), "
                                   "declared with net.param before the state")
        self._claim(name)
        s = State(TimeSym(name, t, rows, 1), "backward" if backward else "forward", initial)
        self.states.append(s)
        return s

    def hyper(self, name: str, value) -> Symbol:
        """A scalar hyperparameter (lambda), symbolic in derivations, ``value`` in numbers."""
        self._claim(name)
        sym = Symbol(name, positive=True)
        self.hypers[sym] = sympify(value)
        return sym

    def set_hyper(self, name: str, value: float) -> None:
        """Give the constant ``name`` another value (it stays a symbol in the derivation)."""
        sym = next(s for s in self.hypers if s.name == name)
        self.hypers[sym] = Float(float(value))  # a number the caller read, never text

    def _assign(self, target, expr, per_step: bool):
        expr = lowered(expr)
        if not isinstance(expr, MatrixExpr):
            raise DeclarationError(f"{getattr(target, 'name', target)} is assigned {type(expr).__name__}, "
                                   "not a matrix expression of the network's symbols")
        problem = shape_problem(expr)
        if problem:
            raise DeclarationError(f"{getattr(target, 'name', target)}: {problem}")
        name = target.name if isinstance(target, State) else target
        if per_step:
            expr = self._sums_as_values(name, expr)
        try:
            check_reads(self, name, expr, per_step)
        except CannotPlace as err:
            raise DeclarationError(str(err)) from None
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

    def _sums_as_values(self, name: str, expr):
        """A sum over t inside a step (the denominator of a softmax over time) is a value of its
        own, computed once after the steps it sums: ``<name>_sum``, declared before ``name``."""
        found = [x for x in _walk(expr) if isinstance(x, TimeSum)]
        if not found:
            return expr
        total = found[0]
        base = f"{name}_sum"
        label, count = base, 1
        while label in self._names:
            count += 1
            label = f"{base}{count}"
        symbol = self.let(label, total)
        return self._sums_as_values(name, substitute(expr, {total: symbol}))

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
        copy.__dict__.update({k: v for k, v in self.__dict__.items() if k not in ("_phases", "_evaluation_names")})
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

    def phases(self) -> list[Phase]:
        """The phases of the forward pass in order (derive/schedule.py)."""
        cached = self.__dict__.get("_phases")
        if cached is not None and cached[0] == len(self.assignments):
            return cached[1]
        try:
            found = phases(self)
        except CannotPlace as err:
            raise DeclarationError(str(err)) from None
        self.__dict__["_phases"] = (len(self.assignments), found)
        return found

    def per_step_order(self) -> list[Assignment]:
        """The per-step assignments in the order one step computes them."""
        return [a for phase in self.phases() if phase.per_step for a in phase.assignments]

    def schedule(self) -> tuple[list[Assignment], list[Assignment], list[Assignment]]:
        """(static assignments before the steps, the per-step ones, static ones after them), for
        a network whose phases are statics, steps with at most one recurrence forward in time,
        and statics reading them; CannotPlace for any other (a backward state, a static read by
        a later step)."""
        kinds = [p.kind for p in self.phases()]
        sweeps = [k for k in kinds if k in ("forward", "backward")]
        first = next((j for j, k in enumerate(kinds) if k != "static"), len(kinds))
        last = max((j for j, k in enumerate(kinds) if k != "static"), default=len(kinds) - 1)
        if sweeps not in ([], ["forward"]) or "static" in kinds[first:last + 1]:
            raise CannotPlace("its phases (" + ", then ".join(kinds) + ") are more than statics around one "
                              "forward recurrence")
        phases_ = self.phases()
        before = [a for p in phases_[:first] for a in p.assignments]
        step = [a for p in phases_[first:last + 1] for a in p.assignments]
        after = [a for p in phases_[last + 1:] for a in p.assignments]
        return before, step, after

    def generic_function_names(self) -> set[str]:
        """The names of the generic functions the network applies (phi, ell): their derivatives
        stay symbolic."""
        from derive.nodes import GenericLoss, Phi

        found = set()
        for a in self.assignments:
            for x in _walk(a.expr):
                if isinstance(x, (Phi, GenericLoss)):
                    found.add(x.fname)
        return found

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


def _walk(expr):
    yield expr
    for a in getattr(expr, "args", ()):
        if isinstance(a, Basic):
            yield from _walk(a)


def _reads_time(expr) -> bool:
    return any(isinstance(x, TimeSym) for x in matrix_symbols(expr))


def matrix_symbols(expr):
    """The matrix symbols (plain or time-indexed) an expression reads."""
    if isinstance(expr, (TimeSym, MatrixSymbol)):
        yield expr
    elif isinstance(expr, Basic):
        for a in expr.args:
            yield from matrix_symbols(a)
