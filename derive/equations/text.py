r"""One forward equation's text -> (left tree, right tree), read strictly.

The checker's grammar (derive/check/grammar.lark) reads both sides. A declaration must not be
misread, so before parsing, the few constructs the claims dialect has no tree for are spelled
as calls it knows (‖x‖² -> \normsq(x), max(0, x) -> ReLU(x), [a; b], colah's [a, b] and a
one-column bmatrix -> \stack(a, b)), and anything the grammar would read as something else is refused with the
reason: a multi-letter word that is no known function (\mathrm{LayerNorm} would read as nine
letters), a command it does not know (\max used otherwise, an unpaired \lVert), a norm that is
not squared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from derive.check import parser as P
from derive.primitives import APPLIED


class EquationError(ValueError):
    """An equation that cannot be read as a declaration; the message says where and why."""


GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
         "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi",
         "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega", "ell"}
ACCENTS = {"hat", "tilde", "bar", "overline", "vec", "widehat", "widetilde"}
STRUCTURE = {"frac", "dfrac", "tfrac", "partial", "sum", "prod", "cdot", "times", "odot", "circ", "otimes",
             "tanh", "exp", "log", "ln", "normsq", "stack", "indicator", "ones"}
FUNCTION_WORDS = {P.normalize(s).strip().lstrip("\\") for op in APPLIED for s in op.spellings} | {"diag"}


# What a problem writes after an equation that is not part of it: the steps it holds for
# (", t = 1, 2, \dots, l") and the space of its left side (\in \mathbb{R}^{n}).
RANGE = re.compile(r"(?:,|\\q?quad|\s|\\[,;:! ])*\(?\s*(?:\\text\s*\{\s*for\s*\}\s*)?t\s*=\s*1\s*"
                   r"(?:,\s*2\s*)?(?:,\s*|\.\.\s*)?(?:\\[lc]?dots\s*|\.\.\.\s*|…\s*)?,?\s*([A-Za-z])\s*\)?\s*$")
SPACE = re.compile(r"\\in\s*\\mathbb\s*\{\s*R\s*\}\s*(?:\^\s*(\{[^{}]*\}|\w))?\s*,?\s*$")


@dataclass(frozen=True)
class Annotated:
    """One line of a problem: the equation (None for a declaration such as x_t ∈ R^d), the space
    its left side is said to be in, and the last step of the range it is said to hold for."""

    equation: str | None
    subject: str | None  # the symbol the space is about (the left side, or the declared symbol)
    space: tuple[str, ...] | None  # ("n",), ("n", "d"), () for \mathbb{R}
    last_step: str | None  # "l" in t = 1, ..., l


def annotations(text: str) -> Annotated:
    text = text.strip()
    last_step = None
    match = RANGE.search(text)
    if match and match.start() > 0:
        last_step, text = match.group(1), text[:match.start()].rstrip()
    space = None
    match = SPACE.search(text)
    if match:
        raw = (match.group(1) or "").strip("{} ")
        space = tuple(p.strip() for p in re.split(r"\\times|×", raw) if p.strip()) if raw else ()
        text = text[:match.start()].rstrip().rstrip(",").rstrip()
    from derive.check.reader import split_top

    if len(split_top(text, "=")) == 1:
        return Annotated(None, text if space is not None else None, space, last_step)
    return Annotated(text, split_top(text, "=")[0].strip() if space is not None else None, space, last_step)


def split_equation(text: str) -> tuple[str, str]:
    """(left, right) of ``left = right``; exactly one top-level = ."""
    from derive.check.reader import split_top

    sides = split_top(text, "=")
    if len(sides) != 2 or not sides[0].strip() or not sides[1].strip():
        raise EquationError("it is not one equation 'left = right'")
    return sides[0].strip(), sides[1].strip()


def left_symbol(text: str) -> str:
    """A left side as the symbol it defines: L(y_pred, y_gt) = ... defines L."""
    text = P._SIZES.sub("", text).strip()
    if text.endswith(")") and "(" in text:
        start = text.index("(")
        if start > 0 and _matching(text, start) == len(text) - 1:
            return text[:start].strip()
    return text


def read_side(text: str):
    """The tree of one side, after the declaration dialect's rewrites and checks."""
    rewritten = rewrite(text)
    check_words(rewritten)
    try:
        return P.parse(rewritten)
    except P.ParseError as err:
        raise EquationError(str(err)) from None


# ---------------------------------------------------------------------------- rewrites


def rewrite(text: str) -> str:
    text = P._SIZES.sub("", text)  # \left( ... \right) and friends: sizes only
    text = re.sub(r"\\(mathrm|operatorname\*?|text)\s*\{\s*(max|min)\s*\}", r"\\\2", text)
    text = _norms(text)
    text = _maxima(text)
    text = _stacks(text)
    return text


_OPEN, _CLOSE = "\x01", "\x02"
_SQUARED_NORM = re.compile(_OPEN + r"([^" + _OPEN + _CLOSE + r"]*)" + _CLOSE
                           + r"\s*(?:_\s*(?:\{\s*[F2]\s*\}|[F2]))?\s*\^\s*(?:\{\s*2\s*\}|2)")


def _norms(text: str) -> str:
    text = text.replace("\\lVert", _OPEN).replace("\\rVert", _CLOSE)
    out, opened = [], False
    for piece in re.split(r"(\\\||\\Vert(?![a-zA-Z])|\|\|)", text):  # ‖ written with one symbol for both sides
        if piece in ("\\|", "\\Vert", "||"):
            out.append(_CLOSE if opened else _OPEN)
            opened = not opened
        else:
            out.append(piece)
    text = "".join(out)
    while True:
        replaced = _SQUARED_NORM.sub(lambda m: f"\\normsq({m.group(1)})", text)
        if replaced == text:
            break
        text = replaced
    if _OPEN in text or _CLOSE in text:
        raise EquationError("a norm ‖·‖ that is not squared (derive reads ‖x‖² and ‖W‖_F²)")
    if "|" in text:
        raise EquationError("an absolute value |·| (derive reads squared norms ‖x‖² only)")
    return text


def _matching(text: str, start: int) -> int:
    """The index of the bracket that closes the one at ``start``."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    opener, closer, depth = text[start], pairs[text[start]], 0
    for j in range(start, len(text)):
        if text[j] == opener and text[j - 1:j] != "\\":
            depth += 1
        elif text[j] == closer and text[j - 1:j] != "\\":
            depth -= 1
            if depth == 0:
                return j
    raise EquationError(f"a {opener} that is never closed")


def _top_level_split(text: str, separator: str) -> list[str]:
    parts, depth, last = [], 0, 0
    for j, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == separator and depth == 0:
            parts.append(text[last:j])
            last = j + 1
    return [*parts, text[last:]]


def _maxima(text: str) -> str:
    while True:
        match = re.search(r"\\(max|min)(?![a-zA-Z])\s*", text)
        if match is None:
            return text
        start = match.end()
        if start >= len(text) or text[start] not in "({":
            raise EquationError(f"\\{match.group(1)} without its arguments in parentheses")
        end = _matching(text, start)
        args = [a.strip() for a in _top_level_split(text[start + 1:end], ",")]
        if match.group(1) != "max" or len(args) != 2 or "0" not in args:
            raise EquationError(f"\\{match.group(1)} is read only as max(0, x), the ReLU")
        other = args[1] if args[0] == "0" else args[0]
        text = f"{text[:match.start()]}\\mathrm{{ReLU}}({other}){text[end + 1:]}"


def _stacks(text: str) -> str:
    def matrix(m):
        rows = [r.strip() for r in re.split(r"\\\\", m.group(2)) if r.strip()]
        if any("&" in r for r in rows):
            raise EquationError("a matrix written entry by entry (derive reads stacked vectors [a; b])")
        return f"\\stack({', '.join(rows)})"

    text = re.sub(r"\\begin\{([pbBvV]?matrix)\}(.*?)\\end\{\1\}", matrix, text, flags=re.S)
    j = 0
    while (j := text.find("[", j)) >= 0:
        end = _matching(text, j)
        parts = _top_level_split(text[j + 1:end], ";")
        if len(parts) == 1:  # colah's [h_{t-1}, x_t]: the same stack, written with a comma
            parts = _top_level_split(text[j + 1:end], ",")
        if len(parts) > 1:
            text = f"{text[:j]}\\stack({', '.join(p.strip() for p in parts)}){text[end + 1:]}"
        j += 1
    return text


# ---------------------------------------------------------------------------- strictness


def check_words(text: str) -> None:
    """Refuse what the grammar would silently read as something else."""
    for m in re.finditer(r"\\(mathrm|operatorname\*?|text|textrm|mathit|mathsf)\s*\{([^{}]*)\}", text):
        if _in_script(text, m.start()):
            continue
        word = m.group(2).strip()
        if len(word) > 1 and word not in FUNCTION_WORDS:
            raise EquationError(f"unknown function or name {word!r}")
    body = _without_scripts(P.normalize(text))
    for m in re.finditer(r"\\([A-Za-z]+)", body):
        command = m.group(1)
        if command not in GREEK | ACCENTS | STRUCTURE | FUNCTION_WORDS:
            raise EquationError(f"\\{command} is not read in a forward equation")
    for m in re.finditer(r"(?<![\\A-Za-z])[A-Za-z]{3,}", _accents_dropped(body)):
        if m.group(0) not in FUNCTION_WORDS:
            raise EquationError(f"unknown function or name {m.group(0)!r} (a symbol is one letter, with "
                                "subscripts: W_{hh}; an unknown function is written f(x))")


def _accents_dropped(text: str) -> str:
    return re.sub(r"\\[A-Za-z]+", " ", text)


def _in_script(text: str, at: int) -> bool:
    """Whether position ``at`` is inside a sub- or superscript's braces."""
    depth_starts = []
    for j in range(at):
        if text[j] == "{" and text[j - 1:j] != "\\":
            depth_starts.append(j)
        elif text[j] == "}" and text[j - 1:j] != "\\" and depth_starts:
            depth_starts.pop()
    return any(s > 0 and text[s - 1] in "_^" or text[max(0, s - 2):s].strip() in ("_", "^") for s in depth_starts)


def _without_scripts(text: str) -> str:
    out, j = [], 0
    while j < len(text):
        if text[j] in "_^" and j + 1 < len(text):
            k = j + 1
            while k < len(text) and text[k] == " ":
                k += 1
            if k < len(text) and text[k] == "{":
                try:
                    j = _matching(text, k) + 1
                except EquationError:
                    j = len(text)
                continue
            if text[k:k + 1] == "\\":
                m = re.match(r"\\[A-Za-z]+", text[k:])
                j = k + (m.end() if m else 1)
                continue
            j = k + 1
            continue
        out.append(text[j])
        j += 1
    return "".join(out)
