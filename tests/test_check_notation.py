"""Claims in notation students and textbooks use, read as they mean it (found by a second reader
who keyed every claim by hand and in PyTorch)."""

from pathlib import Path

import pytest

from derive.check import parser as P
from derive.check.run import check_answers

PROBLEMS = Path(__file__).resolve().parents[1] / "examples" / "problems"


def verdict(problem, claim):
    _, (found,) = check_answers(None, str(PROBLEMS / problem), None, (claim,))
    return found


def test_a_power_after_a_call_is_the_calls():
    r"""\tanh(x)^2 is (\tanh x)^2, as \tanh^2(x) is; σ(a)^T is σ(a) transposed."""
    (_, (_, power)) = P.parse(r"1 - \tanh(C_t)^2").terms
    assert isinstance(power, P.Power) and isinstance(power.base, P.Call) and power.exponent == "2"
    assert isinstance(P.parse(r"\sigma(a)^T"), P.Transpose)


def test_matrix_products_bind_before_the_entrywise_one():
    tree = P.parse(r"\mathbb{1}(h > 0) \odot W_2^T (p - y)")
    assert tree.ops == ("⊙",) and isinstance(tree.items[1], P.Product) and tree.items[1].ops == ("",)


@pytest.mark.parametrize("problem,claim,expected", [
    ("rnn_tanh_mse.md", r"\frac{\partial L}{\partial b} = \sum_{t=1}^{T} \frac{\partial L}{\partial h_t} \odot "
                        r"(1 - \tanh(W h_{t-1} + U x_t + b)^2)", "correct"),
    ("lstm.md", r"\frac{\partial L}{\partial C_t} = \frac{\partial L}{\partial h_t} \odot o_t \odot (1 - \tanh(C_t)^2)"
                r" + \frac{\partial L}{\partial C_{t+1}} \odot f_{t+1}", "correct"),
    ("mlp_cs231n.md", r"\frac{\partial L}{\partial b_1} = \mathbb{1}(h > 0) \odot W_2^T (p - y)", "correct"),
    ("mlp_cs231n.md", r"\frac{\partial L}{\partial b_1} = W_2^T (p - y)", "incorrect"),
    # d2l's closed form (its φ the identity): right at every t under a condition the problem leaves open
    ("rnn_d2l.md", r"\frac{\partial L}{\partial \mathbf{h}_t} = \sum_{i=t}^{T} \left(\mathbf{W}_{hh}^\top\right)^{T-i} "
                   r"\mathbf{W}_{qh}^\top \frac{\partial L}{\partial \mathbf{o}_{T+t-i}}", "conditional"),
    ("rnn_d2l.md", r"\frac{\partial L}{\partial \mathbf{h}_t} = \sum_{i=t}^{T} \left(\mathbf{W}_{hh}^\top\right)^{i-t} "
                   r"\mathbf{W}_{qh}^\top \frac{\partial L}{\partial \mathbf{o}_{T+t-i}}", "incorrect"),
])
def test_claims_in_the_notation_they_are_written_in(problem, claim, expected):
    found = verdict(problem, claim)
    assert found.verdict == expected, found.reason
