"""From a parsed side of a claim to an expression over the model's quantities.

Each symbol of the answer is looked up in the model's notation (every accepted spelling),
then in the answer's own ``notation:`` map; a subscript is either part of a name (W_{hh},
y_{pred}) or a time index (h_{t-1}), read as index arithmetic. What cannot be mapped raises
``Unmapped`` with the reason, and the claim is ``unchecked``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from derive.check import parser as P
from derive.network import Network
from derive.nodes import GenericLoss, Phi, TimeSym
from derive.primitives import APPLIED


class Unmapped(ValueError):
    """A part of the answer that names nothing in the model (the message says which)."""


# ---------------------------------------------------------------------------- index arithmetic


@dataclass(frozen=True)
class Index:
    """const + sum(coeff * letter), a linear index such as t - 1 or T + i."""

    const: int
    terms: tuple  # ((letter, coeff), ...)

    @classmethod
    def of(cls, value: int) -> Index:
        return cls(value, ())

    def letters(self) -> set[str]:
        return {v for v, c in self.terms if c}

    def value(self, env: dict) -> int:
        return self.const + sum(c * env[v] for v, c in self.terms)

    def shifted(self, by: int) -> Index:
        return Index(self.const + by, self.terms)

    def __str__(self) -> str:
        out = ""
        for v, c in self.terms:
            sign = "-" if c < 0 else ("+" if out else "")
            out += f"{sign}{'' if abs(c) == 1 else abs(c)}{v}"
        if self.const or not out:
            out += f"{'+' if self.const > 0 and out else ''}{self.const}"
        return out


_INDEX = re.compile(r"^[+-]?(\d+|[a-zA-Z@])([+-](\d+|[a-zA-Z@]))*$")


def parse_index(raw: str, aliases: dict[str, str]) -> Index | None:
    """t-1, T+i, l (with aliases, l -> T), 3: a linear index; None if it is not one."""
    text = raw.replace(" ", "").replace("−", "-")
    if not text or not _INDEX.match(text):
        return None
    const, terms = 0, {}
    for sign, token in re.findall(r"([+-]?)(\d+|[a-zA-Z@])", text):
        factor = -1 if sign == "-" else 1
        if token.isdigit():
            const += factor * int(token)
        else:
            letter = aliases.get(token, token)
            terms[letter] = terms.get(letter, 0) + factor
    return Index(const, tuple(sorted((v, c) for v, c in terms.items() if c)))


# ---------------------------------------------------------------------------- the expression


@dataclass(frozen=True)
class Const:
    value: float


@dataclass(frozen=True)
class Value:
    """The forward value of a parameter, variable, input or target (index None: no time)."""

    name: str
    index: Index | None = None


@dataclass(frozen=True)
class Adjoint:
    """dL/dX for the objective L: the total derivative, along every path."""

    name: str
    index: Index | None = None


@dataclass(frozen=True)
class Jacobian:
    """dA/dB between forward quantities (numerator layout); B a parameter: its direct use."""

    of: str
    of_index: Index | None
    wrt: str
    wrt_index: Index | None


@dataclass(frozen=True)
class Act:
    fn: str  # sigmoid | tanh | relu | exp | log | softmax | activation (the model's own)
    arg: object


@dataclass(frozen=True)
class ActPrime:
    fn: str
    arg: object | None  # None: written without an argument (σ'W)


@dataclass(frozen=True)
class NaturalArg:
    """The argument the context implies, as in ψ'(…): the activation's input at step t."""


@dataclass(frozen=True)
class LossGrad:
    """dl(o, y)/do for the model's generic loss, at the given arguments."""

    o: object
    y: object


@dataclass(frozen=True)
class Diag:
    arg: object


@dataclass(frozen=True)
class Indicator:
    arg: object
    relation: str
    bound: object


@dataclass(frozen=True)
class Identity:
    size: object  # an Index, a size name, or None (the state size)


@dataclass(frozen=True)
class Ones:
    pass


@dataclass(frozen=True)
class Conv:
    """conv(A, B): the valid cross-correlation of the square image B with the square kernel A
    (seed 000's conv(∂L/∂y_1, z_0)); one channel, stride 1."""

    kernel: object
    image: object


@dataclass(frozen=True)
class PositionSum:
    """The sum over the positions of each channel of a convolution's output (a diagnosis'
    edit for a shared bias; answers write it as a sum over k)."""

    arg: object


@dataclass(frozen=True)
class BinOp:
    op: str  # "·" (product), "⊙", "⊗", "/"
    a: object
    b: object


@dataclass(frozen=True)
class Add:
    terms: tuple  # ((sign, node), ...)


@dataclass(frozen=True)
class Neg:
    arg: object


@dataclass(frozen=True)
class Transpose:
    arg: object


@dataclass(frozen=True)
class Power:
    base: object
    exponent: Index


@dataclass(frozen=True)
class Reduce:
    kind: str  # sum | prod
    var: str
    lo: Index
    hi: Index
    body: object


# ---------------------------------------------------------------------------- the model's names

# How answers spell each function they apply by name (derive/primitives), as normalize() leaves it.
FUNCTION_NAMES = {P.normalize(spelling).strip(): op.symbol for op in APPLIED for spelling in op.spellings}
GENERIC_NAMES = ("\\phi", "\\varphi", "\\psi", "\\rho", *P.FUNCTION_LETTERS)


def spelling_key(latex: str) -> str:
    """A spelling with typesetting removed: \\mathbf{W}_{hh} -> W_{hh}."""
    text = "".join(P.normalize(latex).split())
    return re.sub(r"_([A-Za-z0-9])(?![A-Za-z0-9{])", r"_{\1}", text)


@dataclass
class Symbols:
    """The model's quantities by every spelling the notation accepts."""

    net: Network
    aliases: dict[str, str]  # the answer's spelling (key) -> the model's name or spelling

    def __post_init__(self):
        net = self.net
        self.kind: dict[str, str] = {}
        for p in net.params:
            self.kind[p.name] = "param"
        for a in net.assignments:
            self.kind[a.name] = "var"
        for x in net.inputs:
            self.kind[x.name] = "input"
        for y in net.target_symbols:
            self.kind[y.name] = "target"
        self.per_step = {a.name for a in net.assignments if a.per_step} | {x.name for x in net.inputs
                                                                           if isinstance(x, TimeSym)}
        self.per_step |= {y.name for y in net.target_symbols if isinstance(y, TimeSym)}
        self.per_step |= {s.name for s in net.states}
        self.by_key: dict[str, list[str]] = {}
        for name in [net.objective.name, *self.kind, "T", *[str(h) for h in net.hypers]]:
            for spelling in (*net.notation.accepted(name), name):
                names = self.by_key.setdefault(spelling_key(spelling), [])
                if name not in names:
                    names.append(name)
        self.index_aliases = {spelling_key(s): "T" for s in net.notation.accepted("T") if s != "T"}
        for source, target in self.aliases.items():
            if target in ("T",) or spelling_key(target) == "T":
                self.index_aliases[spelling_key(source)] = "T"
        self.sizes = {s for s in net.size_symbols}
        self.generic = {}
        for a in net.assignments:
            for node in _walk(a.expr):
                if isinstance(node, Phi):
                    self.generic["activation"] = node.fname
                if isinstance(node, GenericLoss):
                    self.generic["loss"] = node.fname

    def lookup(self, key: str, indexed: bool = False) -> str | None:
        """The quantity spelled ``key``; where two share a spelling (L and L_t), the one with
        a time index when the answer writes one, else the one without."""
        target = self.aliases.get(key)
        if target is not None:
            key = spelling_key(target)
            if target in self.kind and key not in self.by_key:
                return target
        names = self.by_key.get(key)
        if not names:
            return None
        preferred = [n for n in names if (n in self.per_step) == indexed]
        return (preferred or names)[0]

    def case_fallback(self, key: str) -> str | None:
        """w for W: another case, when exactly one quantity is spelled so."""
        found = {n for k, names in self.by_key.items() if k.lower() == key.lower() for n in names}
        return found.pop() if len(found) == 1 else None


def _walk(expr):
    yield expr
    for a in getattr(expr, "args", ()):
        yield from _walk(a)


# ---------------------------------------------------------------------------- resolving a tree


class Resolver:
    def __init__(self, symbols: Symbols):
        self.s = symbols
        self.bound: set[str] = set()  # indices bound by a sum or product around here

    def index(self, raw: str) -> Index:
        index = parse_index(raw, self.s.index_aliases)
        if index is None:
            raise Unmapped(f"the subscript {raw!r} is neither a name nor a time index")
        return index

    def symbol(self, sym: P.Sym):
        """(name, index) of a symbol, or a number for T, sizes and hyperparameters."""
        base_key = spelling_key(sym.base + (f"^{{{sym.sup}}}" if sym.sup else ""))
        if sym.sub is not None:
            whole = self.s.lookup(spelling_key(f"{base_key}_{{{sym.sub}}}"))
            if whole is not None:
                return whole, None
        name = self.s.lookup(base_key, indexed=sym.sub is not None)
        if name is None and base_key in self.s.index_aliases:
            name = "T"
        if name is None and base_key in self.s.sizes:
            return ("size", base_key), None
        if name is None:
            name = self.s.case_fallback(base_key)
        if name is None and sym.sub:  # w_{11}: entry 1 of w_1, as seed 000 writes a kernel's entries
            owner = self.s.lookup(spelling_key(f"{base_key}_{{{sym.sub.strip()[0]}}}"))
            if owner is not None and len(sym.sub.strip()) > 1:
                raise Unmapped(f"{_shown(sym)} reads as an entry of {owner}: claims about single entries are not "
                               "checked (derive latex writes them out)")
        if name is None:
            raise Unmapped(f"{_shown(sym)} is not a symbol of this model (map it under notation:)")
        if sym.sub is None:
            return name, None
        if name not in self.s.per_step:
            raise Unmapped(f"{_shown(sym)}: {name} has no time index")
        return name, self.index(sym.sub)

    def resolve(self, node):
        node = P.time_as_subscript(node) or node
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise Unmapped(f"derive cannot read {type(node).__name__} here")
        return method(node)

    def _Num(self, node):
        return Const(node.value)

    def _Sym(self, node):
        if spelling_key(node.base) == "I" and self.s.lookup("I") is None:  # I or I_n: the identity
            if node.sub is None:
                return Identity(None)
            size = spelling_key(node.sub)
            return Identity(size if size in self.s.sizes else self.index(node.sub))
        name, index = self.symbol(node)
        if isinstance(name, tuple):  # a size
            return Const(float(self.s.net.sizes_default[name[1]]))
        if name == "T":
            return Value("T")
        if name in {str(h) for h in self.s.net.hypers}:
            return Value(name)
        if name in self.s.per_step and index is None and name not in self.s.kind:
            raise Unmapped(f"{name} needs a time index")
        return Value(name, index)

    def _Neg(self, node):
        return Neg(self.resolve(node.arg))

    def _Sum(self, node):
        return Add(tuple((sign, self.resolve(term)) for sign, term in node.terms))

    def _Transpose(self, node):
        return Transpose(self.resolve(node.arg))

    def _Power(self, node):
        exponent = parse_index(node.exponent, self.s.index_aliases)
        if exponent is None:
            raise Unmapped(f"the exponent {node.exponent!r} is not a whole-number expression")
        return Power(self.resolve(node.base), exponent)

    def _Frac(self, node):
        return BinOp("/", self.resolve(node.num), self.resolve(node.den))

    def _Product(self, node):
        items = list(node.items)
        ops = list(node.ops)
        items, ops = self._expand_dots(items, ops)
        out = self.resolve(items[0])
        for op, item in zip(ops, items[1:], strict=True):
            out = BinOp(op or "·", out, self.resolve(item))
        return out

    def _expand_dots(self, items, ops):
        """A \\cdots B: the product of the factors from A's pattern to B's, in order."""
        if not any(isinstance(i, P.Dots) for i in items):
            return items, ops
        j = next(j for j, i in enumerate(items) if isinstance(i, P.Dots))
        if j == 0 or j == len(items) - 1:
            raise Unmapped("\\cdots without a factor on each side")
        first, last = items[j - 1], items[j + 1]
        chain = _chain(first, last, self)
        new_items = items[: j - 1] + [chain] + items[j + 2:]
        new_ops = ops[: j - 1] + ops[j + 1:]
        return self._expand_dots(new_items, new_ops)

    def _Chain(self, node):
        return node.resolved

    def _Group(self, node):
        raise Unmapped("a list of values where one value is expected")

    def _Ones(self, node):
        return Ones()

    def _Indicator(self, node):
        return Indicator(self.resolve(node.left), node.relation, self.resolve(node.right))

    def _BigOp(self, node):
        var = self.s.index_aliases.get(node.var, node.var)
        if node.lo is None and not (var == "t" and self.s.net.sequential):
            raise Unmapped(f"a \\{node.kind} needs its limits, \\{node.kind}_{{{node.var}=a}}^{{b}}")
        # \sum_t with no limits in a network over time: over every step, t = 1..T
        lo, hi = (node.lo, node.hi) if node.lo is not None else ("1", "T")
        lo, hi = self.index(lo), self.index(hi)
        self.bound.add(var)
        try:
            body = self.resolve(node.body)
        finally:
            self.bound.discard(var)
        return Reduce(node.kind, var, lo, hi, body)

    def _Call(self, node):
        name = node.func.name
        if name in ("prod", "Prod"):
            raise Unmapped("prod(·, ·) is a reminder to multiply with the right transposes, not an expression")
        if name == "diag":
            return Diag(self._one_arg(node))
        if name == "vec":
            raise Unmapped("vec(·) is not read yet")
        if name == "\\ell":
            return self._loss(node)
        if name == "conv":
            if len(node.args) != 2:
                raise Unmapped("conv takes two arguments, the kernel and the image")
            return Conv(self.resolve(node.args[0]), self.resolve(node.args[1]))
        fn = FUNCTION_NAMES.get(name)
        if fn is None and name in GENERIC_NAMES:
            fn = "activation"
        if fn is None:
            raise Unmapped(f"the function {name.lstrip(chr(92))} is not known")
        if node.func.power is not None:
            return self._entrywise_power(node, fn)
        if node.func.primes > 1:
            raise Unmapped("second derivatives are not read")
        if node.func.primes == 1:
            if not node.args:
                return ActPrime(fn, None)
            arg = node.args[0]
            return ActPrime(fn, NaturalArg() if isinstance(arg, P.Dots) else self.resolve(arg))
        return Act(fn, self._one_arg(node))

    def _entrywise_power(self, node, fn):
        """tanh^2(C_t): the function's value squared entry by entry, tanh(C_t) ⊙ tanh(C_t)."""
        power = node.func.power.strip()
        if node.func.primes or not power.isdigit() or not 1 <= int(power) <= 4:
            raise Unmapped(f"the power {power} of {node.func.name.lstrip(chr(92))} is not read")
        value = Act(fn, self._one_arg(node))
        out = value
        for _ in range(int(power) - 1):
            out = BinOp("⊙", out, value)
        return out

    def _one_arg(self, node):
        if len(node.args) != 1:
            raise Unmapped(f"{node.func.name.lstrip(chr(92))} takes one argument")
        return self.resolve(node.args[0])

    def _loss(self, node):
        if len(node.args) != 2:
            raise Unmapped("ℓ takes two arguments, ℓ(o, y)")
        raise Unmapped("ℓ(o, y) is the loss itself, a number; a gradient is written with its derivative "
                       "(\\frac{\\partial \\ell}{\\partial o}) or the model's name for it")

    def _Deriv(self, node):
        of, wrt = (P.time_as_subscript(x) or x for x in (node.of, node.wrt))
        if isinstance(of, P.Call) and of.func.name == "\\ell" and len(of.args) == 2:
            return LossGrad(self.resolve(of.args[0]), self.resolve(of.args[1]))
        if not isinstance(of, P.Sym) or not isinstance(wrt, P.Sym):
            raise Unmapped("a derivative of or with respect to an expression, not a symbol")
        of_name, of_index = self.symbol(of)
        wrt_name, wrt_index = self.symbol(wrt)
        if isinstance(of_name, tuple) or isinstance(wrt_name, tuple):
            raise Unmapped("a derivative with respect to a size")
        kinds = self.s.kind
        if kinds.get(wrt_name) in ("target", "input"):
            raise Unmapped(f"a derivative with respect to {wrt_name}, which the model reads as data (a target "
                           f"or input); if it means an output here, map it under notation:")
        if of_name == self.s.net.objective.name:
            return Adjoint(wrt_name, wrt_index)
        if kinds.get(of_name) in ("target", "input"):
            raise Unmapped(f"{of_name} is data in this model (a target or input); map it under notation: if it "
                           "means an output here")
        if of_name not in kinds:
            raise Unmapped(f"a derivative of {of_name}")
        return Jacobian(of_name, of_index, wrt_name, wrt_index)


@dataclass(frozen=True)
class Chain:
    """A product written with \\cdots, already expanded (see _chain)."""

    resolved: object


def _chain(first, last, resolver: Resolver):
    """A_{e1} \\cdots A_{e2}: the ordered product over the index that runs from e1 to e2."""
    pattern = _index_pattern(first, last, resolver)
    if pattern is None:
        raise Unmapped("the factors around \\cdots do not follow one pattern")
    var, lo_first, hi_last, template = pattern
    body = resolver.resolve(template)
    # first factor at index e1 on the left, last at e2 on the right
    return Chain(Reduce("prod-written", var, lo_first, hi_last, body))


def _index_pattern(first, last, resolver: Resolver):
    """(letter, index of first, index of last, template) when the two factors differ only in
    their time indices by a common shift."""
    subs_first, subs_last = _subscripts(first), _subscripts(last)
    if len(subs_first) != len(subs_last) or not subs_first:
        return None
    ia = [parse_index(s, resolver.s.index_aliases) for s in subs_first]
    ib = [parse_index(s, resolver.s.index_aliases) for s in subs_last]
    if any(x is None for x in ia + ib):
        return None
    offsets = [(a.const - ia[0].const, tuple(v for v in a.terms)) for a in ia]
    offsets_b = [(b.const - ib[0].const, tuple(v for v in b.terms)) for b in ib]
    if [o for o, _ in offsets] != [o for o, _ in offsets_b]:
        return None
    var = "@"  # a letter no answer uses
    template = _replace_subscripts(first, [f"{var}+{o}" if o >= 0 else f"{var}{o}" for o, _ in offsets])
    return var, ia[0], ib[0], template


def _subscripts(node) -> list[str]:
    out = []
    if isinstance(node, P.Sym) and node.sub is not None and parse_index(node.sub, {}) is not None:
        out.append(node.sub)
    for child in _children(node):
        out += _subscripts(child)
    return out


def _replace_subscripts(node, replacements: list[str]):
    queue = list(replacements)

    def walk(x):
        if isinstance(x, P.Sym) and x.sub is not None and parse_index(x.sub, {}) is not None:
            return P.Sym(x.base, queue.pop(0), x.sup)
        if isinstance(x, tuple) and not hasattr(x, "__dataclass_fields__"):
            return tuple(walk(a) for a in x)
        if hasattr(x, "__dataclass_fields__"):
            values = {f: walk(getattr(x, f)) for f in x.__dataclass_fields__}
            return type(x)(**values)
        return x

    return walk(node)


def _children(node):
    if isinstance(node, tuple):
        return list(node)
    if hasattr(node, "__dataclass_fields__"):
        return [getattr(node, f) for f in node.__dataclass_fields__]
    return []


def _shown(sym: P.Sym) -> str:
    text = sym.base
    if sym.sup:
        text += f"^{{{sym.sup}}}"
    if sym.sub:
        text += f"_{{{sym.sub}}}"
    return text
