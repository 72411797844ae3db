"""The oracle tests can fail: swap a wrong rule into the table and they must see it."""

import pytest
from harness import SMALL, Case, failures
from sympy import Heaviside
from sympy.matrices.expressions import MatMul

from derive import nodes, rules
from derive.algebra import neg, transpose


@pytest.fixture
def restore_rules(monkeypatch):
    saved_vjp = dict(rules.VJP)
    yield monkeypatch  # a primitive's rule (its class's vjp) is swapped with monkeypatch, restored by it
    rules.VJP.clear()
    rules.VJP.update(saved_vjp)


def test_a_wrong_sigmoid_derivative_is_caught_by_every_oracle(restore_rules):
    restore_rules.setattr(nodes.Sigmoid, "derivative", staticmethod(lambda x, ans: ans * (1 + ans)))  # not 1 - ans
    found = failures(Case("rnn-softmax", {"activation": "sigmoid"}, 2, sizes=SMALL), "denominator", True)
    text = "\n".join(found)
    for oracle in ("SymPy", "finite differences", "autograd"):
        assert f"disagrees with {oracle}" in text


def test_a_wrong_relu_derivative_is_caught(restore_rules):
    restore_rules.setattr(nodes.ReLU, "derivative", staticmethod(lambda x, ans: Heaviside(-x, 0)))
    assert failures(Case("rnn-binary", {}, 3), "numerator", False)


def test_a_matmul_rule_with_the_wrong_sign_is_caught(restore_rules):
    right = rules.VJP[MatMul]
    rules.VJP[MatMul] = lambda g, f, ans: [None if x is None else neg(x) for x in right(g, f, ans)]
    assert failures(Case("rnn-softmax", {"activation": "tanh"}, 2), "denominator", False)


def test_the_unbroken_rules_pass():
    assert failures(Case("rnn-softmax", {"activation": "sigmoid"}, 2, sizes=SMALL), "denominator", True) == []


def test_a_transposed_kernel_gradient_is_caught(restore_rules):
    right = nodes.Conv2d.vjp
    restore_rules.setattr(nodes.Conv2d, "vjp", staticmethod(
        lambda g, f, ans: [transpose(right(g, f, ans)[0]), *right(g, f, ans)[1:]]))
    assert failures(Case("conv-dense", {}, 1), "denominator", True)


def test_a_shared_bias_without_the_sum_over_positions_is_caught(restore_rules):
    # seed 000's slip: dL/db_1 taken from one position of dL/dy_1 instead of their sum
    one_position = staticmethod(lambda g, f, ans: [nodes.RowSlice(g, 0, f.vec.shape[0]), None])
    restore_rules.setattr(nodes.Broadcast, "vjp", one_position)
    found = "\n".join(failures(Case("conv-dense", {}, 1), "denominator", True))
    assert "b_1" in found and "disagrees with SymPy" in found
