"""Numeric claims about the matrices a problem gives (front matter ``weights:``): W^{30} = [...],
Λ^{30} = diag(0.9^{30}, 0.4^{30}), QΛ^{30}Q^{-1} = ... — seed 003's eigendecomposition part.

A display equation is such a claim when its left side is an expression over the given matrices
(after ``notation:``) and numbers; each side after an '=' is evaluated and compared with it.
The text is read by the small parser below (numbers, names, powers, products, sums, fractions,
bmatrix/pmatrix literals, \\operatorname{diag}); nothing is ever evaluated as code.

OCR often loses the line break between two equations ("A^{30} = [...] w^{30} = [...]"): a side
that ends in a power of a given name with the left side's exponent starts a new equation there.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass

import numpy

from derive.check.judge import Verdict
from derive.check.reader import DISPLAY

# A right side computed from the given numbers (0.6*0.9^{30}, QΛ^{30}Q^{-1}) must agree to this
# relative error entry by entry; a matrix of decimals, to one unit in its last written digit
# (0.015260 for 0.0152608: rounded or cut off).
TOLERANCE = 1e-6
MAX_POWER = 10_000
MAX_SIZE = 64
MAX_DEPTH = 40


class Unreadable(ValueError):
    """Text this reader does not take as matrix arithmetic."""


class Unknown(ValueError):
    """A name no given matrix has."""


TOKEN = re.compile(r"""
    (?P<num>\d+(?:\.\d+)?|\.\d+)
  | (?P<begin>\\begin\{(?:b|p|v)?matrix\})
  | (?P<end>\\end\{(?:b|p|v)?matrix\})
  | (?P<rowsep>\\\\|\\\ (?=\s*[-\d.\\]))
  | (?P<cmd>\\[A-Za-z]+)
  | (?P<name>[A-Za-z])
  | (?P<op>[-+*^_{}()&,=\[\]])
  | (?P<space>\s+|\\[,;!:]|\\quad|\\qquad)
""", re.X)

GREEK = {r"\Lambda", r"\lambda", r"\Sigma", r"\sigma", r"\Gamma", r"\Phi", r"\Psi", r"\Omega"}
IGNORED = {r"\left", r"\right", r"\big", r"\Big", r"\bigl", r"\bigr", r"\mathbf", r"\boldsymbol", r"\mathrm"}
TIMES = {"*", r"\cdot", r"\times"}


def tokens(text: str) -> list[tuple[str, str]]:
    out, at = [], 0
    while at < len(text):
        m = TOKEN.match(text, at)
        if m is None:
            raise Unreadable(f"cannot read {text[at:at + 12]!r}")
        at = m.end()
        kind = m.lastgroup
        if kind == "space" or (kind == "cmd" and m.group() in IGNORED):
            continue
        out.append((kind, m.group()))
    return out


@dataclass
class Parser:
    toks: list
    names: dict  # name as written -> matrix
    integers: dict = None  # free whole numbers of the exponents (n in M^{n-1}) -> a value
    at: int = 0
    depth: int = 0

    def peek(self, ahead: int = 0):
        i = self.at + ahead
        return self.toks[i] if i < len(self.toks) else (None, None)

    def take(self, value=None):
        tok = self.peek()
        if value is not None and tok[1] != value:
            raise Unreadable(f"expected {value!r}, found {tok[1]!r}")
        self.at += 1
        return tok

    def done(self) -> bool:
        return self.at >= len(self.toks)

    def sum(self):
        sign = -1.0 if self.peek()[1] == "-" else 1.0
        if self.peek()[1] in ("+", "-"):
            self.take()
        value = sign * self.product()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            right = self.product()
            value = _add(value, right if op == "+" else -right)
        return value

    def product(self):
        value = self.power()
        while not self.done() and self.peek()[1] not in ("+", "-", ")", "}", "&", "=", ",", "]") \
                and self.peek()[0] not in ("rowsep", "end"):
            if self.peek()[1] in TIMES:
                self.take()
            value = _times(value, self.power())
        return value

    def power(self):
        base = self.atom()
        while self.peek()[1] == "^":
            self.take()
            exponent = self.exponent()
            base = _power(base, exponent)
        return base

    def exponent(self):
        if self.peek()[1] == "{":
            self.take()
            if self.peek()[1] in ("T", r"\top") and self.peek(1)[1] == "}":
                self.take(), self.take()
                return "T"
            value = self.sum()
            self.take("}")
            return value
        kind, text = self.take()
        if kind == "num":
            return float(text)
        if text in ("T", r"\top"):
            return "T"
        if kind == "name" and self.integers and text in self.integers:
            return float(self.integers[text])
        raise Unreadable(f"an exponent {text!r}")

    def atom(self):
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise Unreadable(f"more than {MAX_DEPTH} nested groups")
            return self._atom()
        finally:
            self.depth -= 1

    def _atom(self):
        kind, text = self.peek()
        if kind == "num":
            self.take()
            return float(text)
        if text == "(" or text == "{":
            self.take()
            value = self.sum()
            self.take(")" if text == "(" else "}")
            return value
        if kind == "begin":
            return self.literal()
        if text == r"\frac":
            self.take()
            self.take("{")
            top = self.sum()
            self.take("}")
            self.take("{")
            bottom = self.sum()
            self.take("}")
            if not isinstance(bottom, float):
                raise Unreadable("a fraction with a matrix below")
            if bottom == 0:
                raise Unreadable("a division by 0")
            return top / bottom
        if text in (r"\operatorname", r"\text") and self.peek(1)[1] == "{":
            self.take(), self.take()
            word = ""
            while self.peek()[1] not in ("}", None):
                word += self.take()[1]
            self.take("}")
            if word != "diag":
                raise Unreadable(f"the function {word}")
            return self.diag()
        if text == r"\diag" or (kind == "name" and text == "d" and self._spells("diag")):
            return self.diag()
        if kind == "name" or text in GREEK:
            self.take()
            name = text
            if self.peek()[1] == "_":
                self.take()
                sub = self.take()
                if sub[1] == "{":
                    parts = []
                    while self.peek()[1] not in ("}", None):
                        parts.append(self.take()[1])
                    self.take("}")
                    sub = (None, "".join(parts))
                name = f"{text}_{{{sub[1]}}}"
            if name in self.names:
                return self.names[name]
            if self.integers and name in self.integers:
                return float(self.integers[name])
            raise Unknown(name)
        raise Unreadable(f"{text!r}")

    def _spells(self, word: str) -> bool:
        letters = [self.peek(i)[1] for i in range(len(word))]
        if "".join(x or "" for x in letters) == word:
            self.at += len(word) - 1
            self.take()
            return True
        return False

    def diag(self):
        self.take("(")
        entries = [self.sum()]
        while self.peek()[1] == ",":
            self.take()
            entries.append(self.sum())
        self.take(")")
        if not all(isinstance(e, float) for e in entries):
            raise Unreadable("diag of matrices")
        return numpy.diag(entries)

    def literal(self):
        self.take()
        rows, row = [], []
        while True:
            kind, text = self.peek()
            if kind is None:
                raise Unreadable("a matrix without its \\end")
            if kind == "end":
                self.take()
                break
            if kind == "rowsep":
                self.take()
                rows.append(row)
                row = []
                continue
            if text == "&":
                self.take()
                continue
            entry = self.sum()
            if not isinstance(entry, float):
                raise Unreadable("a matrix entry that is not a number")
            row.append(entry)
        if row:
            rows.append(row)
        if not rows or len({len(r) for r in rows}) != 1:
            raise Unreadable("a matrix whose rows differ in length")
        return numpy.array(rows, dtype=float)


def _is_matrix(x) -> bool:
    return isinstance(x, numpy.ndarray)


def _add(a, b):
    if _is_matrix(a) and _is_matrix(b) and a.shape != b.shape:
        raise Unreadable(f"a sum of a {a.shape[0]}×{a.shape[1]} and a {b.shape[0]}×{b.shape[1]} matrix")
    if _is_matrix(a) != _is_matrix(b):
        raise Unreadable("a number added to a matrix")
    return a + b


def _times(a, b):
    if _is_matrix(a) and _is_matrix(b):
        if a.shape[1] != b.shape[0]:
            raise Unreadable(f"a product of a {a.shape[0]}×{a.shape[1]} and a {b.shape[0]}×{b.shape[1]} matrix")
        return a @ b
    return a * b


def _power(base, exponent):
    if exponent == "T":
        if not _is_matrix(base):
            raise Unreadable("a number transposed")
        return base.T
    if _is_matrix(exponent):
        raise Unreadable("a matrix exponent")
    if not _is_matrix(base):
        if base == 0 and exponent < 0:
            raise Unreadable("0 to a negative power")
        try:
            return float(base) ** exponent
        except (OverflowError, ZeroDivisionError):
            raise Unreadable("a number too large") from None
    if exponent != int(exponent) or abs(exponent) > MAX_POWER or base.shape[0] != base.shape[1]:
        raise Unreadable(f"the power {exponent:g} of a matrix")
    if exponent < 0:
        base, exponent = numpy.linalg.inv(base), -exponent
    return numpy.linalg.matrix_power(base, int(exponent))


def evaluate(text: str, names: dict, integers: dict | None = None):
    parser = Parser(tokens(text), names, integers or {})
    with numpy.errstate(all="ignore"):
        value = parser.sum()
    if not parser.done():
        raise Unreadable(f"{parser.peek()[1]!r} after a whole expression")
    return value


def given(weights: dict, notation: dict) -> dict:
    """name as an answer writes it -> matrix: the weights, and every spelling notation: maps to one."""
    names = {}
    for key, rows in weights.items():
        names[str(key)] = numpy.array(rows, dtype=float)
    for spelled, meant in notation.items():
        if meant in names:
            names[spelled] = names[meant]
    return names


def decomposed(spec: dict, sizes: dict, seed: int = 0) -> dict:
    """A general diagonalisable matrix for each {M: [Q, Λ]} (M = QΛQ⁻¹): a random well-conditioned
    Q, distinct nonzero eigenvalues, M made from them, so that an identity such as Mⁿ = QΛⁿQ⁻¹ is
    checked in general, not on one matrix that might satisfy it by accident (a symmetric one)."""
    rng = numpy.random.default_rng(seed)
    names = {}
    for m, (q, lam) in spec.items():
        size = max(sizes.get(m, 3), 3)
        names[q] = numpy.eye(size) + 0.4 * rng.normal(size=(size, size))
        names[lam] = numpy.diag(rng.uniform(0.3, 1.4, size) * rng.choice([-1, 1], size))
        names[m] = names[q] @ names[lam] @ numpy.linalg.inv(names[q])
    return names


def read_decomposition(value) -> dict:
    """eigendecomposition: from the front matter: {M: [Q, \\Lambda]}."""
    if not isinstance(value, dict) or not all(isinstance(v, list) and len(v) == 2 for v in value.values()):
        raise ValueError("eigendecomposition must map a matrix to its [Q, Λ] (M = QΛQ⁻¹): {M: [Q, \\Lambda]}")
    return {str(m): [str(q), str(lam)] for m, (q, lam) in value.items()}


def read_weights(value) -> dict:
    """weights: from the front matter: name -> a list of rows of numbers (small matrices only)."""
    if not isinstance(value, dict):
        raise ValueError("weights must map a matrix's name to its rows ([[0.58, 0.24], [0.24, 0.72]])")
    out = {}
    for name, rows in value.items():
        if (not isinstance(rows, list) or not rows or not all(isinstance(r, list) and r for r in rows)
                or len({len(r) for r in rows}) != 1
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
                           for r in rows for x in r)):
            raise ValueError(f"weights: {name} must be a list of rows of finite numbers of one length")
        if len(rows) > MAX_SIZE or len(rows[0]) > MAX_SIZE:
            raise ValueError(f"weights: {name} is over {MAX_SIZE}×{MAX_SIZE}")
        out[str(name)] = rows
    return out


def _sides(math: str) -> list[str]:
    """The sides of a = b = c, split at '=' outside braces and matrix environments."""
    sides, depth, start, at = [], 0, 0, 0
    while at < len(math):
        if math.startswith(r"\begin{", at):
            depth += 1
        elif math.startswith(r"\end{", at):
            depth -= 1
        elif math[at] == "{":
            depth += 1
        elif math[at] == "}":
            depth -= 1
        elif math[at] == "=" and depth == 0:
            sides.append(math[start:at])
            start = at + 1
        at += 1
    sides.append(math[start:])
    return [s.strip().strip("&").strip() for s in sides]


NEW_LEFT = re.compile(r"\\end\{(?:b|p|v)?matrix\}\s*"
                      r"(?P<left>[A-Za-z](?:_\{?\w+\}?)?\s*\^\s*\{?\s*(?P<exp>\d+)\s*\}?)\s*$")
POWER_LEFT = re.compile(r"^\s*(?:[A-Za-z]|\\[A-Za-z]+)(?:_\{?\w+\}?)?\s*\^\s*\{?\s*(?P<exp>\d+)\s*\}?\s*$")


SEPARATOR = re.compile(r"\\q?quad|\\text\{\s*(?:and|,)\s*\}|\\textrm\{\s*and\s*\}|;|,")


def _pieces(math: str) -> list[str]:
    """Equations written side by side (A = …, \\quad B = …): cut at a top-level separator where
    both parts hold an '='."""
    depth, at, cuts = 0, 0, [0]
    while at < len(math):
        if math.startswith(r"\begin{", at) or math[at] in "{(":
            depth += 1
        elif math.startswith(r"\end{", at) or math[at] in "})":
            depth -= 1
        elif depth == 0:
            m = SEPARATOR.match(math, at)
            if m:
                cuts += [m.start(), m.end()]
                at = m.end()
                continue
        at += 1
    cuts.append(len(math))
    parts = [math[cuts[i]:cuts[i + 1]] for i in range(0, len(cuts), 2)]
    parts = [part for part in parts if part.strip()]  # ", \quad" is one separator
    if len(parts) > 1 and all("=" in part for part in parts):
        return parts
    return [math]


def equations(math: str, carried: str | None = None) -> list[list[str]]:
    """The chains of one display: split again where OCR joined two equations or they stand side
    by side; a display that starts with '=' continues ``carried``, the last left side."""
    chains = []
    for number, piece in enumerate(_pieces(math)):
        chains += _chains(piece, carried if number == 0 else None)
    return chains


def _chains(math: str, carried: str | None) -> list[list[str]]:
    chains, current = [], []
    sides = _sides(math)
    if len(sides) >= 2 and not sides[0] and carried:
        sides[0] = carried
    for side in sides:
        current.append(side)
        first = POWER_LEFT.match(current[0]) if current else None
        joined = NEW_LEFT.search(side)
        if first and joined and joined.group("exp") == first.group("exp") and len(current) >= 2:
            current[-1] = side[:joined.start("left")].strip()
            chains.append(current)
            current = [joined.group("left")]
    if current:
        chains.append(current)
    return [c for c in chains if len(c) >= 2]


INTEGER_VALUES = (3, 4, 5, 6)  # where a claim has a free exponent n, it must hold at each
EXPONENT = re.compile(r"\^\s*\{([^{}]*)\}|\^\s*([A-Za-z])")


def check(body: str, weights: dict, notation: dict, line_offset: int = 0,
          decomposition: dict | None = None) -> list[Verdict]:
    """A verdict for every equation in ``body`` whose left side is arithmetic on the given matrices.

    A math fragment that starts with '=' continues the last claim's left side (a derivation
    written one step per line)."""
    names = given(weights, notation)
    general = None
    if decomposition:  # claims about M are checked on a general M = QΛQ⁻¹, the others on the weights
        made = decomposed(decomposition, {})
        general = {**names, **given(made, notation)}
    verdicts, carried = [], None
    starts = [i for i, ch in enumerate(body) if ch == "\n"]
    for match in DISPLAY.finditer(body):
        text = match.group("a") or match.group("b") or match.group("c") or match.group("d") or ""
        line = bisect.bisect_left(starts, match.start()) + 1 + line_offset
        if not text.lstrip().startswith("="):
            carried = None  # a continuation continues the math just before it, nothing older
        for chain in equations(text, carried):
            try:
                found, left = _chain_verdicts(line, chain, names, general, weights, notation, decomposition, body,
                                              match.start())
            except Exception as err:  # noqa: BLE001 - one claim's failure must not stop the others
                found, left = [Verdict(line, " ".join(chain[0].split()), " = ".join(chain), "unchecked",
                                       f"derive could not check it ({type(err).__name__})")], None
            verdicts += found
            carried = left
    return verdicts


def _chain_verdicts(line, chain, names, general, weights, notation, decomposition, body, at):
    """(the verdicts on one chain a = b = c, its left side when it is a matrix claim, else None)."""
    if EIGEN_LEFT.match(chain[0]) and r"\lambda" not in names:
        context = body[max(0, body.rfind("\n", 0, at)):body.find("\n", at) if body.find("\n", at) >= 0 else None]
        if SUBSCRIPTED_LAMBDA.match(chain[0]) or EIGEN_WORDS.search(context):
            return _eigenvalues(line, chain, weights), None
        return [], None
    world = general if general is not None and _mentions(chain[0], decomposition, notation) else names
    integers = _free_integers(chain, world)
    try:
        lefts = [evaluate(chain[0], world, values) for values in integers]
    except (Unreadable, Unknown, ValueError, numpy.linalg.LinAlgError, OverflowError):
        return [], None  # not arithmetic on the given matrices: not this reader's claim
    if not all(_is_matrix(x) for x in lefts):
        return [], None
    return [_judge(line, chain[0], right_text, lefts, world, integers) for right_text in chain[1:]], chain[0]


SUBSCRIPTED_LAMBDA = re.compile(r"^\s*\\lambda_\{?\s*\d+\s*\}?(?:\s*,\s*\\lambda_\{?\s*\d+\s*\}?)*\s*$")
EIGEN_WORDS = re.compile(r"特征值|eigenvalue", re.I)
EIGEN_LEFT = re.compile(r"^\s*\\lambda(?:_\{?\s*\w+\s*\}?)?(?:\s*,\s*\\lambda(?:_\{?\s*\w+\s*\}?)?)*\s*$")


def _eigenvalues(line: int, chain: list[str], weights: dict) -> list[Verdict]:
    """λ₁ = 0.9, λ = 0.9, 0.4: each number must be an eigenvalue of the given recurrent matrix
    (which λ is the first is a convention the claim does not fix, so the order is not judged)."""
    from derive.check.limits import recurrent

    matrix = recurrent(weights)
    if matrix is None:
        return []
    truth = numpy.linalg.eigvals(matrix)
    shown = ", ".join(f"{complex(z).real:.6g}" if abs(complex(z).imag) < 1e-12 else f"{complex(z):.6g}" for z in truth)
    out = []
    for right_text in chain[1:]:
        quantity = " ".join(chain[0].split())
        latex = f"{quantity} = {' '.join(right_text.split())}"
        try:
            values = [evaluate(part, {}) for part in _sides_at_commas(right_text)]
        except (Unreadable, Unknown, ValueError, OverflowError):
            out.append(Verdict(line, quantity, latex, "unchecked", "derive reads eigenvalues written as numbers"))
            continue
        if any(_is_matrix(v) for v in values):
            out.append(Verdict(line, quantity, latex, "unchecked", "derive reads eigenvalues written as numbers"))
            continue
        named = chain[0].count(r"\lambda")
        if named > 1 and len(values) != named:
            out.append(Verdict(line, quantity, latex, "unchecked", f"{named} eigenvalues named, {len(values)} given"))
            continue
        units = [10.0 ** -len(part.split(".")[1]) if "." in part and part.replace(".", "", 1).strip().isdigit()
                 else None for part in _sides_at_commas(right_text)]
        wrong = [v for v, unit in zip(values, units, strict=True)
                 if not any(as_written(v, z.real, unit) if unit else abs(z - v) <= TOLERANCE * max(1.0, abs(v))
                            for z in truth if abs(z.imag) < 1e-12)]
        if wrong:
            out.append(Verdict(line, quantity, latex, "incorrect", f"{wrong[0]:.6g} is not an eigenvalue of the given "
                               f"matrix (its eigenvalues: {shown})", shown))
        else:
            what = "an eigenvalue" if len(values) == 1 else "eigenvalues"
            out.append(Verdict(line, quantity, latex, "correct", f"{what} of the given matrix (its eigenvalues: "
                               f"{shown})"))
    return out


def _sides_at_commas(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for at, ch in enumerate(text):
        depth += ch in "{("
        depth -= ch in "})"
        if ch == "," and depth == 0:
            parts.append(text[start:at])
            start = at + 1
    parts.append(text[start:])
    return [x.strip() for x in parts if x.strip()]


def _mentions(text: str, decomposition: dict, notation: dict) -> bool:
    """Whether a left side names a decomposed matrix (M), as written or through notation:."""
    spellings = set(decomposition) | {k for k, v in notation.items() if v in decomposition}
    try:
        return any(kind == "name" and value in spellings for kind, value in tokens(text))
    except Unreadable:
        return False


def _free_integers(chain: list[str], names: dict) -> list[dict]:
    """The values to try for the free letters of the exponents (n), one dict per trial."""
    letters = set()
    for side in chain:
        for m in EXPONENT.finditer(side):
            group = m.group(1) if m.group(1) is not None else m.group(2)
            letters |= {x for x in re.findall(r"(?<!\\)\b[a-z]\b|(?<![\\A-Za-z])[a-z](?![A-Za-z])", group)
                        if x not in names}
    if not letters:
        return [{}]
    # each letter its own value (t = k would make W^{t-k} = I for any W), later letters larger
    return [{x: value + 3 * rank for rank, x in enumerate(sorted(letters))} for value in INTEGER_VALUES]


def _judge(line, left_text, right_text, lefts, names, integers) -> Verdict:
    quantity = " ".join(left_text.split())
    latex = f"{quantity} = {' '.join(right_text.split())}"
    for left, values in zip(lefts, integers, strict=True):
        verdict = _judge_at(line, quantity, latex, right_text, left, names, values)
        if verdict.verdict != "correct":
            if values:
                where = ", ".join(f"{k} = {v}" for k, v in values.items())
                verdict.reason = f"at {where}: {verdict.reason}"
            return verdict
    if integers != [{}]:
        trials = "; ".join(", ".join(f"{k} = {v}" for k, v in values.items()) for values in integers)
        verdict.reason = f"equal at {trials}, entry by entry"
    return verdict


def _judge_at(line, quantity, latex, right_text, left, names, integers) -> Verdict:
    try:
        right = evaluate(right_text, names, integers)
    except Unknown as err:
        return Verdict(line, quantity, latex, "unchecked", f"{err} is not a given matrix (weights:, notation:)")
    except (Unreadable, ValueError, numpy.linalg.LinAlgError, OverflowError) as err:
        return Verdict(line, quantity, latex, "unchecked", f"derive cannot read the right side as matrix arithmetic "
                       f"({err})")
    expected = _matrix_text(left)
    if not _is_matrix(right) and (left.shape == (1, 1) or right == 0):
        right = numpy.full(left.shape, float(right))  # a 1×1 matrix is its number; 0 is the zero matrix
    if not _is_matrix(right) or right.shape != left.shape:
        shape = "a number" if not _is_matrix(right) else f"{right.shape[0]}×{right.shape[1]}"
        return Verdict(line, quantity, latex, "incorrect", f"the right side is {shape}; {quantity} is "
                       f"{left.shape[0]}×{left.shape[1]}", expected)
    if not numpy.all(numpy.isfinite(left)) or not numpy.all(numpy.isfinite(right)):
        return Verdict(line, quantity, latex, "unchecked", "a value overflows: there is nothing to compare")
    units = _written_precision(right_text)
    if units is not None and units.shape == left.shape:
        good = numpy.vectorize(as_written)(right, left, units)
        how = "to the digits written"
    else:
        good = numpy.abs(right - left) <= _allowed_error(left)
        how = "entry by entry"
    if numpy.all(good):
        return Verdict(line, quantity, latex, "correct", f"equal to the given matrices' value, {how}")
    worst = numpy.unravel_index(numpy.argmax(numpy.where(good, -1.0, numpy.abs(right - left))), left.shape)
    return Verdict(line, quantity, latex, "incorrect", f"entry ({worst[0] + 1}, {worst[1] + 1}) is "
                   f"{right[worst]:.6g}, but it is {left[worst]:.6g}", expected)


def _written_precision(text: str):
    """One unit in the last written digit of each entry, for a right side that is a matrix of
    decimals alone (None otherwise)."""
    try:
        toks = tokens(text)
    except Unreadable:
        return None
    if not toks or toks[0][0] != "begin" or toks[-1][0] != "end":
        return None
    rows, row = [], []
    sign = False
    for kind, value in toks[1:-1]:
        if kind == "num":
            row.append(10.0 ** -(len(value.split(".")[1]) if "." in value else 0))
            sign = False
        elif kind == "rowsep":
            rows.append(row)
            row = []
        elif value == "-" and not sign:
            sign = True
        elif value != "&":
            return None
    if row:
        rows.append(row)
    if not rows or len({len(r) for r in rows}) != 1:
        return None
    return numpy.array(rows)


def _allowed_error(left: numpy.ndarray):
    """How far each entry may be off for a right side computed from the given numbers (a matrix
    of decimals is judged by as_written instead)."""
    return TOLERANCE * numpy.abs(left) + 1e-12 * max(float(numpy.max(numpy.abs(left))), 1e-300)


def as_written(written: float, truth: float, unit: float) -> bool:
    """Whether ``written`` is ``truth`` rounded or cut off to the digits written (one unit
    ``unit`` in the last of them): 0.015260 and 0.015261 both stand for 0.0152608, 0.8 not for 0.9."""
    slack = 1e-9 * max(abs(truth), unit)
    if abs(written - truth) <= unit / 2 + slack:
        return True  # rounded
    cut = math.copysign(math.floor(abs(truth) / unit + 1e-9) * unit, truth)  # cut off toward 0
    return abs(written - cut) <= slack


def _matrix_text(m: numpy.ndarray) -> str:
    rows = [" & ".join(f"{x:.6g}" for x in row) for row in m]
    return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"
