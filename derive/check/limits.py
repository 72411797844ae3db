"""Statements about vanishing and exploding gradients, as seeds 003 and 004 make them in prose:
"if every eigenvalue is below 1 in absolute value, W^n tends to 0", "if σ'w > 1 the gradient
explodes", "W^30's entries all tend to 0".

A statement is one clause (a line, cut before 如果/若/if/but and at sentence ends) that states a
condition on one quantity against 1 and a limit (→ 0, 趋于 0, vanishes; → ∞, 无穷, explodes),
or, where the front matter gives the matrices (weights:), a limit of the given matrix's powers
with no condition. The quantity is read only when it is one of two kinds — the eigenvalues of
the recurrent matrix (特征值, eigenvalue, λ), or the step factor diag(σ')W written as σ'w,
σ'W, f'W, φ'W — and a clause that names neither, or both limits, is not a statement. Each kind
is judged by what is true of it:

- every |λ| < 1 ⇒ Wⁿ → 0, and some |λ| > 1 ⇒ ‖Wⁿ‖ → ∞: right (the spectral radius decides a
  pure power);
- ‖diag(σ')W‖ < 1 at every step ⇒ ∂h_t/∂h_k → 0: right (the norm is submultiplicative);
- ‖diag(σ')W‖ > 1 ⇒ it explodes: wrong — a norm above 1 allows growth, it does not force it
  (W = [[0, 2], [0, 0]] has ‖W‖ = 2 and W² = 0); it is necessary for exploding, not sufficient;
- the reverse pairings (a factor above 1 making it vanish, ...) are wrong;
- with no condition, the given matrix's powers tend to 0 exactly when its spectral radius is
  below 1, and grow without bound when it is above 1.
"""

from __future__ import annotations

import re

import numpy

from derive.check.judge import Verdict

CLAUSE_START = re.compile(r"(?=如果|假如|若|(?<![A-Za-z])[Ii]f\s)|但是|但|[;；。]|(?<![A-Za-z])but\s|However,?")
ZERO = re.compile(r"(?:\\to|\\rightarrow|→)\s*0(?!\d|\.\d)|趋[于近向][于]?\s*\$?\s*0(?!\d|\.\d)|tends? to (?:zero|0)\b|"
                  r"goes? to (?:zero|0)\b|消失|vanish")
INFINITY = re.compile(r"(?:\\to|\\rightarrow|→)\s*\\?infty|无穷|∞|爆炸|explod|blows? up|tends? to infinity")
# an index growing without bound is the limit's variable, not its value: n → ∞, lim_{n→∞}
INDEX_TO_INFINITY = re.compile(
    r"\\lim_\{[^{}]*\}|(?<![A-Za-z\\^_{])[a-z](?:\s*-\s*[a-z])?\s*(?:\\to|\\rightarrow|→)\s*(?:\\?infty|∞)"
    r"|(?<![A-Za-z\\^_{])[a-z](?:\s*-\s*[a-z])?\s*\$?\s*(?:增大|增加|变大|趋于|趋向|趋近于?)\s*(?:到|至)?\s*无穷大?"
    r"|\bas [a-z](?: ?- ?[a-z])? (?:goes|tends|grows) to infinity")
NEGATION = re.compile(r"\b(?:not|no|never|nor|cannot|can't|won't|doesn't|don't|isn't|aren't|neither|without)\b"
                      r"|不|没|非|未|免", re.I)
MODAL = re.compile(r"\b(?:may|might|could|can|possibl\w*|likely|tends? to be)\b|可能|也许|容易", re.I)
INVERSE = re.compile(r"1\s*/|\^\s*\{\s*-|\\frac\s*\{\s*1\s*\}")  # 1/λⁿ, W^{-n}: a reciprocal
COMPARATOR = re.compile(r"[<>]|小于|大于|\b(?:less|smaller|greater|larger) than\b|\b(?:below|above)\b")
# what the eigenvalues decide: a pure power (Wⁿ, λⁿ, 矩阵的 n 次方), not a gradient through an activation
POWER_SUBJECT = re.compile(r"(?<![A-Za-z\\])[A-Z]\s*\^\s*\{?\s*(?:\d+|n)\b|\\lambda\s*(?:_\{?\w+\}?)?\s*\^|λ\s*\^"
                           r"|次方|次幂|\bpowers?\b")
HYPOTHETICAL = re.compile(r"如果|假如|若|\b(?:if|were|would|suppose)\b", re.I)
EIGEN = re.compile(r"特征值|eigenvalue|\\lambda|λ")
LARGEST = re.compile(r"spectral radius|谱半径|largest eigenvalue|最大(?:的)?特征值|\\rho\b|ρ")
STEP = re.compile(r"(?:diag\s*\(\s*)?(?:\\sigma|σ|f|\\phi|φ|\\varphi|\\tanh|tanh)\s*(?:'|\^\{?\\prime\}?|_\{?'\}?)"
                  r"\s*(?:\([^()]*\))?\s*\)?\s*(?:\\cdot|\*)?\s*(?:\\mathbf\{)?[wW](?![A-Za-z])")
ONE = r"1(?![\d./eE])"
BELOW = re.compile(rf"<\s*{ONE}|小于\s*{ONE}|\b(?:less|smaller) than {ONE}|\bbelow {ONE}")
ABOVE = re.compile(rf">\s*{ONE}|大于\s*{ONE}|\b(?:greater|larger) than {ONE}|\babove {ONE}")
NOT_STRICT = re.compile(r"\\le|\\ge|≤|≥|<=|>=|不大于|不小于|at most|at least")
EVERY = re.compile(r"都|所有|全部|均|\b(?:every|all)\b", re.I)
GIVEN_POWER = re.compile(r"(?<![A-Za-z\\])W\s*\^\s*\{?\s*(?:\d+|n)\s*\}?|矩阵的\s*\$?\s*(?:\d+|n)\s*\$?\s*次(?:方|幂)"
                         r"|\bpowers? of (?:the matrix|W)\b")
MATH = re.compile(r"\$+")
INDEX_LETTERS = set("ntkijm")


def clauses(text: str):
    """(line, clause) for every clause of the text outside display math."""
    for number, line in enumerate(text.split("\n"), 1):
        if "$$" in line or "\\begin" in line:
            continue
        for clause in CLAUSE_START.split(line):
            if clause and clause.strip():
                yield number, clause.strip()


def _comparisons(pattern, clause: str) -> list:
    """The comparisons with 1 that are about a quantity, not an index (n > 1 is not a condition)."""
    found = []
    for m in pattern.finditer(clause):
        before = clause[:m.start()].rstrip(" $")
        if len(before) >= 1 and before[-1] in INDEX_LETTERS and (len(before) == 1 or not before[-2].isalnum()
                                                                 and before[-2] != "\\"):
            continue
        found.append(m)
    return found


def statement(clause: str, have_weights: bool, power_topic: bool = False):
    """(kind, comparison, limit) of a clause, or None where it is not one such statement. Never
    one: a clause with a negation, a modal (may explode), a reciprocal (1/λⁿ), a comparison that
    is not strict or other than one with 1, or both limits; eigenvalues decide only a pure power,
    named in the clause or earlier on its line (``power_topic``)."""
    if NEGATION.search(clause) or NOT_STRICT.search(clause) or MODAL.search(clause) or INVERSE.search(clause):
        return None
    core = INDEX_TO_INFINITY.sub(" ", clause)
    if len(COMPARATOR.findall(core)) > 1:
        return None
    zero, infinity = bool(ZERO.search(core)), bool(INFINITY.search(core))
    if zero == infinity:
        return None
    limit = "0" if zero else "∞"
    below, above = bool(_comparisons(BELOW, core)), bool(_comparisons(ABOVE, core))
    largest = bool(LARGEST.search(core))
    eigen, step = bool(EIGEN.search(core)) or largest, bool(STEP.search(core))
    if below != above and eigen != step:
        kind = "eigen" if eigen else "step"
        if kind == "eigen" and below and not (EVERY.search(core) or largest):
            return None  # "an eigenvalue below 1" decides nothing about the others
        if kind == "eigen" and not (power_topic or POWER_SUBJECT.search(core)):
            return None  # the gradient through an activation: W's eigenvalues alone do not decide it
        return kind, "<" if below else ">", limit
    if (not below and not above and not eigen and not step and have_weights and GIVEN_POWER.search(core)
            and not HYPOTHETICAL.search(core)):
        return "given", None, limit
    return None


def judge_all(text: str, weights: dict, line_offset: int = 0) -> list[Verdict]:
    """A verdict for every statement about vanishing or exploding in ``text``."""
    verdicts = []
    matrix = recurrent(weights)
    topic_line, topic = None, False
    for number, clause in clauses(text):
        if number != topic_line:
            topic_line, topic = number, False
        found = statement(clause, matrix is not None, topic)
        topic = topic or bool(POWER_SUBJECT.search(INDEX_TO_INFINITY.sub(" ", clause)))
        if found is None:
            continue
        kind, comparison, limit = found
        line = number + line_offset
        shown = " ".join(MATH.sub("", clause).split())
        if kind == "given":
            verdicts.append(_given(line, shown, limit, matrix))
        else:
            verdicts.append(_rule(line, shown, kind, comparison, limit))
    return verdicts


def recurrent(weights: dict):
    """The matrix whose powers a statement without a name is about: W, or the one square matrix
    given that is not diagonal (Λ is not it)."""
    def usable(m):
        return m.shape[0] == m.shape[1] and numpy.all(numpy.isfinite(m))

    if "W" in weights:
        w = numpy.array(weights["W"], dtype=float)
        return w if usable(w) else None
    square = [numpy.array(m, dtype=float) for m in weights.values()]
    square = [m for m in square if usable(m) and not numpy.allclose(m, numpy.diag(numpy.diag(m)))]
    return square[0] if len(square) == 1 else None


def _rule(line, clause, kind, comparison, limit) -> Verdict:
    if kind == "eigen":
        quantity = "Wⁿ as n → ∞ (eigenvalues)"
        if (comparison, limit) == ("<", "0"):
            return Verdict(line, quantity, clause, "correct", "every |λ| < 1 makes Wⁿ = QΛⁿQ⁻¹ tend to 0 (ρ(W) < 1)")
        if (comparison, limit) == (">", "∞"):
            return Verdict(line, quantity, clause, "correct", "an eigenvalue with |λ| > 1 makes ‖Wⁿ‖ ≥ |λ|ⁿ grow "
                           "without bound")
        return Verdict(line, quantity, clause, "incorrect", "it is the other way round: eigenvalues below 1 in "
                       "absolute value make Wⁿ tend to 0, one above 1 makes it grow without bound")
    quantity = "∂h_t/∂h_k as t − k grows (σ'W)"
    if (comparison, limit) == ("<", "0"):
        return Verdict(line, quantity, clause, "correct", "‖diag(σ')W‖ < 1 at every step gives ‖∂h_t/∂h_k‖ ≤ "
                       "Π‖diag(σ'(a_i))W‖ → 0: it vanishes")
    if (comparison, limit) == (">", "∞"):
        return Verdict(line, quantity, clause, "incorrect", "a factor above 1 allows the product to grow but does "
                       "not make it: W = [[0, 2], [0, 0]] has ‖W‖ = 2 and W² = 0, and σ' ≤ 1/4 shrinks every step; "
                       "‖σ'W‖ > 1 is necessary for exploding, not sufficient", "")
    return Verdict(line, quantity, clause, "incorrect", "it is the other way round: a factor below 1 makes the "
                   "product vanish; a factor above 1 is needed for it to explode")


def _given(line, clause, limit, matrix) -> Verdict:
    radius = float(numpy.max(numpy.abs(numpy.linalg.eigvals(matrix))))
    quantity = "the given matrix's powers"
    truth = "0" if radius < 1 else ("∞" if radius > 1 else None)
    if truth is None:
        return Verdict(line, quantity, clause, "unchecked", "its spectral radius is 1: the powers neither vanish "
                       "nor explode from the eigenvalues alone")
    reason = f"its spectral radius is {radius:.4g}, so its powers tend to {'0' if truth == '0' else 'infinity'}"
    return Verdict(line, quantity, clause, "correct" if truth == limit else "incorrect", reason)
