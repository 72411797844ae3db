"""How the cost of a derivation grows with T, next to the scalar SymPy oracle's.

For each preset and T in 3, 10, 30, 100, 300: the median time of deriving and rendering the
terminal report for that T (the derivation itself is per step; the report unrolls the BPTT
double sum's first and last terms and counts the rest), the time of the SymPy scalar oracle
(the network written out in scalars and differentiated) where it finishes within 60 s, and
the time of ``derive show PRESET --T 100`` as a whole process.

    python bench/derive_cost.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import subprocess
import sys
import time

from derive import oracles, presets
from derive.deriver import derive
from derive.report import TerminalReport

STEPS = (3, 10, 30, 100, 300)
ORACLE_LIMIT_S = 60


def derive_and_render(name: str, steps: int) -> float:
    start = time.perf_counter()
    net = presets.build(name, {"T": str(steps)} if "T" in presets.get(name).sizes else {})
    TerminalReport(derive(net), steps).render()
    return time.perf_counter() - start


def _oracle(name: str, steps: int, queue) -> None:
    net = presets.build(name)
    point, exact = oracles.random_point(net, steps, seed=0)
    start = time.perf_counter()
    oracles.sympy_gradients(net, point, exact)
    queue.put(time.perf_counter() - start)


def oracle_time(name: str, steps: int) -> float | None:
    queue = multiprocessing.Queue()
    child = multiprocessing.Process(target=_oracle, args=(name, steps, queue))
    child.start()
    child.join(ORACLE_LIMIT_S)
    if child.is_alive():
        child.terminate()
        child.join()
        return None
    return queue.get() if not queue.empty() else None


def whole_process(name: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "derive", "show", name, "--T", "100"], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-oracle", action="store_true", help="skip the SymPy oracle column")
    args = parser.parse_args()
    print(f"{'preset':<12} {'T':>4} {'derive+render (median)':>24} {'SymPy oracle':>14}")
    for name in presets.PRESETS:
        medians = {}
        oracle_gave_up = args.no_oracle
        for steps in STEPS:
            derive_and_render(name, steps)  # warm caches (imports, SymPy's cache) once
            medians[steps] = statistics.median(derive_and_render(name, steps) for _ in range(args.repeats))
            oracle = None if oracle_gave_up else oracle_time(name, steps)
            oracle_gave_up = oracle_gave_up or oracle is None
            shown = "skipped" if args.no_oracle else ("> 60 s" if oracle is None else f"{oracle:.2f} s")
            print(f"{name:<12} {steps:>4} {medians[steps] * 1000:>21.1f} ms {shown:>14}", flush=True)
        ratio = medians[300] / medians[30]
        process = whole_process(name)
        print(f"{name:<12} time(300)/time(30) = {ratio:.2f} (limit 12); at T = 100: {medians[100]:.3f} s "
              f"(limit 1 s); `derive show {name} --T 100` as a process: {process:.2f} s (limit 2 s)")


if __name__ == "__main__":
    main()
