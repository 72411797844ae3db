"""Generated NumPy modules: loss and gradients against the column-vector reference and HIPS
autograd (per example, averaged), central differences of the module's own loss, float32,
any T and B, extreme logits, and the readable, deterministic, ruff-clean source."""

import subprocess
import sys

import numpy as np
import pytest
from modules import has_activation, load, network, option_grid, random_batch, reference, with_activation

from derive import presets
from derive.codegen.numpy_module import numpy_module
from derive.nodes import TimeSym, t
from derive.printing.numpy_module import HELPERS, Arrays, ModulePrinter

PRESETS = list(presets.PRESETS)
# every activation a preset offers (gelu's module crashed in a loop once: its helper takes no out=)
ACTIVATIONS = ["relu", "tanh", "sigmoid", "leaky_relu", "softplus", "gelu", "silu", "identity"]


def rel_close(a, b, tol):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and np.max(np.abs(a - b), initial=0) <= tol * max(1.0, np.max(np.abs(b), initial=0))


def check_against_reference(preset, settings, steps=4, batch=3, seed=0):
    module = load(preset, tuple(sorted(settings.items())))
    net = network(preset, settings)
    params, inputs, targets = random_batch(net, module, steps, batch, seed)
    ref_loss, ref_grads = reference(net, params, inputs, targets, steps)
    # a new workspace: the first call notes the buffers' shapes, the next ones reuse them
    workspace = module.Workspace()
    for _ in range(3):
        loss, grads = module.gradients(params, inputs, targets, workspace=workspace)
        assert rel_close(loss, ref_loss, 1e-10)
        assert set(grads) == set(params)
        for name in params:
            assert grads[name].shape == np.shape(params[name]), name
            assert rel_close(grads[name], ref_grads[name], 1e-10), name


@pytest.mark.parametrize("preset", [p for p in PRESETS if has_activation(p)])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_matches_autograd(preset, activation):
    check_against_reference(preset, {"activation": activation})


def _grid():
    for preset in PRESETS:
        for settings in option_grid(preset):
            yield pytest.param(preset, settings, id=preset + "-" + "-".join(settings.values()))


@pytest.mark.parametrize("preset,settings", list(_grid()))
def test_every_option_combination_matches_autograd(preset, settings):
    check_against_reference(preset, with_activation(preset, settings, "tanh"), steps=3, batch=2, seed=1)


@pytest.mark.parametrize("preset", PRESETS)
def test_gradients_match_central_differences_of_the_module_loss(preset):
    module = load(preset, ())
    net = network(preset, {})
    params, inputs, targets = random_batch(net, module, 3, 2, seed=4)
    _, grads = module.gradients(params, inputs, targets)
    eps = 1e-6
    for name, value in params.items():
        value = np.asarray(value, dtype=float)
        for index in np.ndindex(value.shape):
            moved = []
            for sign in (1, -1):
                shifted = value.copy()
                shifted[index] += sign * eps
                moved.append(module.gradients({**params, name: shifted}, inputs, targets)[0])
            fd = (moved[0] - moved[1]) / (2 * eps)
            assert abs(fd - grads[name][index]) <= 1e-6 * max(1.0, abs(fd)), (name, index)


@pytest.mark.parametrize("preset", PRESETS)
def test_any_T_and_B_and_float32(preset):
    module = load(preset, ())
    net = network(preset, {})
    for steps, batch in [(1, 1), (7, 5)]:
        params, inputs, targets = random_batch(net, module, steps, batch, seed=steps)
        loss64, grads64 = module.gradients(params, inputs, targets)
        ref_loss, _ = reference(net, params, inputs, targets, steps)
        assert rel_close(loss64, ref_loss, 1e-10)
        inputs32 = {k: v.astype(np.float32) for k, v in inputs.items()}
        targets32 = {k: (v.astype(np.float32) if v.dtype.kind == "f" else v) for k, v in targets.items()}
        loss32, grads32 = module.gradients(params, inputs32, targets32)
        assert np.asarray(loss32).dtype == np.float32
        for name in grads64:
            assert grads32[name].dtype == np.float32
            assert rel_close(grads32[name], grads64[name], 1e-3)
        outputs = module.forward(params, inputs)
        assert all(np.all(np.isfinite(v)) for v in outputs.values())


def test_forward_returns_predictions_and_states():
    module = load("rnn-softmax", ())
    net = network("rnn-softmax", {})
    params, inputs, _ = random_batch(net, module, 5, 4, seed=2)
    out = module.forward(params, inputs)
    assert out["yhat"].shape == (5, 4, 2) and out["h"].shape == (5, 4, 3)
    assert np.allclose(out["yhat"].sum(axis=-1), 1.0)
    binary = load("rnn-binary", ())
    net = network("rnn-binary", {})
    params, inputs, _ = random_batch(net, binary, 5, 4, seed=2)
    assert binary.forward(params, inputs)["y_pred"].shape == (4,)


def test_init_params_uses_the_math_shapes_and_sizes():
    module = load("rnn-softmax", ())
    params = module.init_params(seed=3, n=5, d=4, k=6)
    assert {k: v.shape for k, v in params.items()} == {"W": (5, 5), "U": (5, 4), "b": (5,), "V": (6, 5), "c": (6,)}
    assert module.init_params(seed=1)["W"].shape == (3, 3)
    assert np.array_equal(module.init_params(seed=3)["W"], module.init_params(seed=3)["W"])
    with pytest.raises(TypeError):
        module.init_params(m=3)
    binary = load("rnn-binary", ()).init_params()
    assert binary["V"].shape == (1, 3) and binary["d"].shape == ()


@pytest.mark.parametrize("preset", ["rnn-softmax", "rnn-binary", "mlp-l2"])
def test_extreme_logits_stay_finite_and_match_a_precise_reference(preset):
    import mpmath
    from modules import column_point

    from derive import precise
    from derive.evaluate import forward, objective

    module = load(preset, ())
    net = network(preset, {})
    params, inputs, targets = random_batch(net, module, 3, 2, seed=5)
    head = {"rnn-softmax": "V", "rnn-binary": "V", "mlp-l2": "W2"}[preset]
    params[head] = params[head] * 3e3 / max(1e-9, np.max(np.abs(params[head])))
    if preset == "rnn-binary":  # σ(-1000) against a label of 1: log σ underflows in a naive loss
        params["d"] = np.asarray(-1e3)
        targets["y_gt"] = np.ones_like(targets["y_gt"])
    loss, grads = module.gradients(params, inputs, targets)
    assert np.isfinite(loss) and all(np.all(np.isfinite(g)) for g in grads.values())
    logits = {"rnn-softmax": "o", "rnn-binary": "z", "mlp-l2": "o"}[preset]
    mpmath.mp.dps = 40
    batch = np.shape(inputs["x"])[1 if net.sequential else 0]
    steps = np.shape(inputs["x"])[0] if net.sequential else 1
    exact = []
    for b in range(batch):
        point = precise.point(column_point(net, params, inputs, targets, b, steps))
        ns = forward(net, point, np_module=precise)
        values = ns[logits]
        largest = max(abs(v) for m in (values.values() if isinstance(values, dict) else [values]) for v in m.ravel())
        assert largest > 100  # the logits really are extreme
        exact.append(objective(net, ns))
    assert rel_close(loss, float(sum(exact) / batch), 1e-10)


def test_source_is_deterministic_ruff_clean_and_commented(tmp_path):
    for preset in PRESETS:
        source = numpy_module(presets.get(preset))
        assert source == numpy_module(presets.get(preset))
        path = tmp_path / f"{preset}.py"
        path.write_text(source)
        # in the module's own folder: ruff's defaults, not this project's configuration
        ruff = subprocess.run([sys.executable, "-m", "ruff", "check", "--quiet", str(path)], capture_output=True,
                              text=True, cwd=tmp_path)
        assert ruff.returncode == 0, ruff.stdout
        body = source.split("def gradients")[1].split("\n\n\n")[0]
        code_lines = [ln for ln in body.splitlines() if " = " in ln and not ln.strip().startswith("#")]
        lines = body.split("loss = ")[1].splitlines()[1:]
        for j, line in enumerate(lines):  # every statement belongs to a commented equation
            if not line.strip() or line.strip().startswith(("#", "for ", "t = T", "return", "grads = {}")):
                continue
            k = j - 1
            while k >= 0 and lines[k].strip() and not lines[k].strip().startswith("#"):
                k -= 1
            assert k >= 0 and lines[k].strip().startswith("#"), line
        assert code_lines


def test_a_broken_printer_method_makes_the_module_tests_fail(monkeypatch):
    """Break how the module printer writes one op (tanh) and the gradient test must fail."""
    from derive.printing.numpy_module import ModulePrinter

    monkeypatch.setattr(ModulePrinter, "_print_Tanh", lambda self, e: f"np.sin({self._print(e.arg)})", raising=False)
    load.cache_clear()
    try:
        with pytest.raises(AssertionError):
            check_against_reference("rnn-softmax", {"activation": "tanh"})
    finally:
        load.cache_clear()


def test_label_helpers_are_the_one_hot_products_they_stand_for():
    """yᵀa and a + c·y for a one-hot y kept as labels, against the one-hot vectors written out:
    for a whole sequence (T, B, k), whose positions a module finds once, and for one step's
    slice (B, k), whose positions the printer finds where they are read."""
    helpers = {"np": np}
    for name in ("_label_index", "_pick", "_add_at"):
        exec(HELPERS[name], helpers)  # noqa: S102 - derive's own helper source
    rng = np.random.default_rng(0)
    a, labels = rng.standard_normal((4, 3, 5)), rng.integers(0, 5, size=(4, 3))
    one_hot = np.eye(5)[labels]
    at = helpers["_label_index"](labels, 5)
    assert np.array_equal(helpers["_pick"](a, at), (one_hot * a).sum(axis=-1, keepdims=True))
    whole = a.copy()
    helpers["_add_at"](whole, at, -1.0)
    assert np.array_equal(whole, a - one_hot)
    step = a[2].copy()
    helpers["_add_at"](step, helpers["_label_index"](labels[2], 5), 2.0)
    assert np.array_equal(step, a[2] + 2 * one_hot[2])
    for wrong in (5, -1):  # a label outside [0, k) would silently read a neighbouring row
        with pytest.raises(ValueError):
            helpers["_label_index"](np.where(labels == labels[0, 0], wrong, labels), 5)

    y = TimeSym("y", t, 5, 1)
    arrays = Arrays(labels={"y": "k"}, label_at={"y": "y_at"})
    assert ModulePrinter(arrays, "all")._labels(y) == "y_at"
    assert ModulePrinter(arrays, "step")._labels(y) == "_label_index(y[t - 1], k)"
