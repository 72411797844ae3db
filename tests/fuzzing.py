"""Inputs a hostile or careless user could give `derive check`, made at random (issue 20): answer
files mutated from real ones, and claims grown from a grammar of the notation answers use.

A run passes when every file is either refused with one clear line (CheckError) or checked,
within its time budget, with no verdict that is an internal error in disguise ("derive could
not check it (KeyError)"). tests/test_fuzz.py runs a few hundred in CI; bench/fuzz.py runs
thousands and prints the figures.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*(ROOT / "tests" / "claims").glob("*.md"), *(ROOT / "tests" / "seeds").glob("*.txt"),
                  *(ROOT / "examples" / "problems").glob("*_claims.md"), *(ROOT / "examples").glob("*_claims.md")])
MASKED = "could not check it ("

# What a mutation inserts: LaTeX a student writes, damage OCR makes, and what a hostile file holds.
FRAGMENTS = [
    r"\frac{\partial L}{\partial h_t}", r"\sum_{t=1}^{T}", r"\sum_{k=1}^{t}", r"\prod_{i=k+1}^{t}", r"\odot",
    r"\otimes", r"^\top", r"^{T}", r"\operatorname{diag}", r"\sigma'", r"\tanh", r"(", r")", "{", "}", "[", "]",
    r"\left(", r"\right)", "=", "&", r"\\", "$", "$$", r"\begin{bmatrix}", r"\end{bmatrix}", r"\begin{aligned}",
    r"\end{aligned}", "_", "^", r"\hat{y}_t", "W", "h_{t-1}", "x_t", "1", "0", "-", "+", r"\cdot", r"\mathbf{1}",
    r"I_{99999}", "\x1b[2J", "\x00", "\u202e", "9" * 60, r"\sum_{a=1}^{9999}", r"\lambda", r"\ell(o_t, y_t)",
    "egin{", "rac{", r"\ ", "---", "model: rnn-softmax", "\n", r"\text{and}", r"\quad", r"\tag{1}",
]
MODELS = ["rnn-softmax", "rnn-binary", "rnn-d2l", "mlp-l2", "lstm", "gru", "conv-dense"]


@dataclass
class Report:
    runs: int = 0
    refused: int = 0  # one clear line, exit 2
    verdicts: int = 0
    masked: list = field(default_factory=list)  # (what, reason)
    crashes: list = field(default_factory=list)  # (what, exception)
    slow: list = field(default_factory=list)  # (what, seconds)
    seconds: float = 0.0


def mutate(text: str, rng: random.Random) -> str:
    """A few random edits: delete, duplicate, insert a fragment, swap two lines."""
    for _ in range(rng.randint(1, 6)):
        kind = rng.random()
        at = rng.randrange(len(text) + 1)
        if kind < 0.3 and text:
            text = text[:at] + text[at + rng.randint(1, 40):]
        elif kind < 0.45 and text:
            piece = text[at:at + rng.randint(1, 200)]
            text = text[:at] + piece * rng.randint(2, 4) + text[at:]
        elif kind < 0.85:
            text = text[:at] + rng.choice(FRAGMENTS) + text[at:]
        else:
            lines = text.split("\n")
            if len(lines) > 1:
                i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    return text


def check_file(path: Path, model: str | None, report: Report, budget: float) -> None:
    from derive.check.run import CheckError, check_answers

    start = time.monotonic()
    report.runs += 1
    try:
        _, verdicts = check_answers(str(path), model, None, ())
    except CheckError:
        report.refused += 1
        verdicts = []
    except Exception as err:  # noqa: BLE001 - what the fuzzer is for
        report.crashes.append((str(path), f"{type(err).__name__}: {err}"))
        verdicts = []
    took = time.monotonic() - start
    report.seconds += took
    if took > budget:
        report.slow.append((str(path), round(took, 1)))
    report.verdicts += len(verdicts)
    for v in verdicts:
        if MASKED in v.reason:
            report.masked.append((f"{path} line {v.line}: {v.latex[:80]!r}", v.reason))


def mutation_run(count: int, folder: Path, seed: int = 0, budget: float = 60.0) -> Report:
    """``count`` mutated answer files, each checked with a model (or with its own front matter)."""
    rng = random.Random(seed)
    report = Report()
    for number in range(count):
        source = rng.choice(SOURCES)
        text = mutate(source.read_text(encoding="utf-8"), rng)
        path = folder / f"mutant_{number}{source.suffix}"
        path.write_text(text, encoding="utf-8")
        model = None if "model:" in text[:200] else rng.choice(MODELS)
        check_file(path, model, report, budget)
    return report


# ---------------------------------------------------------------- claims from a grammar

SYMBOLS = ["h_t", "h_{t-1}", "h_{t+1}", "h_T", "x_t", "a_t", "o_t", r"\hat{y}_t", "y_t", "W", "U", "V", "b", "c",
           "h_k", "z_t", "C_t", "f_t", "i_t", r"\mathbf{1}", "I", "I_n", "0", "1", "2", r"\frac{1}{T}", "T", "t", "k"]
WRT = ["h_t", "h_T", "h_{t-1}", "W", "U", "V", "b", "c", "o_t", "a_t", "x_t", "h_k", r"\lambda", "L", "C_t", "z"]


def expression(rng: random.Random, depth: int = 0) -> str:
    if depth > 3 or rng.random() < 0.3:
        return rng.choice(SYMBOLS)
    kind = rng.randrange(12)
    a = expression(rng, depth + 1)
    b = expression(rng, depth + 1)
    return [
        f"{a} + {b}", f"{a} - {b}", f"{a} {b}", rf"{a} \odot {b}", f"{a}^\\top", f"({a})", rf"\sigma'({a})",
        rf"\operatorname{{diag}}({a})", rf"\sum_{{t=1}}^{{T}} {a}", rf"\prod_{{i=k+1}}^{{t}} {a}",
        rf"\frac{{\partial L}}{{\partial {rng.choice(WRT)}}} {a}", rf"\frac{{{a}}}{{{b}}}",
    ][kind]


def claim(rng: random.Random) -> str:
    lhs = rng.choice([rf"\frac{{\partial L}}{{\partial {rng.choice(WRT)}}}",
                      rf"\frac{{\partial {rng.choice(['h_t', 'h_T', 'C_t'])}}}{{\partial {rng.choice(WRT)}}}"])
    return f"{lhs} = {expression(rng)}"


def grammar_run(count: int, seed: int = 0, models=("rnn-softmax", "rnn-binary", "lstm", "mlp-l2")) -> Report:
    """``count`` claims grown from the grammar, each checked against one of ``models``."""
    from derive import presets
    from derive.check.judge import Checker
    from derive.check.reader import claims_in_math

    rng = random.Random(seed)
    checkers = {m: Checker(presets.PRESETS[m], "auto", {}, {}) for m in models}
    report = Report()
    for _ in range(count):
        text = claim(rng)
        model = rng.choice(models)
        found, _ = claims_in_math(text, 1)
        report.runs += 1
        start = time.monotonic()
        for c in found:
            try:
                v = checkers[model].check(c)
            except Exception as err:  # noqa: BLE001 - what the fuzzer is for
                report.crashes.append((f"{model}: {text}", f"{type(err).__name__}: {err}"))
                continue
            report.verdicts += 1
            if MASKED in v.reason:
                report.masked.append((f"{model}: {text}", v.reason))
        took = time.monotonic() - start
        report.seconds += took
        if took > 10:
            report.slow.append((f"{model}: {text}", round(took, 1)))
    return report
