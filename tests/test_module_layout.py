"""How a generated module does its work: the NumPy calls per step and the memory it holds.

Correctness of every layout is the business of test_numpy_modules.py (autograd, finite
differences, PyTorch). These tests pin what makes the modules fast and lean, so that a change
that quietly undoes it fails: one GEMM and one σ call per LSTM step, one product for the three
gates that multiply ∂L/∂C_t, tanh(C_t) computed once,
and the peak memory of ``gradients`` within 1.5× the activations a BPTT must keep.
"""

from __future__ import annotations

import itertools
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from derive import presets, source
from derive.codegen.numpy_module import numpy_module
from tests.modules import load


def _loop_body(source: str, function: str, backward: bool) -> str:
    """The statements (comments dropped) of the forward or the backward loop of ``function``."""
    body = source.split(f"def {function}(")[1].split("\n\n\ndef ")[0]
    marker = "for t in range(T - 1, 0, -1):" if backward else "for t in range(1, T + 1):"
    loop = body.split(marker)[1]
    lines = []
    for line in loop.splitlines()[1:]:
        if line and not line.startswith("        "):
            break
        if line.strip() and not line.strip().startswith("#"):
            lines.append(line.strip())
    return "\n".join(lines)


LSTM_OPTIONS = [dict(zip(("weights", "biases"), combo, strict=True))
                for combo in itertools.product(("concat", "separate"), ("on", "off"))]


@pytest.mark.parametrize("settings", LSTM_OPTIONS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_an_lstm_step_is_one_gemm_and_one_sigmoid_call_each_way(settings):
    source = numpy_module(presets.get("lstm"), settings)
    forward = _loop_body(source, "gradients", backward=False)
    # all four gates' h-blocks in one product, by np.dot (matmul's broadcasting costs ~0.4 µs a call)
    assert forward.count("np.dot(") == 1 and " @ " not in forward, forward
    assert forward.count("_sigmoid(") == 1, forward  # f, i and o in one call
    assert forward.count("np.tanh(") == 2, forward  # C̃_t and tanh(C_t), nothing twice
    assert forward.count("+=") == 2, forward  # the input parts in one add, and C_t's second term
    backward = _loop_body(source, "gradients", backward=True)
    assert backward.count("np.dot(") == 1 and " @ " not in backward, backward  # Σ_g W_gᵀ ∂L/∂a_{g,t+1}
    assert "tanh" not in backward and "*(1 - " not in backward, backward  # stored factors, hoisted
    # ∂L/∂a_o = … ⊙ ∂L/∂h_t, then ∂L/∂a_f, ∂L/∂a_i, ∂L/∂a_C = … ⊙ ∂L/∂C_t in one product over
    # their columns side by side (the stack orders its blocks [o, f, i, C] for it)
    assert backward.count("np.multiply(") == 1, backward
    assert backward.count("dL_dh_stack_times_dL_dC[t - 1] *= dL_dC[:, None]") == 1, backward


def test_a_gru_step_applies_sigma_once_to_both_gates():
    forward = _loop_body(numpy_module(presets.get("gru")), "gradients", backward=False)
    assert forward.count("_sigmoid(") == 1, forward


def test_a_user_declared_torch_gru_step_is_one_gemm_and_one_sigmoid_call():
    """The passes are generic: a GRU in PyTorch's convention (two biases per gate, b_hn inside
    the reset product) stacks its input parts too, b_hn among them, so that σ of r and z is one
    call and each step adds its inputs once."""
    model = source.resolve(str(Path(__file__).resolve().parents[1] / "examples" / "gru_torch.py"))
    module = numpy_module(model)
    forward = _loop_body(module, "gradients", backward=False)
    assert forward.count("np.dot(") == 1 and forward.count("_sigmoid(") == 1, forward
    assert forward.count("h_stack[..., 0:2*m] += h_stack_in[t - 1]") == 1, forward
    assert "np.concatenate([(b_iz + b_hz), (b_ir + b_hr)])" in module and "h_stack[..., 2*m:3*m] += b_hn" in forward


def test_peepholes_keep_each_gate_its_own_sigma():
    """With peepholes a gate's pre-activation is more than the stacked product: nothing fused."""
    forward = _loop_body(numpy_module(presets.get("lstm"), {"peepholes": "on"}), "gradients", backward=False)
    assert forward.count("_sigmoid(") == 3, forward


def _peak_beyond(fn, stored_bytes: int, returned_bytes: int) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (peak - stored_bytes - returned_bytes) / stored_bytes


@pytest.mark.parametrize(("preset", "settings", "stored_rows"), [
    ("rnn-softmax", (), lambda n, k: n + k),  # h_t, ŷ_t
    ("rnn-softmax", (("activation", "tanh"),), lambda n, k: n + k),
    ("lstm", (), lambda n, k: 6 * n + k),  # four gates, C_t, h_t, ŷ_t
    ("gru", (), lambda n, k: 4 * n + k),  # r_t, z_t, h̃_t, h_t, ŷ_t
])
def test_peak_memory_stays_within_one_and_a_half_times_the_stored_activations(preset, settings, stored_rows):
    module = load(preset, settings)
    T, B, d, n, k = 20, 32, 48, 96, 40
    params = module.init_params(seed=0, d=d, n=n, k=k)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, B, d))
    y = rng.integers(0, k, size=(T, B))
    stored = x.itemsize * T * B * stored_rows(n, k)
    returned = sum(v.nbytes for v in params.values())
    extra = _peak_beyond(lambda: module.gradients(params, {"x": x}, {"y": y}), stored, returned)
    assert extra <= 1.5, f"{preset}: {extra:.2f}x the stored activations"


@pytest.mark.parametrize("settings", LSTM_OPTIONS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_the_fused_gates_sigma_prime_is_one_pass_before_the_backward_loop(settings):
    """σ'(a_o), σ'(a_f) and σ'(a_i) from [o, f, i] in one pass over their adjoints' columns
    (two NumPy calls), then one product per gate: not two calls per gate."""
    source = numpy_module(presets.get("lstm"), settings)
    body = source.split("def gradients(")[1].split("for t in range(T - 1, 0, -1):")[0]
    assert body.count("np.subtract(1, h_stack_sigmoid, out=h_stack_sigmoid_prime)") == 1, body
    for gate in ("f", "i", "o"):
        assert f"np.subtract(1, {gate}, " not in body, body
        assert body.count(f"dL_da_{gate}_in *= ") == 1, body
    # tanh'(a_C) = 1 - C̃² in its columns: np.square, since np.power has no fast path for squares
    assert "np.square(Ctilde, out=dL_da_C_in)" in body and "np.power(" not in body, body


def test_the_stack_puts_blocks_whose_adjoints_share_a_factor_side_by_side():
    """The LSTM's blocks as [o, f, i, C̃]: σ's three side by side, and f, i, C̃ (whose adjoints
    all multiply ∂L/∂C_t) too. The GRU's r and z share no factor: the forward pass's order."""
    lstm = numpy_module(presets.get("lstm"))
    assert "W_stack_h = np.concatenate([W_o[:, 0:n], W_f[:, 0:n], W_i[:, 0:n], W_C[:, 0:n]])" in lstm
    assert "W_stack_h = np.concatenate([W_hr, W_hz])" in numpy_module(presets.get("gru"))
