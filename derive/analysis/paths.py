"""What the derivation says about the size of dh_t/dh_k, symbolically.

For a one-state network whose step Jacobian is diag(v_t) M (a vanilla RNN: diag(σ'(a_t)) W),
submultiplicativity gives ||dh_t/dh_k||₂ ≤ Π ||diag(v_i)||₂ ||M||₂ ≤ (γ ||M||₂)^{t−k}, with γ a
bound of every entry of v (sup |σ'| = 1/4; tanh and ReLU 1; a generic φ keeps γ_φ). Each
primitive states its own sup |f'| and sup |f| (derive/primitives); an entry this module cannot
bound (C_{t−1} in an LSTM's path, a sum of several paths in a GRU) gets no bound: the analysis
then says so and shows the measured norms alone. A state whose step Jacobian is diagonal (the
LSTM's cell, dC_t/dC_{t−1} = diag(f_t)) gets its direct path Π diag(f_j), which is the identity
exactly when every f_j = 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from sympy import Integer, Mul, sympify
from sympy.matrices.expressions import HadamardProduct, MatMul, MatrixExpr, MatrixSymbol

from derive.derivation import Derivation
from derive.network import State
from derive.nodes import Diag, Phi, Prime, TimeSym
from derive.primitives import Activation, ColSlice


@dataclass(frozen=True)
class Gamma:
    """A bound of every entry of diag(v): a number, or the symbolic sup |φ'| of a generic φ."""

    value: object  # a SymPy number: the bound, or its factor beside γ_φ where ``generic``
    factor: MatrixExpr | None  # v, as the derivation writes it (σ'(a_t)); None: no diagonal factor (identity)
    generic: str | None = None  # the generic function φ whose sup |φ'| stays a symbol

    @property
    def number(self) -> float | None:
        return None if self.generic else float(self.value)

    @property
    def generic_function(self):
        """φ(·), the generic function whose sup |φ'| γ stands for (None without one)."""
        if not self.generic or self.factor is None:
            return None
        stack = [self.factor]
        while stack:
            node = stack.pop()
            if isinstance(node, Prime) and isinstance(node.fx, Phi) and node.fx.fname == self.generic:
                return node.fx
            stack.extend(getattr(node, "args", ()))
        return None


@dataclass(frozen=True)
class StepBound:
    """||ds_t/ds_{t−1}|| ≤ γ ||M||: the step Jacobian diag(v_t) M of a one-state network."""

    gamma: Gamma
    matrix: MatrixExpr  # M: a parameter, or the block of one that multiplies h_{t−1}


@dataclass(frozen=True)
class CellPath:
    """The direct path Π diag(v_j) of a state with a diagonal step Jacobian (an LSTM's cell)."""

    state: State
    factor: MatrixExpr  # v_t (f_t)
    gamma: Gamma | None  # a bound of its entries (σ: 1), or None


@dataclass(frozen=True)
class Recurrence:
    derivation: Derivation
    states: list[State]  # the forward states, in the network's order
    bound: StepBound | None
    cell_paths: list[CellPath]
    matrices: list[MatrixExpr]  # the square matrices on each state's own path (W, W_f[:, 1..n], ...)
    backward: list[State]  # states carried backward in time (not measured: their products run the other way)

    @property
    def single(self) -> bool:
        return len(self.states) == 1

    def step_jacobian(self, of: str, wrt: str) -> MatrixExpr | None:
        return self.derivation.step_jacobians.get((of, wrt))


class NotRecurrent(ValueError):
    """A model without a state carried forward in time (nothing to analyse)."""


def recurrence(derivation: Derivation) -> Recurrence:
    net = derivation.network
    states = [s for s in net.states if s.direction == "forward"]
    if not states:
        raise NotRecurrent(f"{net.name} carries no state forward in time (h_t reading h_{{t-1}}); "
                           "analyze studies how dh_T/dh_k behaves as T - k grows")
    jacobians = {key: jac for key, jac in derivation.step_jacobians.items()
                 if key[0] in {s.name for s in states} and key[1] in {s.name for s in states}}
    bound = None
    if len(states) == 1:
        bound = _step_bound(jacobians.get((states[0].name, states[0].name)), net)
    cells = []
    if len(states) > 1:
        for s in states:
            jac = jacobians.get((s.name, s.name))
            if isinstance(jac, Diag):
                cells.append(CellPath(s, jac.vec, entry_bound(jac.vec, net)))
    matrices = []  # the square ones on a state's own path: what M^n = QΛ^nQ⁻¹ is about
    for s in states:
        for m in _recurrent_matrices(jacobians.get((s.name, s.name)), net):
            if m not in matrices and m.shape[0] == m.shape[1]:
                matrices.append(m)
    backward = [s for s in net.states if s.direction == "backward"]
    return Recurrence(derivation, states, bound, cells, matrices, backward)


def _step_bound(jac, net) -> StepBound | None:
    """diag(v) M, or M alone (the identity activation: γ = 1)."""
    if _is_matrix(jac, net):
        return StepBound(Gamma(Integer(1), None), jac)
    if (isinstance(jac, MatMul) and len(jac.args) == 2 and isinstance(jac.args[0], Diag)
            and _is_matrix(jac.args[1], net)):
        gamma = entry_bound(jac.args[0].vec, net)
        return StepBound(gamma, jac.args[1]) if gamma is not None else None
    return None


def _is_matrix(x, net) -> bool:
    params = {p.name for p in net.params}
    if isinstance(x, ColSlice):
        x = x.args[0]
    return isinstance(x, MatrixSymbol) and not isinstance(x, TimeSym) and x.name in params


def _recurrent_matrices(jac, net) -> list:
    found = []

    def walk(x):
        if _is_matrix(x, net):
            found.append(x)
            return
        if isinstance(x, Diag):  # the matrices inside a factor's argument (φ'(W_hx x_t + ...)) are not on the path
            return
        for a in getattr(x, "args", ()):
            if isinstance(a, MatrixExpr):
                walk(a)

    walk(jac)
    return found


def entry_bound(v, net) -> Gamma | None:
    """A bound of |v_i| for every entry, from the primitives' sup |f'| and sup |f|; None where
    an entry is unbounded or this cannot tell."""
    defined = {a.name: a.expr for a in net.assignments}
    generic = []

    def bound(x):
        if isinstance(x, Prime):
            if isinstance(x.fx, Phi):
                generic.append(x.fx.fname)
                return 1  # the symbolic factor stands for it
            return x.fx.derivative_bound() if isinstance(x.fx, Activation) else None
        if isinstance(x, Activation):
            return x.value_sup
        if isinstance(x, TimeSym) and x.name in defined:
            return bound(defined[x.name])
        if isinstance(x, HadamardProduct):
            parts = [bound(a) for a in x.args]
            return None if any(p is None for p in parts) else Mul(*parts)
        return None

    value = bound(v)
    if value is None or len(generic) > 1:
        return None
    return Gamma(sympify(value), v, generic[0] if generic else None)
