"""Timing as a user runs each tool: every implementation in a process of its own, started with
the environment a user has (glibc's own malloc, each library's own OpenMP and BLAS waiting, no
preloaded allocator), all at the same thread count, warm (a training loop calls gradients()
again and again), in interleaved rounds with the ratios paired per round.

The parent only orchestrates: it starts one worker per implementation (``grad_speed.py --worker``)
and, round after round, asks each in turn to time a burst of calls. Only one worker computes at
a time. After each turn the parent waits until that worker's threads are idle (its CPU time
stops growing: OpenBLAS's threads spin on for about 0.1 s after a GEMM, OpenMP's for less), so
that nobody's turn starts beside another process's busy threads; and the order changes from
round to round (rotated, and reversed every other round), so that nobody always follows the
same neighbour.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPELL = 0.02  # a turn repeats a sub-millisecond call until it lasts about this long
REPLY_SECONDS = 900  # a worker that says nothing for this long is hung
# what a user's process does not have: tunings that flatter one implementation or another
TUNINGS = ("OMP_WAIT_POLICY", "GLIBC_TUNABLES", "OPENBLAS_CORETYPE", "LD_PRELOAD", "GOMP_SPINCOUNT")
TUNING_PREFIXES = ("MALLOC_", "KMP_")


def user_environment(threads: int, coretype: str | None = None) -> tuple[dict, list[str]]:
    """(a user's environment, the names removed from the inherited one): no tunings, every BLAS
    and OpenMP runtime at ``threads`` threads (torch sets its own to the same), and OpenBLAS's
    own choice of kernels unless ``coretype`` forces one."""
    removed = sorted(key for key in os.environ if key in TUNINGS or key.startswith(TUNING_PREFIXES))
    env = {key: value for key, value in os.environ.items() if key not in removed}
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    return env, removed


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its threads so far (Linux), in clock ticks."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return float(fields[11]) + float(fields[12])


class Worker:
    """One implementation in its own process, answering one line per request."""

    def __init__(self, model: str, size: int, impl: str, threads: int, env: dict):
        self.impl = impl
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "grad_speed.py"), "--worker", model, str(size), impl, "--threads",
             str(threads)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        reply = self._read()  # "ready LOSS" once built and warm, or "unavailable: WHY"
        self.available = reply.startswith("ready")
        self.loss = float(reply.split()[1]) if self.available else None
        self.why = "" if self.available else reply
        self.calls = 1

    def _read(self) -> str:
        ready, _, _ = select.select([self.process.stdout], [], [], REPLY_SECONDS)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            raise SystemExit(f"the worker of {self.impl} ended or hung without a reply")
        return line.strip()

    def ask(self, request: str) -> str:
        self.process.stdin.write(request + "\n")
        self.process.stdin.flush()
        return self._read()

    def settle(self) -> None:
        """Return once this worker's threads have stopped using the CPU (or after a second)."""
        if not sys.platform.startswith("linux"):
            time.sleep(0.2)
            return
        deadline = time.perf_counter() + 1.0
        last = cpu_seconds(self.process.pid)
        while time.perf_counter() < deadline:
            time.sleep(0.02)
            now = cpu_seconds(self.process.pid)
            if now == last:
                return
            last = now

    def calibrate(self) -> None:
        seconds = float(self.ask("run 1"))
        self.settle()
        self.calls = max(1, round(SPELL / seconds))

    def per_call(self) -> float:
        seconds = float(self.ask(f"run {self.calls}")) / self.calls
        self.settle()
        return seconds

    def close(self) -> None:
        try:
            if self.process.poll() is None:
                self.process.stdin.write("quit\n")
                self.process.stdin.flush()
                self.process.wait(timeout=60)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self.process.kill()


def race(model: str, size: int, impls: list[str], threads: int, rounds: int, coretype: str | None = None) -> dict:
    """Per-call times of every available implementation (and the reference GEMM, under
    ``"A @ B"``) over ``rounds`` interleaved rounds, each in its own process. ``impls[0]`` is
    the generated code, which every other must agree with on the loss."""
    env, _ = user_environment(threads, coretype)
    workers = []
    try:
        for name in [*impls, "A @ B"]:
            workers.append(Worker("gemm" if name == "A @ B" else model, size, name, threads, env))
        for w in workers:
            if not w.available:
                print(f"  ({w.impl}: {w.why})")
        if not workers[0].available:
            raise SystemExit(f"the generated code of {model} could not run: {workers[0].why}")
        workers = [w for w in workers if w.available]
        for w in workers[1:-1]:  # the last is the GEMM, which has no loss
            if abs(w.loss - workers[0].loss) > 1e-8 * max(1.0, abs(workers[0].loss)):
                raise SystemExit(f"{w.impl} computes loss {w.loss}, generated {workers[0].loss}")
        for w in workers:
            w.calibrate()
        times = {w.impl: [] for w in workers}
        for round_number in range(rounds):
            shift = round_number % len(workers)
            order = workers[shift:] + workers[:shift]
            for w in (order if round_number % 2 == 0 else order[::-1]):
                times[w.impl].append(w.per_call())
        return times
    finally:
        for w in workers:
            w.close()


def serve(build, about=None) -> None:
    """The worker's loop: ``build()`` gives (loss, call) or raises ImportError; then one line
    per request on stdin: ``run K`` (seconds for K calls), ``about`` (``about()``), ``quit``.

    The replies go to the process's original stdout; anything a library prints goes to stderr,
    so that it cannot be read as a reply."""
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    def reply(text) -> None:
        replies.write(f"{text}\n")
        replies.flush()

    try:
        loss, call = build()
    except ImportError as err:
        reply(f"unavailable: {err}")
        return
    for _ in range(3):  # warm: caches, lazily made buffers, a JIT's compilation
        call()
    reply(f"ready {loss!r}")
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            return
        if words[0] == "about":
            reply(about() if about else "")
            continue
        calls = int(words[1])
        start = time.perf_counter()
        for _ in range(calls):
            call()
        reply(time.perf_counter() - start)
