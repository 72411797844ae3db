"""The true values an answer is compared with, at a random point, in high precision.

A ``World`` runs the model forward and the derivation backward (both already checked against
three oracles) with 40-digit mpmath numbers, and evaluates an answer's expression over the
same values. Jacobians between forward quantities come from central differences at that
precision: a variable's by perturbing it where it is computed (every later use follows), a
parameter's by perturbing it in the one step that reads it (the direct derivative that chain
rules such as dL/dh_t dh_t/dW mean).
"""

from __future__ import annotations

from functools import lru_cache

import mpmath
import numpy
from sympy.matrices.expressions import MatrixSymbol

from derive import oracles, precise
from derive.algebra import rebuild
from derive.check import semantics as S
from derive.conv_geometry import conv_out_size
from derive.deriver import derive
from derive.evaluate import NAMES, adjoint_key, backward, forward, key, value
from derive.network import Assignment, Network
from derive.nodes import LOSSES, Broadcast, Conv2d, Elementwise, GenericLoss, Phi, Prime, TimeSym
from derive.primitives import by_symbol
from derive.primitives.conv2d import conv_geometry
from derive.printing.numpy import HELPERS

DIGITS = 40
MIXED = "mixed"  # gradients in denominator layout, Jacobians in numerator layout (see World.evaluate)
EPS = mpmath.mpf("1e-18")
MAX_CHECK_SIZE = 4  # sizes of the points answers are checked at (a model's larger defaults are capped)
MAX_POWER = 64


class Undefined(ValueError):
    """A value the answer refers to that does not exist at this point (an index out of range,
    σ' without an argument)."""

    def __init__(self, message: str, out_of_range: bool = False):
        super().__init__(message)
        self.out_of_range = out_of_range


class ShapeError(ValueError):
    """A product or sum whose shapes do not fit; the message says which."""


class World:
    """The network ``net`` with ``steps`` steps at one random point (``seed``)."""

    def __init__(self, net: Network, steps: int, seed: int):
        mpmath.mp.dps = DIGITS
        self.net = net
        self.derivation = derive(self.net)
        self.steps = steps
        sizes = {k: min(v, MAX_CHECK_SIZE) for k, v in self.net.sizes_default.items() if k != "T"}
        point, _ = oracles.random_point(self.net, steps, seed=seed, sizes=sizes)
        self.point = precise.point(point)
        self.ns = forward(self.net, self.point, np_module=precise)
        backward(self.derivation, self.ns)
        self.kind = {p.name: "param" for p in self.net.params}
        self.kind.update({a.name: "var" for a in self.net.assignments})
        self.states = {s.name for s in self.net.states}
        # a state whose boundary value is a parameter: (its index, 0 or T + 1; the parameter's name)
        self.learned_boundary = {s.name: (0 if s.direction == "forward" else steps + 1, s.learned.name)
                                 for s in self.net.states if s.learned is not None}
        first_state = self.net.states[0].name if self.net.states else None
        self.state_size = int(numpy.shape(self.stored(first_state)[0])[0]) if first_state else None
        # positions per channel of a convolution's output (a shared bias is repeated over them)
        self.positions = next((int(x.positions) for a in self.net.assignments for x in _walk(a.expr)
                               if isinstance(x, Broadcast)), None)
        geometries = [x.geometry for a in self.net.assignments for x in _walk(a.expr) if isinstance(x, Conv2d)]
        self.plain_conv = all((g.c_in, g.c_out, g.stride, g.padding) == (1, 1, 1, 0) for g in geometries)
        self.activation, self.pre_activation = self._activation()
        self._jacobians = lru_cache(maxsize=None)(self._jacobian)

    def _activation(self):
        """The hidden activation and its input's name: the elementwise function a state is
        assigned (h_t = σ(a_t)), or without states the first one whose value no loss reads
        directly (an MLP's h = φ(z), not its output ŷ = σ(o)); (None, None) for none (the
        identity, or a cell such as an LSTM's)."""
        return hidden_activation(self.net)

    # ---------------------------------------------------------------- values

    def key(self, name: str) -> str:
        return key(self.ns, name)

    def stored(self, name: str):
        """A symbol's value in the namespace: an array, or {t: array} for a per-step one."""
        return self.ns[key(self.ns, name)]

    def knows(self, name: str) -> bool:
        """Whether ``name`` is a quantity of the model: its objective, a parameter, a variable or
        data (not a constant such as λ, which the derivation does not differentiate by)."""
        return name == self.net.objective.name or name in self.kind or self.key(name) in self.ns

    def function(self, name: str, derivative: bool = False):
        """A generic function (φ, ℓ) of the point, or its derivative."""
        names = self.ns[NAMES]
        return self.ns[names.derivative(name) if derivative else names.function(name)]

    def value(self, name: str, index: int | None):
        if name == "T":
            return mpmath.mpf(self.steps)
        hypers = {str(h): v for h, v in self.point.hypers.items()}
        if name in hypers:
            return mpmath.mpf(hypers[name])
        stored = self.stored(name)
        if isinstance(stored, dict):
            if index is None:
                raise Undefined(f"{name} needs a time index")
            low, high = min(stored), max(stored)  # h_0 or g_{T+1} where a state has one
            if not low <= index <= high:
                raise Undefined(f"{name}_{index} is outside the steps 1..T", out_of_range=True)
            return stored[index]
        return stored

    def adjoint(self, name: str, index: int | None):
        if name == self.net.objective.name:
            return mpmath.mpf(1)
        stored = self.ns.get(adjoint_key(self.ns, name)) if name in self.kind else None
        if stored is None:
            raise Undefined(f"dL/d{name} is not a quantity of this model")
        if isinstance(stored, dict):
            if index is None:
                raise Undefined(f"dL/d{name} needs a time index")
            learned = self.learned_boundary.get(name)
            if learned is not None and index == learned[0]:  # ∂L/∂h_0 of a learned h_0 = s: its own share
                return _array(value(self.derivation.initial_adjoints[name], self.ns))
            if not 1 <= index <= self.steps:
                raise Undefined(f"dL/d{name}_{index} is outside the steps 1..T", out_of_range=True)
            return _array(stored[index])
        return _array(stored)

    def jacobian(self, of: str, of_index, wrt: str, wrt_index, total: bool = False):
        return self._jacobians(of, of_index, wrt, wrt_index, total)

    def _jacobian(self, of, of_index, wrt, wrt_index, total=False):
        """d of/d wrt in numerator layout (rows: entries of ``of``; columns: of ``wrt``, row-major).
        By a parameter: the direct derivative, the parameter moved only in the step computing
        ``of`` (what ∂h_k/∂W in a chain rule means), or with ``total`` moved everywhere (what a
        claim's left side ∂E_3/∂W means)."""
        target = _array(self.value(of, of_index))
        if self.kind.get(wrt) == "param":
            moved = self._total_by_parameter if total else self._direct
            return _central(_array(self.stored(wrt)), lambda values: moved(of, of_index, wrt, values))
        source = _array(self.value(wrt, wrt_index))
        if wrt_index is not None and of_index is not None and of_index < wrt_index:
            return _zeros(target.size, source.size)
        # One step between the states of a cell with several (dC_t/dC_{t-1} of an LSTM): the
        # partial with the other states at t - 1 held fixed, as a state-space Jacobian is meant.
        one_step = (len(self.states) > 1 and of in self.states and wrt in self.states
                    and of_index is not None and wrt_index is not None and of_index == wrt_index + 1)
        probed = self._step_probed if one_step else self._probed
        return _central(precise.zeros(source.shape), lambda probe: probed(of, of_index, wrt, wrt_index, probe))

    def _total_by_parameter(self, of, of_index, param, values):
        """``of`` with the parameter changed at every step."""
        ns = forward(self.net, self.point, params={**self.point.params, param: values}, np_module=precise)
        stored = ns[key(ns, of)]
        return stored[of_index] if isinstance(stored, dict) else stored

    def _probed(self, of, of_index, wrt, wrt_index, probe):
        steps = {}
        stored = self.stored(wrt)
        if isinstance(stored, dict):
            steps = {t: precise.zeros(numpy.shape(v)) for t, v in stored.items()}
            steps[wrt_index] = probe
            probes = {wrt: steps}
        else:
            probes = {wrt: probe}
        ns = forward(self.net, self.point, probes=probes, np_module=precise)
        stored_of = ns[key(ns, of)]
        return stored_of[of_index] if isinstance(stored_of, dict) else stored_of

    def _step_probed(self, of, of_index, wrt, wrt_index, probe):
        """``of`` at step of_index, recomputed with only ``wrt`` at wrt_index moved."""
        ns = dict(self.ns)
        k = self.key
        step = self.net.per_step_order()
        for a in step:
            ns[k(a.name)] = dict(self.stored(a.name))
        ns[k(wrt)] = dict(self.stored(wrt))
        ns[k(wrt)][wrt_index] = ns[k(wrt)][wrt_index] + probe
        ns["t"] = of_index
        for a in step:
            ns[k(a.name)][of_index] = value(a.expr, ns)
        return ns[k(of)][of_index]

    def _direct(self, of, of_index, param, values):
        """``of`` recomputed with the parameter changed only in the step that computes it."""
        phases = self.net.phases()
        step = [a for p in phases if p.per_step for a in p.assignments]
        once = [a for p in phases if not p.per_step for a in p.assignments]
        ns = dict(self.ns)
        k = self.key
        ns[k(param)] = values
        per_step = isinstance(self.stored(of), dict)
        section = step if per_step else once
        if per_step and not 1 <= of_index <= self.steps:  # a boundary value (h_0): no step computes it
            learned = self.learned_boundary.get(of)
            return values if learned == (of_index, param) else self.stored(of)[of_index]
        if per_step:
            ns["t"] = of_index
        for a in section:
            result = value(a.expr, ns)
            if isinstance(self.stored(a.name), dict):
                ns[k(a.name)] = {**self.stored(a.name), of_index: result}
            else:
                ns[k(a.name)] = result
            if a.name == of:
                break
        stored = ns[k(of)]
        return stored[of_index] if isinstance(stored, dict) else stored

    # ---------------------------------------------------------------- the answer's expression

    def evaluate(self, node, env: dict, reverse_products: bool = False, layout: str = "denominator",
                 total: bool = False):
        """The value of an answer's expression; ``layout`` says how its derivatives are
        written (numerator: dL/dh a row, Jacobians as they are; denominator: dL/dh a column,
        a Jacobian ∂y/∂x written transposed, shaped like x by y; MIXED: dL/dh a column and
        ∂y/∂x shaped y by x, so that the chain rule transposes it, (∂h_{t+1}/∂h_t)ᵀ ∂L/∂h_{t+1},
        as Goodfellow et al. and derive's own documents write it)."""
        with numpy.errstate(all="ignore"):  # 0/0 in a student's fraction is a wrong value, not a warning to print
            return Evaluator(self, env, reverse_products, layout, total).run(node)


_UNBOUND = object()
MAX_TERMS = 20_000
MAX_ENTRIES = 4096  # no quantity of a model at the sizes claims are checked at has more entries
MAX_IDENTITY = 64  # a written I_{m} larger than this conforms with nothing at the (capped) sizes claims are checked at


def _array(x):
    if isinstance(x, numpy.ndarray):
        return x if x.ndim == 2 else x.reshape(-1, 1)
    return numpy.array([[x]], dtype=object)


def _central(base, moved):
    """The Jacobian of ``moved(values)`` at ``base`` by central differences, one column per entry."""
    columns = []
    for j in range(base.size):
        sides = []
        for sign in (1, -1):
            values = base.copy()
            values.reshape(-1)[j] = values.reshape(-1)[j] + sign * EPS
            sides.append(_array(moved(values)))
        columns.append(((sides[0] - sides[1]) / (2 * EPS)).reshape(-1))
    return numpy.array(columns, dtype=object).T


def _zeros(rows, cols):
    return precise.zeros((rows, cols))


def _is_number(x) -> bool:
    return not isinstance(x, numpy.ndarray) or x.shape == (1, 1)


def _scalar(x):
    return x[0, 0] if isinstance(x, numpy.ndarray) else x


def _shape(x) -> str:
    return "1×1" if not isinstance(x, numpy.ndarray) else f"{x.shape[0]}×{x.shape[1]}"


class Evaluator:
    def __init__(self, world: World, env: dict, reverse_products: bool, layout: str, total: bool = False):
        self.w = world
        self.total = total  # Jacobians by a parameter as total derivatives (a claim's left side)
        self.env = dict(env)
        self.reverse = reverse_products
        self.layout = layout
        self.terms = 0  # the sum and product terms made so far (bounded by MAX_TERMS)

    def run(self, node):
        return getattr(self, "_" + type(node).__name__)(node)

    def index(self, index):
        return None if index is None else index.value(self.env)

    def _Const(self, node):
        return mpmath.mpf(node.value)

    def _Value(self, node):
        return self.w.value(node.name, self.index(node.index))

    def _Adjoint(self, node):
        value = self.w.adjoint(node.name, self.index(node.index))
        if self.layout != "numerator" or _is_number(value) or value.shape == (1, 1):  # dL/dL = 1
            return value
        return value.T if value.shape[1] == 1 else value.reshape(1, -1)

    def _Jacobian(self, node):
        jac = self.w.jacobian(node.of, self.index(node.of_index), node.wrt, self.index(node.wrt_index), self.total)
        return jac.T if self.layout == "denominator" else jac  # MIXED: ∂y/∂x shaped y by x, gradients columns

    def _Chain(self, node):
        return self.run(node.resolved)

    def _Neg(self, node):
        return -self.run(node.arg)

    def _Transpose(self, node):
        x = self.run(node.arg)
        return x.T if isinstance(x, numpy.ndarray) else x

    def _Add(self, node):
        total = None
        values = [None if isinstance(term, S.Ones) else self.run(term) for _, term in node.terms]
        like = next((x for x in values if isinstance(x, numpy.ndarray)), None)
        for (sign, term), x in zip(node.terms, values, strict=True):
            if x is None:  # 1 in 1 − z has the shape of what it is added to
                x = _ones_like(like) if like is not None else self.run(term)
            x = x if sign > 0 else -x
            if total is None:
                total = x
                continue
            if isinstance(total, numpy.ndarray) and isinstance(x, numpy.ndarray) and total.shape != x.shape \
                    and not (_is_number(total) or _is_number(x)):
                raise ShapeError(f"adding a {_shape(total)} and a {_shape(x)} matrix")
            total = total + x
        return total

    def _BinOp(self, node):
        # 1ᵀ x and x 1: a vector of ones as long as the product needs (a sum of entries)
        if node.op == "·" and node.a == S.Transpose(S.Ones()):
            b = self.run(node.b)
            if isinstance(b, numpy.ndarray):
                return precise.ones((1, b.shape[0])).dot(b)
        if node.op == "·" and node.b == S.Ones():
            a = self.run(node.a)
            if isinstance(a, numpy.ndarray):
                return a.dot(precise.ones((a.shape[1], 1)))
        return self.combine(node.op, self.run(node.a), self.run(node.b))

    def combine(self, op, a, b):
        if op == "/":
            if _is_number(b):
                return a / _scalar(b)
            if isinstance(a, numpy.ndarray) and a.shape == b.shape:
                return a / b
            raise ShapeError(f"dividing a {_shape(a)} by a {_shape(b)} matrix")
        if op == "⊗":
            a, b = _array(a), _array(b)
            entries = a.shape[0] * b.shape[0] * a.shape[1] * b.shape[1]
            if entries > MAX_ENTRIES:
                raise Undefined(f"a Kronecker product of {entries} entries, larger than any quantity of this model")
            return numpy.kron(a, b)
        if _is_number(a) or _is_number(b):
            return _scalar(a) * b if _is_number(a) else a * _scalar(b)
        if op == "⊙":
            if a.shape != b.shape:
                raise ShapeError(f"an entrywise product of a {_shape(a)} and a {_shape(b)} matrix")
            return a * b
        if a.shape[1] != b.shape[0]:
            raise ShapeError(f"the product of a {_shape(a)} and a {_shape(b)} matrix is not conformable")
        return a.dot(b)

    def _Power(self, node):
        base = self.run(node.base)
        exponent = node.exponent.value(self.env)
        if _is_number(base):
            return _scalar(base) ** exponent
        if base.shape[1] == 1 and base.shape[0] > 1:  # g_t^2 of a vector: entry by entry (1 − g_t²)
            return base ** exponent
        if exponent < 0 or exponent > MAX_POWER:
            raise Undefined(f"a matrix power {exponent} (derive reads 0..{MAX_POWER})")
        if base.shape[0] != base.shape[1]:
            raise ShapeError(f"a power of a {_shape(base)} matrix, which is not square")
        out = precise.eye(base.shape[0])
        for _ in range(exponent):
            out = out.dot(base)
        return out

    def _Reduce(self, node):
        lo, hi = node.lo.value(self.env), node.hi.value(self.env)
        if abs(hi - lo) > 10_000:
            raise Undefined("a sum or product over more than 10000 terms")
        outer = self.env.get(node.var, _UNBOUND)  # a sum over t inside a claim about h_t: t again after it
        try:
            return self._reduce(node, lo, hi)
        finally:
            if outer is _UNBOUND:
                self.env.pop(node.var, None)
            else:
                self.env[node.var] = outer

    def _count(self, terms: int):
        """Nested sums multiply their terms: one claim may make at most MAX_TERMS in all."""
        self.terms += terms
        if self.terms > MAX_TERMS:
            raise Undefined(f"sums and products of more than {MAX_TERMS} terms in all (nested ones multiply)")

    def _reduce(self, node, lo, hi):
        self._count(abs(hi - lo) + 1)
        if node.kind == "sum":
            total = mpmath.mpf(0)
            for v in range(lo, hi + 1):
                self.env[node.var] = v
                total = total + self.run(node.body)
            return total
        if node.kind == "prod-written":  # a \cdots chain: the order it was written in
            values = range(lo, hi - 1, -1) if lo >= hi else range(lo, hi + 1)
        else:  # decreasing index, left to right: the conformable order of Jacobian chains
            values = range(hi, lo - 1, -1)
            if self.reverse:
                values = range(lo, hi + 1)
        out = None
        for v in values:
            self.env[node.var] = v
            factor = self.run(node.body)
            out = factor if out is None else self._times(out, factor)
        if out is None:  # the empty product of square factors: the identity of their size
            out = precise.eye(self._factor_size(node, lo))
        return out

    def _factor_size(self, node, at: int) -> int:
        for v in (at, at - 1, 1):
            self.env[node.var] = v
            try:
                factor = self.run(node.body)
            except (Undefined, ShapeError):
                continue
            return factor.shape[0] if isinstance(factor, numpy.ndarray) else 1
        raise Undefined("an empty product whose size cannot be told")

    def _times(self, a, b):
        return self.combine("·", a, b)

    def _Act(self, node):
        x = self.run(node.arg)
        return self._function(node.fn, x)

    def _function(self, fn, x):
        if fn == "activation":
            return self._model_activation(x)
        op = by_symbol(fn)
        if op is None:
            raise Undefined(f"the function {fn}")
        return _applied(op(_argument(x)), x)

    def _model_activation(self, x):
        act = self.w.activation
        if act is None:
            return x
        if isinstance(act, Phi):
            return self.w.function(act.fname)(x)
        return _applied(act.func(_argument(x), *act.args[1:]), x)

    def _ActPrime(self, node):
        if node.arg is None:
            if self.w.activation is None:  # the special case σ' constant: σ'(a) = 1
                return mpmath.mpf(1)
            raise Undefined(f"{node.fn}' is written without the point it is taken at")
        x = self.run(node.arg)
        return self._derivative(node.fn, x)

    def _derivative(self, fn, x):
        if fn == "activation":
            act = self.w.activation
            if act is None:
                return _ones_like(x)
            if isinstance(act, Phi):
                return self.w.function(act.fname, derivative=True)(x)
            return _applied(Prime(act.func(_argument(x), *act.args[1:])), x)
        op = by_symbol(fn)
        if op is None:
            raise Undefined(f"the derivative of {fn}")
        return _applied(op(_argument(x)).answer_derivative(), x)

    def _NaturalArg(self, node):
        if self.w.pre_activation is None or "t" not in self.env:
            raise Undefined("(…) where the argument cannot be told from the model")
        return self.w.value(self.w.pre_activation, self.env["t"])

    def _LossGrad(self, node):
        losses = [x.fname for a in self.w.net.assignments for x in _walk(a.expr) if isinstance(x, GenericLoss)]
        if not losses:
            raise Undefined("∂ℓ/∂o for a model whose loss is not generic")
        return self.w.function(losses[0], derivative=True)(self.run(node.o), self.run(node.y))

    def _Diag(self, node):
        x = self.run(node.arg)
        return precise.diagflat(numpy.ravel(x)) if isinstance(x, numpy.ndarray) else x

    def _Indicator(self, node):
        x, bound = self.run(node.arg), self.run(node.bound)
        difference = x - bound
        if node.relation in (">", "\\geq", "\\ge"):
            return precise.heaviside(difference, 1 if node.relation != ">" else 0)
        if node.relation in ("<", "\\leq", "\\le"):
            return precise.heaviside(-difference, 1 if node.relation != "<" else 0)
        raise Undefined(f"the condition {node.relation}")

    def _Identity(self, node):
        size = node.size
        if isinstance(size, S.Index):
            size = size.value(self.env)
        elif isinstance(size, str):
            size = self.w.ns[self.w.ns[NAMES].size(size)]
        elif self.w.state_size is not None:  # I without a size: the state's, as in ∂h_t/∂h_t
            size = self.w.state_size
        else:
            raise Undefined("I without a size (write I_n)")
        if not 1 <= size <= MAX_IDENTITY:
            raise Undefined(f"I_{{{size}}} is larger than any matrix of this model")
        return precise.eye(size)

    def _Conv(self, node):
        if not self.w.plain_conv:
            raise Undefined("conv(·, ·) is read for one channel, stride 1 and no padding")
        kernel, image = _square(self.run(node.kernel)), _square(self.run(node.image))
        size, width = image.shape[0], kernel.shape[0]
        if width > size:
            raise ShapeError(f"a {width}×{width} kernel on a {size}×{size} image")
        # the model's own convolution, one channel in and out, evaluated as the network's is
        kernel_symbol = MatrixSymbol("_answer_kernel", width, width)
        image_symbol = MatrixSymbol("_answer_image", size * size, 1)
        conv = Conv2d(kernel_symbol, image_symbol, conv_geometry(1, 1, size, width, 1, 0))
        out = _evaluated(conv, {kernel_symbol.name: kernel, image_symbol.name: image.reshape(-1, 1)})
        side = conv_out_size(size, width, 1, 0)
        return out.reshape(side, side)

    def _PositionSum(self, node):
        value = self.run(node.arg)
        positions = self.w.positions
        if positions is None or not isinstance(value, numpy.ndarray) or value.shape[0] % positions:
            raise ShapeError("a sum over positions of something that is not a convolution's output")
        return value.reshape(-1, positions).sum(axis=1).reshape(-1, 1)

    def _Ones(self, node):
        raise Undefined("1 where the expression does not fix its length")


def hidden_activation(net: Network):
    """(the hidden activation node, its argument's name), or (None, None); see World._activation."""
    states = {s.name for s in net.states}
    for a in net.assignments:
        if a.per_step and a.name in states and isinstance(a.expr, Elementwise):
            arg = a.expr.arg
            return a.expr, (arg.name if isinstance(arg, TimeSym) else None)
    if states:
        return None, None
    read_by_loss = {getattr(x.args[0], "name", None) for a in net.assignments for x in _walk(a.expr)
                    if isinstance(x, LOSSES)}
    for a in net.assignments:
        if isinstance(a.expr, Elementwise) and a.name not in read_by_loss:
            return a.expr, getattr(a.expr.arg, "name", None)
    return None, None


def without_activation(net: Network) -> Network | None:
    """The network with its hidden activation replaced by the identity wherever that function is
    applied (the special case a student may have assumed), or None when it has none."""
    activation, _ = hidden_activation(net)
    if activation is None:
        return None

    def same(x):
        return type(x) is type(activation) and getattr(x, "fname", None) == getattr(activation, "fname", None)

    def replaced(x):
        if not getattr(x, "args", None) or not hasattr(x, "shape"):
            return x
        x = rebuild(x, [replaced(a) for a in x.args])
        return x.arg if same(x) else x

    return net.with_assignments([Assignment(a.target, replaced(a.expr), a.per_step) for a in net.assignments])


_ARGUMENT = "_answer_argument"


def _argument(x):
    """The symbol standing for a value an answer applies a function to."""
    shape = numpy.shape(x) if isinstance(x, numpy.ndarray) else (1, 1)
    return MatrixSymbol(_ARGUMENT, *(shape if len(shape) == 2 else (shape[0], 1)))


def _applied(expr, x):
    """A primitive (or its derivative) of ``x``, evaluated by derive's own evaluator at 40 digits."""
    out = _evaluated(expr, {_ARGUMENT: _array(x)})
    return out if isinstance(x, numpy.ndarray) else _scalar(out)


def _evaluated(expr, values: dict):
    """A node of derive's over ``values`` (symbol name -> array): the primitive's code from its
    module, run on the precise stand-in for NumPy."""
    ns = {"np": precise, **values}
    for source in HELPERS.values():
        exec(source, ns)  # noqa: S102 - fixed helper source from derive's printer module
    return value(expr, ns)


def _ones_like(x):
    return precise.ones(numpy.shape(x)) if isinstance(x, numpy.ndarray) else mpmath.mpf(1)


def _walk(expr):
    yield expr
    for a in getattr(expr, "args", ()):
        yield from _walk(a)


def _square(x):
    """A column (or matrix) as the square image it holds, row-major (z_0's 16 entries as 4 × 4)."""
    if not isinstance(x, numpy.ndarray):
        raise ShapeError("conv of a number")
    side = int(round(x.size ** 0.5))
    if side * side != x.size:
        raise ShapeError(f"conv of a {_shape(x)} matrix, which is not a square image")
    return x.reshape(side, side)
