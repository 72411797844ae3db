"""Statements about vanishing and exploding gradients in prose (seeds 003 and 004), keyed by the
mathematics: the spectral radius decides a pure power Wⁿ; a step factor below 1 in norm makes
dh_t/dh_k vanish, and one above 1 allows growth without forcing it."""

from __future__ import annotations

from pathlib import Path

import numpy
import pytest

from derive.check.limits import judge_all
from derive.check.run import check_answers

HERE = Path(__file__).parent
SEEDS = HERE / "seeds"  # copies of the homework seeds
W = [[0.58, 0.24], [0.24, 0.72]]


def verdicts_of(text, weights=None):
    return [(v.quantity, v.verdict) for v in judge_all(text, weights or {})]


def test_seed_004_vanishing_and_exploding_as_it_is():
    seed = next(SEEDS.glob("004_*.txt"))
    _, verdicts = check_answers(str(seed), None, None, ())
    prose = [(v.line, v.verdict) for v in verdicts if v.quantity.startswith("∂h_t/∂h_k as t − k grows")]
    # σ'w < 1 ⇒ vanishing: right; σ'w > 1 ⇒ exploding: necessary, not sufficient
    assert prose == [(59, "correct"), (61, "incorrect")]
    wrong = next(v for v in verdicts if v.line == 61)
    assert "necessary for exploding, not sufficient" in wrong.reason


def test_seed_003_part_2c_analysis():
    _, verdicts = check_answers(str(HERE / "claims" / "seed003_weights.md"), None, None, ())
    prose = [(v.quantity, v.verdict) for v in verdicts if v.line == 60]
    assert prose == [("the given matrix's powers", "correct"), ("Wⁿ as n → ∞ (eigenvalues)", "correct"),
                     ("Wⁿ as n → ∞ (eigenvalues)", "correct")]


def test_the_counterexample_is_one():
    w = numpy.array([[0.0, 2.0], [0.0, 0.0]])
    assert numpy.linalg.norm(w, 2) == 2 and not numpy.any(w @ w)


@pytest.mark.parametrize("text, expected", [
    ("If all eigenvalues of W are less than 1 in absolute value, W^n tends to 0.", "correct"),
    ("If every eigenvalue is greater than 1, $W^n \\to 0$.", "incorrect"),
    ("如果所有特征值都大于1，W^n 趋于 0。", "incorrect"),
    ("若最大特征值小于1，W^n 趋于 0。", "correct"),
    ("如果W的特征值都大于1，那么$W^n \\rightarrow \\infty$", "correct"),
    ("If all eigenvalues are less than 1, W^n → 0.", "correct"),
    ("If the spectral radius of W is less than 1, W^n tends to 0.", "correct"),
    ("If $|\\sigma' w| > 1$ the gradient will explode.", "incorrect"),
    ("若 $\\sigma' W < 1$，梯度爆炸。", "incorrect"),
    ("If $\\sigma' W > 1$ the gradient vanishes.", "incorrect"),
    ("If $f' W < 1$ then $\\partial h_t/\\partial h_k \\to 0$.", "correct"),
])
def test_rules(text, expected):
    (found,) = verdicts_of(text)
    assert found[1] == expected


@pytest.mark.parametrize("text", [
    "An eigenvalue below 1 makes it tend to 0.",  # one eigenvalue below 1 decides nothing
    "The gradient vanishes.",  # no condition and no given matrix
    "If the eigenvalues are below 1 it tends to 0 or explodes.",  # both limits
    "The forget gate lies between 0 and 1; 1 keeps everything, 0 forgets.",
    "$$W^{30} \\to 0$$",  # display math is the matrix reader's
    # from a second reader: negations, modals, reciprocals, other thresholds, n → ∞, the gradient
    "If all eigenvalues are less than 1, the gradient does not vanish.",
    "如果特征值的绝对值都小于1，梯度不会消失。",
    "如果所有特征值小于1，不会出现梯度爆炸。",
    "If $\\sigma' w > 1$, the gradient may explode.",
    "If all eigenvalues λ > 1 then 1/λ^n → 0.",
    "If all eigenvalues |λ| > 1 then W^{-n} → 0.",
    "If all eigenvalues are greater than 1/2, W^n → ∞",
    "If $\\sigma' W < 1/\\gamma$ the gradient vanishes",
    "If all eigenvalues are less than 1e3, W^n → 0",
    "When n > 1 the eigenvalue power λ^n → ∞",
    "If all eigenvalues λ satisfy -3 < λ < 1, W^n → 0",
    "If |λ| ≤ 1, W^n → 0.",
    "If one eigenvalue is smaller than 1, W^n tends to 0.",
    "Usually when the eigenvalue is below 1 the gradient vanishes.",
    "If any eigenvalue is greater than 1 the gradient explodes.",  # through σ', W's eigenvalues do not decide
    "If all eigenvalues λ_i of W satisfy |λ_i| < 1, $\\lim_{n\\to\\infty} W^n = 0$",  # n → ∞ is no limit value
])
def test_not_statements(text):
    assert verdicts_of(text) == []


@pytest.mark.parametrize("text", [
    "W^{30} does not tend to 0.", "W^{30} 不会趋于 0。", "The Jacobian matrix vanishes when h saturates.",
    "The output matrix explodes when the learning rate is too large.", "If W were larger, its powers would explode.",
    "Gradient clipping solves the exploding matrix norm problem.", "The squared error (y - \\hat y)^2 vanishes.",
    "In LSTM, f_t = 1, so no matrix power appears and the gradient does not vanish.",
])
def test_not_statements_about_the_given_matrix(text):
    assert verdicts_of(text, {"W": W}) == []


def test_given_matrix_powers():
    assert verdicts_of("The entries of W^{30} all tend to 0.", {"W": W}) == [("the given matrix's powers", "correct")]
    assert verdicts_of("W^{n} 的值趋于无穷", {"W": W})[0][1] == "incorrect"
    assert verdicts_of("W^{n} 的值趋于无穷", {"W": [[1.2, 0], [0, 0.5]]})[0][1] == "correct"  # ρ = 1.2
    # no W, and the one square matrix diagonal (Λ): which matrix is meant is not known
    assert verdicts_of("矩阵的 n 次方趋于无穷", {r"\Lambda": [[1.2, 0], [0, 0.5]]}) == []
    assert verdicts_of("矩阵的 n 次方趋于无穷", {"M": [[1.2, 0.1], [0, 0.5]]})[0][1] == "correct"
