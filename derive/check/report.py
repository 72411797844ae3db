"""What ``derive check`` prints: a row per claim (colour on a terminal) and a summary line, or
the JSON object of DESIGN.md."""

from __future__ import annotations

import json

import click

from derive.check.judge import Verdict
from derive.terminal import safe

COLOURS = {"correct": "green", "incorrect": "red", "conditional": "yellow", "unchecked": "bright_black"}
VERDICTS = ("correct", "incorrect", "conditional", "unchecked")


def summary(verdicts: list[Verdict]) -> dict:
    return {v: sum(1 for x in verdicts if x.verdict == v) for v in VERDICTS}


def as_json(model: str | None, verdicts: list[Verdict], file: str | None = None) -> str:
    """The object of DESIGN.md; with ``file`` (one of several) on one line, with a "file" key."""
    data = {"model": model, "claims": [v.as_json() for v in verdicts], "summary": summary(verdicts)}
    if file is None:
        return json.dumps(data, ensure_ascii=False, indent=2)
    return json.dumps({"file": file, **data}, ensure_ascii=False)


def as_text(model: str | None, verdicts: list[Verdict], colour: bool) -> str:
    """The rows; every text from the file goes through terminal.safe (no escape codes)."""
    lines = []
    for v in verdicts:
        tag = v.verdict.upper()
        if colour:
            tag = click.style(tag, fg=COLOURS[v.verdict], bold=v.verdict == "incorrect")
        lines.append(f"line {v.line:>4}  {tag:<11}  {_short(safe(v.quantity), 48):<48}  {safe(v.reason)}")
        if v.verdict == "incorrect" and v.expected:
            lines.append(f"{'':>30}expected: {safe(v.expected)}")
    counts = summary(verdicts)
    checked = len(verdicts) - counts["unchecked"]
    found = f"{len(verdicts)} claim{'' if len(verdicts) == 1 else 's'} found"
    lines.append(f"{safe(model or 'no model')}: {found}, {checked} checked: {counts['correct']} correct, "
                 f"{counts['incorrect']} incorrect, {counts['conditional']} conditional, "
                 f"{counts['unchecked']} unchecked")
    return "\n".join(lines) + "\n"


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def total(per_file: list[list[Verdict]]) -> str:
    """The last line for a class: every file's claims together."""
    every = [v for verdicts in per_file for v in verdicts]
    counts = summary(every)
    wrong = sum(1 for verdicts in per_file if any(v.verdict == "incorrect" for v in verdicts))
    return (f"total: {len(per_file)} files, {len(every)} claims: {counts['correct']} correct, {counts['incorrect']} "
            f"incorrect, {counts['conditional']} conditional, {counts['unchecked']} unchecked; {wrong} file"
            f"{'' if wrong == 1 else 's'} with an incorrect claim")
