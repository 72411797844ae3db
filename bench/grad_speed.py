"""Speed of the generated gradients against what a user would write or pick instead.

For rnn-softmax (σ activation, as in seeds 000 and 004; and its tanh variant, where PyTorch's
fused nn.RNN computes the same math) and the LSTM at three sizes (B, d, n, k, T), the example
cells, and conv-dense at one (bench/lstm_peers.py, bench/cell_peers.py and bench/conv_peers.py
hold their peers), float64, on the CPU with the same thread count for everyone:

    generated   derive numpy rnn-softmax: the module's gradients()
    torch       PyTorch eager autograd, a per-step loop written out
    torch fused nn.RNN + nn.Linear (tanh variant only), nn.LSTM, nn.GRU
    jax         jax.jit(jax.value_and_grad(loss)) over lax.scan
    numpy loop  a textbook hand-written BPTT, everything per step
    numpy batch a hand-written BPTT where only the recurrence stays in the loop

By default every implementation runs as a user runs it (bench/isolated.py): in a process of its
own, with a user's environment (glibc's own malloc, each library's own OpenMP waiting, no
OMP_WAIT_POLICY or GLIBC_TUNABLES), warm, in interleaved rounds; the report gives medians, the
ratio of each peer to the generated code paired per round, and the fraction of this machine's
float64 GEMM throughput each reaches (against a 2048² A @ B raced in the same rounds, in a
process of its own too). ``--tuned`` is the old mode, labelled as such: everything in one process
whose malloc keeps freed memory, idle OpenMP threads passive — kinder to code that allocates.
Peers that are not installed are skipped. OpenBLAS picks its kernels for the CPU in both modes.

    python bench/grad_speed.py [--rounds 15] [--threads 2] [--tuned [--system-malloc]] [--blas-coretype NAME]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SIZES = [(1, 8, 16, 8, 10), (32, 64, 128, 64, 50), (64, 256, 512, 256, 20)]


def _option(name: str) -> str | None:
    """An option's value read before argparse runs (the environment must be set first)."""
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv[:-1] else None


def _threads_from_argv() -> int:
    return int(_option("--threads") or 2)


# glibc's malloc hands every array above a moving threshold back to the kernel when it is freed
# and maps fresh pages for the next one; on this VM the first touch of those pages cost a quarter
# to a third of an LSTM call (75-82 ms against 55-58 ms at the medium size, in a process of its
# own), and every implementation allocates. So by default every implementation runs in a process
# whose malloc keeps freed memory (arrays up to 32 MiB from the heap, which is never trimmed), as
# a long training loop would with jemalloc or tcmalloc; --system-malloc measures glibc's
# defaults. glibc reads these when a process starts, hence the restart.
KEEP_FREED_MEMORY = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=17179869184"

# OpenBLAS picks its kernels for the CPU it runs on, unless OPENBLAS_CORETYPE names others. The
# machines this project runs on set OPENBLAS_CORETYPE=Haswell for everything: on an AVX-512 CPU
# that gives NumPy's GEMMs (the generated code's, the hand-written peers' and the reference
# A @ B alike) about 60 % of the throughput OpenBLAS's own choice gets, while JAX and PyTorch
# bring BLAS of their own. So by default the bench lets OpenBLAS choose, as on a user's machine;
# --blas-coretype NAME forces NAME (--blas-coretype Haswell measures what this machine forces).
def _environment() -> dict:
    """The environment every implementation runs in."""
    env = dict(os.environ)
    if "--system-malloc" not in sys.argv:
        env["GLIBC_TUNABLES"] = KEEP_FREED_MEMORY
    env.pop("OPENBLAS_CORETYPE", None)
    if _option("--blas-coretype"):
        env["OPENBLAS_CORETYPE"] = _option("--blas-coretype")
    return env


TUNED = "--tuned" in sys.argv and "--worker" not in sys.argv
if __name__ == "__main__" and TUNED and _environment() != dict(os.environ):  # not when imported
    os.execve(sys.executable, [sys.executable, *sys.argv], _environment())

# BLAS reads its thread count when it loads: set it before NumPy, torch or jax import. Idle
# OpenMP threads must not spin (the default for some runtimes), or whichever implementation
# runs after torch in a round pays for torch's busy-waiting threads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(_threads_from_argv())
if TUNED:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

from derive import source  # noqa: E402
from derive.codegen.numpy_module import numpy_module  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cell_peers  # noqa: E402
import conv_peers  # noqa: E402
import isolated  # noqa: E402
import lstm_peers  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_generated(preset: str, settings: dict):
    """The generated module of a preset, or of a model file under examples/ (``mgu.py``)."""
    model = source.resolve(str(EXAMPLES / preset) if preset.endswith(".py") else preset)
    source_code = numpy_module(model, settings)
    path = Path(tempfile.mkdtemp()) / f"{model.stem.replace('-', '_')}_grad.py"
    path.write_text(source_code)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------ hand-written NumPy


def _act(activation):
    if activation == "sigmoid":
        return lambda a: 1.0 / (1.0 + np.exp(-a)), lambda h: h * (1.0 - h)
    return np.tanh, lambda h: 1.0 - h * h


def _softmax(o):
    e = np.exp(o - o.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def numpy_loop(p, x, y, activation):
    """Textbook BPTT: every operation per step, as lecture notes write it."""
    f, df = _act(activation)
    W, U, b, V, c = p["W"], p["U"], p["b"], p["V"], p["c"]
    T, B, _ = x.shape
    n = W.shape[0]
    hs, ps = [np.zeros((B, n))], []
    loss = 0.0
    for t in range(T):
        h = f(x[t] @ U.T + hs[-1] @ W.T + b)
        prob = _softmax(h @ V.T + c)
        loss -= np.log(prob[np.arange(B), y[t]]).sum()
        hs.append(h)
        ps.append(prob)
    g = {name: np.zeros_like(v) for name, v in p.items()}
    dh_next = np.zeros((B, n))
    for t in reversed(range(T)):
        do = ps[t].copy()
        do[np.arange(B), y[t]] -= 1.0
        g["V"] += do.T @ hs[t + 1]
        g["c"] += do.sum(axis=0)
        da = (do @ V + dh_next) * df(hs[t + 1])
        g["W"] += da.T @ hs[t]
        g["U"] += da.T @ x[t]
        g["b"] += da.sum(axis=0)
        dh_next = da @ W
    return loss / B, {name: v / B for name, v in g.items()}


def numpy_batched(p, x, y, activation):
    """BPTT with every time-independent product done once over all T * B rows."""
    f, df = _act(activation)
    W, U, b, V, c = p["W"], p["U"], p["b"], p["V"], p["c"]
    T, B, d = x.shape
    n = W.shape[0]
    xu = (x.reshape(T * B, d) @ U.T + b).reshape(T, B, n)
    H = np.zeros((T + 1, B, n))
    for t in range(T):
        H[t + 1] = f(xu[t] + H[t] @ W.T)
    P = _softmax(H[1:].reshape(T * B, n) @ V.T + c)
    rows = np.arange(T * B)
    labels = y.reshape(T * B)
    loss = -np.log(P[rows, labels]).sum() / B
    dO = P
    dO[rows, labels] -= 1.0
    dH = (dO @ V).reshape(T, B, n)
    D = df(H[1:])
    dA = np.empty((T, B, n))
    carry = np.zeros((B, n))
    for t in reversed(range(T)):
        dA[t] = (dH[t] + carry) * D[t]
        carry = dA[t] @ W
    dA2 = dA.reshape(T * B, n)
    grads = {
        "W": dA2.T @ H[:-1].reshape(T * B, n), "U": dA2.T @ x.reshape(T * B, d), "b": dA2.sum(axis=0),
        "V": dO.T @ H[1:].reshape(T * B, n), "c": dO.sum(axis=0),
    }
    return loss, {name: v / B for name, v in grads.items()}


# ------------------------------------------------------------------------------ PyTorch and JAX


def torch_peers(activation, p, x, y):
    try:
        import torch
    except ImportError:
        return {}
    torch.set_num_threads(_threads_from_argv())
    act = torch.sigmoid if activation == "sigmoid" else torch.tanh
    tp = {name: torch.tensor(v, requires_grad=True) for name, v in p.items()}
    tx, ty = torch.tensor(x), torch.tensor(y)
    T, B, _ = x.shape

    def eager():
        for v in tp.values():
            v.grad = None
        h = torch.zeros(B, p["W"].shape[0], dtype=torch.float64)
        loss = 0
        for t in range(T):
            h = act(tx[t] @ tp["U"].T + h @ tp["W"].T + tp["b"])
            loss = loss + torch.nn.functional.cross_entropy(h @ tp["V"].T + tp["c"], ty[t], reduction="sum")
        loss = loss / B
        loss.backward()
        return loss.item(), {name: v.grad for name, v in tp.items()}

    peers = {"torch": eager}
    if activation == "tanh":
        n, d, k = p["W"].shape[0], p["U"].shape[1], p["V"].shape[0]
        rnn = torch.nn.RNN(d, n, nonlinearity="tanh", bias=True, dtype=torch.float64)
        linear = torch.nn.Linear(n, k, dtype=torch.float64)
        with torch.no_grad():
            rnn.weight_ih_l0.copy_(torch.tensor(p["U"]))
            rnn.weight_hh_l0.copy_(torch.tensor(p["W"]))
            rnn.bias_ih_l0.copy_(torch.tensor(p["b"]))
            rnn.bias_hh_l0.zero_()
            linear.weight.copy_(torch.tensor(p["V"]))
            linear.bias.copy_(torch.tensor(p["c"]))

        def fused():
            rnn.zero_grad()
            linear.zero_grad()
            out, _ = rnn(tx)
            logits = linear(out)
            loss = torch.nn.functional.cross_entropy(logits.reshape(T * B, -1), ty.reshape(-1), reduction="sum") / B
            loss.backward()
            return loss.item(), {"W": rnn.weight_hh_l0.grad, "V": linear.weight.grad}

        peers["torch fused"] = fused
    return peers


def jax_peer(activation, p, x, y):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return {}
    jax.config.update("jax_enable_x64", True)
    act = jax.nn.sigmoid if activation == "sigmoid" else jnp.tanh
    B = x.shape[1]

    def loss_fn(params, xs, ys):
        def step(h, inp):
            xt, yt = inp
            h = act(xt @ params["U"].T + h @ params["W"].T + params["b"])
            logp = jax.nn.log_softmax(h @ params["V"].T + params["c"])
            return h, -jnp.take_along_axis(logp, yt[:, None], axis=-1).sum()

        h0 = jnp.zeros((B, params["W"].shape[0]))
        _, losses = jax.lax.scan(step, h0, (xs, ys))
        return losses.sum() / B

    return {"jax": lstm_peers.jitted(loss_fn, p, x, y)}


# ------------------------------------------------------------------------------ measuring


PEAK = "A @ B"  # the reference GEMM's name among the raced calls
GEMM_SIZE = 2048
GEMM_FLOPS = 2.0 * GEMM_SIZE**3


def gemm_reference() -> Callable:
    """A large float64 A @ B, raced in every round next to the implementations: each round's
    GEMM fraction is taken against that round's A @ B, since a shared machine's speed drifts by
    10–30 % within one run, which a peak measured once at the start would count against
    whatever ran in a slow stretch."""
    a, b = np.random.rand(GEMM_SIZE, GEMM_SIZE), np.random.rand(GEMM_SIZE, GEMM_SIZE)
    return lambda: a @ b


def _timed(fn, calls: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return time.perf_counter() - start


def matmul_flops(B, d, n, k, T) -> float:
    """FLOPs of the products in forward and backward: U x, W h, V h; Vᵀ do, dV, Wᵀ da, dW, dU."""
    return 2.0 * T * B * (2 * d * n + 3 * n * n + 3 * n * k)


def race(impls: dict, rounds: int, spell: float = 0.02) -> dict:
    """Time per call of every implementation over ``rounds`` interleaved rounds, each taking
    every place in the order in turn. A sub-millisecond call is repeated within its turn until
    the turn lasts about ``spell`` seconds: one call alone is at the timer's and the caches'
    mercy, and a user calls gradients() in a loop."""
    calls = {name: max(1, round(spell / _timed(fn))) for name, fn in impls.items()}
    times = {name: [] for name in impls}
    names = list(impls)
    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(_timed(impls[name], calls[name]) / calls[name])
    return times


def timed_against_gemm(impls: dict, rounds: int) -> dict:
    """``race`` of implementations that agree on the loss, with the reference GEMM among them."""
    _check_same(impls)
    return race({**impls, PEAK: gemm_reference()}, rounds)


def report(title: str, times: dict, flops: float, memory: dict) -> None:
    """Medians, paired ratios, the GEMM fraction (paired per round with the reference A @ B),
    and each measured implementation's peak memory beyond what it must keep and return, as a
    multiple of the stored activations."""
    peak = [GEMM_FLOPS / t for t in times.pop(PEAK)]  # each round's GEMM throughput

    def fraction(mine):
        return statistics.median(flops / t / p for t, p in zip(mine, peak, strict=True))

    base = times["generated"]
    median = statistics.median(base)
    print(f"\n{title}: generated {median * 1e3:.3f} ms, {fraction(base):.0%} of GEMM peak"
          f" (A @ B ran at {statistics.median(peak) / 1e9:.1f} GFLOP/s)")
    if memory:
        print("  peak extra memory (x the stored activations; generated: what its workspace keeps plus a warm "
              "call's peak): "
              + ", ".join(f"{name} {ratio:.2f}x" for name, ratio in memory.items()))
    for name, mine in times.items():
        if name == "generated":
            continue
        ratio = statistics.median(other / gen for other, gen in zip(mine, base, strict=True))
        print(f"  {name:<12} {statistics.median(mine) * 1e3:9.3f} ms   generated is {ratio:5.2f}x faster"
              f"   ({fraction(mine):.0%} of GEMM peak)")


@dataclass(frozen=True)
class Sequence:
    """What the benchmark of a sequence model needs besides the generated module: its peers,
    the FLOPs of its products and the activations its BPTT must keep."""

    preset: str
    settings: dict
    hand: dict  # name -> fn(params, x, y), hand-written NumPy
    peers: Callable  # (params, x, y) -> {name: call} for the installed libraries
    flops: Callable  # (B, d, n, k, T) -> matmul FLOPs of forward and backward
    stored_rows: Callable  # (n, k) -> activations per example and step a BPTT keeps
    hidden: str = "n"  # the name of the state's size in the module's init_params


def rnn_model(activation: str) -> Sequence:
    return Sequence(
        "rnn-softmax", {"activation": activation},
        hand={"numpy batch": lambda p, x, y: numpy_batched(p, x, y, activation),
              "numpy loop": lambda p, x, y: numpy_loop(p, x, y, activation)},
        peers=lambda p, x, y: {**torch_peers(activation, p, x, y), **jax_peer(activation, p, x, y)},
        flops=matmul_flops,
        stored_rows=lambda n, k: n + k)  # h_t and ŷ_t for every t


LSTM = Sequence(
    "lstm", {},
    hand={"numpy batch": lstm_peers.numpy_batched, "numpy loop": lstm_peers.numpy_loop},
    peers=lambda p, x, y: {**lstm_peers.torch_peers(p, x, y, _threads_from_argv()), **lstm_peers.jax_peer(p, x, y)},
    flops=lstm_peers.matmul_flops,
    stored_rows=lstm_peers.stored_rows)


MGU = Sequence(
    "mgu.py", {},
    hand={"numpy batch": cell_peers.mgu_batched},
    peers=lambda p, x, y: cell_peers.torch_peers("mgu", p, x, y, _threads_from_argv()),
    flops=cell_peers.mgu_flops,
    stored_rows=lambda n, k: 3 * n + k)  # f_t, g_t, h_t and the softmax for every t

GRU_TORCH = Sequence(
    "gru_torch.py", {},
    hand={"numpy batch": cell_peers.gru_batched},
    peers=lambda p, x, y: cell_peers.torch_peers("gru", p, x, y, _threads_from_argv()),
    flops=cell_peers.gru_flops,
    stored_rows=lambda n, k: 5 * n + k,  # r, z, n, W_hn h + b_hn, h and the softmax
    hidden="m")


def bench(model: Sequence, sizes, rounds: int) -> None:
    label = f"{model.preset} ({model.settings['activation']})" if model.settings else model.preset
    for B, d, n, k, T in sizes:
        p, x, y, impls = sequence_case(model, (B, d, n, k, T))
        impls.update(model.peers(p, x, y))
        stored = x.dtype.itemsize * T * B * model.stored_rows(n, k)
        returned = sum(v.nbytes for v in p.values())  # the gradients, one per parameter
        memory = {name: memory_ratio(impls[name], stored, returned) for name in ("generated", "numpy batch")}
        memory["generated"] = kept_memory_ratio(impls["generated"], stored, returned)
        report(f"{label}, (B, d, n, k, T) = {(B, d, n, k, T)}", timed_against_gemm(impls, rounds),
               model.flops(B, d, n, k, T), memory)


def conv_flops() -> float:
    """FLOPs of conv-dense's products at the bench's size, forward and backward."""
    sizes = {key: int(value) for key, value in conv_peers.SETTINGS.items() if value.isdigit()}
    out = sizes["size"] - sizes["kernel"] + 1
    positions, taps = out * out, sizes["c_in"] * sizes["kernel"] ** 2
    return 2.0 * conv_peers.BATCH * (2 * positions * taps * sizes["c_out"]
                                     + 3 * sizes["c_out"] * positions * sizes["m"] + 3 * sizes["m"] * sizes["k"])


def conv_case():
    """conv-dense at the bench's size: (sizes, params, images, targets, the generated call and
    the hand-written one)."""
    module = load_generated("conv-dense", conv_peers.SETTINGS)
    sizes = {key: int(value) for key, value in conv_peers.SETTINGS.items() if value.isdigit()}
    rng = np.random.default_rng(0)
    p = module.init_params(seed=0)
    z = rng.standard_normal((conv_peers.BATCH, sizes["c_in"] * sizes["size"] ** 2))
    y = rng.standard_normal((conv_peers.BATCH, sizes["k"]))
    impls = {"generated": lambda workspace=None: module.gradients(p, {"z_0": z}, {"y": y}, workspace=workspace),
             "numpy im2col": lambda: conv_peers.numpy_im2col(p, z, y)}
    impls["generated"].module = module
    return sizes, p, z, y, impls


def sequence_case(model, size):
    """One sequence model at one size: (params, inputs, labels, the generated and hand-written calls)."""
    module = load_generated(model.preset, model.settings)
    B, d, n, k, T = size
    rng = np.random.default_rng(0)
    p = module.init_params(seed=0, **{model.hidden: n}, d=d, k=k)
    x = rng.standard_normal((T, B, d))
    y = rng.integers(0, k, size=(T, B))
    impls = {"generated": lambda workspace=None: module.gradients(p, {"x": x}, {"y": y}, workspace=workspace)}
    impls["generated"].module = module  # (its Workspace, for the memory it keeps)
    impls.update({name: (lambda fn=fn: fn(p, x, y)) for name, fn in model.hand.items()})
    return p, x, y, impls


def bench_conv(rounds: int) -> None:
    sizes, p, z, y, impls = conv_case()
    impls.update(conv_peers.torch_peer(p, z, y, _threads_from_argv()))
    out = sizes["size"] - sizes["kernel"] + 1
    positions = out * out
    flops = conv_flops()
    stored = z.dtype.itemsize * conv_peers.BATCH * (2 * sizes["c_out"] * positions + 2 * sizes["m"] + 2 * sizes["k"])
    memory = {name: memory_ratio(impls[name], stored, sum(v.nbytes for v in p.values()))
              for name in ("generated", "numpy im2col")}
    memory["generated"] = kept_memory_ratio(impls["generated"], stored, sum(v.nbytes for v in p.values()))
    report(f"conv-dense, B = {conv_peers.BATCH}, {sizes['c_in']}×{sizes['size']}×{sizes['size']} input, "
           f"{sizes['c_out']} channels, {sizes['kernel']}×{sizes['kernel']} kernel",
           timed_against_gemm(impls, rounds), flops, memory)


# ------------------------------------------------------------------------------ one process each

SEQUENCES = {"rnn-sigmoid": lambda: rnn_model("sigmoid"), "rnn-tanh": lambda: rnn_model("tanh"),
             "lstm": lambda: LSTM, "mgu": lambda: MGU, "gru-torch": lambda: GRU_TORCH}
# the peers each model may have (the parent lists them without importing torch or jax)
PEER_NAMES = {"rnn-sigmoid": ["torch", "jax"], "rnn-tanh": ["torch", "torch fused", "jax"],
              "lstm": ["torch", "torch fused", "jax"], "mgu": ["torch"], "gru-torch": ["torch", "torch fused"],
              "conv-dense": ["torch"]}


def one_implementation(key: str, size_index: int, name: str):
    """(loss, call) of one implementation at one size, for a worker process; ImportError where
    its library is not installed."""
    if key == "gemm":
        reference = gemm_reference()
        return 0.0, reference
    if key == "conv-dense":
        _, p, z, y, impls = conv_case()
        if name not in impls:
            impls.update(conv_peers.torch_peer(p, z, y, _threads_from_argv()))
    else:
        model = SEQUENCES[key]()
        p, x, y, impls = sequence_case(model, SIZES[size_index])
        if name not in impls:
            impls.update(model.peers(p, x, y))
    if name not in impls:
        raise ImportError(f"{name} is not installed")
    call = impls[name]
    return float(call()[0]), call


def isolated_main(args) -> None:
    sizes = args.sizes if args.sizes else range(len(SIZES))
    env, removed = isolated.user_environment(args.threads, args.blas_coretype)
    print(f"{args.threads} threads, every implementation in a process of its own with a user's environment "
          "(glibc's own malloc, each library's own thread waiting), warm, interleaved rounds; GEMM peak: a "
          f"{GEMM_SIZE}² float64 A @ B in its own process in every round")
    print("  removed from the inherited environment: " + (", ".join(removed) or "nothing"))
    probe = isolated.Worker("gemm", 0, "A @ B", args.threads, env)
    print(f"  OpenBLAS kernels in the workers: {probe.ask('about')}")
    probe.close()
    keys = [f"rnn-{a}" for a in args.activations] if "rnn-softmax" in args.models else []
    keys += [m for m in ("lstm", "mgu", "gru-torch") if m in args.models]
    for key in keys:
        model = SEQUENCES[key]()
        for j in sizes:
            names = ["generated", *model.hand, *PEER_NAMES[key]]
            times = isolated.race(key, j, names, args.threads, args.rounds, args.blas_coretype)
            report(f"{key}, (B, d, n, k, T) = {SIZES[j]}", times, model.flops(*SIZES[j]), {})
    if "conv-dense" in args.models:
        times = isolated.race("conv-dense", 0, ["generated", "numpy im2col", *PEER_NAMES["conv-dense"]],
                              args.threads, args.rounds, args.blas_coretype)
        report("conv-dense", times, conv_flops(), {})


def worker_main(argv) -> None:
    key, size_index, name = argv[argv.index("--worker") + 1: argv.index("--worker") + 4]
    isolated.serve(lambda: one_implementation(key, int(size_index), name), about=blas_kernels)


def memory_ratio(fn, stored: int, returned: int) -> float:
    """Peak memory of one call beyond the activations a backward pass must keep and the
    gradients it returns, as a multiple of those activations."""
    import tracemalloc

    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (peak - stored - returned) / stored


def kept_memory_ratio(generated, stored: int, returned: int) -> float:
    """The generated module's memory in a training loop beyond the activations and the gradients,
    as a multiple of the activations: what its Workspace keeps between calls plus the peak of
    what a warm call allocates."""
    import tracemalloc

    workspace = generated.module.Workspace()
    for _ in range(2):  # the first notes the buffers' shapes, the second lays them out
        generated(workspace)
    tracemalloc.start()
    generated(workspace)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (workspace.nbytes + peak - stored - returned) / stored


def blas_kernels() -> str:
    """The kernels NumPy's OpenBLAS runs, as threadpoolctl reads them (the bench extra has it)."""
    forced = os.environ.get("OPENBLAS_CORETYPE")
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return f"forced to {forced}" if forced else "OpenBLAS's choice"
    cores = {info.get("architecture") for info in threadpool_info() if info.get("internal_api") == "openblas"}
    return ", ".join(sorted(map(str, cores))) + (" (forced by OPENBLAS_CORETYPE)" if forced else " (OpenBLAS's choice)")


def _check_same(impls) -> None:
    """Every implementation computes the same loss (so the timings compare like with like)."""
    losses = {name: float(fn()[0]) for name, fn in impls.items()}
    reference = losses["generated"]
    for name, value in losses.items():
        if abs(value - reference) > 1e-8 * max(1.0, abs(reference)):
            raise SystemExit(f"{name} computes loss {value}, generated {reference}")


def main() -> None:
    if "--worker" in sys.argv:
        worker_main(sys.argv)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="*", help="indices of the sizes to run (0, 1, 2)")
    parser.add_argument("--activations", nargs="*", default=["sigmoid", "tanh"], help="of rnn-softmax")
    parser.add_argument("--models", nargs="*", default=["rnn-softmax", "lstm", "mgu", "gru-torch", "conv-dense"])
    parser.add_argument("--blas-coretype", help="force OpenBLAS's kernels (e.g. Haswell); default: its own choice")
    parser.add_argument("--tuned", action="store_true",
                        help="the old mode: everything in one process, malloc keeping freed memory, OpenMP passive")
    parser.add_argument("--system-malloc", action="store_true",
                        help="with --tuned: glibc's default malloc, which returns freed arrays to the kernel")
    args = parser.parse_args()
    if not args.tuned:
        isolated_main(args)
        return
    print("TUNED MODE (not what a user gets: one process, OMP_WAIT_POLICY=PASSIVE, malloc tuned)")
    sizes = [SIZES[j] for j in args.sizes] if args.sizes else SIZES
    print(f"{args.threads} threads; GEMM peak: a {GEMM_SIZE}² float64 A @ B in every round; malloc: "
          + ("glibc's defaults" if args.system_malloc else f"keeps freed memory (GLIBC_TUNABLES={KEEP_FREED_MEMORY})"))
    print(f"OpenBLAS kernels: {blas_kernels()}")
    if "rnn-softmax" in args.models:
        for activation in args.activations:
            bench(rnn_model(activation), sizes, args.rounds)
    if "lstm" in args.models:
        bench(LSTM, sizes, args.rounds)
    if "mgu" in args.models:
        bench(MGU, sizes, args.rounds)
    if "gru-torch" in args.models:
        bench(GRU_TORCH, sizes, args.rounds)
    if "conv-dense" in args.models:
        bench_conv(args.rounds)


if __name__ == "__main__":
    main()
