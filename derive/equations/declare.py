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
from dataclasses import dataclass, field, replace

from sympy import Integer, Rational

from derive import ops
from derive.algebra import add, hadamard, matmul, neg, one_minus, scale, sub, transpose
from derive.check import parser as P
from derive.check.semantics import FUNCTION_NAMES
from derive.equations import losses
from derive.equations.losses import Loss
from derive.equations.shapes import Dims, Shape, ShapeError
from derive.equations.symbols import Name, Reading, fonts, readings, time_offset
from derive.equations.text import EquationError, annotations, left_symbol, read_side, split_equation
from derive.network import DeclarationError, Network
from derive.nodes import T, TimeSum, t
from derive.notation import Notation, Spelling
from derive.primitives import REGISTRY, Power

GENERIC_FUNCTIONS = {"f": "f", "g": "g", "\\phi": "phi", "\\varphi": "varphi", "\\psi": "psi", "\\rho": "rho"}
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
        return _Builder(self, {**self.size_defaults, **(sizes or {})}, options or {}).build()

    @property
    def has_loss(self) -> bool:
        """Whether an equation applies a loss (−yᵀ log p, ½‖o − y‖², ℓ(o, y), ...): what makes equations
        written in an answer file a network rather than a line of working."""
        return any(_losses(eq.rhs) for eq in self.equations)

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
        for child in _children(node):
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
        for eq in initial:
            s = self.symbols.get(eq.target.name.key)
            base, offset = time_offset(eq.target.time)
            boundary = (base, offset) in (("", 0), ("T", 1))
            if s is None or not s.per_step or not boundary:
                raise eq.fail(f"{eq.target.name.key} at {eq.target.time} on a left side: only a state's boundary "
                              "value (h_0, or g_{T+1} for a state running backward) may be given")
            if eq.rhs != P.Num(0.0):
                raise eq.fail("a learned or given initial state is not supported yet (the boundary value is 0)")
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
        unused = set(constants) - set(self.symbols)
        if unused:
            raise EquationError(f"constants: {sorted(unused)[0]} is not in the equations")
        self._targets(reads)
        self.reads = reads
        objective = self.equations[-1].target.name.key
        for eq in self.equations:
            key = eq.target.name.key
            if key != objective and key not in reads:
                raise eq.fail(f"{key} is computed but nothing reads it (the objective is the last equation)")

    def _first_read(self, reads, key) -> Equation:
        return reads[key][0][0]

    def _key_of(self, spelled, where: str) -> str:
        try:
            options = readings(read_side(str(spelled)))
        except EquationError as err:
            raise EquationError(f"{where}: {spelled}: {err}") from None
        if not options:
            raise EquationError(f"{where}: {spelled} is not a symbol")
        if hasattr(self, "time_keys"):
            return self.pick(options).name.key
        return options[-1].name.key if options[-1].time is None else options[0].name.key

    def _targets(self, reads) -> None:
        """Data read only by losses is a target; one read by a cross-entropy of a softmax is one-hot."""
        for key, s in self.symbols.items():
            if s.role != "input":
                continue
            consumers = {id(eq): eq for eq, _ in reads.get(key, [])}.values()
            kinds = set()
            for eq in consumers:
                kinds |= {loss.kind for loss in _losses(eq.rhs) if key in self._keys_in(loss.target)}
            in_loss_only = all(
                key not in self._keys_outside_losses(eq.rhs) for eq in consumers)
            objective = self.equations[-1]
            if in_loss_only and (kinds or all(eq is objective for eq in consumers)):
                s.role = "target"
                s.kind = "onehot" if "ce" in kinds else "binary" if "bce" in kinds else "real"

    def _keys_in(self, node) -> set[str]:
        return {self.pick(o).name.key for o in self._symbol_readings(node)}

    def _keys_outside_losses(self, node) -> set[str]:
        if isinstance(node, Loss):
            return self._keys_in(node.prediction)
        found = readings(node)
        if found:
            return {self.pick(found).name.key}
        out = set()
        for child in _children(node):
            out |= self._keys_outside_losses(child)
        return out

    # ------------------------------------------------------------ shapes

    def _infer(self) -> None:
        dims = self.dims
        for s in self.symbols.values():
            if s.role in ("constant", "size"):
                s.shape = Shape(self.one, self.one)
            elif s.role in ("state", "target"):
                s.shape = Shape(dims.new(), self.one)
            elif s.role == "param" and s.name.base.startswith("\\") and s.name.base[1:2].islower():
                s.shape = Shape(self.one, self.one)  # λ, α: a scalar
            else:
                s.shape = Shape(dims.new(), dims.new())
        for spelled, spec in self.shapes_given:
            key = self._key_of(spelled, "shapes")
            if key not in self.symbols:
                raise EquationError(f"shapes: {spelled} is not in the equations")
            rows, cols = (spec if isinstance(spec, (list, tuple)) else (spec, 1)) if spec is not None else (None, None)
            shape = self.symbols[key].shape
            for dim, value in ((shape.rows, rows), (shape.cols, cols)):
                self._fix(dim, value, f"shapes: {spelled}")
        for eq in self.equations:
            try:
                got = self.shape(eq.rhs)
                target = self.symbols[eq.target.name.key].shape
                self._unify(target, got)
            except ShapeError as err:
                raise eq.fail(f"the shapes do not fit: {err}") from None
            except EquationError as err:
                raise eq.fail(str(err)) from None
        objective = self.equations[-1]
        try:
            self._unify(self.symbols[objective.target.name.key].shape, Shape(self.one, self.one))
        except ShapeError:
            raise objective.fail("the last equation is the objective, and it is not a number") from None
        if objective.target.time is not None:
            raise objective.fail("the last equation is the objective; it has a time index (sum it over t: "
                                 "L = \\sum_{t=1}^{T} L_t)")
        row_classes = {dims.find(s.shape.rows) for s in self.symbols.values()}
        for s in self.symbols.values():  # a vector is a column unless the equations say otherwise
            if not dims.is_fixed(s.shape.cols) and dims.find(s.shape.cols) not in row_classes:
                dims.unify(self.one, s.shape.cols)

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
        raise EquationError(f"derive cannot read {_what(node)} in a forward equation")

    def _product_shape(self, node) -> Shape:
        acc = self.shape(node.items[0])
        coefficient = self.is_coefficient(node.items[0])
        for op, item in zip(node.ops, node.items[1:], strict=True):
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
                self.dims.unify(acc.cols, right.rows)
                acc = Shape(acc.rows, right.cols)
            coefficient = coefficient and self.is_coefficient(item)
        return acc

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
        if _function(func.name) is None:
            raise EquationError(f"the function {func.name.lstrip(chr(92))} is not read in a forward equation")
        if _function(func.name) == "softmax":
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
        if any(loss.kind == "generic" for eq in self.equations for loss in _losses(eq.rhs)):
            names.append("ell")
        return tuple(names)

    def _generic_functions(self) -> list[str]:
        found = []
        for eq in self.equations:
            for node in _walk(eq.rhs):
                if isinstance(node, P.Call) and node.func.name in GENERIC_FUNCTIONS and node.func.name not in found:
                    found.append(node.func.name)
        return found


# ---------------------------------------------------------------------------- building


class _Builder:
    def __init__(self, decl: Declaration, sizes: dict[str, int], options: dict[str, str]):
        self.d, self.sizes = decl, sizes
        self.options = {name: options.get(name, "generic") for name in decl.generic}

    def build(self) -> Network:
        d = self.d
        shown = {k: v for k, v in self.options.items() if v != "generic"}
        self.net = net = Network(d.stem, self.sizes, notation=d.notation, sequential=d.sequential, options=shown)
        self.objects = {}
        for key, s in d.symbols.items():
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
            return net.state(s.identifier, rows, backward=s.direction == "backward")
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
            return self.symbol(self.d_pick(found))
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise EquationError(f"derive cannot read {_what(node)} in a forward equation")
        return method(node)

    def d_pick(self, options):
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
                acc = matmul(acc, 1 / right) if not _is_matrix(right) else ops.divide(acc, right)
            elif not _is_matrix(acc) or not _is_matrix(right):
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
        symbol = _function(name)
        if symbol == "softmax":
            return ops.softmax(args[0])
        return getattr(ops, symbol)(args[0])

    def _Loss(self, node):
        p, y = self.expr(node.prediction), self.expr(node.target)
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

    def _is_target(self, node) -> bool:
        found = readings(node)
        return bool(found) and self.d.symbols[self.d_pick(found).name.key].role in ("target", "input")


# ---------------------------------------------------------------------------- helpers


def pick(options: list[Reading], time_keys: set[str], split: set[str] = frozenset()) -> Reading:
    """The reading of a written symbol: h_0 is h at time 0 when h is indexed by t somewhere, else a
    symbol named h_0; E_t is the per-step E where the problem also computes E once (E = Σ_t E_t)."""
    first = options[0]
    if first.time is not None and first.name.key in split:
        return Reading(replace(first.name, step=True), first.time)
    if first.time is not None and first.name.key in time_keys:
        return first
    return options[-1] if options[-1].time is None else Reading(first.name, None)


def is_coefficient(node, symbols: dict, time_keys: set[str]) -> bool:
    """A number, a constant, T, a size, or a fraction or product of them: it scales."""
    if isinstance(node, P.Num):
        return True
    found = readings(node)
    if found:
        s = symbols.get(pick(found, time_keys).name.key)
        return s is not None and s.role in ("constant", "size")
    if isinstance(node, P.Frac):
        return is_coefficient(node.num, symbols, time_keys) and is_coefficient(node.den, symbols, time_keys)
    if isinstance(node, P.Product):
        return all(is_coefficient(x, symbols, time_keys) for x in node.items) and all(
            op in ("", "·", "/") for op in node.ops)
    if isinstance(node, P.Neg):
        return is_coefficient(node.arg, symbols, time_keys)
    return False


def _is_matrix(x) -> bool:
    from derive.algebra import is_matrix

    return is_matrix(x)


def _children(node):
    if isinstance(node, Loss):
        return [node.prediction, node.target]
    if isinstance(node, P.Sum):
        return [x for _, x in node.terms]
    if isinstance(node, (P.Neg, P.Transpose)):
        return [node.arg]
    if isinstance(node, P.Product):
        return list(node.items)
    if isinstance(node, P.Frac):
        return [node.num, node.den]
    if isinstance(node, P.Power):
        return [node.base]
    if isinstance(node, P.BigOp):
        return [node.body]
    if isinstance(node, P.Call):
        return list(node.args)
    return []


def _walk(node):
    yield node
    for child in _children(node):
        yield from _walk(child)


def _losses(node):
    return [x for x in _walk(node) if isinstance(x, Loss)]


def _function(name: str) -> str | None:
    return FUNCTION_NAMES.get(name)


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


def _what(node) -> str:
    return {"Deriv": "a derivative", "Indicator": "an indicator", "Dots": "⋯", "Ones": "a ones vector",
            "Group": "a list of values"}.get(type(node).__name__, type(node).__name__)


def _number(value, key: str):
    try:
        return Rational(str(value))
    except (TypeError, ValueError):
        raise EquationError(f"constants: {key} must be a number, not {value!r}") from None


def _size_value(key, value) -> int:
    from derive.model import size_value

    try:
        return size_value(str(key), value)
    except DeclarationError as err:
        raise EquationError(f"sizes: {err}") from None
