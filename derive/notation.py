"""How a model's symbols are spelled: in LaTeX (written by the renderer, accepted by the checker),
in Unicode for the terminal, and as Python identifiers for generated code.

Internal names are plain identifiers (``W_hh``, ``y_pred``, ``W1``); a network's table maps
them to the spellings of its textbook or homework (``W_{hh}``, ``y_{\\text{pred}}``,
``W^{(1)}``). Names without an entry get a spelling made from the name itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_GREEK = {
    "lambda": ("\\lambda", "λ"),
    "phi": ("\\phi", "φ"),
    "ell": ("\\ell", "ℓ"),
    "sigma": ("\\sigma", "σ"),
    **{name: (f"\\{name}", letter) for name, letter in (
        ("alpha", "α"), ("beta", "β"), ("gamma", "γ"), ("delta", "δ"), ("epsilon", "ε"), ("zeta", "ζ"),
        ("eta", "η"), ("theta", "θ"), ("kappa", "κ"), ("mu", "μ"), ("nu", "ν"), ("xi", "ξ"), ("rho", "ρ"),
        ("tau", "τ"), ("psi", "ψ"), ("omega", "ω"), ("Gamma", "Γ"), ("Delta", "Δ"), ("Theta", "Θ"),
        ("Phi", "Φ"), ("Psi", "Ψ"), ("Omega", "Ω"))},
}


@dataclass(frozen=True)
class Spelling:
    """The LaTeX spellings (the first is written; all are accepted) and the Unicode one."""

    latex: tuple[str, ...]
    unicode: str


_SUPERSCRIPT = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")


def _default(name: str) -> Spelling:
    layer = re.fullmatch(r"([A-Za-z]+)(\d+)", name)
    if layer:  # W1, h2: a layer's number, W^{(1)} as d2l writes it (W_1 and W1 accepted)
        base, number = layer.groups()
        return Spelling((f"{base}^{{({number})}}", f"{base}_{{{number}}}", f"{base}_{number}", name),
                        f"{base}{f'({number})'.translate(_SUPERSCRIPT)}")
    if name in _GREEK:
        tex, uni = _GREEK[name]
        return Spelling((tex,), uni)
    base, _, sub = name.partition("_")
    if base in _GREEK and sub:  # alpha_sum: α_sum
        tex, uni = _GREEK[base]
        return Spelling((f"{tex}_{{{sub}}}", f"{tex}_{sub}"), f"{uni}_{sub}")
    if not sub:
        return Spelling((name,), name)
    return Spelling((f"{base}_{{{sub}}}", f"{base}_{sub}"), f"{base}_{sub}")


@dataclass
class Notation:
    """A model's spelling table: internal name -> Spelling."""

    table: dict[str, Spelling] = field(default_factory=dict)
    time: str = "sub"  # how a time index is written: h_{t} ("sub"), h^{(t)} ("paren"), h^{<t>} ("angle")

    @classmethod
    def of(cls, **entries) -> Notation:
        """``Notation.of(W=(r'\\mathbf{W}', 'W'), yhat=((r'\\hat{y}',), 'ŷ'))``.

        An entry is (latex, unicode) with latex a string or a tuple of accepted spellings.
        """
        table = {}
        for name, (tex, uni) in entries.items():
            table[name] = Spelling(tex if isinstance(tex, tuple) else (tex,), uni)
        return cls(table)

    def spelling(self, name: str) -> Spelling:
        if name in self.table:
            return self.table[name]
        if name.startswith("log_") and len(name) > 4:  # a generated log p, spelled from p
            inner = self.spelling(name[4:])
            return Spelling(tuple(rf"\log {tex}" for tex in inner.latex), f"log {inner.unicode}")
        return _default(name)

    def latex(self, name: str) -> str:
        return self.spelling(name).latex[0]

    def at_time(self, spelling: str, index: str) -> str:
        """A LaTeX spelling with a time index, in the network's way of writing time."""
        if self.time == "paren":
            return f"{spelling}^{{({index})}}"
        if self.time == "angle":
            return f"{spelling}^{{<{index}>}}"
        if "_{" in spelling and spelling.endswith("}") and spelling.count("_{") == 1 and "^" not in spelling:
            return f"{spelling[:-1]},{index}}}"  # y_{\text{pred}} at t: y_{\text{pred},t}
        return f"{spelling}_{{{index}}}"

    def unicode(self, name: str) -> str:
        return self.spelling(name).unicode

    def accepted(self, name: str) -> tuple[str, ...]:
        return self.spelling(name).latex
