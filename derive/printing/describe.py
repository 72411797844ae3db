"""A handout's words for the network itself: what it is (the title) and what it is built from
(its activations, output, loss and constants, read from its nodes — not from option strings, so
a file model gets the same sentence as a preset).
"""

from __future__ import annotations

from sympy import preorder_traversal as _walk
from sympy.matrices.expressions import MatMul, MatrixSymbol

from derive.nodes import LOSSES, Elementwise, Phi, T, TimeSum
from derive.primitives import Activation
from derive.printing.words import PHRASES, phrase


def kind(net, lang: str) -> str:
    """'a recurrent network', 'an LSTM', or the user's own summary."""
    from derive.latexdoc import plain_text

    if net.summary:
        return plain_text(net.summary)
    if f"kind_{net.kind}" in PHRASES[lang]:  # a built-in family's (rnn, lstm, gru, mlp, conv)
        return phrase(lang, "kind_" + net.kind)
    return phrase(lang, "kind_recurrent" if net.sequential else "kind_feedforward")


def function_head(printer, node) -> str:
    """The LaTeX name of a function node: \\sigma, \\tanh, f (its own, not cut from a printed
    call, whose argument may hold parentheses of its own: W^{(1)})."""
    if isinstance(node, Phi):
        return printer.name(node.fname)
    if isinstance(node, Activation):
        return node.latex
    return printer.doprint(node.func(MatrixSymbol("x", *node.args[0].shape))).split(r"\left(")[0].split("(")[0]


def _loss(net):
    """(the loss node, what its prediction is: the expression of the assignment defining it, or
    the argument itself, softmax(o) written inside the loss) of the network, or (None, None)."""
    for a in net.assignments:
        for node in _walk(a.expr):
            if isinstance(node, LOSSES):
                prediction = node.args[0]
                defined = next((b.expr for b in net.assignments if b.target == prediction), prediction)
                return node, defined
    return None, None


def _placement(net, last_step: bool) -> str:
    """Where the loss is taken: at the last step, every step summed or averaged; '' without time
    or where it is neither (a loss on a sum over time, as attention pooling takes)."""
    if not net.sequential:
        return ""
    if last_step:
        return "last"
    objective = next(a.expr for a in net.assignments if a.target == net.objective)
    if not any(isinstance(n, TimeSum) for n in _walk(objective)):
        return ""
    scaled = any(isinstance(n, MatMul) and any(not getattr(f, "is_Matrix", False) and T in f.free_symbols
                                               for f in n.args) for n in _walk(objective))
    return "mean" if scaled else "sum"


def features(net, printer, lang: str, last_step: bool = False) -> str:
    """The clause after the network's kind: 'with σ as activation, a softmax output and the
    cross-entropy loss summed over the steps'."""
    from derive.primitives import Conv2d, Softmax

    loss, prediction = _loss(net)
    output = prediction if isinstance(prediction, (Elementwise, Softmax)) else None
    generic_output = isinstance(output, Phi)  # f(y₃) read by ℓ: an activation like the others, not an output kind
    heads, generic = [], True
    for a in net.assignments:
        for node in _walk(a.expr):
            if isinstance(node, Elementwise) and (node is not output or generic_output) \
                    and getattr(node, "activation", True):
                generic = generic and isinstance(node, Phi)
                if function_head(printer, node) not in heads:
                    heads.append(function_head(printer, node))
    parts = []
    for a in net.assignments:
        for node in _walk(a.expr):
            if isinstance(node, Conv2d):
                g = node.geometry
                parts.append(phrase(lang, "feature_conv" if g.padding else "feature_conv_nopad",
                                    stride=g.stride, padding=g.padding))
    if heads:
        key = "feature_activation" if len(heads) == 1 else "feature_activations"
        names = _join(lang, [f"${h}$" for h in heads], phrase(lang, "and"), phrase(lang, "list_comma"))
        parts.append(phrase(lang, key + ("_generic" if generic else ""), names=names))
    if loss is not None:
        if output is None:
            parts.append(phrase(lang, "feature_linear_output"))
        elif not generic_output:
            parts.append(phrase(lang, "feature_output", name=f"${function_head(printer, output)}$"))
        label = type(loss).label_zh if lang != "en" and type(loss).label_zh else type(loss).label[1]
        noun = "loss" if lang == "en" else "损失"
        label = label if noun in label else (f"{label} {noun}" if lang == "en" else label + noun)
        placement = _placement(net, last_step)
        parts.append(phrase(lang, "feature_loss" + (f"_{placement}" if placement else ""), loss=label))
    for symbol, value in net.hypers.items():
        parts.append(phrase(lang, "feature_constant", name=printer.doprint(symbol), value=format(float(value), "g")))
    return _join(lang, parts, phrase(lang, "and_parts"), phrase(lang, "list_comma"))


def _join(lang: str, items: list[str], last: str, comma: str = ", ") -> str:
    """A, B and C (the last separator ``last``, the others ``comma``)."""
    if len(items) <= 1:
        return "".join(items)
    return comma.join(items[:-1]) + last + items[-1]
