r"""A symbol as a problem writes it -> its name, its spellings and its time index.

``h_{t-1}``, ``\mathbf{h}^{(t-1)}`` and ``h^{<t-1>}`` are h at t-1; ``a_{f,t}`` is a_f at t;
``W_{hh}``, ``W^{(1)}`` and ``y_{\text{pred}}`` carry their subscript or layer number as part of
the name. A numeric subscript (h_0, h_T, y_1) is a time only for a symbol that is indexed by t
somewhere, so the reader asks for both readings and the declarer picks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from derive.check import parser as P
from derive.equations.text import EquationError
from derive.notation import _GREEK, Spelling

TIME = re.compile(r"^(t|T|\d+|[tT]\s*[-+]\s*\d+)$")
_ACCENT_NAMES = {"hat": "hat", "widehat": "hat", "tilde": "tilde", "widetilde": "tilde", "bar": "bar",
                 "overline": "bar", "vec": "vec"}
_COMBINING = {"hat": "\u0302", "tilde": "\u0303", "bar": "\u0304", "vec": "\u20d7"}
_SUPERSCRIPT = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")


@dataclass(frozen=True)
class Name:
    """A symbol's name part: base letter (with its accent), layer superscript, name subscript."""

    base: str  # "W", "\\hat{y}", "\\lambda"
    sup: str | None = None  # "(1)"
    sub: str | None = None  # "hh", "f", "pred"
    step: bool = False  # E_t where the problem also writes E = Σ_t E_t: a symbol of its own, spelled as E

    @property
    def key(self) -> str:
        return (self.base + (f"^{{{self.sup}}}" if self.sup else "") + (f"_{{{self.sub}}}" if self.sub else "")
                + ("@t" if self.step else "")).replace(" ", "")

    @property
    def identifier(self) -> str:
        base = self.base
        accent = re.fullmatch(r"\\([A-Za-z]+)\{\s*(\\?[A-Za-z]+)\s*\}", base)
        suffix = ""
        if accent:
            suffix = "_" + _ACCENT_NAMES.get(accent.group(1), accent.group(1))
            base = accent.group(2)
        base = base.lstrip("\\")
        layer = re.sub(r"\W", "", self.sup or "")
        sub = re.sub(r"\W+", "_", (self.sub or "").replace("\\", "")).strip("_")
        name = base + layer + (f"_{sub}" if sub else "") + suffix + ("_t" if self.step else "")
        if not name.isidentifier():
            raise EquationError(f"{self.key} cannot be named")
        return name

    def spelling(self, font: str | None) -> Spelling:
        base = self.base
        if font == "mathbf":
            tex = rf"\mathbf{{{base}}}" if not base.startswith("\\") else rf"\boldsymbol{{{base}}}"
        elif font:
            tex = rf"\{font}{{{base}}}"
        else:
            tex = base
        if self.sup:
            tex += f"^{{{self.sup}}}"
        if self.sub:
            tex += f"_{{{_sub_latex(self.sub)}}}"
        return Spelling((tex, self.key), _unicode(self))


def _sub_latex(sub: str) -> str:
    return rf"\text{{{sub}}}" if re.fullmatch(r"[A-Za-z]{3,}", sub) else sub


def _unicode(name: Name) -> str:
    base = name.base
    accent = re.fullmatch(r"\\([A-Za-z]+)\{\s*(\\?[A-Za-z]+)\s*\}", base)
    mark = ""
    if accent:
        mark = _COMBINING.get(_ACCENT_NAMES.get(accent.group(1), ""), "")
        base = accent.group(2)
    if base.startswith("\\"):
        base = _GREEK.get(base[1:], (None, base[1:]))[1]
    text = base + mark + (name.sup or "").translate(_SUPERSCRIPT)
    return text + (f"_{name.sub}" if name.sub else "")


@dataclass(frozen=True)
class Reading:
    """One reading of a written symbol: the name and the time index (None: not indexed by time)."""

    name: Name
    time: str | None


def readings(node) -> list[Reading]:
    """The readings of a symbol node (Sym, or h^{(t-1)} which the grammar reads as a power), the
    time-indexed one first; [] for a node that is no symbol."""
    if isinstance(node, P.Power) and isinstance(node.base, P.Sym):
        match = P.TIME_SUPERSCRIPT.match(node.exponent.strip())
        if match:
            sym = node.base
            if sym.sub is not None and TIME.match(sym.sub.strip()):
                raise EquationError(f"{sym.base} has two time indices")
            return [Reading(Name(sym.base, None, sym.sub), _time(match.group(1)))]
        return []
    if not isinstance(node, P.Sym):
        return []
    sup, time_in_sup = node.sup, None
    if sup is not None:
        match = P.TIME_SUPERSCRIPT.match(sup)
        if match:
            sup, time_in_sup = None, _time(match.group(1))
    if time_in_sup is not None:
        return [Reading(Name(node.base, sup, node.sub), time_in_sup)]
    sub = node.sub.strip() if node.sub else None
    if sub is None:
        return [Reading(Name(node.base, sup), None)]
    name_part, _, last = sub.rpartition(",")
    if name_part and TIME.match(last.strip()):  # a_{f,t}
        return [Reading(Name(node.base, sup, name_part.strip()), _time(last)), Reading(Name(node.base, sup, sub), None)]
    if TIME.match(sub):
        return [Reading(Name(node.base, sup), _time(sub)), Reading(Name(node.base, sup, sub), None)]
    return [Reading(Name(node.base, sup, sub), None)]


def _time(raw: str) -> str:
    return re.sub(r"\s+", "", raw)


def time_offset(time: str) -> tuple[str, int]:
    """("t", -1) for t-1, ("T", 0) for T, ("", 3) for 3."""
    match = re.fullmatch(r"([tT]?)([-+]\d+)?", time) if time[:1] in "tT" else None
    if match:
        return match.group(1), int(match.group(2) or 0)
    return "", int(time)


def fonts(text: str) -> dict[str, str]:
    r"""The font each base letter is written in, where it is not the default: \mathbf{W},
    \boldsymbol{\alpha}, \bm{h} (bold), \mathcal{L}, \mathscr{L}."""
    found = {}
    for m in re.finditer(r"\\(mathbf|boldsymbol|bm|mathcal|mathscr)\s*\{\s*(\\?[A-Za-z]+)", text):
        font = {"boldsymbol": "mathbf", "bm": "mathbf"}.get(m.group(1), m.group(1))
        found.setdefault(m.group(2), font)
    return found
