"""The declaration -> a ``Network``, through the public API (``Network.param``, ``.state``,
``.step``, ``.let``), whose own checks (shapes, reads it cannot place) still apply: the written
trees become expressions of the primitives (derive/ops.py), the recognised losses their loss
primitives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sympy import Integer, Rational

from derive import ops
from derive.algebra import add, hadamard, is_matrix, matmul, neg, one_minus, scale, sub, transpose
from derive.check import parser as P
from derive.equations.losses import Loss
from derive.equations.symbols import Reading, readings, time_offset
from derive.equations.text import EquationError
from derive.equations.trees import GENERIC_FUNCTIONS, function_symbol, is_coefficient, pick, what
from derive.network import DeclarationError, Network
from derive.nodes import T, TimeSum, t
from derive.primitives import Power

if TYPE_CHECKING:
    from derive.equations.declare import Declaration, Symbol


LOSS_NAMES = {"ce": "cross-entropy", "bce": "binary cross-entropy", "generic": "generic loss ℓ"}


class Builder:
    def __init__(self, decl: Declaration, sizes: dict[str, int], options: dict[str, str]):
        self.d, self.sizes = decl, sizes
        self.options = {name: options.get(name, "generic") for name in decl.generic}

    def build(self) -> Network:
        d = self.d
        shown = {k: v for k, v in self.options.items() if v != "generic"}
        self.net = net = Network(d.stem, self.sizes, notation=d.notation, sequential=d.sequential, options=shown)
        net.size_notes = {name: f"is the {what}, which the equations leave open; shapes: fixes it"
                          for name, what in d.open_sizes.items() if name.startswith("n_") and what}
        self.objects = {}
        for key, s in d.symbols.items():
            if key not in self.objects:  # a learned h_0's parameter is declared with its state
                self.objects[key] = self._declare(s)
        for eq in d.order:
            s = d.symbols[eq.target.name.key]
            try:
                expr = self.expr(eq.rhs)
                if s.role == "state":
                    net.step(self.objects[eq.target.name.key], expr)
                elif s.per_step:
                    self.objects[eq.target.name.key] = net.step(s.identifier, expr)
                else:
                    self.objects[eq.target.name.key] = net.let(s.identifier, expr)
            except (DeclarationError, EquationError) as err:
                raise eq.fail(str(err)) from None
        return net

    def dim(self, d: int):
        dims = self.d.dims
        value = dims.value.get(dims.find(d))
        if isinstance(value, int):
            return Integer(value)
        if value[0] == "size":
            return self.net.size_symbols[value[1]]
        return sum((self.dim(x) for x in value[1]), Integer(0))

    def _declare(self, s: Symbol):
        net, rows, cols = self.net, self.dim(s.shape.rows), self.dim(s.shape.cols)
        if s.role == "param":
            return net.param(s.identifier, rows, cols)
        if s.role == "input":
            if cols != 1:
                raise EquationError(f"{s.name.key} is data (unassigned, indexed by t or spelled x, y) with "
                                    f"{cols} columns: derive reads data as column vectors (two vectors side by "
                                    "side are a matrix product: a dot product is y^T z)")
            if self.d.sequential and not s.per_step:
                raise EquationError(f"{s.name.key} is data without a time index in a network over time "
                                    "(write it x_t)")
            return net.input(s.identifier, rows, cols)
        if s.role == "target":
            kind = s.kind
            if s.kind == "real" and self.options.get("ell") in ("ce", "mse"):  # the target of a generic ℓ
                kind = {"ce": "onehot", "mse": "real"}[self.options["ell"]]
            return net.target(s.identifier, rows, kind, per_step=s.per_step)
        if s.role == "state":
            initial = None
            if s.initial:  # h_0 = s: the parameter first (one s may start two states)
                if s.initial not in self.objects:
                    self.objects[s.initial] = self._declare(self.d.symbols[s.initial])
                initial = self.objects[s.initial]
            return net.state(s.identifier, rows, backward=s.direction == "backward", initial=initial)
        if s.role == "constant":
            return net.hyper(s.identifier, _number(s.value, s.name.key))
        if s.role == "size":
            return T if s.name.key == "T" else net.size_symbols.get(s.name.key, Integer(self.sizes[s.name.key]))
        return None  # a variable: made by its equation

    def symbol(self, reading: Reading):
        s = self.d.symbols[reading.name.key]
        obj = self.objects.get(reading.name.key)
        if obj is None:
            raise EquationError(f"{reading.name.key} is read before it is computed")
        if s.role in ("constant", "size", "param") or not s.per_step:
            return obj
        base, offset = time_offset(reading.time) if reading.time is not None else ("t", 0)
        if reading.time is None:
            raise EquationError(f"{reading.name.key} needs its time index")
        if s.role == "state":
            if base == "t":
                return {0: obj.now, -1: obj.prev if s.direction == "forward" else None,
                        1: obj.next if s.direction == "backward" else None}[offset]
            return obj.now.at(T + offset if base == "T" else Integer(offset))
        now = obj
        if base == "t" and offset == 0:
            return now
        if base == "t":
            raise EquationError(f"{reading.name.key} is read at {reading.time}")
        return now.at(T + offset if base == "T" else Integer(offset))

    def expr(self, node):
        found = readings(node)
        if found:
            return self.symbol(self.pick(found))
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise EquationError(f"derive cannot read {what(node)} in a forward equation")
        return method(node)

    def pick(self, options):
        return pick(options, self.d.time_keys, self.d.split)

    def coefficient(self, node):
        if isinstance(node, P.Num):
            return Rational(str(node.value)).limit_denominator(10**6)
        if isinstance(node, P.Neg):
            return -self.coefficient(node.arg)
        if isinstance(node, P.Frac):
            return self.coefficient(node.num) / self.coefficient(node.den)
        if isinstance(node, P.Product):
            value = self.coefficient(node.items[0])
            for op, item in zip(node.ops, node.items[1:], strict=True):
                value = value / self.coefficient(item) if op == "/" else value * self.coefficient(item)
            return value
        return self.expr(node)

    def _Num(self, node):
        return self.coefficient(node)

    def _Neg(self, node):
        return neg(self.expr(node.arg))

    def _Transpose(self, node):
        return transpose(self.expr(node.arg))

    def _Sum(self, node):
        numbers = [(s, x) for s, x in node.terms if isinstance(x, P.Num)]
        others = [(s, x) for s, x in node.terms if not isinstance(x, P.Num)]
        if numbers and others:
            if numbers != [(1, P.Num(1.0))] or len(others) != 1 or others[0][0] != -1 or node.terms[0] != numbers[0]:
                raise EquationError("a number added to a vector or matrix (derive reads 1 - x, entry by entry)")
            return one_minus(self.expr(others[0][1]))
        total = None
        for sign, x in node.terms:
            value = self.coefficient(x) if isinstance(x, P.Num) else self.expr(x)
            if total is None:
                total = value if sign > 0 else neg(value)
            else:
                total = add(total, value) if sign > 0 else sub(total, value)
        return total

    def _Product(self, node):
        acc = self.coefficient(node.items[0]) if self.is_coefficient(node.items[0]) else self.expr(node.items[0])
        for op, item in zip(node.ops, node.items[1:], strict=True):
            right = self.coefficient(item) if self.is_coefficient(item) else self.expr(item)
            if op == "⊙":
                acc = hadamard(acc, right)
            elif op == "/":
                acc = matmul(acc, 1 / right) if not is_matrix(right) else ops.divide(acc, right)
            elif not is_matrix(acc) or not is_matrix(right):
                acc = matmul(acc, right)
            elif acc.shape == (1, 1) and right.shape != (1, 1):
                acc = scale(acc, right)
            elif right.shape == (1, 1) and acc.shape != (1, 1) and acc.shape[1] != 1:
                acc = scale(right, acc)
            else:
                acc = matmul(acc, right)
        return acc

    def is_coefficient(self, node) -> bool:
        return is_coefficient(node, self.d.symbols, self.d.time_keys)

    def _Frac(self, node):
        if self.is_coefficient(node.den):
            return matmul(1 / self.coefficient(node.den), self.expr(node.num))
        return ops.divide(self.expr(node.num), self.expr(node.den))

    def _Power(self, node):
        exponent = int(node.exponent.strip("{} "))
        return Power(self.expr(node.base), exponent)

    def _BigOp(self, node):
        if isinstance(node.body, Loss):
            # Σ_t loss_t: the loss at each step is a value of its own, L_t (as the presets declare it), so
            # that the fused rules (softmax + cross-entropy, σ + binary cross-entropy) apply to it
            return TimeSum(self.net.step(self._step_loss_name(), self._Loss(node.body)), t, 1, T)
        return TimeSum(self.expr(node.body), t, 1, T)

    def _step_loss_name(self) -> str:
        objective = self.d.symbols[self.d.equations[-1].target.name.key]
        taken = {s.identifier for s in self.d.symbols.values()} | {a.name for a in self.net.assignments}
        name, count = f"{objective.identifier}_t", 1
        while name in taken:
            count += 1
            name = f"{objective.identifier}_t{count}"
        spelling = self.d.notation.spelling(objective.identifier)
        self.d.notation.table.setdefault(name, spelling)  # L_t is spelled as the objective, with its t
        return name

    def _Call(self, node):
        name = node.func.name
        args = [self.expr(a) for a in node.args]
        if name == "\\stack":
            return ops.concat(*args)
        if name == "\\normsq":
            return ops.frobenius_sq(args[0])
        if name in GENERIC_FUNCTIONS:
            chosen = self.options.get(GENERIC_FUNCTIONS[name], "generic")
            if chosen == "generic":
                return ops.phi(args[0], GENERIC_FUNCTIONS[name])
            return getattr(ops, chosen)(args[0])
        symbol = function_symbol(name)
        if symbol == "softmax":
            return ops.softmax(args[0])
        return getattr(ops, symbol)(args[0])

    def _Loss(self, node):
        p, y = self.expr(node.prediction), self.expr(node.target)
        if node.kind in ("se", "se_scalar") and not (self._is_target(node.target) or self._is_target(node.prediction)):
            # neither side is data: both get a gradient, so the norm itself (a loss's rule treats its
            # second argument as a given target)
            norm = ops.frobenius_sq(sub(p, y))
            return norm if node.factor != 1 else matmul(Rational(1, 2), norm)
        if node.kind in ("ce", "bce", "generic") and not self._is_target(node.target):
            raise EquationError(f"the {LOSS_NAMES[node.kind]}'s target {self._written(node.target)} is not data (it "
                                "is unassigned but not spelled x or y, nor listed under data:): list it under data:")
        if node.kind == "ce":
            return ops.cross_entropy(p, y)
        if node.kind == "bce":
            return ops.binary_cross_entropy(p, y)
        if node.kind == "generic":
            chosen = self.options.get("ell", "generic")
            if chosen == "ce":
                return ops.cross_entropy(ops.softmax(p), y)
            if chosen == "mse":
                return ops.squared_error(p, y)
            return ops.generic_loss(p, y)
        if self._is_target(node.prediction) and not self._is_target(node.target):
            p, y = y, p  # (y - ŷ)²: the same loss
        if node.factor != 1:  # ‖o − y‖², (ŷ − y)² without the ½: the squared norm itself
            return ops.frobenius_sq(sub(p, y))
        return ops.squared_error(p, y)

    def _written(self, node) -> str:
        found = readings(node)
        return self.pick(found).name.key if found else "(an expression)"

    def _is_target(self, node) -> bool:
        found = readings(node)
        return bool(found) and self.d.symbols[self.pick(found).name.key].role in ("target", "input")


def _number(value, key: str):
    """A constant's value: a number YAML already read (a string of the user's is never parsed)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or abs(value) == float("inf"):
        raise EquationError(f"constants: {key} must be a number, not {value!r}")
    return Rational(value) if isinstance(value, int) else Rational(repr(value))
