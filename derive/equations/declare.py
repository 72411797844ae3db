r"""Forward equations -> a ``Network``, by the reading rules of DESIGN.md ("Models").

``Declaration`` reads the equations once: what every symbol is (variable, state forward or
backward in time, data input, target, parameter, constant), every shape (by unification, open
sizes named), the objective. ``Declaration.network(sizes)`` then declares the network with the
public API (``Network.param``, ``.state``, ``.step``, ``.let``), whose own checks (shapes, reads
it cannot place) still apply. Whatever cannot be read unambiguously is one ``EquationError``
naming the equation.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from derive.check import parser as P
from derive.equations import losses
from derive.equations.losses import Loss
from derive.equations.shapes import Dims, Shape, ShapeError
from derive.equations.symbols import Name, Reading, fonts, readings, time_offset
from derive.equations.text import EquationError, annotations, left_symbol, read_side, split_equation
from derive.equations.trees import (
    GENERIC_FUNCTIONS,
    children,
    function_symbol,
    is_coefficient,
    losses_in,
    pick,
    walk,
    what,
)
from derive.network import DeclarationError, Network
from derive.notation import Notation, Spelling
from derive.primitives import REGISTRY

DEFAULT_SIZES = {"n": 3, "d": 2, "k": 2, "T": 3}
OTHER_SIZE = 4
MAX_EQUATIONS = 200
DATA_LETTERS = ("x", "X", "y", "Y")
ACTIVATION_CHOICES = ("generic", *[op.symbol for op in REGISTRY if op.symbol not in ("exp", "log")], "identity")
LOSS_CHOICES = ("generic", "ce", "mse")  # ℓ(o, y) as softmax cross-entropy on o, or ½‖o − y‖²


@dataclass
class Equation:
    line: int
    text: str
    target: Reading
    rhs: object

    def fail(self, why: str) -> EquationError:
        return EquationError(f"line {self.line}: {self.text.strip()[:80]}: {why}")


@dataclass
class Symbol:
    name: Name
    role: str = "param"  # var | state | input | target | param | constant | size
    per_step: bool = False
    direction: str = "forward"
    kind: str = "real"  # a target's kind
    identifier: str = ""
    shape: Shape | None = None
    value: object = None  # a constant's value
    initial: str = ""  # a state's learned boundary value: the parameter's key (h_0 = s)


@dataclass
class Declaration:
    equations: list[Equation]
    symbols: dict[str, Symbol]  # by key, in order of first appearance
    dims: Dims
    size_names: dict[int, str]  # root class -> size name
    size_defaults: dict[str, int]
    sequential: bool
    notation: Notation
    stem: str
    order: list[Equation] = field(default_factory=list)
    time_keys: set[str] = field(default_factory=set)
    split: set[str] = field(default_factory=set)
    generic: tuple[str, ...] = ()  # the generic functions' option names (f, phi), and ell for a generic loss

    def network(self, sizes: dict[str, int] | None = None, options: dict[str, str] | None = None) -> Network:
        from derive.equations.build import Builder

        return Builder(self, {**self.size_defaults, **(sizes or {})}, options or {}).build()

    @property
    def has_loss(self) -> bool:
        """Whether an equation applies a loss (−yᵀ log p, ½‖o − y‖², ℓ(o, y), ...): what makes equations
        written in an answer file a network rather than a line of working."""
        return any(losses_in(eq.rhs) for eq in self.equations)

    def options(self) -> dict[str, tuple[str, ...]]:
        """A generic function may be given a concrete one (--set phi=tanh, --set ell=ce)."""
        return {name: LOSS_CHOICES if name == "ell" else ACTIVATION_CHOICES for name in self.generic}

    @property
    def open_sizes(self) -> dict[str, str]:
        """The sizes the equations leave open, with what they are the size of."""
        out = {}
        for root, name in self.size_names.items():
            owner = next((s for s in self.symbols.values() if s.shape and self.dims.find(s.shape.rows) == root), None)
            out[name] = f"rows of {owner.name.key}" if owner else ""
        return out


# ---------------------------------------------------------------------------- reading


def declare(forward: list[tuple[int, str]], *, stem: str = "model", sizes: dict | None = None,
            shapes: dict | None = None, constants: dict | None = None, data: list | None = None) -> Declaration:
    """The declaration the equations make; EquationError says which equation is wrong and why."""
    if not forward:
        raise EquationError("no forward equations")
    if len(forward) > MAX_EQUATIONS:
        raise EquationError(f"{len(forward)} equations; a model file holds up to {MAX_EQUATIONS}")
    lines, spaces, last_steps = [], [], set()
    for line, text in forward:
        written = annotations(text)
        if written.space is not None:
            spaces.append((written.subject, list(written.space) + [1] * (2 - len(written.space))))
        if written.last_step is not None:
            last_steps.add(written.last_step)
        if written.equation is not None:
            lines.append((line, written.equation))
        elif written.space is None:
            raise EquationError(f"line {line}: {text.strip()[:80]}: it is not one equation 'left = right'")
    if len(last_steps - {"T"}) > 1 or len(last_steps) > 1 and "T" in last_steps:
        raise EquationError(f"the steps run to {' and to '.join(sorted(last_steps))}: one last step, please")
    shape_specs = [*(shapes or {}).items(), *spaces]
    reader = _Reader(lines, sizes or {}, shape_specs, constants or {}, data or [], stem,
                     last_step=next(iter(last_steps - {"T"}), None))
    return reader.read()


class _Reader:
    def __init__(self, forward, sizes, shapes, constants, data, stem, last_step=None):
        self.forward, self.stem, self.last_step = forward, stem, last_step
        self.sizes_given = {str(k): _size_value(k, v) for k, v in sizes.items()}
        self.shapes_given, self.constants_given, self.data_given = shapes, constants, [str(x) for x in data]
        self.fonts = {}
        for _, text in forward:
            for base, font in fonts(text).items():
                self.fonts.setdefault(base, font)
        self.dims = Dims()
        self.one = self.dims.new(1)

    # ------------------------------------------------------------ pass 1: trees and readings

    def read(self) -> Declaration:
        parsed = []
        for line, text in self.forward:
            try:
                lhs_text, rhs_text = split_equation(text)
                lhs, rhs = read_side(left_symbol(lhs_text)), read_side(rhs_text)
                if self.last_step:  # t = 1, ..., l: l is T
                    lhs, rhs = _renamed_last_step(lhs, self.last_step), _renamed_last_step(rhs, self.last_step)
                rhs = _time_sums(rhs)
                rhs = losses.recognise(rhs)
            except EquationError as err:
                raise EquationError(f"line {line}: {text.strip()[:80]}: {err}") from None
            options = readings(lhs)
            if not options:
                raise EquationError(f"line {line}: {text.strip()[:80]}: the left side is not one symbol")
            parsed.append((line, text, options, rhs))
        occurrences = [opt for _, _, options, rhs in parsed for opt in [options, *self._symbol_readings(rhs)]]
        self.time_keys = {o[0].name.key for o in occurrences if o[0].time is not None and "t" in o[0].time}
        per_step = {options[0].name.key for _, _, options, _ in parsed if options[0].time == "t"}
        static = {options[-1].name.key for _, _, options, _ in parsed if options[-1].time is None}
        self.split = per_step & static  # E = Σ_t E_t: E and E_t are two symbols
        self.sequential = bool(self.time_keys)
        equations, initial = [], []
        for line, text, options, rhs in parsed:
            eq = Equation(line, text, self.pick(options), rhs)
            if eq.target.time is not None and eq.target.time != "t":
                initial.append(eq)
            else:
                equations.append(eq)
        self.equations = _objective_last(equations, self)
        self.symbols: dict[str, Symbol] = {}
        self._classify(initial)
        self._infer()
        self._name_sizes()
        order = self._order()
        notation = self._notation()
        return Declaration(self.equations, self.symbols, self.dims, self.size_names, self.size_defaults,
                           self.sequential, notation, self.stem, order, self.time_keys, self.split,
                           self._generic_options())

    def pick(self, options: list[Reading]) -> Reading:
        return pick(options, self.time_keys, self.split)

    def _symbol_readings(self, node):
        """Every symbol node in a tree, as its list of readings."""
        found = readings(node)
        if found:
            yield found
            return
        for child in children(node):
            yield from self._symbol_readings(child)

    # ------------------------------------------------------------ what every symbol is

    def _symbol(self, name: Name) -> Symbol:
        key = name.key
        if key not in self.symbols:
            self.symbols[key] = Symbol(name)
        return self.symbols[key]

    def _classify(self, initial: list[Equation]) -> None:
        for eq in self.equations:
            s = self._symbol(eq.target.name)
            if s.role == "var":
                raise eq.fail(f"{eq.target.name.key} is assigned twice")
            s.role, s.per_step = "var", eq.target.time == "t"
        reads: dict[str, list[tuple[Equation, str | None]]] = {}
        for eq in self.equations:
            for options in self._symbol_readings(eq.rhs):
                r = self.pick(options)
                reads.setdefault(r.name.key, []).append((eq, r.time))
                self._symbol(r.name)
        learned, bounded = [], set()
        for eq in initial:
            s = self.symbols.get(eq.target.name.key)
            if eq.target.name.key in bounded:
                raise eq.fail(f"{eq.target.name.key}'s boundary value is given twice")
            bounded.add(eq.target.name.key)
            base, offset = time_offset(eq.target.time)
            boundary = (base, offset) in (("", 0), ("T", 1))
            if s is None or not s.per_step or not boundary:
                raise eq.fail(f"{eq.target.name.key} at {eq.target.time} on a left side: only a state's boundary "
                              "value (h_0, or g_{T+1} for a state running backward) may be given")
            if eq.rhs != P.Num(0.0):
                learned.append((eq, s, self._learned_initial(eq)))
        constants = {self._key_of(k, "constants"): v for k, v in self.constants_given.items()}
        data = {self._key_of(k, "data") for k in self.data_given}
        for key, s in self.symbols.items():
            times = {time for _, time in reads.get(key, []) if time is not None}
            if s.role == "var":
                offsets = {time_offset(x) for x in times}
                steps = {o for b, o in offsets if b == "t"}
                if not s.per_step and times:
                    eq = reads[key][0][0]
                    raise eq.fail(f"{key} is computed once, it has no time index")
                bad = sorted(o for o in steps if abs(o) > 1)
                if bad:
                    eq = next(e for e, x in reads[key] if x and time_offset(x) == ("t", bad[0]))
                    raise eq.fail(f"{key} is read at t{bad[0]:+d}: a state reads the step just before (t-1) or "
                                  "just after (t+1)")
                if -1 in steps and 1 in steps:
                    raise self._first_read(reads, key).fail(f"{key} is read at both t-1 and t+1")
                if steps - {0}:
                    s.role, s.direction = "state", "forward" if -1 in steps else "backward"
                continue
            if key in constants:
                s.role, s.value = "constant", constants[key]
            elif key == "T" or key in self.sizes_given:
                s.role = "size"
            elif times or key in data or _letter(s.name) in DATA_LETTERS:
                if any(time_offset(x)[0] == "t" and time_offset(x)[1] != 0 for x in times):
                    raise self._first_read(reads, key).fail(f"{key} is data: it is read at its own step t only")
                s.role, s.per_step = "input", bool(times)
            else:
                s.role = "param"
                if times:
                    raise self._first_read(reads, key).fail(f"{key} is a parameter; it has no time index")
        for eq, state, key in learned:
            if state.role != "state" or self.symbols[key].role != "param":
                raise eq.fail(f"{eq.target.name.key}: a boundary value is 0 or one parameter (h_0 = s, s unassigned "
                              f"and without a time index); {key} is a {self.symbols[key].role}")
            state.initial = key
        unused = set(constants) - set(self.symbols)
        if unused:
            raise EquationError(f"constants: {sorted(unused)[0]} is not in the equations")
        self._targets(reads)
        objective = self.equations[-1].target.name.key
        for eq in self.equations:
            key = eq.target.name.key
            if key != objective and key not in reads:
                raise eq.fail(f"{key} is computed but nothing reads it (the objective is the last equation)")

    def _learned_initial(self, eq: Equation) -> str:
        """The key of the parameter a state's boundary value is (h_0 = s), registered as a symbol."""
        options = readings(eq.rhs)
        if not options or self.pick(options).time is not None:
            raise eq.fail(f"{eq.target.name.key}: a boundary value is 0 or one parameter (h_0 = s), "
                          "not an expression")
        return self._symbol(self.pick(options).name).name.key

    def _first_read(self, reads, key) -> Equation:
        return reads[key][0][0]

    def _key_of(self, spelled, where: str) -> str:
        try:
            options = readings(read_side(str(spelled)))
        except EquationError as err:
            raise EquationError(f"{where}: {spelled}: {err}") from None
        if not options:
            raise EquationError(f"{where}: {spelled} is not a symbol")
        return self.pick(options).name.key

    def _targets(self, reads) -> None:
        """Data read only by losses is a target; one read by a cross-entropy of a softmax is one-hot."""
        for key, s in self.symbols.items():
            if s.role != "input":
                continue
            consumers = {id(eq): eq for eq, _ in reads.get(key, [])}.values()
            kinds = set()
            for eq in consumers:
                kinds |= {loss.kind for loss in losses_in(eq.rhs) if key in self._target_keys(loss)}
            in_loss_only = all(
                key not in self._keys_outside_losses(eq.rhs) for eq in consumers)
            objective = self.equations[-1]
            if in_loss_only and (kinds or all(eq is objective for eq in consumers)):
                s.role = "target"
                s.kind = "onehot" if "ce" in kinds else "binary" if "bce" in kinds else "real"

    def _keys_in(self, node) -> set[str]:
        return {self.pick(o).name.key for o in self._symbol_readings(node)}

    def _target_keys(self, loss: Loss) -> set[str]:
        """The symbols in a loss's target slot; a squared error is symmetric, ½(y − ŷ)²: either side."""
        keys = self._keys_in(loss.target)
        if loss.kind in ("se", "se_scalar"):
            keys |= {k for k in self._keys_in(loss.prediction) if self.symbols[k].role in ("input", "target")}
        return keys

    def _keys_outside_losses(self, node) -> set[str]:
        if isinstance(node, Loss):
            return self._keys_in(node.prediction) - self._target_keys(node)
        found = readings(node)
        if found:
            return {self.pick(found).name.key}
        out = set()
        for child in children(node):
            out |= self._keys_outside_losses(child)
        return out

    # ------------------------------------------------------------ shapes

    def _infer(self) -> None:
        dims = self.dims
        shaped = self.shaped = {self._key_of(spelled, "shapes") for spelled, _ in self.shapes_given}
        for key, s in self.symbols.items():
            letter = _letter(s.name)
            if s.role in ("constant", "size"):
                s.shape = Shape(self.one, self.one)
            elif s.role in ("state", "target"):
                s.shape = Shape(dims.new(), self.one)
            elif s.role == "param" and key not in shaped and letter.startswith("\\") and letter[1:2].islower():
                # λ, α: a number; trained, its gradient would scale matrices by a 1×1 matrix (a Kronecker
                # product), which derive does not generate: a hyperparameter is a constant
                raise EquationError(f"{key} is a number the network would train (it is unassigned and not "
                                    f"under constants:); for a hyperparameter write constants: {{{key}: value}}, "
                                    "or give its shape under shapes: (derive does not train a single scale)")
            elif s.role == "param" and key not in shaped and letter.islower():
                s.shape = Shape(dims.new(), self.one)  # b, v, w: a vector (W, U, V are the matrices)
            else:
                s.shape = Shape(dims.new(), dims.new())
        user_sized = set()
        for spelled, spec in self.shapes_given:
            key = self._key_of(spelled, "shapes")
            if key not in self.symbols:
                raise EquationError(f"shapes: {spelled} is not in the equations")
            rows, cols = (spec if isinstance(spec, (list, tuple)) else (spec, 1)) if spec is not None else (None, None)
            shape = self.symbols[key].shape
            for dim, value in ((shape.rows, rows), (shape.cols, cols)):
                self._fix(dim, value, f"shapes: {spelled}")
            user_sized.add(key)
        for eq in self.equations:
            try:
                got = self.shape(eq.rhs)
                target = self.symbols[eq.target.name.key].shape
                self._unify(target, got)
            except ShapeError as err:
                raise eq.fail(f"the shapes do not fit: {err}") from None
            except EquationError as err:
                raise eq.fail(str(err)) from None
        for s in self.symbols.values():  # h_0 = s: s has the state's shape
            if s.initial:
                self._unify(s.shape, self.symbols[s.initial].shape)
        objective = self.equations[-1]
        try:
            self._unify(self.symbols[objective.target.name.key].shape, Shape(self.one, self.one))
        except ShapeError:
            raise objective.fail("the last equation is the objective, and it is not a number") from None
        if objective.target.time is not None:
            raise objective.fail("the last equation is the objective; it has a time index (sum it over t: "
                                 "L = \\sum_{t=1}^{T} L_t)")
        for key, s in self.symbols.items():  # a state or an input of one entry: a product read wrong
            if s.role in ("state", "input") and key not in user_sized and dims.number(s.shape.rows) == 1:
                raise EquationError(f"{key} would be a single number, only because the equations multiply it "
                                    "as a matrix (side by side, \\cdot and * are matrix products, \\odot is "
                                    "entrywise; a lowercase symbol is a vector, v^T h a number); if it is one, "
                                    f"say so under shapes: {{{key}: 1}}")
        self._no_collapsed_layer(user_sized)
        row_classes = {dims.find(s.shape.rows) for s in self.symbols.values()}
        for s in self.symbols.values():  # a vector is a column unless the equations say otherwise
            if not dims.is_fixed(s.shape.cols) and dims.find(s.shape.cols) not in row_classes:
                dims.unify(self.one, s.shape.cols)

    def _no_collapsed_layer(self, user_sized: set[str]) -> None:
        """A size between two weight matrices (W's rows, V's columns) that the products make 1: a
        hidden layer of one unit, which is a misreading (γ ⊙ z with γ a number makes z one number)
        unless shapes: says so."""
        dims = self.dims
        matrices = [(k, s) for k, s in self.symbols.items()
                    if s.role == "param" and _letter(s.name)[:1].isupper() and k not in user_sized]
        for key, s in matrices:
            if dims.number(s.shape.rows) != 1:
                continue
            other = next((k for k, m in matrices if k != key and dims.find(m.shape.cols) == dims.find(s.shape.rows)),
                         None)
            if other is not None:
                raise EquationError(f"the size between {key} and {other} would be 1 ({key} one row, {other} one "
                                    "column), only because the products read it so (a lowercase Greek parameter "
                                    "is a number: γ ⊙ z makes z one number); give the shapes under shapes:")

    def _fix(self, dim: int, value, where: str) -> None:
        if value is None:
            return
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            self.dims.unify(dim, self.dims.new(int(value)))
        elif isinstance(value, str) and value.isidentifier():
            self.dims.unify(dim, self.dims.new(("size", value)))
        else:
            raise EquationError(f"{where}: a size is a name or a number, not {value!r}")

    def _unify(self, a: Shape, b: Shape) -> None:
        self.dims.unify(a.rows, b.rows)
        self.dims.unify(a.cols, b.cols)

    def scalar_now(self, shape: Shape) -> bool:
        return self.dims.number(shape.rows) == 1 and self.dims.number(shape.cols) == 1

    def is_coefficient(self, node) -> bool:
        return is_coefficient(node, self.symbols, self.time_keys)

    def shape(self, node) -> Shape:
        dims = self.dims
        scalar = Shape(self.one, self.one)
        if isinstance(node, Loss):
            self._unify(self.shape(node.prediction), self.shape(node.target))
            if node.kind in ("se_scalar", "bce"):  # y log p, (y - p)^2: products of numbers as written
                self._unify(self.shape(node.prediction), scalar)
            if node.kind in ("ce", "bce", "se"):
                dims.unify(self.shape(node.prediction).cols, self.one)
            return scalar
        found = readings(node)
        if found:
            return self.symbols[self.pick(found).name.key].shape
        if isinstance(node, P.Num):
            return scalar
        if isinstance(node, P.Neg):
            return self.shape(node.arg)
        if isinstance(node, P.Transpose):
            return self.shape(node.arg).t()
        if isinstance(node, P.Sum):
            shaped = [self.shape(x) for _, x in node.terms if not isinstance(x, P.Num)]
            if not shaped:
                return scalar
            for other in shaped[1:]:
                self._unify(shaped[0], other)
            return shaped[0]
        if isinstance(node, P.Product):
            return self._product_shape(node)
        if isinstance(node, P.Frac):
            if self.is_coefficient(node.den):
                return self.shape(node.num)
            num, den = self.shape(node.num), self.shape(node.den)
            self._unify(num, den)
            return num
        if isinstance(node, P.Power):
            if not re.fullmatch(r"\d+", node.exponent.strip("{} ")):
                raise EquationError(f"the power {node.exponent} (derive reads whole-number powers)")
            return self.shape(node.base)
        if isinstance(node, P.BigOp):
            if node.kind != "sum" or node.var != "t" or (node.lo, node.hi) not in (("1", "T"), (None, None)):
                raise EquationError("a sum is read over time only, \\sum_{t=1}^{T} (and -\\sum_j y_j \\log p_j)")
            return self.shape(node.body)
        if isinstance(node, P.Call):
            return self._call_shape(node)
        raise EquationError(f"derive cannot read {what(node)} in a forward equation")

    def _product_shape(self, node) -> Shape:
        acc = self.shape(node.items[0])
        coefficient = self.is_coefficient(node.items[0])
        for j, (op, item) in enumerate(zip(node.ops, node.items[1:], strict=True)):
            right = self.shape(item)
            if op == "⊗":
                raise EquationError("a Kronecker product ⊗ in a forward equation")
            if op == "⊙":
                self._unify(acc, right)
            elif op == "/":
                if not self.is_coefficient(item):
                    self._unify(acc, right)
            elif coefficient or self.scalar_now(acc) and not self.scalar_now(right):
                acc = right
            elif self.is_coefficient(item) or self.scalar_now(right):
                pass
            else:
                self._no_vector_on_the_left(node.items[j])
                if j + 2 == len(node.items):  # h^T V ending the product: a row (h^T W s is a number)
                    self._no_row_convention(node.items[j], item)
                self.dims.unify(acc.cols, right.rows)
                acc = Shape(acc.rows, right.cols)
            coefficient = coefficient and self.is_coefficient(item)
        return acc

    def _no_row_convention(self, left, right) -> None:
        """h^T V with V a weight matrix: the row-vector convention (CS231n, Karpathy), which derive
        does not read (its vectors are columns: V h) — read as columns it would shrink the output to
        one entry."""
        found = readings(right)
        if not (isinstance(left, P.Transpose) and found):
            return
        s = self.symbols.get(self.pick(found).name.key)
        inner = readings(left.arg)
        vector = self.symbols.get(self.pick(inner).name.key) if inner else None
        if s is not None and s.role == "param" and _letter(s.name)[:1].isupper() and vector is not None \
                and vector.role != "param":
            raise EquationError(f"{vector.name.key}^T {s.name.key}: a row vector times a weight matrix (the row "
                                f"convention); derive's vectors are columns: write {s.name.key}^T {vector.name.key}"
                                f" or {s.name.key} {vector.name.key}")

    def _no_vector_on_the_left(self, node) -> None:
        """a z with a a lowercase parameter (a column vector unless shapes: says otherwise) would make
        z one row: a scale is a constant or given a shape, never guessed."""
        found = readings(node) if node is not None else []
        if not found:
            return
        key = self.pick(found).name.key
        s = self.symbols.get(key)
        if s is not None and s.role == "param" and s.shape.cols == self.one and self.dims.number(s.shape.rows) != 1 \
                and key not in self.shaped:
            raise EquationError(f"{key} multiplies what follows it, and a lowercase parameter is a column vector: "
                                f"for a number, list it under constants: or give shapes: {{{key}: 1}}")

    def _call_shape(self, node) -> Shape:
        func = node.func
        if func.primes or func.power is not None or func.sub is not None:
            raise EquationError(f"{func.name}{chr(39) * func.primes} with a prime, power or subscript")
        if func.name == "\\stack":
            parts = [self.shape(a) for a in node.args]
            for p in parts[1:]:
                self.dims.unify(parts[0].cols, p.cols)
            return Shape(self.dims.new(("sum", tuple(p.rows for p in parts))), parts[0].cols)
        if len(node.args) != 1:
            raise EquationError(f"{func.name.lstrip(chr(92))} takes one argument here")
        inner = self.shape(node.args[0])
        if func.name == "\\normsq":
            return Shape(self.one, self.one)
        if func.name in GENERIC_FUNCTIONS:
            return inner
        if function_symbol(func.name) is None:
            raise EquationError(f"the function {func.name.lstrip(chr(92))} is not read in a forward equation")
        if function_symbol(func.name) == "softmax":
            self.dims.unify(inner.cols, self.one)
        return inner

    # ------------------------------------------------------------ sizes and order

    def _name_sizes(self) -> None:
        dims, names = self.dims, {}
        taken = set()
        for root, value in list(dims.value.items()):
            if isinstance(value, tuple) and value[0] == "size" and dims.find(root) == root:
                names[root] = value[1]
                taken.add(value[1])
        roles = [("state", "n"), ("input", "d"), ("target", "k")]
        symbols = list(self.symbols.values())
        for role, conventional in roles:
            for s in symbols:
                root = dims.find(s.shape.rows)
                if s.role == role and not dims.is_fixed(root) and root not in names and conventional not in taken:
                    names[root] = conventional
                    taken.add(conventional)
        for s in symbols:
            for dim in (s.shape.rows, s.shape.cols):
                root = dims.find(dim)
                if not dims.is_fixed(root) and root not in names:
                    base = f"n_{_identifier(s)}"
                    label, count = base, 1
                    while label in taken:
                        count += 1
                        label = f"{base}{count}"
                    names[root] = label
                    taken.add(label)
        for root, name in names.items():
            if not dims.is_fixed(root):
                dims.value[root] = ("size", name)
        self.size_names = names
        used = set(names.values())
        unknown = set(self.sizes_given) - used - {"T"}
        if unknown:
            raise EquationError(f"sizes: {sorted(unknown)[0]} is not the size of anything in the equations "
                                f"(sizes: {', '.join(sorted(used)) or 'none'})")
        self.size_defaults = {name: self.sizes_given.get(name, DEFAULT_SIZES.get(name, OTHER_SIZE))
                              for name in sorted(used)}
        if self.sequential:
            self.size_defaults["T"] = self.sizes_given.get("T", DEFAULT_SIZES["T"])

    def _order(self) -> list[Equation]:
        """The equations in an order that computes what each reads first (the objective last)."""
        defined = {eq.target.name.key: eq for eq in self.equations}
        placed, order = set(), []
        pending = list(self.equations)
        while pending:
            for eq in pending:
                needs = set()
                for options in self._symbol_readings(eq.rhs):
                    r = self.pick(options)
                    s = self.symbols[r.name.key]
                    carried = s.role == "state" and r.time is not None and time_offset(r.time) != ("t", 0)
                    if r.name.key in defined and r.name.key != eq.target.name.key and not carried:
                        needs.add(r.name.key)
                if needs <= placed:
                    order.append(eq)
                    placed.add(eq.target.name.key)
                    pending.remove(eq)
                    break
            else:
                raise pending[0].fail("its variables depend on each other in a circle")
        return order

    def _notation(self) -> Notation:
        table = {}
        for s in self.symbols.values():
            s.identifier = _identifier(s)
            if s.role != "size":
                table[s.identifier] = s.name.spelling(self.fonts.get(_letter(s.name)) or self.fonts.get(s.name.base))
        seen = {}
        for s in self.symbols.values():
            if s.role == "size":
                continue
            if s.identifier in seen:
                raise EquationError(f"{seen[s.identifier]} and {s.name.key} would both be named {s.identifier}")
            seen[s.identifier] = s.name.key
        for fn in self._generic_functions():
            table[GENERIC_FUNCTIONS[fn]] = Spelling((fn,), _function_unicode(fn))
        if self.last_step:
            table["T"] = Spelling((self.last_step, "T"), self.last_step)
        return Notation(table, time=self._time_style())

    def _time_style(self) -> str:
        """h^{(t)} or h^{<t>} where the problem writes time as a superscript, else h_t."""
        written = " ".join(text for _, text in self.forward)
        if re.search(r"\^\s*\{\s*\(\s*[tT]", written):
            return "paren"
        if re.search(r"\^\s*\{\s*<\s*[tT]", written):
            return "angle"
        return "sub"

    def _generic_options(self) -> tuple[str, ...]:
        names = [GENERIC_FUNCTIONS[fn] for fn in self._generic_functions()]
        if any(loss.kind == "generic" for eq in self.equations for loss in losses_in(eq.rhs)):
            names.append("ell")
        return tuple(names)

    def _generic_functions(self) -> list[str]:
        found = []
        for eq in self.equations:
            for node in walk(eq.rhs):
                if isinstance(node, P.Call) and node.func.name in GENERIC_FUNCTIONS and node.func.name not in found:
                    found.append(node.func.name)
        return found


# ---------------------------------------------------------------------------- helpers


def _function_unicode(name: str) -> str:
    return {"\\phi": "φ", "\\varphi": "φ", "\\psi": "ψ", "\\rho": "ρ"}.get(name, name)


def _letter(name: Name) -> str:
    match = re.fullmatch(r"\\[A-Za-z]+\{\s*(\\?[A-Za-z]+)\s*\}", name.base)
    return match.group(1) if match else name.base


def _identifier(s: Symbol) -> str:
    return s.name.identifier


def _objective_last(equations: list[Equation], reader) -> list[Equation]:
    """The equations with the objective last: the last one, or where another equation reads it
    (L = Σ_t L_t written before L_t's own equation), the one equation nothing else reads."""
    def unread(eq):
        key = eq.target.name.key
        return not any(reader.pick(o).name.key == key for other in equations if other is not eq
                       for o in reader._symbol_readings(other.rhs))

    if unread(equations[-1]):
        return equations
    candidates = [eq for eq in equations if unread(eq)]
    if len(candidates) != 1:
        raise equations[-1].fail("the last equation is the objective, but other equations read it")
    return [eq for eq in equations if eq is not candidates[0]] + candidates


def _renamed_last_step(node, last: str):
    """The tree with the problem's last step (l in t = 1, ..., l) written T: h_l, h_{l-1}, \\sum^{l}."""
    pattern = re.compile(rf"^{re.escape(last)}(\s*[-+]\s*\d+)?$")

    def rename(x):
        if isinstance(x, P.Sym) and x.sub is not None and pattern.match(x.sub.strip()):
            return P.Sym(x.base, "T" + x.sub.strip()[len(last):], x.sup)
        if isinstance(x, P.BigOp) and x.hi is not None and x.hi.strip() == last:
            return P.BigOp(x.kind, x.var, x.lo, "T", rename(x.body))
        return _rebuilt(x, rename)

    return rename(node)


def _time_sums(node):
    """Σ_{s=1}^{T} exp(e_s) is a sum over time whatever its index is called: written with t, as the
    rest of the reader reads time. A sum over s whose body also reads t (attention between steps)
    is refused rather than misread."""
    def rename(x):
        if isinstance(x, P.BigOp) and x.kind == "sum" and x.var not in ("t", "T") and x.lo == "1" and x.hi == "T":
            if _reads_index(x.body, "t"):
                raise EquationError(f"a sum over {x.var} that also reads step t (derive reads sums over all steps)")
            return P.BigOp("sum", "t", "1", "T", rename(_with_index(x.body, x.var, "t")))
        return _rebuilt(x, rename)

    return rename(node)


def _index_pattern(var: str):
    return re.compile(rf"(?<![A-Za-z\\]){re.escape(var)}(?![A-Za-z])")


def _reads_index(node, var: str) -> bool:
    pattern = _index_pattern(var)
    found = []

    def look(x):
        if isinstance(x, P.Sym) and any(pattern.search(part or "") for part in (x.sub, x.sup)):
            found.append(x)
        elif isinstance(x, P.Power) and pattern.search(x.exponent):
            found.append(x)
        return _rebuilt(x, look)

    look(node)
    return bool(found)


def _with_index(node, old: str, new: str):
    """The tree with the index ``old`` written ``new`` in every subscript and time superscript."""
    pattern = _index_pattern(old)

    def rename(x):
        if isinstance(x, P.Sym):
            return P.Sym(x.base, pattern.sub(new, x.sub) if x.sub else x.sub,
                         pattern.sub(new, x.sup) if x.sup else x.sup)
        if isinstance(x, P.Power):
            return P.Power(rename(x.base), pattern.sub(new, x.exponent))
        return _rebuilt(x, rename)

    return rename(node)


def _rebuilt(node, f):
    """``node`` with ``f`` applied to each child (P's trees are frozen dataclasses)."""
    if isinstance(node, tuple):
        return tuple(_rebuilt(x, f) if isinstance(x, tuple) else f(x) for x in node)
    if not dataclasses.is_dataclass(node):
        return node
    changes = {}
    for fld in dataclasses.fields(node):
        value = getattr(node, fld.name)
        if isinstance(value, tuple):
            changes[fld.name] = _rebuilt(value, f)
        elif dataclasses.is_dataclass(value):
            changes[fld.name] = f(value)
    return dataclasses.replace(node, **changes) if changes else node


def _size_value(key, value) -> int:
    from derive.model import size_value

    try:
        return size_value(str(key), value)
    except DeclarationError as err:
        raise EquationError(f"sizes: {err}") from None
