"""How long `derive analyze MODEL --T 100` takes as a whole process, for every built-in model with
a state and every example (model file or problem) that has one (issue 17's goal: under 3 s each).

Each run is a fresh process (start-up, reading, deriving, the trajectory, the text report);
the median of --repeats runs is printed per model, with the worst at the end.

    python bench/analyze_time.py [--repeats 3] [--T 100]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_S = 3.0


def models() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from derive import presets, source
    from derive.analysis.paths import NotRecurrent, recurrence
    from derive.deriver import derive

    found = []
    examples = ROOT / "examples"
    candidates = list(presets.PRESETS) + sorted(str(p.relative_to(ROOT)) for p in examples.glob("*.py"))
    candidates += sorted(str(p.relative_to(ROOT)) for p in (examples / "problems").glob("*.md")
                         if not p.name.endswith("_claims.md"))
    for ref in candidates:
        try:
            recurrence(derive(source.resolve(ref).build(), "numerator"))
        except NotRecurrent:
            continue
        found.append(ref)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--T", dest="steps", type=int, default=100)
    args = parser.parse_args()
    derive = str(Path(sys.executable).parent / "derive")
    worst = 0.0
    for ref in models():
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            subprocess.run([derive, "analyze", ref, "--T", str(args.steps)], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        worst = max(worst, median)
        print(f"{ref:<40} median {median:5.2f} s  ({', '.join(f'{x:.2f}' for x in times)})")
    print(f"worst median {worst:.2f} s; goal under {GOAL_S:.0f} s: {'met' if worst < GOAL_S else 'NOT met'}")


if __name__ == "__main__":
    main()
