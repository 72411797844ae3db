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


def test_goodfellows_transposed_jacobians_beside_gradients_as_columns():
    """Goodfellow et al. (10.21) and derive's own documents write ∂L/∂h_t = (∂h_{t+1}/∂h_t)ᵀ ∂L/∂h_{t+1}
    + …: gradients as columns, a Jacobian ∂y/∂x shaped y by x. Read so, it is right; the reason
    names the convention; dropping the loss's own term is still wrong."""
    recurrence = (r"\frac{\partial L}{\partial h_t} = \left(\frac{\partial h_{t+1}}{\partial h_t}\right)^\top "
                  r"\frac{\partial L}{\partial h_{t+1}}")
    right = verdict_of("rnn-softmax", recurrence + r" + V^\top (\hat{y}_t - y_t) \quad (t < T)")
    assert right.verdict == "correct" and "Jacobians ∂y/∂x shaped y by x" in right.reason, right.reason
    assert verdict_of("rnn-softmax", recurrence + r" \quad (t < T)").verdict == "incorrect"
    # a file that declares the denominator layout reads Jacobians shaped x by y: there the transpose is wrong
    _, (strict,) = check_answers(None, "rnn-softmax", "denominator",
                                 (recurrence + r" + V^\top (\hat{y}_t - y_t) \quad (t < T)",))
    assert strict.verdict == "incorrect", strict.reason


def test_a_bptt_double_sum_read_in_any_layout_does_not_fail_inside():
    """Σ_t Σ_k ∂L_t/∂h_t ∂h_t/∂h_k ∂h_k/∂W: trying the edits (a sum from 0) once asked for ∂h_0/∂W
    and failed with a KeyError ('derive could not check it')."""
    claim = (r"\frac{\partial L}{\partial W} = \sum_{t=1}^{T} \left(\sum_{k=1}^{t} "
             r"\frac{\partial L_{t}}{\partial h_{t}} \frac{\partial h_{t}}{\partial h_{k}} "
             r"\frac{\partial h_{k}}{\partial W}\right)")
    assert verdict_of("rnn-softmax", claim).verdict == "correct"
    _, (strict,) = check_answers(None, "rnn-softmax", "denominator", (claim,))
    assert strict.verdict in ("incorrect", "unchecked") and "could not check" not in strict.reason, strict.reason


@pytest.mark.parametrize("preset,layout", [("rnn-softmax", "denominator"), ("rnn-softmax", "numerator"),
                                           ("mlp-l2", "denominator")])
def test_every_equation_of_the_document_reads_back_and_is_correct(preset, layout, tmp_path):
    """The round trip: what `derive latex` writes, checked as a student's answer file, is right."""
    from derive.cli import main

    tex = tmp_path / "doc.tex"
    assert main(["latex", preset, "--layout", layout, "-o", str(tex)]) == 0
    answers = tmp_path / "doc.md"
    answers.write_text(f"---\nmodel: {preset}\n---\n" + tex.read_text().split(r"\begin{document}")[1])
    _, verdicts = check_answers(str(answers), None, None, ())
    assert len(verdicts) >= 6
    assert [(v.line, v.reason) for v in verdicts if v.verdict != "correct"] == []
