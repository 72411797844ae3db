"""Checking a whole answer file (or claims given on the command line)."""

from __future__ import annotations

from pathlib import Path

from derive import source
from derive.check.judge import Checker, Verdict
from derive.check.reader import Answer, AnswerError, Claim, claims_in_math, read_answer
from derive.network import DeclarationError


class CheckError(ValueError):
    """Input that cannot be checked at all (one line for the user, exit 2)."""


def load(file: str | None, claims: tuple[str, ...]) -> Answer:
    if file is None and not claims:
        raise CheckError("give an answer FILE or at least one --claim")
    if file is not None:
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CheckError(f"no such file: {file}") from None
        except (UnicodeDecodeError, IsADirectoryError, PermissionError, OSError) as err:
            raise CheckError(f"cannot read {file}: {getattr(err, 'reason', None) or err.__class__.__name__}") from None
        try:
            answer = read_answer(text)
        except AnswerError as err:
            raise CheckError(f"{file}: {err}") from None
    else:
        answer = Answer()
    for j, latex in enumerate(claims, 1):
        found, _ = claims_in_math(latex, j)
        if not found:
            raise CheckError(f"--claim {latex[:60]!r} is not an equation whose left side is a derivative")
        answer.claims += found
    return answer


def check_answers(file, model_text, layout, claims, settings=None) -> tuple[str | None, list[Verdict]]:
    """(the model's name as given, a verdict per claim) for an answer file or --claim texts.

    ``model_text`` comes from the command line (a preset or a path, a .py file included); a
    model the file names in its front matter is resolved relative to the file, and never as
    Python code. ``settings`` (--set) override the file's set:."""
    answer = load(file, claims)
    if model_text is None and answer.model is None:
        if answer.forward:
            return None, [_unchecked(c, "forward: declarations are not read yet; name the model with model:")
                          for c in answer.claims]
        raise CheckError("no model: pass --model MODEL or put model: in the front matter")
    try:
        if model_text is not None:
            model = source.resolve(model_text)
        else:
            base = Path(file).parent if file is not None else None
            model = source.resolve(answer.model, base=base, allow_python=False)
        checker = Checker(model, layout or answer.layout, answer.notation, {**answer.settings, **(settings or {})})
    except DeclarationError as err:
        raise CheckError(str(err)) from None
    verdicts = []
    for claim in answer.claims:
        try:
            verdicts.append(checker.check(claim))
        except Exception as err:  # noqa: BLE001 - one claim's failure must not stop the others
            verdicts.append(_unchecked(claim, f"derive could not check it ({type(err).__name__})"))
    return model.ref, verdicts


def _unchecked(claim: Claim, reason: str) -> Verdict:
    return Verdict(claim.line, " ".join(claim.lhs.split()), claim.latex, "unchecked", reason)
