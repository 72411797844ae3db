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
ZERO = re.compile(r"(?:\\to|\\rightarrow|→)\s*0(?![.\d])|趋[于近][于]?\s*\$?\s*0(?![.\d])|tends? to (?:zero|0)|"
                  r"goes? to (?:zero|0)|消失|vanish")
INFINITY = re.compile(r"(?:\\to|\\rightarrow|→)\s*\\?infty|无穷|∞|爆炸|explod|blows? up|tends? to infinity")
EIGEN = re.compile(r"特征值|eigenvalue|\\lambda|λ")
STEP = re.compile(r"(?:\\sigma|σ|f|\\phi|φ|\\varphi)\s*(?:_\{?'\}?|\^\{?\\prime\}?|')\s*(?:\\cdot\s*|\*\s*)?"
                  r"(?:\\mathbf\{)?[wW]")
BELOW = re.compile(r"<\s*1(?![.\d])|小于\s*1(?![.\d])|less than 1|below 1|smaller than 1")
ABOVE = re.compile(r">\s*1(?![.\d])|大于\s*1(?![.\d])|greater than 1|above 1|larger than 1")
EVERY = re.compile(r"都|所有|全部|every|all")
MATRIX_POWER = re.compile(r"次方|次幂|矩阵|power|matrix|\^\{?\s*\d+|\^\{?n\}?")
MATH = re.compile(r"\$+")


def clauses(text: str):
    """(line, clause) for every clause of the text outside display math."""
    for number, line in enumerate(text.split("\n"), 1):
        if "$$" in line or "\\begin" in line:
            continue
        for clause in CLAUSE_START.split(line):
            if clause and clause.strip():
                yield number, clause.strip()


def statement(clause: str, have_weights: bool):
    """(kind, comparison, limit) of a clause, or None where it is not one such statement."""
    zero, infinity = bool(ZERO.search(clause)), bool(INFINITY.search(clause))
    if zero == infinity:
        return None
    limit = "0" if zero else "∞"
    below, above = bool(BELOW.search(clause)), bool(ABOVE.search(clause))
    eigen, step = bool(EIGEN.search(clause)), bool(STEP.search(clause))
    if below != above and eigen != step:
        kind = "eigen" if eigen else "step"
        if kind == "eigen" and below and not EVERY.search(clause):
            return None  # "an eigenvalue below 1" decides nothing about the others
        return kind, "<" if below else ">", limit
    if not below and not above and not eigen and not step and have_weights and MATRIX_POWER.search(clause):
        return "given", None, limit
    return None


def judge_all(text: str, weights: dict, line_offset: int = 0) -> list[Verdict]:
    """A verdict for every statement about vanishing or exploding in ``text``."""
    verdicts = []
    matrix = recurrent(weights)
    for number, clause in clauses(text):
        found = statement(clause, matrix is not None)
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
    if "W" in weights:
        return numpy.array(weights["W"], dtype=float)
    square = [numpy.array(m, dtype=float) for m in weights.values()]
    square = [m for m in square if m.shape[0] == m.shape[1] and not numpy.allclose(m, numpy.diag(numpy.diag(m)))]
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
