"""A convolution written out entry by entry, as seed 000 does for its 4 × 4 input and 3 × 3
kernel: dL/dw_{1j} = Σ_k dL/dy_{1k} · dy_{1k}/dw_{1j}, and dL/db_1 = Σ_k dL/dy_{1k}.

The entries come from the derivation's own nodes: the gradient term conv(dL/dy_1, z_0) (and
the bias term 1ᵀ dL/dy_1) evaluated on matrices of named scalars with the node's explicit,
entry-by-entry meaning. Nothing is differentiated here; this module only names entries.
"""

from __future__ import annotations

from dataclasses import dataclass

from sympy import Add, ImmutableMatrix, Mul, Symbol

from derive.derivation import Derivation
from derive.nodes import Broadcast, Conv2d, ConvKernelGrad, PositionSum
from derive.printing.latex import LatexPrinter, with_index

# Entries beyond these counts are elided with \cdots (a 28 × 28 image has 676 positions).
SHOWN_KERNEL_ENTRIES = 9
SHOWN_TERMS = 9
# Written out on named entries, a convolution costs (outputs × kernel) SymPy terms: beyond this
# many outputs a document gives the general form alone (a 300 × 300 image took 84 s for lines
# that show five terms of each sum).
MAX_EXPANDED_OUTPUTS = 400


class Entry(Symbol):
    """A named scalar entry, printed as its LaTeX spelling (which is its name)."""


def _entries(rows: int, spell) -> ImmutableMatrix:
    return ImmutableMatrix(rows, 1, [Entry(spell(r)) for r in range(rows)])


def _tex(term) -> str:
    """One term of an expanded sum: gradient factors first, as the seed writes them."""
    factors = sorted(Mul.make_args(term), key=lambda f: 0 if r"\partial" in str(f) else 1)
    return " ".join(str(f) for f in factors)


def _sum(expr, order: dict) -> str:
    """An expanded sum, its terms in the order of the output entries they come from."""
    args = sorted(Add.make_args(expr), key=lambda t: min(order.get(f, len(order)) for f in Mul.make_args(t)))
    terms = [_tex(t) for t in args]
    if len(terms) > SHOWN_TERMS:
        terms = terms[:3] + [r"\cdots"] + terms[-2:]
    return " + ".join(terms)


@dataclass
class ConvExpansion:
    """The entry-by-entry lines of one convolution in a derivation."""

    image_note: str  # e.g. z_0 ∈ R^{4×4}
    output_note: str  # y_{1,1..4}
    lines: list[str]
    bias_lines: list[str]
    elided: int  # kernel entries not shown
    too_large: int = 0  # the outputs, where there are too many to write out (0: written out)


def conv_expansions(d: Derivation, printer: LatexPrinter) -> list[ConvExpansion]:
    return [_expand(d, printer, a, conv) for a in d.network.assignments
            for conv in _walk(a.expr) if isinstance(conv, Conv2d)]


def _expand(d, printer, assignment, conv) -> ConvExpansion:
    geo = conv.geometry
    y, z, w = printer.doprint(assignment.target), printer.doprint(conv.image), printer.doprint(conv.kernel)
    objective = d.network.notation.latex(d.network.objective.name)

    def partial(of: str) -> str:
        return rf"\frac{{\partial {objective}}}{{\partial {of}}}"

    side = f"{geo.size} \\times {geo.size}"
    image_note = (rf"${z} \in \mathbb{{R}}^{{{side}}}$" if geo.c_in == 1
                  else rf"${z} \in \mathbb{{R}}^{{{geo.c_in} \times {side}}}$")
    output_note = rf"${with_index(y, '1')}, \dots, {with_index(y, str(conv.shape[0]))}$"
    term = next(c.expr for c in d.adjoints[conv.kernel.name].terms if isinstance(c.expr, ConvKernelGrad))
    if int(conv.shape[0]) > MAX_EXPANDED_OUTPUTS:
        return ConvExpansion(image_note, output_note, [rf"{partial(w)} &= {printer.doprint(term)}"], [], 0,
                             too_large=int(conv.shape[0]))
    grad = _entries(conv.shape[0], lambda r: partial(with_index(y, str(r + 1))))
    image = _entries(conv.image.shape[0], lambda r: with_index(z, _pixel(geo, r)))
    # the derivation's own term conv(dL/dy, z), on named entries
    entries = term.func(grad, image, term.args[-1]).doit()
    shown = min(len(entries), SHOWN_KERNEL_ENTRIES)
    order = {entry: j for j, entry in enumerate(grad)}
    lines = [rf"{partial(w)} &= {printer.doprint(term)}"]
    lines += [rf"{partial(with_index(w, str(j + 1)))} &= {_sum(entries[j], order)}" for j in range(shown)]
    bias_lines = []
    for bias in (x.vec for x in _walk(assignment.expr) if isinstance(x, Broadcast)):
        b = printer.doprint(bias)
        for c in d.adjoints[bias.name].terms:
            if isinstance(c.expr, PositionSum):  # the derivation's 1ᵀ dL/dy, on named entries
                total = c.expr.func(grad, c.expr.positions).doit()
                for ch in range(total.shape[0]):
                    entry = b if total.shape[0] == 1 else with_index(b, str(ch + 1))
                    bias_lines.append(rf"{partial(entry)} &= {_sum(total[ch], order)}")
                bias_lines.append(rf"{partial(b)} &= {printer.doprint(c.expr)}")
    return ConvExpansion(image_note, output_note, lines, bias_lines, len(entries) - shown)


def _pixel(geo, r) -> str:
    """The subscript of input entry r: pq (row, column from 1), or c,pq with channels."""
    channel, rest = divmod(r, geo.size * geo.size)
    row, col = divmod(rest, geo.size)
    pixel = f"{row + 1}{col + 1}" if geo.size < 10 else f"{row + 1}|{col + 1}"
    return pixel if geo.c_in == 1 else f"{channel + 1}|{pixel}"


def _walk(expr):
    yield expr
    for a in getattr(expr, "args", ()):
        yield from _walk(a)


__all__ = ["ConvExpansion", "conv_expansions"]
