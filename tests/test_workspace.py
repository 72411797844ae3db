"""The buffers generated modules keep between calls (derive/codegen/buffers.py, workspace.py):
results as without them, for any sequence of shapes, dtypes and workspaces, in several threads;
nothing returned overwritten by a later call; a warm call that allocates almost nothing; and a
layout in which no two arrays alive at once share memory."""

import ast
import importlib.util
import sys
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from modules import load, network, random_batch, reference

from derive import source
from derive.codegen.numpy_module import numpy_module
from derive.codegen.workspace import Workspace, _packed, _Recorder

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

SEQUENCE_PRESETS = ["rnn-softmax", "rnn-binary", "rnn-d2l", "lstm", "gru"]


def _batch(preset, module, steps, batch, seed, dtype):
    net = network(preset, {})
    params, inputs, targets = random_batch(net, module, steps, batch, seed)
    cast = {k: np.asarray(v, dtype=dtype) for k, v in params.items()}
    return net, cast, {k: np.asarray(v, dtype=dtype) for k, v in inputs.items()}, targets, params, inputs


@pytest.mark.parametrize("preset", SEQUENCE_PRESETS + ["mlp-l2", "conv-dense"])
def test_changing_shapes_dtypes_and_workspaces_give_autograds_gradients(preset):
    module = load(preset, ())
    mine, other, none = module.Workspace(), module.Workspace(keep=1), module.Workspace(keep=0)
    # (T, B, dtype, workspace): shapes come back after others, the default workspace alternates
    # with passed ones, keep=1 forgets a shape that keep=2 remembers
    calls = [(4, 3, np.float64, None), (2, 1, np.float32, mine), (4, 3, np.float64, mine), (5, 2, np.float64, None),
             (4, 3, np.float64, other), (2, 1, np.float32, None), (5, 2, np.float64, other), (4, 3, np.float64, none),
             (2, 1, np.float32, mine), (4, 3, np.float64, mine), (5, 2, np.float64, None), (4, 3, np.float64, None)]
    net = network(preset, {})
    expected, results = {}, []
    for j, (steps, batch, dtype, workspace) in enumerate(calls):
        if not net.sequential:
            steps = 1
        _, params, inputs, targets, params64, inputs64 = _batch(preset, module, steps, batch, steps * 10 + batch, dtype)
        if (steps, batch) not in expected:
            expected[steps, batch] = reference(net, params64, inputs64, targets, steps)
        loss, grads = module.gradients(params, inputs, targets, workspace=workspace)
        want_loss, want = expected[steps, batch]
        tol = 1e-10 if dtype == np.float64 else 2e-4
        assert abs(loss - want_loss) <= tol * max(1, abs(want_loss)), (j, loss, want_loss)
        for key, value in grads.items():
            assert value.dtype == dtype, (j, key)
            assert np.allclose(value, want[key], atol=tol, rtol=tol), (j, key)
        results.append({k: (v, v.copy()) for k, v in grads.items()})
    for j, grads in enumerate(results):  # no later call wrote into an earlier call's results
        assert all(np.array_equal(value, copy) for value, copy in grads.values()), j
    assert none.nbytes == 0 and mine.nbytes > 0


@pytest.mark.parametrize("preset", ["rnn-softmax", "lstm", "gru"])
def test_threads_each_keep_their_own_buffers(preset):
    module = load(preset, ())
    batches = [_batch(preset, module, steps, 3, seed, np.float64)[1:4] for steps, seed in ((6, 1), (6, 2), (3, 3))]
    want = [module.gradients(*b, workspace=module.Workspace(keep=0)) for b in batches]
    failures = []

    def work(order):
        for _ in range(15):
            for j in order:
                loss, grads = module.gradients(*batches[j])
                if loss != want[j][0] or any(not np.array_equal(grads[k], want[j][1][k]) for k in grads):
                    failures.append(j)

    threads = [threading.Thread(target=work, args=(order,)) for order in ((0, 1, 2), (2, 1, 0), (1, 0, 2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    module.thread_workspace().clear()  # this thread's own lets its arrays go
    assert module.thread_workspace().nbytes == 0


def test_modules_sharing_one_workspace_never_share_buffers():
    # the same shapes in, different buffers (ce keeps the logits' log Σ exp, mse does not): one
    # workspace passed to both once laid one module's shapes out with the other's lifetimes
    first = load("rnn-softmax", (("activation", "tanh"),))
    second = load("rnn-softmax", (("activation", "tanh"), ("loss", "mse")))
    rng = np.random.default_rng(0)
    params, x = first.init_params(seed=0), {"x": rng.standard_normal((4, 3, 2))}
    targets = [{"y": rng.integers(0, 2, (4, 3))}, {"y": rng.standard_normal((4, 3, 2))}]
    modules = (first, second)
    want = [m.gradients(params, x, y, workspace=m.Workspace(keep=0)) for m, y in zip(modules, targets, strict=True)]
    shared = first.Workspace()
    for _ in range(3):
        for m, y, (loss, grads) in zip((first, second), targets, want, strict=True):
            got_loss, got = m.gradients(params, x, y, workspace=shared)
            assert got_loss == loss and all(np.array_equal(got[k], grads[k]) for k in grads)
    assert first._LIFETIMES != second._LIFETIMES


def test_forward_keeps_nothing_its_results_are_the_callers():
    module = load("lstm", ())
    _, params, inputs, _, _, _ = _batch("lstm", module, 4, 2, 0, np.float64)
    first = module.forward(params, inputs)
    kept = {k: v.copy() for k, v in first.items()}
    module.forward(params, {k: 2 * v for k, v in inputs.items()})
    assert all(np.array_equal(first[k], kept[k]) for k in first)


@pytest.mark.parametrize(("preset", "stored_rows"), [
    ("rnn-softmax", lambda n, k: n + k),
    ("lstm", lambda n, k: 6 * n + k),
    ("gru", lambda n, k: 4 * n + k),
])
def test_a_warm_call_allocates_little_and_keeps_no_more_than_a_cold_one_needs(preset, stored_rows):
    module = load(preset, ())
    T, B, d, n, k = 20, 32, 48, 96, 40
    params = module.init_params(seed=0, d=d, n=n, k=k)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((T, B, d)), rng.integers(0, k, size=(T, B))
    stored = x.itemsize * T * B * stored_rows(n, k)
    returned = sum(v.nbytes for v in params.values())
    workspace = module.Workspace()
    peaks = []
    for _ in range(3):
        tracemalloc.start()
        module.gradients(params, {"x": x}, {"y": y}, workspace=workspace)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    cold, warm = peaks[0], peaks[2]
    # a warm call allocates its returned gradients and a few rows per step, not activations
    assert warm - returned <= 0.5 * stored, f"{preset}: a warm call allocates {(warm - returned) / stored:.2f}x"
    # what the workspace keeps is what was alive at once in the cold call, laid out in one block
    assert workspace.nbytes <= cold, f"{preset}: keeps {workspace.nbytes / cold:.2f}x a cold call's peak"


def _overlapping(lifetimes, j, k):
    (f1, l1), (f2, l2) = lifetimes[j], lifetimes[k]
    return f1 <= l2 and f2 <= l1


def _block(a):
    """The array whose memory ``a`` views."""
    while a.base is not None:
        a = a.base
    return a


def test_packed_buffers_alive_at_once_never_share_memory():
    rng = np.random.default_rng(0)
    for trial in range(300):
        count = int(rng.integers(1, 12))
        made, lifetimes = [], []
        for _ in range(count):
            shape = tuple(int(s) for s in rng.integers(1, 9, size=int(rng.integers(1, 4))))
            made.append(None if rng.random() < 0.1 else (shape, np.dtype(rng.choice(["float32", "float64"]))))
            first = int(rng.integers(0, 20))
            lifetimes.append((first, first + int(rng.integers(0, 8))))
        arrays = _packed(made, lifetimes)
        for j, a in enumerate(arrays):
            if made[j] is None:
                assert a is None
                continue
            assert a.shape == made[j][0] and a.dtype == made[j][1] and a.flags.c_contiguous, trial
            assert (a.ctypes.data - _block(a).ctypes.data) % 64 == 0, trial  # each slot on a cache line
            for k in range(j):
                if arrays[k] is not None and _overlapping(lifetimes, j, k):
                    assert not np.shares_memory(a, arrays[k]), (trial, j, k)
        kept = [a for a in arrays if a is not None]
        assert len({id(_block(a)) for a in kept}) <= 1  # one block for all
        assert not kept or _block(kept[0]).nbytes <= sum(-(-a.nbytes // 64) * 64 for a in kept)


def test_the_first_call_with_new_shapes_keeps_only_their_shapes():
    workspace, spans = Workspace(), [(0, 1), (1, 2), (1, 3)]
    recorder = workspace.buffers("key", spans)
    assert isinstance(recorder, _Recorder) and recorder[0] is None and recorder[1:3] == (None, None)
    recorder[0] = np.zeros((2, 3))
    recorder[1:3] = (np.zeros(4, np.float32), np.zeros((1, 1)))
    assert workspace.nbytes == 0  # nothing kept from the first call: its memory is as without buffers
    packed = workspace.buffers("key", spans)
    assert [a.shape for a in packed] == [(2, 3), (4,), (1, 1)] and packed[1].dtype == np.float32
    assert workspace.buffers("key", spans) is packed
    # another module's lifetimes (another object, even if equal) never get these buffers
    assert isinstance(workspace.buffers("key", list(spans)), _Recorder)
    workspace.buffers("other", spans)
    workspace.buffers("third", spans)  # keep=2: the least recently used ones go
    assert isinstance(workspace.buffers("key", spans), _Recorder)
    workspace.clear()
    assert workspace.nbytes == 0


def _poisoned_run(module, params, inputs, targets):
    """gradients() with every buffer its own array, filled with NaN at each line whose step is
    outside the buffer's lifetime: a read of a buffer where the analysis says it is dead (where
    another array may share its bytes) poisons the result."""
    tree = ast.parse(Path(module.__file__).read_text())
    body = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "gradients").body
    step_of = {line: j for j, statement in enumerate(body)
               for line in range(statement.lineno, statement.end_lineno + 1)}
    separate = []

    def own_arrays(made, lifetimes):
        separate[:] = [None if m is None else np.full(m[0], np.nan, dtype=m[1]) for m in made]
        return list(separate)

    workspace, packed = module.Workspace(), module._packed
    module.gradients(params, inputs, targets, workspace=workspace)  # notes the shapes
    code = module.gradients.__wrapped__.__code__ if hasattr(module.gradients, "__wrapped__") \
        else module.gradients.__code__

    def tracer(frame, event, arg):
        if frame.f_code is not code:
            return None
        if event == "line" and frame.f_lineno in step_of and separate:
            step = step_of[frame.f_lineno]
            for array, (first, last) in zip(separate, module._LIFETIMES, strict=True):
                if array is not None and not first <= step <= last:
                    array[...] = np.nan
        return tracer

    module._packed = own_arrays
    sys.settrace(tracer)
    try:
        loss, grads = module.gradients(params, inputs, targets, workspace=workspace, check_finite=False)
    finally:
        sys.settrace(None)
        module._packed = packed
    assert separate, "the run did not lay buffers out"
    for array in separate:  # what is returned does not live in a buffer either
        if array is not None:
            array[...] = np.nan
    return loss, grads


def _example(name, tmp_path):
    path = tmp_path / f"{name}_grad.py"
    path.write_text(numpy_module(source.resolve(str(EXAMPLES / f"{name}.py")), {}))
    spec = importlib.util.spec_from_file_location(f"poisoned_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["rnn-softmax", "rnn-binary", "rnn-d2l", "lstm", "gru", "mlp-l2", "conv-dense",
                                  "mgu.py", "gru_torch.py", "stacked_rnn.py", "birnn.py", "attention_rnn.py",
                                  "mlp2.py"])
def test_no_buffer_is_read_outside_the_lifetime_the_layout_gives_it(name, tmp_path):
    module = _example(name[:-3], tmp_path) if name.endswith(".py") else load(name, ())
    model = source.resolve(str(EXAMPLES / name) if name.endswith(".py") else name)
    net = model.build(model.concrete_settings({})[0])
    params, inputs, targets = random_batch(net, module, 4, 3, seed=3)
    want_loss, want = module.gradients(params, inputs, targets, workspace=module.Workspace(keep=0))
    loss, grads = _poisoned_run(module, params, inputs, targets)
    assert loss == want_loss
    for key in want:
        assert np.array_equal(grads[key], want[key]), key


def test_the_poisoned_run_catches_a_lifetime_one_statement_too_short():
    module = load("lstm", ())
    net = network("lstm", {})
    params, inputs, targets = random_batch(net, module, 4, 3, seed=3)
    want_loss, want = module.gradients(params, inputs, targets, workspace=module.Workspace(keep=0))
    spans = list(module._LIFETIMES)
    caught = 0
    try:
        for slot, (first, last) in enumerate(spans):
            if last > first:
                module._LIFETIMES[slot] = (first, last - 1)
                loss, grads = _poisoned_run(module, params, inputs, targets)
                caught += loss != want_loss or any(not np.array_equal(grads[k], want[k]) for k in want)
                module._LIFETIMES[slot] = (first, last)
    finally:
        module._LIFETIMES[:] = spans
    assert caught == sum(last > first for first, last in spans)
