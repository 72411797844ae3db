"""An entrywise formula computed in one array: after the first, every operation writes into it.

NumPy evaluates h ⊙ (1 − h) with a temporary for 1 − h and a new array for the product; for
every t at once each is as large as the activations. Written as

    dL_da_in = 1 - h[1:]
    dL_da_in *= h[1:]

the formula costs one array and no temporary. ``inplace_statements`` does this for an entrywise
expression built from stored values: Hadamard products, sums, scalar factors and f'(x) through
its scalar rule (σ' = ans (1 − ans), tanh' = 1 − ans²); in a product or sum of several such
formulas the costliest is computed in the array and each other one makes one temporary
((1 − z) ⊙ (1 − h̃²): 1 − h̃² in place, then ``*= 1 - z``). It declines (None) whatever else, and
whatever a single operation already computes without a temporary.
"""

from __future__ import annotations

from sympy import Add, Integer, Mul, Number, Pow, Symbol
from sympy.matrices.expressions import HadamardProduct, MatAdd, MatMul, MatrixSymbol, OneMatrix

from derive.algebra import split_coefficient
from derive.nodes import Grad, Prime, TimeSym


def _scalar(expr, leaves: dict):
    """The entrywise formula as a SymPy scalar, each stored value a Symbol (``leaves`` maps
    them to their code); None for anything that is not entrywise."""
    if isinstance(expr, (TimeSym, MatrixSymbol, Grad)):
        for symbol, value in leaves.items():
            if value == expr:
                return symbol
        symbol = Symbol(f"_leaf{len(leaves)}")
        leaves[symbol] = expr
        return symbol
    if isinstance(expr, OneMatrix):
        return Integer(1)
    if isinstance(expr, (HadamardProduct, MatAdd)):
        parts = [_scalar(a, leaves) for a in expr.args]
        if any(p is None for p in parts):
            return None
        return Mul(*parts) if isinstance(expr, HadamardProduct) else Add(*parts)
    if isinstance(expr, MatMul):
        coeff, mats = split_coefficient(expr)
        inner = _scalar(mats[0], leaves) if len(mats) == 1 else None
        return None if inner is None else coeff * inner
    if isinstance(expr, Prime):
        x, ans = _scalar(expr.fx.arg, leaves), _scalar(expr.ans, leaves)
        return None if x is None or ans is None else expr.scalar_rule()(x, ans)
    return None


def _is_simple(e) -> bool:
    """A number, a stored value or a number times one: an operand, not an operation."""
    if isinstance(e, (Number, Symbol)):
        return True
    return isinstance(e, Mul) and len(e.args) == 2 and isinstance(e.args[0], Number) and isinstance(e.args[1], Symbol)


def _arithmetic(e) -> bool:
    """Only numbers, leaves, sums, products and whole powers (what ``formula`` writes)."""
    if isinstance(e, (Number, Symbol)):
        return True
    if isinstance(e, Pow):
        return isinstance(e.exp, Integer) and e.exp > 0 and _arithmetic(e.base)
    return isinstance(e, (Add, Mul)) and all(_arithmetic(a) for a in e.args)


_UFUNCS = {"**": "power", "*": "multiply", "-": "subtract", "+": "add"}


def inplace_statements(target: str, expr, printer, existing: bool = False) -> list[str] | None:
    """``target = expr`` as statements that make one array, or None (see the module doc);
    ``existing``: ``target`` is an array already (a view of another), written with out=."""
    leaves: dict = {}
    scalar = _scalar(expr, leaves)
    if scalar is None or _is_simple(scalar) or (not existing and all(_is_simple(a) for a in scalar.args)):
        return None  # one operation: plain NumPy makes no temporary
    codes = {symbol: printer._print(value) for symbol, value in leaves.items()}

    def show(e) -> str:
        if isinstance(e, Symbol):
            return codes[e]
        if isinstance(e, Mul) and _is_simple(e):
            return f"{printer._print(e.args[0])} * {codes[e.args[1]]}"
        if isinstance(e, (Add, Mul, Pow)):  # a factor computed on its own (one temporary)
            return formula(e)
        return printer._print(e)

    def formula(e) -> str:
        """A scalar formula over the leaves as NumPy code, parenthesised where it binds loosely."""
        if isinstance(e, Symbol):
            return codes[e]
        if isinstance(e, Number):
            return printer._print(e)
        if isinstance(e, Pow):
            return f"{wrapped(e.base)}**{e.exp}"
        if isinstance(e, Mul):
            coeff, rest = e.as_coeff_mul()
            body = " * ".join(wrapped(a) for a in rest)
            return body if coeff == 1 else f"-{body}" if coeff == -1 else f"{printer._print(coeff)} * {body}"
        terms = sorted(e.args, key=lambda a: a.could_extract_minus_sign())
        text = formula(terms[0])
        for a in terms[1:]:
            text += f" - {formula(-a)}" if a.could_extract_minus_sign() else f" + {formula(a)}"
        return text

    def wrapped(e) -> str:
        return f"({formula(e)})" if isinstance(e, Add) or (isinstance(e, Mul) and e.could_extract_minus_sign()) \
            else formula(e)

    def make(left: str, operator: str, right: str) -> str:
        """The statement that makes the array (or, ``existing``, fills it)."""
        if existing and operator == "**" and right == "2":  # np.power has no fast path for squares
            return f"np.square({left}, out={target})"
        if existing:
            return f"np.{_UFUNCS[operator]}({left}, {right}, out={target})"
        return f"{target} = {left} {operator} {right}"

    def emit(e) -> list[str] | None:
        """Statements leaving e in ``target``, the first of them making the array."""
        if isinstance(e, Pow) and isinstance(e.exp, Integer) and e.exp > 0:
            if isinstance(e.base, Symbol):
                return [make(show(e.base), "**", str(e.exp))]
            inner = emit(e.base)
            return None if inner is None else inner + [f"{target} **= {e.exp}"]
        if not isinstance(e, (Add, Mul)):
            return None
        operands = [a for a in e.args if _is_simple(a)]
        nested = [a for a in e.args if not _is_simple(a)]
        if len(nested) > 1:  # the costliest in the target, each other one its own temporary
            nested.sort(key=lambda a: a.count_ops(), reverse=True)
            if not all(_arithmetic(a) for a in nested[1:]):
                return None  # (a factor like 𝕀(x > 0) has no formula of sums and products)
            first = emit(nested[0])
            return None if first is None else first + _rest(e, nested[1:] + operands)
        if not nested:
            first, second = sorted(operands[:2], key=lambda a: a.could_extract_minus_sign())
            if isinstance(e, Mul):
                start = make(show(first), "*", show(second))
            elif second.could_extract_minus_sign():
                start = make(show(first), "-", show(-second))
            else:
                start = make(show(first), "+", show(second))
            return [start] + _rest(e, operands[2:])
        inner = nested[0]
        if isinstance(e, Add) and inner.could_extract_minus_sign() and len(operands) == 1:
            # c − X: X into the target, then one subtraction from c
            first = emit(-inner)
            return None if first is None else first + [f"np.subtract({show(operands[0])}, {target}, out={target})"]
        first = emit(inner)
        return None if first is None else first + _rest(e, operands)

    def _rest(e, operands) -> list[str]:
        lines = []
        for a in operands:
            if isinstance(e, Mul):
                lines.append(f"{target} *= {show(a)}")
            elif a.could_extract_minus_sign():
                lines.append(f"{target} -= {show(-a)}")
            else:
                lines.append(f"{target} += {show(a)}")
        return lines

    return emit(scalar)
