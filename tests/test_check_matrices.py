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
    found = check("$$\\lambda_1 = 0.9$$ $$\\lambda_1, \\lambda_2 = 0.9, \\frac{2}{5}$$\n"
                  "the eigenvalue $\\lambda = 0.8$\n$$\\lambda_2 = W$$ $$\\lambda_1, \\lambda_2 = 0.9$$", {"W": W}, {})
    assert [v.verdict for v in found] == ["correct", "correct", "incorrect", "unchecked", "unchecked"]
    assert "0.8 is not an eigenvalue" in found[2].reason and "0.4, 0.9" in found[2].reason
    assert check(r"$$\lambda_1 = 0.9$$", {}, {}) == []  # no matrix given: not a claim
    # a bare λ with no word of eigenvalues is not one (an L2 coefficient λ = 0.01)
    assert check(r"$\lambda = 0.01$", {"W": W}, {}) == []
    (v,) = check(r"$$\lambda_{1} = 0.90$$", {"W": [[0.9004, 0], [0, 0.4]]}, {})
    assert v.verdict == "correct"  # to its last written digit


def test_from_a_second_reader():
    given = {"W": W}
    # a '=' continues only the math just before it
    assert [v.quantity for v in check(r"$$W^{30} = W^{30}$$ $$x = 2$$ $$= 2$$", given, {})] == ["W^{30}"]
    found = check(r"$$W^{30} = W^{30}$$ $$\frac{\partial h_t}{\partial h_k} = \prod W$$ $$= W^{2}$$", given, {})
    assert [v.quantity for v in found] == ["W^{30}"]
    # every free letter its own value: W^{t-k} = Λ^{t-k} is not true at t = k only
    lam = {"W": W, r"\Lambda": [[0.9, 0], [0, 0.4]]}
    assert [v.verdict for v in check(r"$$W^{t-k} = \Lambda^{t-k}$$", lam, {})] == ["incorrect"]
    # equations side by side are two claims
    w30 = numpy.linalg.matrix_power(numpy.array(W), 30)
    a, b, c, d = (f"{x:.6f}" for x in w30.ravel())
    literal = rf"\begin{{bmatrix}} {a} & {b} \\ {c} & {d} \end{{bmatrix}}"
    found = check(r"$$\Lambda^{30} = \begin{bmatrix} 0.9^{30} & 0 \\ 0 & 0.4^{30} \end{bmatrix}, \quad W^{30} = "
                  + literal + "$$", lam, {})
    assert [(v.quantity, v.verdict) for v in found] == [(r"\Lambda^{30}", "correct"), ("W^{30}", "correct")]
    # rounding to the digits written: 3 decimals right, an entry 5 off in 3325 wrong
    assert check(r"$$W^{30} = \begin{bmatrix} 0.015 & 0.020 \\ 0.020 & 0.027 \end{bmatrix}$$", given, {})[0].verdict \
        == "correct"
    big = {"W": [[1.5, 0], [0, 0.5]]}
    assert check(r"$$W^{20} = \begin{bmatrix} 3325.26 & 5 \\ -5 & 1 \end{bmatrix}$$", big, {})[0].verdict \
        == "incorrect"
    # 1×1 matrices are numbers, 0 the zero matrix
    assert check(r"$$W^{2} = 2.25$$", {"W": [[1.5]]}, {})[0].verdict == "correct"
    assert check(r"$$W^{10000} = 0$$", given, {})[0].verdict == "correct"
    # no crash: division by 0, deep nesting, a non-square W with prose, non-finite weights refused
    assert check(r"$$W^{2} = \frac{1}{0} W$$", given, {})[0].verdict == "unchecked"
    assert check("$$W = " + "(" * 300 + "W" + ")" * 300 + "$$", given, {})[0].verdict == "unchecked"
    from derive.check.limits import judge_all

    assert judge_all("The matrix powers W^{n} tend to 0.", {"W": [[1, 2, 3], [4, 5, 6]]}) == []
    with pytest.raises(ValueError, match="finite"):
        read_weights({"W": [[float("nan")]]})


def test_eigendecomposition_of_a_given_matrix_is_refused(tmp_path, capsys):
    f = tmp_path / "a.md"
    f.write_text("---\nweights: {W: [[1, 0], [0, 1]]}\neigendecomposition: {W: [Q, L]}\n---\n$$W^2 = W$$\n")
    assert main(["check", str(f)]) == 2
    assert "names a general diagonalisable matrix" in capsys.readouterr().err
