"""Timing as a user runs each tool: every implementation in a process of its own, started with
the environment a user has (no OMP_WAIT_POLICY, no GLIBC_TUNABLES: glibc's own malloc and each
library's own OpenMP behaviour), all at the same thread count, warm (a training loop calls
gradients() again and again), in interleaved rounds with the ratios paired per round.

The parent only orchestrates: it starts one worker per implementation (``grad_speed.py --worker``)
and, round after round, asks each in turn, in a rotating order, to time a burst of calls. Only
one worker computes at a time; between turns the parent waits a moment, so that the threads a
library leaves spinning after its call (OpenMP's default) are asleep before the next one starts.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SETTLE = 0.05  # seconds between turns: OpenMP's spinning threads go to sleep well within it
SPELL = 0.02  # a turn repeats a sub-millisecond call until it lasts about this long


def user_environment(threads: int) -> dict:
    """A user's environment: the inherited one without the tunings that flatter a benchmark,
    every BLAS and OpenMP runtime at ``threads`` threads (torch sets its own to the same)."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("OMP_WAIT_POLICY", "GLIBC_TUNABLES", "OPENBLAS_CORETYPE")}
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    return env


class Worker:
    """One implementation in its own process, answering one line per request."""

    def __init__(self, model: str, size: int, impl: str, threads: int, env: dict):
        self.impl = impl
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "grad_speed.py"), "--worker", model, str(size), impl, "--threads",
             str(threads)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        reply = self._read()  # "ready LOSS" once built and warm, or "unavailable WHY"
        self.available = reply.startswith("ready")
        self.loss = float(reply.split()[1]) if self.available else None
        self.why = reply if not self.available else ""
        self.calls = 1

    def _read(self) -> str:
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the worker of {self.impl} ended without a reply")
        return line.strip()

    def ask(self, request: str) -> str:
        self.process.stdin.write(request + "\n")
        self.process.stdin.flush()
        return self._read()

    def calibrate(self) -> None:
        self.calls = max(1, round(SPELL / float(self.ask("run 1"))))

    def per_call(self) -> float:
        return float(self.ask(f"run {self.calls}")) / self.calls

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
            self.process.wait(timeout=60)


def race(model: str, size: int, impls: list[str], threads: int, rounds: int) -> dict:
    """Per-call times of every available implementation (and the reference GEMM, under
    ``"A @ B"``) over ``rounds`` interleaved rounds, each in its own process."""
    env = user_environment(threads)
    workers = [Worker(model, size, name, threads, env) for name in impls]
    workers.append(Worker("gemm", 0, "A @ B", threads, env))
    try:
        for w in workers:
            if not w.available:
                print(f"  ({w.impl}: {w.why})")
        workers = [w for w in workers if w.available]
        reference = workers[0].loss
        for w in workers[:-1]:
            if abs(w.loss - reference) > 1e-8 * max(1.0, abs(reference)):
                raise SystemExit(f"{w.impl} computes loss {w.loss}, generated {reference}")
        for w in workers:
            w.calibrate()
        times = {w.impl: [] for w in workers}
        for round_number in range(rounds):
            shift = round_number % len(workers)
            for w in workers[shift:] + workers[:shift]:
                time.sleep(SETTLE)
                times[w.impl].append(w.per_call())
        return times
    finally:
        for w in workers:
            w.close()


def serve(build) -> None:
    """The worker's loop: ``build()`` gives (loss, call) or raises ImportError; then one line
    per request on stdin: ``run K`` (seconds for K calls), ``quit``."""
    try:
        loss, call = build()
    except ImportError as err:
        print(f"unavailable: {err}", flush=True)
        return
    for _ in range(3):  # warm: caches, lazily made buffers, a JIT's compilation
        call()
    print(f"ready {loss!r}", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[0] == "quit":
            return
        calls = int(words[1])
        start = time.perf_counter()
        for _ in range(calls):
            call()
        print(time.perf_counter() - start, flush=True)


def paired_ratio(mine: list[float], base: list[float]) -> float:
    return statistics.median(other / gen for other, gen in zip(mine, base, strict=True))
