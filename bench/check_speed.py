"""How long `derive check` takes on a 50-claim answer file, as a whole process.

The file is built from the hand-written claims of tests/claims/rnn-softmax.md (half of them
wrong, so the edit search runs), cycled to 50 claims with the order shuffled so that no two
neighbours repeat. Each run is a fresh `derive check FILE --json` process, so the times include
start-up, parsing, the 40-digit forward/backward passes and the diagnosis. The five seed files
are timed the same way for reference. The goal (issue 6) is under 5 s for the 50-claim file.

    python bench/check_speed.py [--repeats 5] [--claims 50]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLAIMS = ROOT / "tests" / "claims" / "rnn-softmax.md"
SEEDS = ROOT / "tests" / "seeds"
SEED_MODELS = {"000": "conv-dense", "001": "rnn-binary", "002": "rnn-d2l", "003": "rnn-softmax",
               "004": "rnn-softmax"}
GOAL_S = 5.0


def claim_lines() -> list[str]:
    return [line for line in CLAIMS.read_text(encoding="utf-8").splitlines() if line.startswith("$$")]


def answer_file(count: int) -> str:
    lines = claim_lines()
    chosen = [lines[i % len(lines)] for i in range(count)]
    random.Random(0).shuffle(chosen)
    return "---\nmodel: rnn-softmax\n---\n" + "\n\n".join(chosen) + "\n"


def timed_check(args: list[str]) -> tuple[float, dict]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "derive", "check", *args, "--json"],
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"derive check failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed, json.loads(done.stdout)


def median_run(args: list[str], repeats: int) -> tuple[float, float, dict]:
    times, report = [], {}
    for _ in range(repeats):
        elapsed, report = timed_check(args)
        times.append(elapsed)
    return statistics.median(times), max(times), report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--claims", type=int, default=50)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "answers.md"
        path.write_text(answer_file(options.claims), encoding="utf-8")
        median, worst, report = median_run([str(path)], options.repeats)
    summary = report["summary"]
    print(f"{options.claims}-claim file: median {median:.2f} s, worst {worst:.2f} s over {options.repeats} "
          f"processes (goal < {GOAL_S:.0f} s: {'met' if worst < GOAL_S else 'NOT met'})")
    print("  verdicts: " + ", ".join(f"{count} {verdict}" for verdict, count in summary.items()))
    print(f"  per claim: {1000 * median / options.claims:.0f} ms including start-up")

    print("seed files:")
    for seed in sorted(SEEDS.glob("*.txt")):
        model = SEED_MODELS[seed.name[:3]]
        median, _, report = median_run([str(seed), "--model", model], options.repeats)
        print(f"  {seed.name[:3]} ({model:<11}) {len(report['claims']):>3} claims: median {median:.2f} s")


if __name__ == "__main__":
    main()
