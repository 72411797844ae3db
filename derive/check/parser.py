"""Reading one side of a claim: LaTeX text -> a small syntax tree, with a Lark grammar.

``normalize`` drops what only changes typesetting (\\left, \\mathbf, \\text, spacing) and
spells a few tokens the grammar knows (\\indicator for \\mathbb{I}); Lark's LALR parser reads
the result (grammar.lark); ``Builder`` turns the flat lists the grammar produces into a tree:
a function name followed by parentheses is a call, \\sum and \\prod take the factors after
them, a superscript T is a transpose. Nothing here evaluates text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from lark import Lark, Token, Transformer
from lark.exceptions import LarkError, VisitError

MAX_CLAIM_CHARS = 4000


class ParseError(ValueError):
    """A side of a claim that the dialect cannot read; the message says where."""


# ---------------------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Sym:
    base: str  # "W", "\\hat{y}", "\\lambda"
    sub: str | None = None  # raw subscript text: "t-1", "hh", "\\text{pred}"
    sup: str | None = None  # a superscript that is part of the name, "(1)"


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Func:
    name: str  # the function's token: "\\sigma", "tanh", "diag", "softmax"
    primes: int = 0
    sub: str | None = None
    power: str | None = None  # tanh^2(x)


@dataclass(frozen=True)
class Call:
    func: Func
    args: tuple  # () for a bare derivative symbol such as σ' with no argument


@dataclass(frozen=True)
class Frac:
    num: object
    den: object


@dataclass(frozen=True)
class Deriv:
    of: object
    wrt: object
    repaired: bool = False  # \frac{y}{\partial h}: the ∂ lost in OCR


@dataclass(frozen=True)
class Transpose:
    arg: object


@dataclass(frozen=True)
class Power:
    base: object
    exponent: str  # raw superscript text, read as an index expression


@dataclass(frozen=True)
class Neg:
    arg: object


@dataclass(frozen=True)
class Sum:
    terms: tuple  # ((sign, node), ...) with sign +1 or -1


@dataclass(frozen=True)
class Product:
    items: tuple
    ops: tuple  # between items: "" (written side by side), "·", "⊙", "⊗", "/"


@dataclass(frozen=True)
class BigOp:
    kind: str  # "sum" | "prod"
    var: str
    lo: str | None  # None for \\sum_t written without limits
    hi: str | None
    body: object


@dataclass(frozen=True)
class Dots:
    """\\cdots between two factors of a product: the factors in between, by their pattern."""


@dataclass(frozen=True)
class Indicator:
    left: object
    relation: str
    right: object


@dataclass(frozen=True)
class Group:
    """Parentheses holding several comma-separated arguments (a function's)."""

    args: tuple


@dataclass(frozen=True)
class Ones:
    pass


# ---------------------------------------------------------------------------- normalizing text

_FONTS = re.compile(r"\\(mathbf|bm|boldsymbol|mathrm|mathit|mathsf|mathcal|mathscr|text|textrm|textit|mathtt"
                    r"|operatorname\*?|textbf|mathnormal)\s*\{((?:[^{}]|\{[^{}]*\})*)\}")  # \mathbf{W_{hh}} too
_SIZES = re.compile(r"\\(left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|big|Big|bigg|Bigg)(?![a-zA-Z])\.?")
_SPACES = re.compile(r"\\[,;:! ]|\\q?quad(?![a-zA-Z])|~")
_BRACES_ONCE = r"\{(?:[^{}]|\{[^{}]*\})*\}"


def normalize(text: str) -> str:
    """LaTeX without typesetting-only commands, in the tokens the grammar knows."""
    text = text.replace("\\displaystyle", " ")
    text = re.sub(r"\\(no)?limits(?![a-zA-Z])", " ", text)  # \sum\limits_{t=1}^T: where the limits are set
    text = re.sub(r"\\wide(hat|tilde)(?![a-zA-Z])", r"\\\1", text)  # \widehat{y}: a wider \hat
    # an accent over a symbol and its subscript, \hat{y_t}, or without braces, \hat y_t: the symbol's accent
    text = re.sub(r"\\(hat|tilde|bar)\s*\{\s*([A-Za-z])\s*_\s*(\{[^{}]*\}|[A-Za-z0-9])\s*\}", r"\\\1{\2}_\3", text)
    text = re.sub(r"\\(hat|tilde|bar)\s+([A-Za-z])(?![A-Za-z])", r"\\\1{\2}", text)
    text = re.sub(r"\\mathbb\s*\{\s*[I1]\s*\}", r"\\indicator ", text)
    text = re.sub(r"\\mathbf\s*\{\s*1\s*\}", r"\\ones ", text)
    # a subscript in a font, W_\textrm{hh} (d2l): the whole word is the subscript
    text = re.sub(r"_\s*\\(textrm|text|mathrm|mathit|mathbf|mathsf|rm)\s*\{([^{}]*)\}", r"_{\2}", text)
    for _ in range(4):  # fonts may nest
        text = _FONTS.sub(lambda m: m.group(2), text)
    text = re.sub(r"\\(underbrace|overbrace)\s*(" + _BRACES_ONCE + r")\s*[_^]\s*" + _BRACES_ONCE,
                  lambda m: m.group(2)[1:-1], text)
    text = _SIZES.sub("", text)
    text = _SPACES.sub(" ", text)
    text = re.sub(r"\^\s*\{\s*\\prime\s*\}|\^\s*\\prime|\^\s*\{\s*'\s*\}", "'", text)
    text = re.sub(r"\\(top|intercal)(?![a-zA-Z])", "T", text)
    text = text.replace("\\{", "(").replace("\\}", ")")
    return text


# ---------------------------------------------------------------------------- parsing


@cache
def _parser() -> Lark:
    grammar = resources.files("derive.check").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar.replace('| "prod"', "| " + _primitive_names() + ' | "prod"', 1), parser="lalr",
                maybe_placeholders=False)


def _primitive_names() -> str:
    r"""FUNC alternatives for every spelling of a registered primitive (derive/primitives) that the
    grammar does not know already, as normalize() leaves it (\operatorname{softplus} -> softplus)."""
    from derive.primitives import APPLIED

    names = {normalize(spelling).strip() for op in APPLIED for spelling in op.spellings}
    names = sorted(n for n in names if n.replace("\\", "").isalpha() and len(n.lstrip("\\")) > 1)
    return " | ".join(f'"{n}"'.replace("\\", "\\\\") for n in names)


TRANSPOSE_MARKS = {"T", "{T}", "{t}", "{\\top}"}


def parse(text: str):
    """The tree of one side of a claim; ParseError says why it cannot be read."""
    if len(text) > MAX_CLAIM_CHARS:
        raise ParseError(f"the expression is {len(text)} characters long; derive reads up to {MAX_CLAIM_CHARS}")
    cleaned = normalize(text)
    if re.search(r"[^\x00-\x7f…⋯⊙∘·−]", cleaned):
        raise ParseError("it contains text that is not math")
    try:
        tree = _parser().parse(cleaned)
    except LarkError as err:
        raise ParseError(_describe(err, cleaned)) from None
    except RecursionError:
        raise ParseError("it is nested too deeply") from None
    try:
        return Builder().transform(tree)
    except VisitError as err:
        if isinstance(err.orig_exc, ParseError):
            raise err.orig_exc from None
        raise ParseError(f"it cannot be read ({type(err.orig_exc).__name__})") from None
    except RecursionError:
        raise ParseError("it is nested too deeply") from None


def _describe(err: LarkError, text: str) -> str:
    column = getattr(err, "column", None)
    if isinstance(column, int) and column > 0:
        near = text[max(0, column - 12):column + 12].strip()
        return f"it cannot be read near '{near}'"
    return "it cannot be read"


# ---------------------------------------------------------------------------- building the tree


@dataclass
class _Item:
    node: object
    posts: list = field(default_factory=list)


class Builder(Transformer):
    def number(self, children):
        return Num(float(children[0]))

    def name(self, children):
        return Sym(str(children[0]))

    def func(self, children):
        return Func(str(children[0]))

    def bigop(self, children):
        return ("bigop", "sum" if str(children[0]) == "\\sum" else "prod")

    def ellipsis(self, _children):
        return Dots()

    def indicator(self, _children):
        return ("indicator",)

    def ones(self, _children):
        return Ones()

    def partial(self, _children):
        return ("partial",)

    def nabla(self, _children):
        return ("nabla",)

    def paren(self, children):
        (args,) = children
        return Group(tuple(args))  # a function's arguments, or just parentheses (see _assemble)

    def brace(self, children):
        return children[0]

    def __default__(self, data, children, meta):  # pragma: no cover - every rule has a method
        raise ParseError(f"unexpected {data}")

    def args(self, children):
        return list(children)

    def comparison(self, children):
        if len(children) == 1:
            return children[0]
        left, relation, right = children
        return ("compare", left, str(relation), right)

    def frac(self, children):
        _, num, den = children
        num_partial, num_body = _strip_partial(num)
        den_partial, den_body = _strip_partial(den)
        if num_partial and den_partial:
            return Deriv(num_body, den_body)
        if den_partial and not num_partial:  # \frac{y}{\partial h}: a ∂ lost in OCR
            return Deriv(num, den_body, repaired=True)
        if num_partial or den_partial:
            raise ParseError("a fraction has ∂ on one side only")
        return Frac(num, den)

    def post(self, children):
        return children[0]

    def item(self, children):
        node, *posts = children
        return _Item(node, list(posts))

    def term(self, children):
        items, ops = [], []
        pending = ""
        for child in children:
            if isinstance(child, Token) and child.type == "MULOP":
                pending = _mulop(str(child))
            else:
                if items:
                    ops.append(pending)
                pending = ""
                items.append(child)
        return _build_product(*_operator_derivatives(items, ops))

    def expr(self, children):
        terms, sign = [], 1
        for child in children:
            if isinstance(child, Token) and child.type == "ADDOP":
                sign = -1 if str(child) in ("-", "−") else 1
            else:
                terms.append((sign, child))
                sign = 1
        terms = _close_bigops(terms)
        if len(terms) == 1 and terms[0][0] == 1:
            return terms[0][1]
        if len(terms) == 1:
            return Neg(terms[0][1])
        return Sum(tuple(terms))


@dataclass(frozen=True)
class _OpenBigOp:
    """A \\sum or \\prod that ends its term (\\sum_{t=1}^{T} -y_t^T log p_t): its body is the next term."""

    node: tuple


def _close_bigops(terms: list) -> list:
    out, j = [], 0
    while j < len(terms):
        sign, node = terms[j]
        last = node.items[-1] if isinstance(node, Product) else node
        if isinstance(last, _OpenBigOp):
            if j + 1 >= len(terms):
                raise ParseError("a sum or product with nothing to sum")
            next_sign, body = terms[j + 1]
            closed = _bigop(last.node, body if next_sign == 1 else Neg(body))
            node = Product((*node.items[:-1], closed), node.ops) if isinstance(node, Product) else closed
            j += 1
        out.append((sign, node))
        j += 1
    return out


def _mulop(text: str) -> str:
    if text in ("\\odot", "\\circ", "⊙", "∘"):
        return "⊙"
    if text == "\\otimes":
        return "⊗"
    if text == "/":
        return "/"
    return "·"


def _strip_partial(node):
    """(True, X) for ∂X, written as the first factor ∂ of a product or alone."""
    if isinstance(node, Product) and node.items and node.items[0] == ("partial",):
        rest = Product(node.items[1:], node.ops[1:]) if len(node.items) > 2 else node.items[1]
        return True, rest
    return False, node


def _apply_posts(item: _Item):
    """Sub- and superscripts and primes, in order, on one item."""
    node = item.node
    if item.posts and isinstance(node, Group) and len(node.args) == 1:
        node = node.args[0]  # (A)^T: the parentheses only group
    for post in item.posts:
        text = str(post)
        kind = post.type
        if kind == "SUB":
            raw = _raw(text[1:])
            if isinstance(node, Sym) and node.sub is None:
                node = Sym(node.base, raw, node.sup)
            elif isinstance(node, Func):
                node = Func(node.name, node.primes, raw, node.power)
            elif isinstance(node, tuple) and node[0] == "bigop":
                node = node + ("sub", raw)
            else:
                raise ParseError(f"a subscript _{{{raw}}} on something that takes none")
        elif kind == "SUP":
            raw = _raw(text[1:])
            node = _superscript(node, raw)
        elif kind == "PRIME":
            node = _prime(node)
    return node


def _raw(script: str) -> str:
    script = script.strip()
    return script[1:-1].strip() if script.startswith("{") and script.endswith("}") else script


def _superscript(node, raw: str):
    if isinstance(node, tuple) and node[0] == "bigop":
        return node + ("sup", raw)
    if raw in ("T", "t", "\\top", "\\intercal", "\\mathsf{T}") or raw == "T":
        return Transpose(node)
    if raw in ("'", "\\prime"):
        return _prime(node)
    if isinstance(node, Func):
        return Func(node.name, node.primes, node.sub, raw)
    if "\\times" in raw:  # a shape written on a symbol (h_t^{h \times 1}): not math
        return node
    if raw.endswith("T") and raw.startswith("(") and ")" in raw and isinstance(node, Sym):  # W^{(2)T}
        return Transpose(Sym(node.base, node.sub, raw[:-1].strip()))
    if isinstance(node, Sym) and re.fullmatch(r"\(\s*\w+\s*\)|\[\s*\d+\s*\]", raw):  # W^{(1)}, W^{[1]}: the name's
        return Sym(node.base, node.sub, raw.replace(" ", ""))
    return Power(node, raw)


# Time written as a superscript, h^{(t)}, h^{(t-1)}, h^{<t>} (Goodfellow et al., Ng's course).
TIME_SUPERSCRIPT = re.compile(r"^[(<]\s*([tT](\s*[-+]\s*\d+)?)\s*[)>]$")


def time_as_subscript(node):
    """h^{(t-1)} as h_{t-1} (the grammar reads h^{(t)} as a name part and h^{(t-1)} as a power);
    None for a node that is no symbol with time in its superscript."""
    if isinstance(node, Sym) and node.sup is not None:
        sym, written = node, node.sup
    elif isinstance(node, Power) and isinstance(node.base, Sym) and node.base.sup is None:
        sym, written = node.base, node.exponent
    else:
        return None
    match = TIME_SUPERSCRIPT.match(written.strip())
    if match is None:
        return None
    time = re.sub(r"\s+", "", match.group(1))
    return Sym(sym.base, time if sym.sub is None else f"{sym.sub},{time}")  # y_i^{(t)}: entry i of y at t


# Letters that name a generic function when called (f(y_1), f'(y_3)), as in seed 000.
FUNCTION_LETTERS = ("f", "g")


def _prime(node):
    if isinstance(node, Func):
        return Func(node.name, node.primes + 1, node.sub, node.power)
    if isinstance(node, Sym) and node.base in FUNCTION_LETTERS and node.sub is None and node.sup is None:
        return Func(node.base, 1)  # f': the derivative of a generic f
    return Transpose(node)  # h' for a vector: its transpose


def _operator_derivatives(items: list, ops: list) -> tuple[list, list]:
    """Derivatives written without \\frac, each one factor: ∇_W L and ∂_W L (the operator with
    what it differentiates by as its subscript, then the function), and ∂L/∂W (a slash between
    two ∂ factors)."""
    out, out_ops, j = [], [], 0
    while j < len(items):
        item, joined = items[j], (ops[j] if j < len(ops) else None)
        derivative, taken = None, 1
        subscript = item.posts[0] if len(item.posts) == 1 and item.posts[0].type == "SUB" else None
        if item.node in (("nabla",), ("partial",)) and subscript is not None and joined == "" and j + 1 < len(items):
            derivative, taken = Deriv(_apply_posts(items[j + 1]), parse_subscript(str(subscript)[1:])), 2
        elif (item.node == ("partial",) and not item.posts and j + 3 < len(items) and ops[j] == ""
              and ops[j + 1] == "/" and items[j + 2].node == ("partial",) and not items[j + 2].posts
              and ops[j + 2] == ""):
            derivative, taken = Deriv(_apply_posts(items[j + 1]), _apply_posts(items[j + 3])), 4
        elif item.node == ("nabla",):
            raise ParseError("∇ needs what it differentiates by as a subscript, ∇_{W} L")
        if out:
            out_ops.append(ops[j - 1])
        out.append(_Item(derivative) if derivative is not None else item)
        j += taken
    return out, out_ops


def parse_subscript(raw: str):
    """The tree of a subscript's text (∇_{W_{hh}} L: W_{hh})."""
    return parse(_raw(raw))


def _build_product(items: list, ops: list):
    nodes, node_ops = [], []
    for j, item in enumerate(items):
        called = nodes[-1] if nodes else None
        if isinstance(called, Sym) and called.base in FUNCTION_LETTERS and called.sub is None and called.sup is None:
            called = Func(called.base)  # f(y)^2: the generic f called, as below
        if (isinstance(called, Func) and isinstance(item.node, Group) and item.posts and ops[j - 1] == ""
                and called.name != "\\operatorname"):
            # \tanh(x)^2 is (\tanh x)^2, σ(a)^T is σ(a)^T: what follows the parentheses is the call's
            nodes[-1] = _apply_posts(_Item(Call(called, item.node.args), item.posts))
            continue
        if nodes:
            node_ops.append(ops[j - 1])
        nodes.append(_apply_posts(item))
    return _assemble(nodes, node_ops)


def _assemble(nodes: list, ops: list):
    """Calls, indicators and the bodies of sums and products, from a flat list of factors."""
    out, out_ops = [], []
    j = 0
    while j < len(nodes):
        node = nodes[j]
        op = ops[j - 1] if j else ""
        following = nodes[j + 1] if j + 1 < len(nodes) else None
        joined = ops[j] if j < len(ops) else None
        if isinstance(node, tuple) and node[0] == "bigop":
            body_nodes = nodes[j + 1:]
            if not body_nodes:  # \sum_t -y_t: the body is the signed term after it (Builder.expr)
                out.append(_OpenBigOp(node))
                out_ops.append(op)
                break
            out.append(_bigop(node, _assemble(body_nodes, ops[j + 1:])))
            out_ops.append(op)
            break
        if node == ("indicator",):
            condition = following.args[0] if isinstance(following, Group) and len(following.args) == 1 else None
            if not (isinstance(condition, tuple) and condition[0] == "compare") or joined != "":
                raise ParseError("𝕀 must be followed by a condition in parentheses, 𝕀(h > 0)")
            _, left, relation, right = condition
            out.append(Indicator(left, relation, right))
            out_ops.append(op)
            j += 2
            continue
        if (isinstance(node, Sym) and node.base in FUNCTION_LETTERS and node.sub is None and node.sup is None
                and isinstance(following, Group) and joined == ""):
            node = Func(node.base)  # f(y_1): a call, not f times (y_1)
        if isinstance(node, Func):
            after = nodes[j + 2] if j + 2 < len(nodes) else None
            if (isinstance(following, Func) and not following.primes and joined == "" and isinstance(after, Group)
                    and ops[j + 1] == ""):  # \log \mathrm{softmax}(s): the inner call first
                nodes = [*nodes[:j + 1], Call(following, after.args), *nodes[j + 3:]]
                ops = [*ops[:j + 1], *ops[j + 2:]]
                following = nodes[j + 1]
            node, used = _call(node, following, joined)
            j += used
        elif isinstance(node, Group):
            if len(node.args) != 1 or isinstance(node.args[0], (Dots, tuple)):
                raise ParseError("a list of values in parentheses where one value is expected")
            node = node.args[0]  # parentheses that only group
        elif isinstance(node, tuple) and node != ("partial",):
            raise ParseError("a comparison or ∂ out of place")
        out.append(node)
        out_ops.append(op)
        j += 1
    if len(out) == 1:
        return out[0]
    return _entrywise_last(out, out_ops[1:])


def _entrywise_last(items: list, ops: list):
    """A product with ⊙ and matrix products mixed, as texts mean it: the matrix products first,
    a ⊙ W b = a ⊙ (W b) (𝕀(h > 0) ⊙ W^T δ); a flat Product otherwise."""
    if "⊙" not in ops or all(op == "⊙" for op in ops):
        return Product(tuple(items), tuple(ops))
    segments, segment, segment_ops = [], [items[0]], []
    for op, item in zip(ops, items[1:], strict=True):
        if op == "⊙":
            segments.append(segment[0] if len(segment) == 1 else Product(tuple(segment), tuple(segment_ops)))
            segment, segment_ops = [item], []
        else:
            segment.append(item)
            segment_ops.append(op)
    segments.append(segment[0] if len(segment) == 1 else Product(tuple(segment), tuple(segment_ops)))
    return Product(tuple(segments), ("⊙",) * (len(segments) - 1))



def _call(func: Func, following, joined):
    r"""A function and what follows it: (node, how many following nodes it took). σ(x) and
    \log p are calls; σ' followed by anything but parentheses (σ'W) is the derivative at an
    unstated point, times what follows."""
    if func.name in ("\\operatorname",):
        raise ParseError("an unknown operator name")
    adjacent = joined == "" and following is not None and not isinstance(following, (tuple, Dots))
    if adjacent and isinstance(following, Group):
        return Call(func, following.args), 1
    if adjacent and func.primes == 0:
        return Call(func, (following,)), 1
    if func.primes:
        return Call(func, ()), 0
    raise ParseError(f"the function {func.name.lstrip(chr(92))} has no argument")


def _bigop(node: tuple, body):
    parts = dict(zip(node[2::2], node[3::2], strict=True)) if len(node) > 2 else {}
    kind = node[1]
    sub, sup = parts.get("sub"), parts.get("sup")
    if sub is not None and sup is None and "=" not in sub and re.fullmatch(r"\s*[A-Za-z]\s*", sub):
        return BigOp(kind, sub.strip(), None, None, body)  # \sum_t: the range is left to the reader
    if sub is None or sup is None or "=" not in sub:
        raise ParseError(f"a \\{kind} needs its limits, \\{kind}_{{i=a}}^{{b}}")
    var, lo = (s.strip() for s in sub.split("=", 1))
    return BigOp(kind, var, lo, sup.strip(), body)
