"""Issue 20's fuzzers at length: mutated answer files and grammar-grown claims through
`derive check`, counting crashes, internal errors dressed as `unchecked`, and runs over the
time budget (the goal: 0 of each).

    python bench/fuzz.py [--files 2000] [--claims 10000] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fuzzing import grammar_run, mutation_run  # noqa: E402


def show(name, report, took):
    print(f"{name}: {report.runs} runs in {took:.0f} s, {report.verdicts} verdicts, {report.refused} refused with "
          f"one line; {len(report.crashes)} crashes, {len(report.masked)} masked internal errors, "
          f"{len(report.slow)} over the budget")
    for what, why in (report.crashes + report.masked + report.slow)[:20]:
        print(f"    {what}: {why}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--claims", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        files = mutation_run(args.files, Path(folder), seed=args.seed)
    show("mutated files", files, time.monotonic() - start)
    start = time.monotonic()
    claims = grammar_run(args.claims, seed=args.seed)
    show("grammar claims", claims, time.monotonic() - start)


if __name__ == "__main__":
    main()
