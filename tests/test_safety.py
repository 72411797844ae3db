"""Issue 20: no internal error reaches a user dressed as a verdict — each input below once gave
`unchecked: derive could not check it (KeyError | AttributeError | MemoryError)`."""

from __future__ import annotations

import pytest

from derive import presets
from derive.check.judge import Checker
from derive.check.reader import claims_in_math


def verdict(model, latex):
    checker = Checker(presets.PRESETS[model], "auto", {}, {})
    (claim,) = claims_in_math(latex, 1)[0]
    return checker.check(claim)


@pytest.mark.parametrize("model, latex, verdict_, reason", [
    # the sum's t is bound inside it only; h_t's t is still t after it (was KeyError 't')
    ("rnn-softmax", r"\frac{\partial L}{\partial h_t} = \sum_{t=1}^{T} \hat{y}_t - y_t", "incorrect", "2×1"),
    # λ is a constant of mlp-l2: there is no gradient to compare with (was AttributeError)
    ("mlp-l2", r"\frac{\partial J}{\partial \lambda} = 1", "unchecked", "λ is a constant of the model"),
    # ℓ(o, y) on the right is the loss, a number (was AttributeError: Evaluator._tuple)
    ("rnn-d2l", r"\frac{\partial L}{\partial o_t} = \ell(o_t, y_t)", "unchecked", "the loss itself"),
    # an identity larger than anything (was MemoryError after minutes)
    ("rnn-softmax", r"\frac{\partial L}{\partial c} = I_{99999} c", "unchecked", "larger than any matrix"),
])
def test_once_internal_errors(model, latex, verdict_, reason):
    found = verdict(model, latex)
    assert found.verdict == verdict_ and reason in found.reason, found.reason
    assert "could not check it" not in found.reason
