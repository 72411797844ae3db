"""The buffers generated modules keep between calls (derive/codegen/buffers.py, workspace.py):
results as without them, for any sequence of shapes, dtypes and workspaces, in several threads;
nothing returned overwritten by a later call; a warm call that allocates almost nothing; and a
layout in which no two arrays alive at once share memory."""

import threading
import tracemalloc

import numpy as np
import pytest
from modules import load, network, random_batch, reference

from derive.codegen.workspace import Workspace, _packed, _Recorder

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
            assert a.ctypes.data % 64 == arrays[j].base.ctypes.data % 64
            for k in range(j):
                if arrays[k] is not None and _overlapping(lifetimes, j, k):
                    assert not np.shares_memory(a, arrays[k]), (trial, j, k)
        live = [a.nbytes for a in arrays if a is not None]
        assert not live or arrays[next(j for j, a in enumerate(arrays) if a is not None)].base.nbytes <= \
            sum(-(-n // 64) * 64 for n in live)


def test_the_first_call_with_new_shapes_keeps_only_their_shapes():
    workspace = Workspace()
    recorder = workspace.buffers("key", [(0, 1), (1, 2), (1, 3)])
    assert isinstance(recorder, _Recorder) and recorder[0] is None and recorder[1:3] == (None, None)
    recorder[0] = np.zeros((2, 3))
    recorder[1:3] = (np.zeros(4, np.float32), np.zeros((1, 1)))
    assert workspace.nbytes == 0  # nothing kept from the first call: its memory is as without buffers
    packed = workspace.buffers("key", [(0, 1), (1, 2), (1, 3)])
    assert [a.shape for a in packed] == [(2, 3), (4,), (1, 1)] and packed[1].dtype == np.float32
    assert workspace.buffers("key", [(0, 1), (1, 2), (1, 3)]) is packed
    workspace.buffers("other", [(0, 0)])
    workspace.buffers("third", [(0, 0)])  # keep=2: the least recently used ("key") goes
    assert isinstance(workspace.buffers("key", [(0, 1), (1, 2), (1, 3)]), _Recorder)
    workspace.clear()
    assert workspace.nbytes == 0
