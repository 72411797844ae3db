"""Generated modules for tests, and the per-example reference they are compared with."""

from __future__ import annotations

import importlib.util
import itertools
from functools import cache
from pathlib import Path
from tempfile import mkdtemp

import numpy as np

from derive import oracles, presets
from derive.codegen.numpy_module import numpy_module
from derive.evaluate import Point, forward, objective
from derive.network import size_of

_FOLDER = Path(mkdtemp(prefix="derive-modules-"))


@cache
def load(preset: str, settings_items: tuple = ()):
    """Generate, write and import the module for a preset and settings."""
    source = numpy_module(presets.get(preset), dict(settings_items))
    name = f"m_{preset.replace('-', '_')}_{abs(hash(settings_items))}"
    path = _FOLDER / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reused_gradients(module, params, inputs, targets, calls: int = 3):
    """module.gradients three times in a new Workspace: the first call notes its buffers, the
    others run in the buffers it laid out; every call must give the first one's results (which
    the caller compares with an oracle), and a later call must not change an earlier result."""
    workspace = module.Workspace() if hasattr(module, "Workspace") else None
    first = module.gradients(params, inputs, targets, **({"workspace": workspace} if workspace else {}))
    kept = (float(first[0]), {k: np.array(v, copy=True) for k, v in first[1].items()})
    for _ in range(calls - 1 if workspace else 0):
        loss, grads = module.gradients(params, inputs, targets, workspace=workspace)
        assert abs(loss - kept[0]) <= 1e-12 * max(1.0, abs(kept[0])), "a reused buffer changed the loss"
        for key, value in grads.items():
            assert value.dtype == kept[1][key].dtype and np.allclose(value, kept[1][key], rtol=1e-12, atol=1e-14), \
                f"a reused buffer changed the gradient of {key}"
    for key, value in first[1].items():  # nothing returned lives in a buffer the next call overwrote
        assert np.array_equal(value, kept[1][key]), f"the first call's gradient of {key} was overwritten"
    return first


def _rows(x, sizes) -> int:
    """The number of rows of an input or target, as a number (a conv's image size is one)."""
    return size_of(x.shape[0], sizes)


def network(preset: str, settings: dict):
    concrete, _ = presets.get(preset).concrete_settings(settings)
    return presets.build(preset, concrete)


def random_batch(net, module, steps: int, batch: int, seed: int, dtype=np.float64):
    """Parameters from init_params, inputs and targets in the module's documented formats."""
    rng = np.random.default_rng(seed)
    params = module.init_params(seed=seed)
    sizes = module.SIZES
    inputs = {}
    for x in net.inputs:
        rows = _rows(x, sizes)
        shape = (steps, batch, rows) if net.sequential else (batch, rows)
        inputs[x.name] = rng.standard_normal(shape).astype(dtype)
    targets = {}
    for y in net.target_symbols:
        kind = net.targets[y.name]
        rows = _rows(y, sizes)
        lead = (steps, batch) if (net.sequential and hasattr(y, "index")) else (batch,)
        if kind == "onehot":
            targets[y.name] = rng.integers(0, rows, size=lead)
        elif kind == "binary":
            targets[y.name] = rng.integers(0, 2, size=lead if rows == 1 else lead + (rows,)).astype(dtype)
        else:
            targets[y.name] = rng.standard_normal(lead + (rows,)).astype(dtype)
    return params, inputs, targets


def column_point(net, params, inputs, targets, b: int, steps: int) -> Point:
    """Example ``b`` of a batch as a point of the column-vector reference evaluator."""
    cols = {name: np.reshape(np.asarray(v, dtype=float), _column_shape(net, name)) for name, v in params.items()}
    data = {}
    sizes = {k: v for k, v in net.sizes_default.items() if k != "T"}
    for x in net.inputs:
        v = np.asarray(inputs[x.name], dtype=float)
        data[x.name] = ({t: v[t - 1, b][:, None] for t in range(1, steps + 1)} if net.sequential
                        else v[b][:, None])
    for y in net.target_symbols:
        kind, v = net.targets[y.name], np.asarray(targets[y.name])
        rows = _rows(y, sizes)

        def column(entry, kind=kind, rows=rows):
            if kind == "onehot":
                return np.eye(rows)[int(entry)][:, None]
            return np.reshape(np.asarray(entry, dtype=float), (rows, 1))

        data[y.name] = ({t: column(v[t - 1, b]) for t in range(1, steps + 1)} if hasattr(y, "index")
                        else column(v[b]))
    return Point(sizes, steps, cols, data, {s: float(val) for s, val in net.hypers.items()}, {})


def _column_shape(net, name):
    p = next(p for p in net.params if p.name == name)
    rows, cols = p.shape
    sizes = {net.size_symbols[k]: v for k, v in net.sizes_default.items() if k != "T"}
    return tuple(int(x.subs(sizes)) for x in (rows, cols))  # n + d for an LSTM's W_f


def reference(net, params, inputs, targets, steps):
    """(mean loss, mean autograd gradients in the module's shapes) over the batch."""
    batch = np.shape(next(iter(inputs.values())))[1 if net.sequential else 0]
    losses, grads = [], {k: np.zeros(np.shape(v)) for k, v in params.items()}
    for b in range(batch):
        point = column_point(net, params, inputs, targets, b, steps)
        losses.append(objective(net, forward(net, point)))
        g, _ = oracles.autograd_gradients(net, point)
        for k in grads:
            grads[k] += np.reshape(g[k], np.shape(params[k])) / batch
    return float(np.mean(losses)), grads


def has_activation(preset: str) -> bool:
    """Whether the preset's family takes an activation option (gated cells do not)."""
    return "activation" in presets.get(preset).options


def with_activation(preset: str, settings: dict, activation: str) -> dict:
    return {**settings, "activation": activation} if has_activation(preset) else dict(settings)


def option_grid(preset: str):
    """Concrete option combinations of a preset (generic functions have no numbers)."""
    options = presets.get(preset).options
    keys = [k for k in options if k != "activation"]
    for values in itertools.product(*[[v for v in options[k] if v != "generic"] for k in keys]):
        settings = dict(zip(keys, values, strict=True))
        try:
            presets.build(preset, with_activation(preset, settings, "tanh"))
        except ValueError:
            continue
        yield settings


def imported(path):
    """A generated module file, imported."""
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_matches_autograd(net, module, shapes, seed: int = 0):
    """``module.gradients`` (called repeatedly in a workspace) against autograd, per example and
    averaged, to 1e-10 for each (steps, batch) in ``shapes``, at random parameters: off their
    starting values, so that a bias or a learned h_0 (which start at 0) matters."""
    rng = np.random.default_rng(seed)
    for steps, batch in shapes:
        params, inputs, targets = random_batch(net, module, steps, batch, seed=steps)
        params = {key: 0.7 * rng.standard_normal(np.shape(v)) for key, v in params.items()}
        loss, grads = reused_gradients(module, params, inputs, targets)
        want_loss, want = reference(net, params, inputs, targets, steps)
        assert abs(loss - want_loss) < 1e-10, (steps, batch)
        for key in want:
            assert np.allclose(grads[key], want[key], atol=1e-10, rtol=0), (steps, batch, key)
