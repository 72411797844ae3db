"""105 claims of our own across the presets (tests/claims/*.md), half of them wrong in the ways
students go wrong, each verdict pinned; no wrong claim may be called correct."""

from pathlib import Path

import pytest

from derive.check.run import check_answers

CLAIMS = Path(__file__).resolve().parent / "claims"
C, X, K = "correct", "incorrect", "conditional"

# (verdict, a phrase the reason must contain) per claim, in file order. The wrong ones are the
# second half of each file. A claim right only if the activation were the identity is conditional
# where the problem leaves the activation open (a generic φ, f) and incorrect where it names one
# (σ, ReLU); one right only at t = T is incorrect (DESIGN.md, "Answer files").
EXPECTED = {
    "rnn-softmax": [(C, "")] * 11 + [
        (X, "sign is flipped"), (X, "h_{t-1} is replaced by h_{t}"), (X, "W is transposed"),
        (X, "identity, and it is"), (X, "h_{t} is replaced by h_{t-1}"), (X, "whole right side is transposed"),
        (X, "index is wrong"), (X, "starts at k+1"), (X, ""), (X, "identity, and it is"),
        (X, "factor 1/T is dropped")],
    "rnn-binary": [(C, "")] * 8 + [
        (X, "sign is flipped"), (X, r"\mathbf{h}_{T-1} is replaced by \mathbf{h}_{T}"), (X, ""),
        (X, "identity, and it is"), (X, r"\mathbf{h}_{t} is replaced by \mathbf{h}_{t-1}"),
        (X, "is dropped"), (X, "")],
    "rnn-d2l": [(C, "")] * 6 + [
        (X, "divided by T"), (K, "activation is the identity"), (X, "h_{t} is replaced by h_{t-1}"),
        (X, "whole right side is transposed"), (K, "activation is the identity"), (X, "W_{qh} is transposed")],
    "mlp-l2": [(C, "")] * 6 + [
        (X, ""), (X, ""), (K, "activation is the identity"), (X, "W^{(2)} is transposed"), (X, "is transposed"),
        (X, ""), (X, "sign is flipped")],
    "conv-dense": [(C, "")] * 9 + [
        (X, "summed over the positions"), (K, "activation is the identity"), (X, "whole right side is transposed"),
        (K, "activation is the identity"), (X, "sign is flipped"), (X, "is entrywise (⊙)"), (K, "f' is missing"),
        (X, "4×4 kernel on a 2×2 image")],
    "lstm": [(C, "")] * 7 + [
        (X, "only at t = T"), (X, "f_{t} is replaced by f_{t+1}"), (X, "C_{t} is replaced by C_{t-1}"), (X, ""),
        (X, "sign is flipped"), (X, ""), (X, "")],
    "gru": [(C, "")] * 6 + [
        (X, ""), (X, "sign is flipped"), (X, "h_{t} is replaced by h_{t-1}"), (X, "whole right side is transposed"),
        (X, "sign is flipped"), (X, "")],
}


@pytest.mark.parametrize("preset", list(EXPECTED))
def test_pinned_verdicts_and_diagnoses(preset):
    model, verdicts = check_answers(str(CLAIMS / f"{preset}.md"), None, None, ())
    assert model == preset
    assert len(verdicts) == len(EXPECTED[preset])
    for verdict, (expected, phrase) in zip(verdicts, EXPECTED[preset], strict=True):
        assert verdict.verdict == expected, (verdict.line, verdict.latex, verdict.reason)
        assert phrase in verdict.reason, (verdict.line, verdict.reason)
        if expected == X:
            assert verdict.expected, verdict.line  # the correct form is shown


def test_the_suite_is_big_enough_and_half_wrong():
    total = sum(len(v) for v in EXPECTED.values())
    wrong = sum(1 for v in EXPECTED.values() for verdict, _ in v if verdict != C)
    assert total >= 60 and wrong >= total // 2


def test_no_wrong_claim_is_called_correct():
    for preset, expected in EXPECTED.items():
        _, verdicts = check_answers(str(CLAIMS / f"{preset}.md"), None, None, ())
        for verdict, (want, _) in zip(verdicts, expected, strict=True):
            if want != C:
                assert verdict.verdict != C, verdict.latex


def test_softmax_prime_is_read_as_its_jacobian():
    # softmax'(o) is diag(p) − p pᵀ (derive/primitives/softmax.py), not a vector applied entrywise
    jacobian = r"\frac{\partial L}{\partial o_t} = \operatorname{softmax}'(o_t) \frac{\partial L}{\partial \hat{y}_t}"
    entrywise = (r"\frac{\partial L}{\partial o_t} = "
                 r"\hat{y}_t \odot (1 - \hat{y}_t) \odot \frac{\partial L}{\partial \hat{y}_t}")
    _, verdicts = check_answers(None, "rnn-softmax", None, (jacobian, entrywise))
    assert [v.verdict for v in verdicts] == [C, X]
