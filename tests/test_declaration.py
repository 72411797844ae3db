"""Declaring networks: shapes are checked, names are unique, options are validated, and the
families build each option into the forward pass they promise."""

import numpy as np
import pytest
from sympy import MatrixSymbol, Rational, Symbol

from derive import ops, presets
from derive.network import DeclarationError, Network
from derive.nodes import lowered
from derive.printing.unicode import UnicodePrinter


def test_shape_mismatch_is_refused():
    net = Network("bad", dict(n=3, d=2, T=3))
    n, d = net.sizes("n d")
    h = net.state("h", n)
    U = net.param("U", n, d)
    x = net.input("x", d)
    with pytest.raises(DeclarationError, match="shape"):
        net.step(h, ops.matmul(U.T, ops.matmul(U, x)))


def test_names_are_unique_identifiers():
    net = Network("bad", dict(n=3, T=3))
    (n,) = net.sizes("n")
    net.param("W", n, n)
    with pytest.raises(DeclarationError):
        net.param("W", n, n)
    with pytest.raises(DeclarationError):
        net.param("not a name", n, n)


def test_a_state_is_assigned_once_and_only_per_step():
    net = Network("bad", dict(n=2, T=3))
    (n,) = net.sizes("n")
    h = net.state("h", n)
    net.step(h, ops.tanh(h.prev))
    with pytest.raises(DeclarationError, match="twice"):
        net.step(h, ops.tanh(h.prev))
    static = Network("static", dict(n=2), sequential=False)
    with pytest.raises(DeclarationError):
        static.state("h", n)


def test_invalid_option_combinations_say_why():
    with pytest.raises(DeclarationError, match="loss=ce needs output=softmax"):
        presets.build("rnn-softmax", {"output": "linear"})
    with pytest.raises(DeclarationError, match="needs loss_at=every"):
        presets.build("rnn-binary", {"reduction": "mean"})


def forward_text(name, settings=None):
    net = presets.build(name, settings)
    p = UnicodePrinter(net.notation, net.objective.name)
    return "; ".join(f"{p.doprint(a.target)} = {p.doprint(a.expr)}" for a in net.assignments)


def test_presets_are_the_design_forward_passes():
    assert forward_text("rnn-binary") == (
        "aₜ = b + W hₜ₋₁ + U xₜ; hₜ = ReLU(aₜ); z = V h_T + d; y_pred = σ(z); "
        "L = −(y_gt log y_pred + (1 − y_gt) log(1 − y_pred))")
    assert forward_text("rnn-softmax") == (
        "aₜ = U xₜ + W hₜ₋₁ + b; hₜ = σ(aₜ); oₜ = V hₜ + c; ŷₜ = softmax(oₜ); Lₜ = −yₜᵀ log ŷₜ; L = Σ[t=1..T] Lₜ")
    assert forward_text("rnn-d2l") == (
        "aₜ = W_hx xₜ + W_hh hₜ₋₁; hₜ = φ(aₜ); oₜ = W_qh hₜ; ℓₜ = ℓ(oₜ, yₜ); L = (1/T) (Σ[t=1..T] ℓₜ)")
    assert forward_text("mlp-l2") == (
        "z = W⁽¹⁾ x; h = φ(z); o = W⁽²⁾ h; L = ℓ(o, y); s = (λ/2) (‖W⁽¹⁾‖_F² + ‖W⁽²⁾‖_F²); J = L + s")


def test_options_change_the_forward_pass():
    text = forward_text("rnn-softmax", {"activation": "tanh", "biases": "off", "loss_at": "last"})
    assert "hₜ = tanh(aₜ)" in text and "+ b" not in text and "o = V h_T" in text
    assert "L = Σ" not in forward_text("rnn-softmax", {"loss_at": "last"})
    assert "(1/T)" in forward_text("rnn-softmax", {"reduction": "mean"})


def test_seed_001_has_a_row_V_and_a_scalar_bias():
    net = presets.build("rnn-binary")
    shapes = {p.name: p.shape for p in net.params}
    assert shapes["V"] == (1, Symbol("n", integer=True, positive=True)) and shapes["d"] == (1, 1)


def _cell():
    net = Network("cell", dict(n=3, d=2, k=2, T=3))
    n, d, k = net.sizes("n d k")
    W, U = net.param("W", n, n), net.param("U", n, d)
    return net, (n, d, k), W, U, net.input("x", d), net.state("h", n)


def test_operators_read_as_numpy_writes_them():
    net, _, W, U, x, h = _cell()
    f = net.step("f", ops.sigmoid(W @ h.prev + U @ x))
    assert lowered(1 - f) == ops.one_minus(f)  # was: TypeError, Mix of Matrix and Scalar symbols
    assert lowered(f * h.prev) == ops.hadamard(f, h.prev) and lowered(2 * f) == ops.matmul(2, f)
    assert lowered(-f) == ops.matmul(-1, f) and lowered(f / 2) == ops.matmul(Rational(1, 2), f)
    # a sum of two products keeps the order it is written in (SymPy's + would sort the terms)
    a = net.step("a", W @ h.prev + U @ x)
    assert UnicodePrinter(net.notation, "L").doprint(net.assignments[-1].expr) == "W hₜ₋₁ + U xₜ"
    assert a.name == "a"
    net.step("g", ops.tanh(W @ (f * h.prev)))
    assert UnicodePrinter(net.notation, "L").doprint(net.assignments[-1].expr) == "tanh(W (fₜ ⊙ hₜ₋₁))"


def test_a_product_of_two_columns_is_refused_not_read_as_a_matrix_product():
    net, _, W, U, x, h = _cell()
    f = net.step("f", ops.sigmoid(W @ h.prev + U @ x))
    with pytest.raises(DeclarationError, match="does not conform"):
        net.step("g", ops.tanh(ops.matmul(W, ops.matmul(f, h.prev))))  # was: printed as W fₜ hₜ₋₁
    with pytest.raises(TypeError, match="does not conform"):
        W @ x
    with pytest.raises(DeclarationError, match="a sum of matrices of different shapes"):
        net.step("s", ops.add(U @ x, x))
    with pytest.raises(DeclarationError, match="not a matrix expression"):
        net.step("z", 3)


def test_a_state_may_have_any_shape_expression():
    """A state with 2n rows (was: KeyError '2*n' when evaluated)."""
    from derive import oracles
    from derive.deriver import derive
    from derive.evaluate import backward, forward

    net = Network("wide", dict(n=2, d=2, T=3))
    n, d = net.sizes("n d")
    W, U, V = net.param("W", 2 * n, 2 * n), net.param("U", 2 * n, d), net.param("V", 1, 2 * n)
    x, h = net.input("x", d), net.state("h", 2 * n)
    net.step(h, ops.tanh(W @ h.prev + U @ x))
    l_t = net.step("l", ops.frobenius_sq(V @ h.now))
    net.let("L", ops.sum_over_time(l_t))
    point, _ = oracles.random_point(net, 3)
    ns = forward(net, point)
    grads = backward(derive(net), ns)
    auto, _ = oracles.autograd_gradients(net, point)
    assert ns["h"][3].shape == (4, 1) and all(np.allclose(grads[k], auto[k]) for k in grads)


def test_a_power_prints_with_its_exponent_grouped():
    """x ** 1/2 would compute x / 2."""
    from derive.nodes import Power
    from derive.printing.numpy import to_numpy

    x = MatrixSymbol("x", 2, 1)
    code = to_numpy(Power(x, Rational(1, 2)))
    assert code == "(x ** (1/2))"
    assert np.allclose(eval(code, {"x": np.array([[4.0], [9.0]])}), [[2.0], [3.0]])  # noqa: S307 - our own code
