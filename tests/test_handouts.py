"""Issue 18, documents a TA hands out as they are: sentences true for the network at hand."""

from __future__ import annotations

import re
from pathlib import Path

from derive import presets
from derive.deriver import derive
from derive.latexdoc import latex_document
from derive.report import TerminalReport

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


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


DOCUMENTS = [(name, lang, layout) for name in presets.PRESETS for lang, layout in
             (("en", "denominator"), ("en", "numerator"), ("zh", "denominator"))]


def test_title_and_front_matter_speak_of_the_network_not_the_tool():
    for name, lang, layout in DOCUMENTS:
        text = document(name, lang, layout)
        assert r"\author{}" in text and r"\texttt" not in text, (name, lang)
        assert "homework" not in text and "作业" not in text and "Options" not in text and "选项" not in text
        assert name not in text.split(r"\begin{document}")[0], (name, lang)  # no preset name in the title
    assert r"\title{Gradients of an LSTM network}" in document("lstm")
    assert r"\title{循环神经网络的梯度推导}" in document("rnn-softmax", "zh")
    intro = document("rnn-softmax")
    assert (r"a recurrent network with $\sigma$ as activation, a $\operatorname{softmax}$ output and the "
            r"cross-entropy loss summed over the steps.") in intro
    assert r"the constant $\lambda = 0.1$" in document("mlp-l2")
    assert "a convolution with stride 1 and no padding" in document("conv-dense")
    assert "binary cross-entropy loss at the last step" in document("rnn-binary")


def test_a_file_model_is_described_from_its_nodes():
    from derive import source

    net = source.resolve(str(EXAMPLES / "mgu.py")).build({})
    text = latex_document(derive(net), 3, "en")
    assert r"\title{Gradients of a recurrent network}" in text
    assert r"$\sigma$ and $\tanh$ as activations, a $\operatorname{softmax}$ output" in text  # softmax inside the loss

    def intro(path):
        net = source.resolve(str(EXAMPLES / path)).build({})
        return latex_document(derive(net), 3, "en").split("the forward pass is")[0]

    attention = intro("attention_rnn.py")  # the loss reads z = Σ_t α_t h_t: neither per step nor at T
    assert "the cross-entropy loss." in attention and "last step" not in attention and r"\exp" not in attention
    birnn = latex_document(derive(source.resolve(str(EXAMPLES / "birnn.py")).build({})), 3, "en")
    assert "the sums below transpose" not in birnn  # no BPTT section to refer to


def test_generic_rules_name_no_symbol_the_model_lacks():
    text = document("conv-dense")
    assert "(rules: generic loss)" in text and "(rules: generic function)" in text
    assert r"\partial \ell/\partial o" not in text and r"\phi'" not in text
    net = presets.PRESETS["rnn-softmax"].build({"reduction": "mean"})
    shown = TerminalReport(derive(net), 3).render()
    assert "∂L/∂Lₜ via L  [scaling ∘ sum over t]: 1/T" in shown and "matrix product ∘ sum" not in shown


def test_notation_is_defined_where_the_network_is_stated():
    def defined(name):
        text = document(name)
        network = text.split(r"\section{Conventions}")[0]
        return network.split("Notation:")[1] if "Notation:" in network else ""

    lstm = defined("lstm")
    assert r"$[\mathbf{v}]_{i:j}$ is the column" in lstm and r"$[W]_{:,i:j}$ is the block" in lstm
    assert "stacks two columns" in lstm and "a matrix written in blocks" in lstm
    conv = defined("conv-dense")
    assert r"$\operatorname{conv}(w, z)$ is the valid cross-correlation" in conv
    assert r"$\mathbf{1}_{P}$ is the column of $P$ ones" in conv
    assert r"$\mathbb{I}(\cdot)$ is 1 where" in defined("rnn-binary")
    assert "cross-correlation" not in defined("rnn-softmax") and "[W]_{:,i:j}" not in defined("rnn-softmax")
    # the product order is a convention stated before any product is written
    text = document("rnn-softmax")
    assert text.index(r"a product $\prod$ of step Jacobians runs over its index decreasing") < text.index(r"\prod_")


def test_the_prose_writes_the_state_as_the_equations_do():
    italic = document("rnn-softmax")
    assert r"\mathbf{h}" not in italic and r"the adjoint of $h_{k}$" in italic
    assert r"the adjoint of $\mathbf{h}_{k}$" in document("rnn-binary")
    assert "reaches $h_{t}$ through" in italic and "the loss at the last step reaches" in document("rnn-binary")
    # the objective is named as the equations name it (𝓛 in seed 001), in every convention sentence
    binary = document("rnn-binary", layout="numerator")
    assert r"Numerator layout: $\partial \mathcal{L}/\partial \mathbf{u}$" in binary
    assert r"the row of $\partial \mathcal{L}/\partial W$" in binary and r"\partial L/" not in binary


def test_denominator_documents_say_why_their_sums_transpose_the_products():
    sentence = "the chain rule multiplies by its transpose, so the sums below transpose the products"
    assert sentence in document("rnn-softmax") and sentence in document("lstm")
    assert sentence not in document("rnn-softmax", layout="numerator")


def test_the_lstm_has_its_bptt_section_and_closed_form():
    """Seed 003 asks for both. The numbers are the oracles' business (tests/test_oracles.py runs
    every LSTM variant's double sums and closed form against autograd and finite differences)."""
    for lang in ("en", "zh"):
        text = document("lstm", lang)
        assert r"z_{t} &= \begin{bmatrix} h_{t} \\ C_{t} \end{bmatrix}" in text
        assert r"\frac{\partial L}{\partial z_{t}} &= \sum_{u=t}^{T}" in text  # s is the LSTM's output
        assert r"\frac{\partial L}{\partial W_{f}} &= \sum_{t=1}^{T} \left(\sum_{k=1}^{t}" in text
        assert "(t, k) = (3, 1)" in text
    assert "what the loss reads at every step $u \\ge t$ reaches $z_{t}$" in document("lstm")
    assert r"the block of $C_{t}$ leaves out the paths through $h_{t}$" in document("lstm")
    shown = TerminalReport(derive(presets.PRESETS["lstm"].build()), 3).render()
    assert "zₜ      = [hₜ; Cₜ]" in shown and "∂L/∂zₜ  = Σ[u=t..T]" in shown
    assert "Backprop through time, unrolled for T = 3 (6 terms per parameter)" in shown
    assert "∂L/∂W_f = Σ[t=1..T] (Σ[k=1..t] ∂Lₜ/∂zₜ ∂zₜ/∂zₖ ∂zₖ/∂W_f)" in shown


def test_long_terms_leave_no_factor_alone_on_a_line():
    from derive.printing.latex_layout import ORPHAN_EM, width

    for name, lang, layout in DOCUMENTS:
        for line in document(name, lang, layout).splitlines():
            if line.startswith(r"&\quad "):
                body = line[len(r"&\quad "):].removesuffix(r" \\").split(r"\qquad")[0]
                assert width(body) >= ORPHAN_EM or body.startswith(("+", "-", r"\cdots", r"\odot")), (name, line)


def test_broken_parentheses_are_as_tall_as_what_they_hold():
    from derive.printing.latex_layout import _delimiter_size

    assert _delimiter_size([r"a \odot", r"\frac{\partial L}{\partial h}"]) == "Big"
    assert _delimiter_size([r"\begin{bmatrix} h \\ x \end{bmatrix}", "b"]) == "bigg"
    assert _delimiter_size(["a", "b"]) == "big"
    for name, lang, layout in DOCUMENTS:
        text = document(name, lang, layout)
        for size, body in re.findall(r"\\(big|Big|bigg)l\((.*?)\\\1r\)", text, flags=re.S):
            assert size == _delimiter_size([body]), (name, size, body[:80])


def test_the_conv_kernel_layout_is_documented_and_true():
    """The docstring's layout, row k·o + u and column k·c + v for output channel o, input channel c
    and kernel entry (u, v), checked against a cross-correlation written out with loops."""
    import numpy as np
    from modules import load

    settings = (("c_in", "2"), ("c_out", "3"))
    module = load("conv-dense", settings)
    doc = module.__doc__
    assert "w_1 (9, 6) with row 3·o + u, column 3·c + v holding output channel o's weight on input" in " ".join(
        doc.split())
    rng = np.random.default_rng(0)
    params = module.init_params(seed=1)
    size = 4
    image = rng.standard_normal((1, 2 * size * size))
    kernel = rng.standard_normal((3, 2, 3, 3))  # (o, c, u, v)
    params["w_1"] = np.zeros((9, 6))
    for o, c, u, v in np.ndindex(kernel.shape):
        params["w_1"][3 * o + u, 3 * c + v] = kernel[o, c, u, v]
    params["b_1"] = np.zeros(3)
    pixels = image.reshape(2, size, size)
    conv = np.array([[[sum(kernel[o, c, u, v] * pixels[c, i + u, j + v] for c in range(2) for u in range(3)
                           for v in range(3)) for j in range(2)] for i in range(2)] for o in range(3)])
    first = np.tanh(conv.reshape(-1))  # z_1 = f(conv + b) with f = tanh in the module
    w_2 = params["w_2"]
    expected = np.tanh(np.tanh(first @ w_2) @ params["w_3"])
    got = module.forward(params, {"z_0": image})["z_3"][0]
    assert np.allclose(got, expected, atol=1e-12)


def test_every_unrolled_term_writes_its_product_the_same_way():
    """(2, 1) as (3, 1): the Jacobian product transposed as a whole, (J₂)ᵀ beside (J₃ J₂)ᵀ."""
    text = document("rnn-softmax")
    assert r"(t, k) = (2, 1) &\colon \left(\left(\left(\operatorname{diag}(\sigma'(a_{2})) W\right)^{\top}" in text
    assert (r"\left(\left(\operatorname{diag}(\sigma'(a_{3})) W \operatorname{diag}(\sigma'(a_{2})) "
            r"W\right)^{\top}") in text
    assert r"W^{\top} \operatorname{diag}(\sigma'(a_{2}))" not in text.split("(t, k) = (2, 1)")[1].split("(t, k)")[0]
