"""Issue 18, documents a TA hands out as they are: sentences true for the network at hand."""

from __future__ import annotations

from derive import presets
from derive.deriver import derive
from derive.latexdoc import latex_document
from derive.report import TerminalReport


def document(name, lang="en", layout="denominator"):
    net = presets.PRESETS[name].build()
    return latex_document(derive(net, layout), net.sizes_default.get("T", 3), lang)


def test_no_time_words_without_time():
    for name in ("mlp-l2", "conv-dense"):
        assert "every step at which" not in document(name)
    assert "every step at which" in document("rnn-softmax")


def test_the_product_order_is_a_convention_not_the_only_conformable_one():
    text = document("rnn-softmax")
    assert "only order in which it is conformable" not in text
    assert "the other order would conform too" in text
    assert "唯一维数相容" not in document("rnn-softmax", "zh")


def test_show_never_elides_a_single_term():
    net = presets.PRESETS["rnn-softmax"].build()
    assert "1 more terms" not in TerminalReport(derive(net), 3).render()  # 6 terms: all shown
    assert "⋯ 5 more terms ⋯" in TerminalReport(derive(net), 4).render()


def test_minus_signs_are_minus_signs():
    net = presets.PRESETS["rnn-softmax"].build({"reduction": "mean"})
    shown = TerminalReport(derive(net), 3).render()
    assert "(−1/T)" in shown and "(-1/T)" not in shown


def test_no_tautological_step_and_rules_in_the_models_own_symbols():
    for lang in ("en", "zh"):
        text = document("rnn-binary", lang)
        tautology = (r"\frac{\partial \mathcal{L}}{\partial y_{\text{pred}}} &= "
                     r"\frac{\partial \mathcal{L}}{\partial y_{\text{pred}}}")
        assert tautology not in text
        assert r"y_{\text{pred}}(1 - y_{\text{pred}})" in text and r"y_{\text{pred}} - y_{\text{gt}}" in text
        assert "p(1 - p)" not in text
    assert r"\hat{y}_{t} - y_{t}$, because" in document("rnn-softmax")


def test_rule_labels_name_the_rule_that_acts():
    """C_t = f_t ⊙ C_{t-1} + i_t ⊙ C̃_t: ∂L/∂i_t comes from the entrywise product, not a 'sum'
    (easy to read as the sum over t); an addition is named only where it is all there is."""
    text = document("lstm")
    assert r"The derivative with respect to $i_{t}$ (rules: entrywise product)" in text
    assert "(rules: sum)" not in text
    net = presets.PRESETS["lstm"].build()
    shown = TerminalReport(derive(net), 3).render()
    assert "sum ∘" not in shown and "∂L/∂V via sₜ  [matrix product]" in shown
    assert "∂L/∂c via sₜ  [addition]" in shown
