"""What a warm gradients() call still allocates, with the buffers it keeps and without them.

Each generated module runs in a process of its own with a user's environment (glibc's own
malloc, no tunings: bench/isolated.py), warm, once in its thread's own Workspace (the default)
and once with Workspace(keep=0) (every array new, as before the modules kept buffers). Per call:

    faults      minor page faults (getrusage): fresh pages the kernel maps in
    allocated   the peak of what the call allocates beyond the gradients it returns (tracemalloc)
    kept        what the workspace holds between calls
    ms          the median time of a call

all as multiples of the stored activations where they are bytes. The hand-written NumPy peers
allocate as a careful hand-writer's code does (no buffers between calls).

    python bench/allocations.py [--calls 20] [--threads 2] [--sizes 0 1 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

def measure(key: str, size_index: int, keep: int | None, calls: int) -> dict:
    """One module at one size in this process: faults, allocations and time per warm call."""
    import grad_speed

    model = grad_speed.SEQUENCES[key]()
    module = grad_speed.load_generated(model.preset, model.settings)
    B, d, n, k, T = grad_speed.SIZES[size_index]
    p, x, y, _ = grad_speed.sequence_case(model, grad_speed.SIZES[size_index])
    workspace = module.Workspace(keep=keep) if keep is not None else None

    def call():
        return module.gradients(p, {"x": x}, {"y": y}, workspace=workspace)

    for _ in range(3):
        call()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls
    tracemalloc.start()
    call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    stored = x.itemsize * T * B * model.stored_rows(n, k)
    returned = sum(v.nbytes for v in p.values())
    kept = (workspace if workspace is not None else module.thread_workspace()).nbytes
    return {"faults": faults, "allocated": (peak - returned) / stored, "kept": kept / stored,
            "ms": 1e3 * statistics.median(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--models", nargs="*", default=["rnn-sigmoid", "lstm", "gru-torch", "mgu"])
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)  # KEY SIZE KEEP: a worker's measurement
    args = parser.parse_args()
    if args.one:
        key, size, keep = args.one
        print(json.dumps(measure(key, int(size), None if keep == "default" else int(keep), args.calls)))
        return
    import grad_speed
    import isolated

    env, removed = isolated.user_environment(args.threads)
    print(f"each module in its own process, {args.threads} threads, a user's environment"
          + (f" ({', '.join(removed)} removed)" if removed else "") + f"; {args.calls} warm calls")
    print(f"{'model':12} {'(B, d, n, k, T)':24} {'buffers':8} {'faults':>8} {'allocated':>10} "
          f"{'kept':>6} {'ms':>8}")
    for key in args.models:
        for j in args.sizes:
            for keep, label in (("default", "kept"), ("0", "none")):
                command = [sys.executable, __file__, "--one", key, str(j), keep, "--calls", str(args.calls)]
                reply = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
                m = json.loads(reply.stdout.strip().splitlines()[-1])
                print(f"{key:12} {str(grad_speed.SIZES[j]):24} {label:8} {m['faults']:8.0f} {m['allocated']:9.2f}x "
                      f"{m['kept']:5.2f}x {m['ms']:8.2f}")


if __name__ == "__main__":
    main()
