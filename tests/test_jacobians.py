"""dh_t/dh_{t-1} and dh_t/dh_k = prod diag(sigma'(a_i)) W against finite differences of the
forward pass (perturbing h_k through a probe and watching h_t)."""

import numpy as np
import pytest
from harness import close

from derive import oracles, presets
from derive.deriver import derive
from derive.evaluate import forward, value
from derive.nodes import k as k_sym
from derive.nodes import t as t_sym


def fd_jacobian(net, point, state, upper, lower, eps=1e-6):
    """d state_upper / d state_lower by central differences through a probe on state_lower."""
    base = forward(net, point)
    size = base[state][lower].shape[0]
    columns = []
    for j in range(size):
        moved = []
        for sign in (1, -1):
            probe = {tt: np.zeros_like(v) for tt, v in base[state].items()}
            probe[lower][j, 0] = sign * eps
            moved.append(forward(net, point, probes={state: probe})[state][upper])
        columns.append((moved[0] - moved[1]).ravel() / (2 * eps))
    return np.stack(columns, axis=1)


@pytest.mark.parametrize("preset", ["rnn-binary", "rnn-softmax", "rnn-d2l"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "identity", "generic"])
def test_step_jacobian_and_products(preset, activation):
    net = presets.build(preset, {"activation": activation})
    derivation = derive(net)
    point, _ = oracles.random_point(net, 4, seed=5)
    ns = forward(net, point)
    state = derivation.state_names[0]
    for upper in range(1, 5):
        ns["t"] = upper
        one_step = value(derivation.step_jacobian(state), ns)
        assert close(one_step, fd_jacobian(net, point, state, upper, upper - 1), 1e-6)
        for lower in range(1, upper + 1):
            ns["t"], ns["k"] = upper, lower
            product = value(derivation.jacobian_product(state, t_sym, k_sym), ns)
            assert close(product, fd_jacobian(net, point, state, upper, lower), 1e-6)


def test_jacobian_product_is_in_decreasing_order():
    """The product reads J_t J_{t-1} ... J_{k+1}; the reverse order is a different matrix."""
    net = presets.build("rnn-softmax", {"activation": "tanh"})
    derivation = derive(net)
    point, _ = oracles.random_point(net, 3, seed=2)
    ns = forward(net, point)
    factors = []
    for i in (3, 2):
        ns["t"] = i
        factors.append(value(derivation.step_jacobian("h"), ns))
    ns["t"], ns["k"] = 3, 1
    product = value(derivation.jacobian_product("h", t_sym, k_sym), ns)
    assert close(product, factors[0] @ factors[1], 1e-12)
    assert not close(product, factors[1] @ factors[0], 1e-6)
