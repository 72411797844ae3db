"""One namer: networks whose symbols are named like derive's own generated names, NumPy, Python
keywords or the module's locals still give correct gradients, in the evaluators and in generated
modules (checked against autograd through derive's forward pass)."""

import importlib.util
import itertools
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from modules import random_batch, reference, reused_gradients

from derive import Network, ops
from derive.codegen.plan import plan_module
from derive.codegen.render import render_module
from derive.deriver import derive

# Names that collide with something: generated names (h_in, dL_dh, h_stack, y_at), the module's
# locals and arguments (B, T, t, dtype, params, grads, loss), NumPy and Python (np, sum, lambda).
POOL = ["h_in", "dL_dh", "B", "T", "t", "n", "dtype", "np", "grads", "params", "loss", "sum", "lambda", "x", "h",
        "W", "dL_dh_in", "f_in", "inputs", "targets", "SIZES", "seed", "_sigmoid", "h_stack", "W_stack_h", "y_at",
        "o", "a", "k", "d", "dL_dW", "range", "sizes", "forward", "_matmul", "logsumexp_o", "dL_dL"]
ROLES = ["W_f", "U_f", "b_f", "W_h", "U_h", "V", "c", "x", "y", "h", "f", "g", "o", "l", "L"]
SIZE_POOL = ["n", "d", "k", "B", "t", "dtype", "h", "np", "x", "m"]
_folder = Path(tempfile.mkdtemp(prefix="derive-names-"))
_count = itertools.count()


def gated_cell(names: dict, sizes: dict) -> Network:
    """A minimal gated unit whose every symbol and size is named by ``names`` and ``sizes``."""
    net = Network("named", sizes={sizes["n"]: 3, sizes["d"]: 2, sizes["k"]: 2, "T": 3})
    n, d, k = net.sizes(f"{sizes['n']} {sizes['d']} {sizes['k']}")
    p = {role: net.param(names[role], *shape) for role, shape in
         [("W_f", (n, n)), ("U_f", (n, d)), ("b_f", (n,)), ("W_h", (n, n)), ("U_h", (n, d)), ("V", (k, n)),
          ("c", (k,))]}
    x, y, h = net.input(names["x"], d), net.target(names["y"], k, "onehot"), net.state(names["h"], n)
    f = net.step(names["f"], ops.sigmoid(p["W_f"] @ h.prev + p["U_f"] @ x + p["b_f"]))
    g = net.step(names["g"], ops.tanh(p["W_h"] @ (f * h.prev) + p["U_h"] @ x))
    net.step(h, (1 - f) * h.prev + f * g)
    o = net.step(names["o"], p["V"] @ h.now + p["c"])
    loss_t = net.step(names["l"], ops.cross_entropy(ops.softmax(o), y))
    net.let(names["L"], ops.sum_over_time(loss_t))
    return net


def load(net):
    sizes = {k: v for k, v in net.sizes_default.items() if k != "T"}
    path = _folder / f"named_{next(_count)}.py"
    path.write_text(render_module(plan_module(derive(net), sizes)))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.permutations(POOL), st.permutations(SIZE_POOL))
def test_any_valid_names_give_the_same_gradients(pool, size_pool):
    names = dict(zip(ROLES, pool, strict=False))
    sizes = dict(zip(["n", "d", "k"], size_pool, strict=False))
    net = gated_cell(names, sizes)
    module = load(net)
    params, inputs, targets = random_batch(net, module, steps=3, batch=2, seed=5)
    assert set(params) == {names[r] for r in ROLES[:7]}
    loss, grads = reused_gradients(module, params, inputs, targets)
    ref_loss, ref = reference(net, params, inputs, targets, 3)
    assert abs(loss - ref_loss) < 1e-10
    for key in ref:
        assert np.allclose(grads[key], ref[key], atol=1e-10, rtol=0), (key, names, sizes)
    outputs = module.forward(params, inputs)
    assert names["h"] in outputs and outputs[names["h"]].shape == (3, 2, 3)


@pytest.mark.parametrize("spelled", [
    # a variable h_in beside a state h (was: two arrays named dL_dh_in, ∂L/∂W and ∂L/∂U silently wrong)
    ["W", "U", "b", "W2", "U2", "V", "c", "x", "y", "h", "h_in", "dL_dh_in", "o", "l", "L"],
    # parameters called B, dtype and np (was: the module crashed)
    ["B", "dtype", "np", "T", "t", "grads", "loss", "x", "y", "h", "f", "g", "o", "l", "L"],
], ids=["h_in", "B-dtype-np"])
def test_names_that_collided_with_generated_ones_give_the_right_gradients(spelled):
    net = gated_cell(dict(zip(ROLES, spelled, strict=True)), {"n": "n", "d": "d", "k": "k"})
    module = load(net)
    params, inputs, targets = random_batch(net, module, steps=3, batch=3, seed=2)
    loss, grads = reused_gradients(module, params, inputs, targets)
    ref_loss, ref = reference(net, params, inputs, targets, 3)
    assert abs(loss - ref_loss) < 1e-10 and all(np.allclose(grads[key], ref[key], atol=1e-10) for key in ref)
