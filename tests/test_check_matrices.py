"""Numeric claims about the matrices a problem gives (weights:): seed 003's W^30 = QΛ^30Q⁻¹ part,
keyed by hand from the problem's W = [[0.58, 0.24], [0.24, 0.72]] (eigenvalues 0.9, 0.4) and a
published solution's W^30 = [[0.015260, 0.020348], [0.020348, 0.027130]]."""

from __future__ import annotations

from pathlib import Path

import numpy
import pytest

from derive.check.matrices import Unknown, Unreadable, check, evaluate, read_weights
from derive.check.run import check_answers
from derive.cli import main

HERE = Path(__file__).parent
W = [[0.58, 0.24], [0.24, 0.72]]
Q = [[-0.6, -0.8], [-0.8, 0.6]]
NAMES = {"W": numpy.array(W), "Q": numpy.array(Q), r"\Lambda": numpy.diag([0.9, 0.4])}


def test_seed_003_part_2b_induction_on_a_general_diagonalisable_matrix():
    _, verdicts = check_answers(str(HERE / "claims" / "seed003_weights.md"), None, None, ())
    steps = [(v.line, v.latex, v.verdict) for v in verdicts if v.quantity.startswith("M")]
    assert steps == [
        (48, "M^{n} = M^{n-1}M", "correct"),
        (49, "M = QAQ^{-1}", "correct"),
        (50, "M^{n} = M^{n-1}QAQ^{-1}", "correct"),
        (51, "M^{n} = M^{n-2}QAQ^{-1}QAQ^{-1}", "correct"),  # "$= ...$" continues the left side
        (52, "M^{n} = M^{n-2}QA^{2}Q^{-1}", "correct"),
        (54, "M^{n} = QA^{n}Q^{-1}", "correct"),
    ]
    # on a general M, not one that satisfies a wrong identity by accident (the given W is symmetric)
    wrong = check(r"$$M^{n} = Q A^{n} Q^{\top}$$", {"W": W, "Q": Q}, {"A": r"\Lambda"}, 0, {"M": ["Q", r"\Lambda"]})
    assert [v.verdict for v in wrong] == ["incorrect"] and wrong[0].reason.startswith("at n = 3")


def test_seed_003_part_2c_as_it_is():
    _, verdicts = check_answers(str(HERE / "claims" / "seed003_weights.md"), None, None, ())
    numeric = [(v.quantity, v.verdict) for v in verdicts if v.line == 58]
    # A is the OCR'd Λ (notation: A -> Λ): Λ^30 = diag(0.9^30, 0.4^30) is right; the student's
    # w^30 = QΛ^30 lacks Q^{-1}
    assert numeric == [("A^{30}", "correct"), ("w^{30}", "incorrect")]
    wrong = next(v for v in verdicts if v.quantity == "w^{30}")
    assert "0.0152608 & 0.0203478" in wrong.expected


def test_the_published_solution_is_right():
    body = r"""$$W^{30} = Q \Lambda^{30} Q^{-1} = \begin{bmatrix} -0.6 & -0.8 \\ -0.8 & 0.6 \end{bmatrix}
    \begin{bmatrix} 0.9^{30} & 0 \\ 0 & 0.4^{30} \end{bmatrix} \begin{bmatrix} -0.6 & -0.8 \\ -0.8 & 0.6 \end{bmatrix}
    = \begin{bmatrix} 0.015260 & 0.020348 \\ 0.020348 & 0.027130 \end{bmatrix}$$"""
    verdicts = check(body, {"W": W, "Q": Q, r"\Lambda": [[0.9, 0], [0, 0.4]]}, {})
    assert [v.verdict for v in verdicts] == ["correct", "correct", "correct"]
    # the same with W^{30} = 0.9^{30} W: a wrong shortcut
    (v,) = check(r"$$W^{30} = 0.9^{30} W$$", {"W": W}, {})
    assert v.verdict == "incorrect" and "entry" in v.reason


def test_evaluator():
    w = numpy.array(W)
    assert numpy.allclose(evaluate(r"W^{-1} W", NAMES), numpy.eye(2))
    assert numpy.allclose(evaluate(r"\frac{1}{2} (W + W^{T})", NAMES), w)
    assert numpy.allclose(evaluate(r"\operatorname{diag}(0.9, 0.4)^{2}", NAMES), numpy.diag([0.81, 0.16]))
    assert numpy.allclose(evaluate(r"Q \cdot \Lambda * Q^{-1}", NAMES), w)
    assert numpy.allclose(evaluate(r"\left( W \right)^2", NAMES), w @ w)
    with pytest.raises(Unknown):
        evaluate("M^{n}", NAMES)
    for text in ("W + 1", r"W^{0.5}", r"\begin{bmatrix} 1 & 2 \\ 3 \end{bmatrix}", "__import__", r"W^{n}"):
        with pytest.raises((Unreadable, Unknown)):
            evaluate(text, NAMES)


def test_claims_not_about_the_given_matrices_are_not_claims():
    body = r"$$M^{n} = M^{n-1} M$$ and $$h_t = \sigma(W h_{t-1})$$ and $$W = W$$"
    verdicts = check(body, {"W": W}, {})
    assert [(v.quantity, v.verdict) for v in verdicts] == [("W", "correct")]


def test_weights_front_matter_refusals(tmp_path, capsys):
    for bad in ("weights: [1, 2]", "weights: {W: [[1, 2], [3]]}", "weights: {W: [['a']]}", "weights: {W: 3}"):
        f = tmp_path / "a.md"
        f.write_text(f"---\n{bad}\n---\n$$W^2 = W$$\n")
        assert main(["check", str(f)]) == 2
        assert "weights" in capsys.readouterr().err
    with pytest.raises(ValueError, match="over 64"):
        read_weights({"W": [[0.0] * 65] * 65})


def test_eigenvalue_claims():
    found = check(r"$$\lambda_1 = 0.9$$ $$\lambda_1, \lambda_2 = 0.9, \frac{2}{5}$$ $\lambda = 0.8$ $$\lambda_2 = W$$",
                  {"W": W}, {})
    assert [v.verdict for v in found] == ["correct", "correct", "incorrect", "unchecked"]
    assert "0.8 is not an eigenvalue" in found[2].reason and "0.4, 0.9" in found[2].reason
    assert check(r"$$\lambda_1 = 0.9$$", {}, {}) == []  # no matrix given: not a claim
