"""Naming the intermediate values of a recurrence, so that each has one array and one adjoint.

A step such as the minimal gated unit's g_t = tanh(W_h (f_t ⊙ h_{t-1}) + U_h x_t + b_h) uses
f_t ⊙ h_{t-1} once forward but twice backward (its adjoint W_hᵀ ∂L/∂a_g reaches both f_t and
h_{t-1}): unnamed, the generated loop computes that product twice a step. A GRU in PyTorch's
convention multiplies W_hn h_{t-1} inside r_t ⊙ (W_hn h_{t-1} + b_hn): unnamed, that block cannot
join the GEMM of the other blocks that read h_{t-1}. So, for the code generator only (the
derivation a user reads keeps the network as declared), in every recurrent step:

* the argument of an elementwise function, where it is more than a symbol, is a value of its
  own (the pre-activation a_g := W_h (…) + U_h x_t + b_h; g := tanh(a_g));
* so is a matrix product's operand that is more than a symbol (f_h := f_t ⊙ h_{t-1});
* so is a sum inside an entrywise product that reads the step's state through a product
  (n_h := W_hn h_{t-1} + b_hn).

The math is the same network's; every name comes from the module's namer.
"""

from __future__ import annotations

from sympy.matrices.expressions import HadamardProduct, MatAdd, MatMul, MatrixExpr, MatrixSymbol

from derive.algebra import rebuild, split_coefficient
from derive.network import Assignment
from derive.nodes import Concat, Elementwise, Phi, TimeSym, t


def _plain(x) -> bool:
    """A value the code already has: a symbol, or a number times one."""
    if isinstance(x, (TimeSym, MatrixSymbol)):
        return True
    coeff, mats = split_coefficient(x) if isinstance(x, MatMul) else (None, [x])
    return coeff is not None and len(mats) == 1 and isinstance(mats[0], (TimeSym, MatrixSymbol))


def _reads_carried(x, states: dict) -> bool:
    """True when ``x`` reads a state at the step its recurrence carries (h_{t-1}, or g_{t+1})."""
    if isinstance(x, TimeSym):
        return x.name in states and x.index == t + states[x.name]
    return any(_reads_carried(a, states) for a in getattr(x, "args", ()) if isinstance(a, MatrixExpr))


def named_intermediates(net, recurrent: set[str], fresh):
    """A copy of ``net`` whose recurrent steps (the assignments named in ``recurrent``) have
    their intermediate values named (see the module's docstring), or ``net`` when none needs it."""
    states = {s.name: (-1 if s.direction == "forward" else 1) for s in net.states}
    out, changed = [], False
    for a in net.assignments:
        if a.name not in recurrent:
            out.append(a)
            continue
        step = _Step(a.name, states, fresh)
        expr = step.walk(a.expr, top=True)
        out += step.added + [Assignment(a.target, expr, a.per_step)]
        changed |= bool(step.added)
    return net.with_assignments(out) if changed else net


class _Step:
    """The intermediates of one recurrent assignment, named as they are found (innermost first)."""

    def __init__(self, target: str, states: dict, fresh):
        self.target, self.states, self.fresh = target, states, fresh
        self.added: list[Assignment] = []

    def name(self, value, base: str) -> TimeSym:
        symbol = TimeSym(self.fresh(base), t, *value.shape)
        self.added.append(Assignment(symbol, value, True))
        return symbol

    def walk(self, x, top: bool = False):
        if not isinstance(x, MatrixExpr) or not x.args or isinstance(x, TimeSym):
            return x
        x = rebuild(x, [self.walk(arg) for arg in x.args])
        if isinstance(x, Elementwise) and not isinstance(x, Phi) and not _plain(x.arg):
            base = f"a_{self.target}" if top else f"a_{self.target}_{len(self.added) + 1}"
            return rebuild(x, [self.name(x.arg, base), *x.args[1:]])
        if isinstance(x, MatMul):
            coeff, mats = split_coefficient(x)
            if len(mats) == 2 and isinstance(mats[0], MatrixSymbol) and not _plain(mats[1]) \
                    and not isinstance(mats[1], (Elementwise, Concat)):  # W [h; x] splits into blocks
                operand = mats[1]
                symbols = isinstance(operand, HadamardProduct) and all(
                    isinstance(f, (TimeSym, MatrixSymbol)) for f in operand.args)
                base = "_".join(f.name for f in operand.args) if symbols else f"u_{self.target}"
                return rebuild(x, [*([coeff] if coeff != 1 else []), mats[0], self.name(operand, base)])
        if isinstance(x, HadamardProduct):
            args = [self.name(f, f"{self.target}_{_state_read(f, self.states) or 'state'}")
                    if isinstance(f, MatAdd) and _reads_carried(f, self.states) else f for f in x.args]
            return rebuild(x, args)
        return x


def _state_read(x, states) -> str | None:
    """The name of the state ``x`` reads (for a name like n_h), or None."""
    if isinstance(x, TimeSym) and x.name in states:
        return x.name
    for a in getattr(x, "args", ()):
        if isinstance(a, MatrixExpr):
            found = _state_read(a, states)
            if found:
                return found
    return None
