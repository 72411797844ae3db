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


RIGHT_C = r"\sum_{t=1}^T (\hat{y}_t - y_t)"  # rnn-softmax's ∂L/∂c
WRONG_C = r"\sum_{t=1}^T (y_t - \hat{y}_t)"


@pytest.mark.parametrize("lhs", [
    r"\nabla_{c} L", r"\nabla_{\mathbf{c}} L", r"\nabla_c L", r"\partial_{c} L", r"\partial L / \partial c",
    r"\partial L/\partial \mathbf{c}", r"\frac{\partial L}{\partial c}"])
def test_a_gradient_written_with_nabla_a_subscript_or_a_slash(lhs):
    """∇_c L, ∂_c L and ∂L/∂c are the derivative \\frac{∂L}{∂c}: judged, right and wrong."""
    right = verdict_of("rnn-softmax", f"{lhs} = {RIGHT_C}")
    wrong = verdict_of("rnn-softmax", f"{lhs} = {WRONG_C}")
    assert (right.verdict, wrong.verdict) == ("correct", "incorrect"), (right.reason, wrong.reason)
    assert "sign" in wrong.reason


@pytest.mark.parametrize("rhs", [
    r"\sum_t (\hat{y}_t - y_t)", r"\sum\limits_{t=1}^T (\hat y_t - y_t)", r"\sum_{t=1}^{T} (\widehat{y}_t - y_t)",
    r"\sum_{t=1}^{T} (\hat{y_t} - y_t)", r"\sum_{t=1}^{T} (\boldsymbol{\hat{y}}_t - \mathbf{y}_t) \in \mathbb{R}^{k}",
    r"\sum_{t=1}^{T} \partial L / \partial o_t"])
def test_sums_and_hats_as_textbooks_write_them(rhs):
    assert verdict_of("rnn-softmax", rf"\frac{{\partial L}}{{\partial c}} = {rhs}").verdict == "correct"
    wrong = rhs.replace("- y_t", "+ y_t").replace("- \\mathbf{y}_t", "+ \\mathbf{y}_t")
    if wrong != rhs:
        assert verdict_of("rnn-softmax", rf"\frac{{\partial L}}{{\partial c}} = {wrong}").verdict == "incorrect"


@pytest.mark.parametrize("spelled", [r"\mathbf{W}_\textrm{qh}", r"\mathbf{W_{qh}}", r"\mathbf{W}_{qh}", "W_{qh}"])
def test_d2l_spellings_of_a_weight(spelled):
    """d2l writes \\mathbf{W}_\\textrm{qh} (an unbraced font subscript); others \\mathbf{W_{qh}}."""
    right = verdict_of("rnn-d2l", rf"\frac{{\partial L}}{{\partial {spelled}}} = \sum_{{t=1}}^T "
                                  r"\frac{\partial L}{\partial \mathbf{o}_t} \mathbf{h}_t^\top")
    wrong = verdict_of("rnn-d2l", rf"\frac{{\partial L}}{{\partial {spelled}}} = \sum_{{t=1}}^T "
                                  r"\frac{\partial L}{\partial \mathbf{o}_t} \mathbf{h}_{t-1}^\top")
    assert (right.verdict, wrong.verdict) == ("correct", "incorrect"), (right.reason, wrong.reason)


def verdict_of(model, claim):
    _, (found,) = check_answers(None, model, None, (claim,))
    return found


def test_claims_in_align_environments_with_tags_and_joined_by_and(tmp_path):
    """MathJax's $$\\begin{align}…\\end{align}$$ with \\tag{}, and two equations joined by
    \\; \\textrm{and} \\; (once mis-split into one wrong claim): each equation its own claim."""
    path = tmp_path / "answers.md"
    path.write_text("---\nmodel: rnn-softmax\n---\n"
                    r"$$\begin{align} \frac{\partial L}{\partial c} &= " + RIGHT_C + r" \tag{1} \\ "
                    r"\frac{\partial L}{\partial V} &= \sum_{t=1}^T (\hat{y}_t - y_t) h_t^T \tag{2} \end{align}$$" "\n"
                    r"$$\frac{\partial L}{\partial c} = " + WRONG_C + r" \; \textrm{and} \; "
                    r"\frac{\partial L}{\partial V} = \sum_{t=1}^T (\hat{y}_t - y_t) h_t^T$$" "\n")
    _, verdicts = check_answers(str(path), None, None, ())
    assert [(v.line, v.verdict) for v in verdicts] == [(4, "correct"), (4, "correct"), (5, "incorrect"),
                                                        (5, "correct")], [v.reason for v in verdicts]
