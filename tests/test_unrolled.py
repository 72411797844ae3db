"""BPTT over several states (the stack z_t = [h_t; C_t]) and the closed form of its adjoint, on
networks written to break them: a state reaching another of the same step through an
intermediate (peepholes, m_t = tanh(h1_t) read by h2_t and the loss), the loss reading both
states, the loss at the last step only, a head on h_T beside the loss at every step, a network
naming its output z. Each is checked by tests/harness.py against autograd, finite differences
and, for the closed form's blocks, within-step finite-difference Jacobians (a second reader's
models; every one failed before the fix of the loss's share at a step)."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import Case, failures

from derive import source
from derive.deriver import derive

MODELS = sorted(str(p) for p in (Path(__file__).parent / "unrolled").glob("*.md"))


@pytest.mark.parametrize("layout", ["denominator", "numerator"])
@pytest.mark.parametrize("model", MODELS + ["lstm"], ids=lambda m: Path(m).stem)
@pytest.mark.parametrize("steps", [1, 3])
def test_double_sums_and_closed_form_match_the_oracles(model, layout, steps):
    settings = {"peepholes": "on"} if model == "lstm" else {}
    assert failures(Case(model, settings, steps, seed=steps), layout, with_sympy=False) == []


def test_the_stack_and_the_closed_forms_sum_index_name_nothing_else():
    d = derive(source.resolve(str(Path(__file__).parent / "unrolled" / "stacked_z.md")).build({}))
    names = {d.stacked_state.name, str(d.closed_form_index), str(d.product_index)}
    assert len(names) == 3 and not names & (d.network.variable_names | {"z", "y", "x"})


def test_a_head_on_the_last_state_is_in_every_sum_a_reader_sees():
    """rnn_both: a loss at every step and ½‖A h_T‖²; the head appears in the general double sum,
    the closed form and the grouping identity, not only in the numbers."""
    from derive.latexdoc import latex_document
    from derive.report import TerminalReport

    d = derive(source.resolve(str(Path(__file__).parent / "unrolled" / "rnn_both.md")).build({}))
    shown = TerminalReport(d, 3).render()
    general = next(line for line in shown.splitlines() if line.startswith("  ∂L/∂W = Σ[t=1..T] (Σ[k=1..t]"))
    assert "+ Σ[k=1..T]" in general and "Aᵀ r" in general
    bptt = latex_document(d, 3, "en").split("Backpropagation through time for")[1]
    grouping = bptt.split("is the adjoint of")[1]
    assert r"A^{\top} r" in grouping
