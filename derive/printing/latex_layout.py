r"""Breaking long displayed equations so that nothing runs off the page.

LaTeX does not break display math; an equation that is too wide is broken here, between the
terms of a sum and, for a term that is still too wide, between the factors of a product, into
the lines of an ``align*`` block (``lhs &= first \\ &\\quad + next``). Widths are estimates in
em of the typeset formula, on the safe side.
"""

from __future__ import annotations

import re

from sympy.matrices.expressions import HadamardProduct, MatAdd, MatMul, Transpose

from derive.algebra import neg, split_coefficient
from derive.nodes import Diag, TimeSum

# The widest a display line may be (em at 11pt; the text block is about 44em wide).
LINE_EM = 32.0
ORPHAN_EM = 6.0  # a last line narrower than this is an orphaned factor

_INVISIBLE = re.compile(r"\\(left|right|mathbf|mathrm|operatorname|text|boldsymbol|bm|hat|tilde|mathcal|mathbb"
                        r"|mathsf|tfrac|quad|qquad|,|;|!)(?![a-zA-Z])")
_COMMAND = re.compile(r"\\[a-zA-Z]+")
_SCRIPT = re.compile(r"[_^]\{([^{}]*)\}|[_^](\\?[a-zA-Z0-9])")


def width(tex: str) -> float:
    """The typeset width of a LaTeX formula, roughly, in em."""
    text = _INVISIBLE.sub("", tex)
    total = 0.0
    # sub- and superscripts are set small
    for m in _SCRIPT.finditer(text):
        total += 0.35 * len(_COMMAND.sub("x", m.group(1) or m.group(2) or ""))
    text = _SCRIPT.sub("", text)
    # a fraction is as wide as its wider part: count it at about half its characters
    fracs = text.count(r"\frac")
    text = _COMMAND.sub("x", text)
    text = text.replace("{", "").replace("}", "").replace(" ", "")
    total += 0.55 * len(text) - 0.25 * fracs * 6
    return max(total, 0.0)


def _too_wide(tex: str) -> bool:
    return width(tex) > LINE_EM - 4.0


def _wrap(pieces: list[str], suffix: str = "") -> list[str]:
    r"""Parentheses around pieces that may sit on different lines: \bigl( and \bigr), which,
    unlike \left and \right, need not close on the line they open."""
    pieces = list(pieces)
    size = _delimiter_size(pieces)
    pieces[0] = rf"\{size}l(" + pieces[0]
    pieces[-1] = pieces[-1] + rf"\{size}r)" + suffix
    return pieces


def _delimiter_size(pieces: list[str]) -> str:
    """big, Big or bigg: as tall as the tallest thing the parentheses hold (a block matrix or a
    big operator needs bigg, a fraction Big), so that the two halves match what they enclose."""
    text = " ".join(pieces)
    if any(tall in text for tall in (r"\begin{bmatrix}", r"\prod", r"\sum")):
        return "bigg"
    return "Big" if r"\frac" in text else "big"


def _factor_pieces(expr, printer, hadamard=False, force=False) -> list[str]:
    """One factor of a product, broken inside when it is too wide on its own (or ``force``d)."""
    text = printer._factor(expr, hadamard=hadamard)
    if not _too_wide(text) and not force:
        return [text]
    inner = _pieces(expr, printer, True)
    needs = text.startswith(r"\left(") and text.endswith(r"\right)")
    return _wrap(inner) if needs else inner


def _pieces(expr, printer, first: bool) -> list[str]:
    """An expression as pieces that may go on separate lines, broken as deep as needed."""
    if isinstance(expr, MatAdd):
        out = []
        for j, term in enumerate(expr.args):
            coeff, _ = split_coefficient(term)
            negative = coeff.could_extract_minus_sign()
            sign = "- " if negative else ("+ " if (j or not first) else "")
            body = neg(term) if negative else term
            sub = _pieces(body, printer, True) if _too_wide(printer.doprint(body)) else [printer.doprint(body)]
            if isinstance(body, MatAdd):
                sub = _wrap(sub)
            out.append(sign + sub[0])
            out += sub[1:]
        return out
    if isinstance(expr, MatMul):
        coeff, mats = split_coefficient(expr)
        head = "" if coeff == 1 else ("-" if coeff == -1 else printer._scalar(coeff) + " ")
        out = []
        for m in mats:
            out += _factor_pieces(m, printer)
        short = printer._factor(mats[-1])
        if len(mats) > 1 and width(short) < ORPHAN_EM:
            # a short last factor (h₀ᵀ, [h₀; x₁]ᵀ) goes with the end of the one before, broken
            # for it if need be, so that it never stands alone on a line
            before = _factor_pieces(mats[-2], printer, force=True)
            if len(before) > 1:
                out = [p for m in mats[:-2] for p in _factor_pieces(m, printer)] + before[:-1] + \
                      [f"{before[-1]} {short}"]
        out[0] = head + out[0]
        return out
    if isinstance(expr, HadamardProduct):
        out = []
        for j, f in enumerate(expr.args):
            sub = _factor_pieces(f, printer, hadamard=True)
            if j:
                sub[0] = r"\odot " + sub[0]
            out += sub
        return out
    if isinstance(expr, Transpose):
        return _wrap(_pieces(expr.arg, printer, True), r"^{\top}")
    if isinstance(expr, Diag):  # diag(a ⊙ b ⊙ …) of a long product: broken between its factors
        inner = _wrap(_pieces(expr.vec, printer, True))
        return [r"\operatorname{diag}" + inner[0]] + inner[1:]
    if isinstance(expr, TimeSum):
        index, lo, hi = expr.limits
        prefix = rf"\sum_{{{printer._print(index)}={printer.index(lo)}}}^{{{printer.index(hi)}}}"
        body = _pieces(expr.body, printer, True)
        if isinstance(expr.body, MatAdd):
            return [prefix + r"\Big["] + body + [r"\Big]"]
        return [prefix + " " + body[0]] + body[1:]
    return [printer.doprint(expr)]


def lines(lhs: str, rhs, printer, suffix: str = "", relation: str = "=") -> list[str]:
    """The align* lines of ``lhs = rhs`` (rhs an expression or LaTeX), broken to fit."""
    if isinstance(rhs, str):
        return [f"{lhs} &{relation} {rhs}{suffix}"]
    whole = printer.doprint(rhs)
    if width(lhs) + width(whole) + width(suffix) <= LINE_EM:
        return [f"{lhs} &{relation} {whole}{suffix}"]
    pieces = _pieces(rhs, printer, True)
    rows, current = [], []
    reserve = width(suffix)  # any line may turn out to be the last, which carries the suffix
    budget = LINE_EM - width(lhs) - reserve
    for piece in pieces:
        if current and width(" ".join(current + [piece])) > budget:
            rows.append(current)
            current = [piece]
            budget = LINE_EM - 2.0 - reserve
        else:
            current.append(piece)
    rows.append(current)
    # a short piece alone on the last line (a lone h₀ᵀ or [h₀; x₁]ᵀ) takes the piece before it along
    if len(rows) > 1 and len(rows[-1]) == 1 and len(rows[-2]) > 1 and width(rows[-1][0]) < ORPHAN_EM \
            and width(" ".join(rows[-2][-1:] + rows[-1])) <= LINE_EM - 2.0 - reserve:
        rows[-1].insert(0, rows[-2].pop())
    out = [" ".join(row) for row in rows]
    out[-1] += suffix
    first = f"{lhs} &{relation} {out[0]}"
    return [first] + [rf"&\quad {piece}" for piece in out[1:]]
