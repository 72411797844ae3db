"""Finding the claims in an answer file.

A claim is an equation whose left side is a derivative (\\frac{\\partial X}{\\partial Y}),
in display math ($$...$$, \\[...\\], equation/align/aligned environments) or inline math ($...$:
OCR'd homework often has its equations inline). A chain A = B = C makes one claim per right
side; rows of an aligned block that start with &= continue the left side above; equations
side by side on one line (separated by \\quad) are read one by one.

OCR damage is repaired where it is unambiguous (a lost backslash before \\begin, \\frac,
\\right; a lost ``\\`` at a row end).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from derive import frontmatter


class AnswerError(ValueError):
    """An answer file that cannot be used at all (one line for the user)."""


@dataclass(frozen=True)
class Claim:
    line: int  # 1-based line of the file where the equation is
    lhs: str  # LaTeX of the derivative claimed
    rhs: str  # LaTeX of what it is claimed to equal
    latex: str  # the equation as written (lhs = rhs)
    condition: str | None = None  # a stated range, "t < T", written after the equation


# A condition written after an equation: (t < T), \quad t = T, (\text{for } 1 \le t < T)
CONDITION = re.compile(r"(?:\\q?quad|,)?\s*\(?\s*(?:\\text\{[^{}]*\}\s*)?"
                       r"(?P<cond>[a-zA-Z]\s*(?:<|>|=|\\leq?|\\geq?|\\neq)\s*[A-Za-z0-9+\-\s]+?)\s*\)?\s*$")


def split_condition(rhs: str) -> tuple[str, str | None]:
    """(rhs, condition) for an rhs that ends with a stated range such as (t < T)."""
    match = CONDITION.search(rhs)
    if match is None or match.start() == 0:
        return rhs, None
    before = rhs[:match.start()].rstrip()
    if not (rhs[match.start():].lstrip().startswith(("(", "\\quad", "\\qquad", ","))):
        return rhs, None
    return before, " ".join(match.group("cond").split())


@dataclass(frozen=True)
class Definition:
    """An equation of the file that is not a claim (h_t = ..., x_t ∈ R^n): a forward equation,
    perhaps, of the network the claims below it are about."""

    line: int
    text: str


@dataclass
class Answer:
    model: str | None = None
    layout: str = "auto"
    notation: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)  # set: the model's options, as --set gives them
    forward: dict | None = None  # forward: and the model-file keys beside it (sizes:, shapes:, ...)
    forward_line: int = 1  # the file line where the forward: equations start
    claims: list[Claim] = field(default_factory=list)
    items: list = field(default_factory=list)  # claims and definitions, in file order
    weights: dict = field(default_factory=dict)  # weights: the matrices a problem gives (check/matrices.py)
    decomposition: dict = field(default_factory=dict)  # eigendecomposition: {M: [Q, Λ]}, M = QΛQ⁻¹
    body: str = ""  # the text after the front matter, repaired
    body_line: int = 0  # the file lines before it


# OCR repairs: (pattern, replacement), applied where the damage cannot mean anything else.
REPAIRS = [
    (re.compile(r"(?<![\\a-zA-Z])egin\{"), r"\\begin{"),
    (re.compile(r"(?<![\\a-zA-Z])rac\{"), r"\\frac{"),
    (re.compile(r"(?<![\\a-zA-Z])ight([)\]|.])"), r"\\right\1"),
    (re.compile(r"(?<![\\a-zA-Z])eft([(\[|.])"), r"\\left\1"),
    (re.compile(r"\\ (?=&)"), r"\\\\ "),  # "\ &" at a row start: a "\\" that lost a backslash
]

DISPLAY = re.compile(
    r"\$\$(?P<a>.+?)\$\$"
    r"|\\\[(?P<b>.+?)\\\]"
    r"|\\begin\{(?P<env>equation\*?|align\*?|aligned|split|gather\*?|multline\*?)\}(?P<c>.+?)\\end\{(?P=env)\}"
    r"|(?<![\\$])\$(?P<d>[^$]+?)\$",
    re.S,
)
DERIVATIVE_LHS = re.compile(r"^\s*\\[dt]?frac\s*\{\s*\\partial|^\s*\\partial(\s|_)|^\s*\\nabla\s*_")
MAX_FILE_CHARS = 2_000_000


def repair(text: str) -> str:
    for pattern, replacement in REPAIRS:
        text = pattern.sub(replacement, text)
    return text


def front_matter(text: str) -> tuple[dict, str, int]:
    """(settings, body, number of lines the front matter took)."""
    try:
        return frontmatter.split(text)
    except frontmatter.FrontMatterError as err:
        raise AnswerError(f"the front matter: {err}") from None


def read_answer(text: str) -> Answer:
    if len(text) > MAX_FILE_CHARS:
        raise AnswerError(f"the file has {len(text)} characters; derive checks files up to {MAX_FILE_CHARS}")
    settings, body, offset = front_matter(text)
    answer = Answer()
    if "model" in settings:
        answer.model = str(settings["model"])
    if "layout" in settings:
        layout = str(settings["layout"])
        if layout not in ("auto", "denominator", "numerator"):
            raise AnswerError(f"layout must be auto, denominator or numerator, not {layout!r}")
        answer.layout = layout
    notation = settings.get("notation") or {}
    if not isinstance(notation, dict):
        raise AnswerError("notation must map the answer's spelling to the model's symbol")
    answer.notation = {str(k): str(v) for k, v in notation.items()}
    options = settings.get("set") or {}
    if not isinstance(options, dict) or any(isinstance(v, (dict, list)) for v in options.values()):
        raise AnswerError("set must map the model's options to values, as --set gives them (set: {activation: tanh})")
    answer.settings = {str(k): str(v) for k, v in options.items()}
    if "forward" in settings:
        if "model" in settings:
            raise AnswerError("the front matter has both model: and forward:; give one")
        from derive.equations.modelfile import KEYS, forward_line

        answer.forward = {k: settings[k] for k in KEYS if k in settings}
        answer.forward_line = forward_line(text, settings["forward"])
    if "weights" in settings:
        from derive.check.matrices import read_weights

        try:
            answer.weights = read_weights(settings["weights"])
        except ValueError as err:
            raise AnswerError(str(err)) from None
    if "eigendecomposition" in settings:
        from derive.check.matrices import read_decomposition

        try:
            answer.decomposition = read_decomposition(settings["eigendecomposition"])
        except ValueError as err:
            raise AnswerError(str(err)) from None
        given = sorted(set(answer.decomposition) & set(answer.weights))
        if given:
            raise AnswerError(f"eigendecomposition: {given[0]} is given under weights:; it names a general "
                              "diagonalisable matrix (M), checked on random Q and Λ")
    answer.body, answer.body_line = repair(body), offset
    answer.items = items_in(answer.body, offset)
    answer.claims = [x for x in answer.items if isinstance(x, Claim)]
    return answer


def claims_in(text: str, line_offset: int = 0) -> list[Claim]:
    return [x for x in items_in(text, line_offset) if isinstance(x, Claim)]


def items_in(text: str, line_offset: int = 0) -> list:
    """The claims and the other equations (Definition) of a text, in order."""
    items, carried = [], None
    newlines = [i for i, ch in enumerate(text) if ch == "\n"]  # line numbers by bisection: linear, not quadratic
    for match in DISPLAY.finditer(text):
        body = next(g for g in (match.group("a"), match.group("b"), match.group("c"), match.group("d")) if g)
        start_line = line_offset + bisect.bisect_left(newlines, match.start()) + 1
        # a display that starts with "=" continues the derivative of the display before it
        found, carried = claims_in_math(body, start_line, carried if body.lstrip().startswith("=") else None,
                                        definitions=True)
        items += found
    return items


# What may precede the derivative on a left side: an enumeration label ("(3)", "b)") or a
# remark in \text{...} ("假设:").
LABEL = re.compile(r"^\s*((\(\w{1,3}\)|\w{1,2}\))\s*|\\text\{[^{}]*\}\s*)+")


def claims_in_math(body: str, start_line: int, carried: str | None = None,
                   definitions: bool = False) -> tuple[list, str | None]:
    """Claims in one piece of math (rows of an aligned block, equations side by side, chains),
    and the derivative the last row was about, which a following "= ..." display continues; with
    ``definitions``, the other equations too (Definition), in order."""
    body = re.sub(r"\\(begin|end)\{(aligned|split|gathered|array|align|equation|gather|multline|eqnarray|alignat)"
                  r"\*?\}(\{[^}]*\})?", "", body)
    body = re.sub(r"\\(tag\*?|label)\s*\{[^{}]*\}|\\(nonumber|notag)(?![a-zA-Z])", " ", body)  # numbering only
    claims, current_lhs = [], carried
    position = 0
    for row in split_top(body, r"\\\\"):
        row_line = start_line + body.count("\n", 0, position)
        position += len(row) + 2
        for piece in _side_by_side(row):
            parts = [p.replace("&", " ").strip() for p in split_top(piece, "=")]
            if len(parts) < 2:
                if definitions and "\\in" in parts[0] and "mathbb" in parts[0]:
                    claims.append(Definition(row_line, parts[0].strip()))  # x_t \in \mathbb{R}^n
                continuation = re.sub(r"^(\\q?quad|\s)*", "", parts[0])
                if claims and isinstance(claims[-1], Claim) and current_lhs is not None and \
                        continuation[:1] in "+-" and continuation:
                    last = claims[-1]  # "&\quad + ..." goes on with the right side above
                    rhs = f"{last.rhs} {continuation}"
                    claims[-1] = Claim(last.line, last.lhs, rhs, f"{last.lhs} = {rhs}", last.condition)
                continue
            lhs = LABEL.sub("", parts[0])  # an enumeration label such as "(3)" or "b)"
            if not lhs:  # "&= ..." continues the left side above
                if current_lhs is None:
                    continue
                lhs = current_lhs
            elif not DERIVATIVE_LHS.search(lhs):
                current_lhs = None
                if definitions:
                    claims.append(Definition(row_line, LABEL.sub("", piece.replace("&", " ")).strip()))
                continue
            current_lhs = lhs
            for rhs in parts[1:]:
                rhs = rhs.strip().rstrip(",.;，。；").strip()
                rhs = SHAPE_AFTER.sub("", rhs).rstrip(",.;，。； ")  # "… \in \mathbb{R}^{q}": the shape, said
                rhs, condition = split_condition(rhs)
                if rhs:
                    claims.append(Claim(row_line, lhs, rhs, f"{lhs} = {rhs}", condition))
    return claims, current_lhs


# A shape stated after a right side: \in \mathbb{R}^{q}, \in \mathbb{R}^{n \times d}
SHAPE_AFTER = re.compile(r"\\in\s*\\mathbb\s*\{?\s*R\s*\}?\s*(\^\s*(\{[^{}]*\}|[A-Za-z0-9]))?\s*$")

# What separates two equations written on one line: \quad, or "and" in text (\; \textrm{and} \;)
SIDE_BY_SIDE = (r"\\q?quad(?![a-zA-Z])|(?:\\[,;:]\s*)*\\(?:text|textrm|mathrm)\s*\{\s*(?:and|和|且)\s*\}"
                r"(?:\s*\\[,;:]|\s*\\q?quad(?![a-zA-Z]))*")


def _side_by_side(row: str) -> list[str]:
    """A row with several equations separated by \\quad: each equation on its own."""
    pieces = split_top(row, SIDE_BY_SIDE)
    if len(pieces) == 1:
        return pieces
    merged = []
    for piece in pieces:
        if "=" in piece or not merged:
            merged.append(piece)
        else:  # a trailing remark such as (t < T): keep it with its equation
            merged[-1] += r" \quad " + piece
    return merged


def split_top(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` (a regex) where it is outside every brace and bracket."""
    pieces, depth, last = [], 0, 0
    pattern = re.compile(separator)
    j = 0
    while j < len(text):
        ch = text[j]
        if text.startswith(("\\begin{", "\\end{"), j):  # a matrix's rows are not the equation's
            depth = depth + 1 if text.startswith("\\begin{", j) else max(0, depth - 1)
            close = text.find("}", j)
            j = len(text) if close < 0 else close + 1
            continue
        if ch == "\\" and j + 1 < len(text) and text[j + 1] in "{}":
            j += 2
            continue
        if ch in "{(":
            depth += 1
        elif ch in "})":
            depth = max(0, depth - 1)
        elif depth == 0:
            m = pattern.match(text, j)
            if m and m.end() > j:
                if separator == "=" and ((j > 0 and text[j - 1] in "<>!") or text[j + 1:j + 2] == "="):
                    j += 1
                    continue
                pieces.append(text[last:j])
                last = j = m.end()
                continue
        j += 1
    pieces.append(text[last:])
    return pieces
