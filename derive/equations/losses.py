r"""The canonical losses in their usual spellings, found in an equation's tree, so that the fused
rules (softmax + cross-entropy, σ + binary cross-entropy) and the stable generated code apply:

    -y^T \log p,  -\sum_j y_j \log p_j            cross-entropy
    -(y \log p + (1 - y) \log(1 - p))             binary cross-entropy (also with the sign inside)
    \frac{1}{2}\lVert o - y\rVert^2,  \frac{1}{2}(o - y)^2   squared error (without ½: twice it,
    (o - y)^T (o - y)                             and so is the quadratic form)
    \ell(o, y)                                    a generic loss

Anything else is built from its primitives and differentiated as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from derive.check import parser as P


@dataclass(frozen=True)
class Loss:
    kind: str  # "ce" | "bce" | "se" | "se_scalar" | "generic"
    prediction: object
    target: object
    factor: int = 1  # 2 for ‖o − y‖² written without ½
    name: str = "ell"


def recognise(node):
    """``node`` with every canonical loss in it replaced by a Loss."""
    found = _loss(node)
    if found is not None:
        return found
    if isinstance(node, P.Neg):  # -Σ_t y_t^T log p_t, -(1/T) Σ_t ...: the sign goes to the summand
        inner = node.arg
        if isinstance(inner, P.BigOp) and inner.kind == "sum":
            return recognise(P.BigOp(inner.kind, inner.var, inner.lo, inner.hi, P.Neg(inner.body)))
        if isinstance(inner, P.Product) and isinstance(inner.items[-1], P.BigOp) and all(
                op in ("", "·") for op in inner.ops):
            return recognise(P.Product((*inner.items[:-1], P.Neg(inner.items[-1])), inner.ops))
    if isinstance(node, P.Sum):
        return P.Sum(tuple(_signed_term(s, x) for s, x in node.terms))
    if isinstance(node, P.Neg):
        return P.Neg(recognise(node.arg))
    if isinstance(node, P.Product):
        return P.Product(tuple(recognise(x) for x in node.items), node.ops)
    if isinstance(node, P.BigOp):
        return P.BigOp(node.kind, node.var, node.lo, node.hi, recognise(node.body))
    if isinstance(node, P.Frac):
        return P.Frac(recognise(node.num), recognise(node.den))
    if isinstance(node, P.Call):
        return P.Call(node.func, tuple(recognise(a) for a in node.args))
    return node


def _signed_term(sign, term):
    """A term of a sum, recognised with its sign where the sign belongs to a loss inside it:
    −Σ_t y_tᵀ log ŷ_t + ½‖r‖² is a cross-entropy summed over t, plus the rest."""
    if sign < 0:
        negated = recognise(P.Neg(term))
        if isinstance(negated, Loss) or (isinstance(negated, P.BigOp) and isinstance(negated.body, Loss)):
            return 1, negated
    return sign, recognise(term)


def _is_log(node):
    return isinstance(node, P.Call) and node.func.name in ("\\log", "\\ln", "log") and not node.func.primes \
        and node.func.power is None and len(node.args) == 1


def _product(node, n=2):
    if isinstance(node, P.Product) and len(node.items) == n and all(op in ("", "·") for op in node.ops):
        return node.items
    return None


def _one_minus(node):
    if isinstance(node, P.Sum) and len(node.terms) == 2 and node.terms[0] == (1, P.Num(1.0)) \
            and node.terms[1][0] == -1:
        return node.terms[1][1]
    return None


def _difference(node):
    if isinstance(node, P.Sum) and len(node.terms) == 2 and node.terms[0][0] == 1 and node.terms[1][0] == -1:
        return node.terms[0][1], node.terms[1][1]
    return None


def _half(node) -> bool:
    return isinstance(node, P.Frac) and node.num == P.Num(1.0) and node.den == P.Num(2.0) or node == P.Num(0.5)


def _loss(node):
    if isinstance(node, P.Neg):
        return _negated(node.arg)
    if isinstance(node, P.Sum) and len(node.terms) == 2 and all(s == -1 for s, _ in node.terms):
        return _bce(node.terms[0][1], node.terms[1][1])
    if isinstance(node, P.Call) and node.func.name == "\\ell" and len(node.args) == 2 and not node.func.primes:
        return Loss("generic", node.args[0], node.args[1])
    pair = _product(node)
    if pair and isinstance(pair[0], P.Transpose) and pair[0].arg == pair[1] and _difference(pair[1]):
        return Loss("se", *_difference(pair[1]), 2)  # (o − y)^T (o − y): ‖o − y‖²
    if pair and _half(pair[0]):
        return _squared(pair[1], 1)
    if isinstance(node, P.Frac) and node.den == P.Num(2.0):
        return _squared(node.num, 1)
    return _squared(node, 2)


def _negated(inner):
    pair = _product(inner)
    if pair and isinstance(pair[0], P.Transpose) and _is_log(pair[1]):  # -y^T log p
        return Loss("ce", pair[1].args[0], pair[0].arg)
    if pair and _is_log(pair[0]) and isinstance(pair[0].args[0], P.Transpose):  # -log p^T y (Karpathy)
        return Loss("ce", pair[0].args[0].arg, pair[1])
    if pair and _is_log(pair[1]) and not isinstance(pair[0], P.Transpose):
        # -y · log p, -y log p (WildML): between two vectors the dot product, for numbers the same value
        return Loss("ce", pair[1].args[0], pair[0])
    if isinstance(inner, P.BigOp) and inner.kind == "sum" and inner.var != "t":  # -Σ_j y_j log p_j (t: time)
        pair = _product(inner.body)
        if pair and _is_log(pair[1]):
            y, p = _entry_of(pair[0], inner.var), _entry_of(pair[1].args[0], inner.var)
            if y is not None and p is not None:
                return Loss("ce", p, y)
    if isinstance(inner, P.Sum) and len(inner.terms) == 2 and all(s == 1 for s, _ in inner.terms):
        return _bce(inner.terms[0][1], inner.terms[1][1])
    return None


def _bce(first, second):
    a, b = _product(first), _product(second)
    if not (a and b and _is_log(a[1]) and _is_log(b[1])):
        return None
    y, p = a[0], a[1].args[0]
    if _one_minus(b[0]) == y and _one_minus(b[1].args[0]) == p:
        return Loss("bce", p, y)
    return None


def _squared(node, factor):
    if isinstance(node, P.Call) and node.func.name == "\\normsq" and len(node.args) == 1:
        pair = _difference(node.args[0])
        if pair:
            return Loss("se", pair[0], pair[1], factor)
    if isinstance(node, P.Power) and node.exponent.strip() in ("2", "{2}"):
        pair = _difference(node.base)
        if pair:
            return Loss("se_scalar", pair[0], pair[1], factor)
    return None


def _entry_of(node, index: str):
    """y for y_j (and y_t for y_{t,j}, y_j^{(t)}) where j is the summed index; None otherwise."""
    node = P.time_as_subscript(node) or node
    if not isinstance(node, P.Sym) or node.sub is None:
        return None
    parts = [p.strip() for p in node.sub.split(",")]
    if index not in parts:
        return None
    rest = [p for p in parts if p != index]
    return P.Sym(node.base, ",".join(rest) if rest else None, node.sup)
