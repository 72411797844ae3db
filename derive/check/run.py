"""Checking a whole answer file (or claims given on the command line)."""

from __future__ import annotations

import time
from pathlib import Path

from derive import source
from derive.check.judge import Checker, Verdict
from derive.check.reader import Answer, AnswerError, Claim, claims_in_math, read_answer
from derive.network import DeclarationError
from derive.reading import ReadError, read_text

FILE_SECONDS = 60.0  # one answer file's claims; those past it are unchecked, saying so
MAX_FILE_BYTES = 8_000_000  # the reader takes 2 000 000 characters; UTF-8 spends up to 4 bytes on one


class CheckError(ValueError):
    """Input that cannot be checked at all (one line for the user, exit 2)."""


def load(file: str | None, claims: tuple[str, ...]) -> Answer:
    if file is None and not claims:
        raise CheckError("give an answer FILE or at least one --claim")
    if file is not None:
        path = Path(file)
        try:
            text = read_text(path, MAX_FILE_BYTES)
        except FileNotFoundError:
            raise CheckError(f"no such file: {file}") from None
        except ReadError as err:
            raise CheckError(f"cannot read {file}: {err}") from None
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
    given = _given_matrices(answer)
    if given and not answer.claims and model_text is None and answer.model is None and answer.forward is None:
        return None, given  # only arithmetic on the given matrices: no network needed
    name, verdicts = _derivative_claims(answer, file, model_text, layout, settings)
    return name, sorted(verdicts + given, key=lambda v: v.line)


def _given_matrices(answer: Answer) -> list[Verdict]:
    """The verdicts on the numeric claims about the matrices the front matter gives (weights:,
    eigendecomposition:) and on the statements about vanishing and exploding the prose makes."""
    from derive.check.limits import judge_all

    verdicts = judge_all(answer.body, answer.weights, answer.body_line)
    if answer.weights or answer.decomposition:
        from derive.check.matrices import check

        verdicts += check(answer.body, answer.weights, answer.notation, answer.body_line, answer.decomposition)
    return verdicts


def _derivative_claims(answer, file, model_text, layout, settings):
    if model_text is None and answer.model is None and answer.forward is None:
        return _check_against_own_equations(answer, file, layout, settings)
    try:
        if model_text is not None:
            model_key = ("command line", model_text, _stamp(model_text))
            model = _cached(model_key, lambda: source.resolve(model_text))
        elif answer.forward is not None:
            model_key = ("forward", file, repr(sorted(answer.forward.items())), answer.forward_line)
            model = _cached(model_key, lambda: _forward_model(answer, file))
        else:
            base = Path(file).parent if file is not None else None
            where = str((base or Path()) / answer.model)
            model_key = ("answer", where, _stamp(where))
            model = _cached(model_key, lambda: source.resolve(answer.model, base=base, allow_python=False))
        options = {**answer.settings, **(settings or {})}
        layout = layout or answer.layout
        checker_key = ("checker", model_key, layout, tuple(sorted(answer.notation.items())),
                       tuple(sorted(options.items())))
        checker = _cached(checker_key, lambda: Checker(model, layout, answer.notation, options))
    except DeclarationError as err:
        raise CheckError(str(err)) from None
    deadline = time.monotonic() + FILE_SECONDS
    return model.ref, [_verdict(checker, claim, deadline) for claim in answer.claims]


def _verdict(checker: Checker, claim: Claim, deadline: float) -> Verdict:
    if time.monotonic() > deadline:
        return _unchecked(claim, f"the file's time budget ({FILE_SECONDS:.0f} s) ran out before this claim")
    try:
        return checker.check(claim)
    except Exception as err:  # noqa: BLE001 - one claim's failure must not stop the others
        return _unchecked(claim, f"derive could not check it ({type(err).__name__})")


def _check_against_own_equations(answer: Answer, file: str | None, layout, settings):
    """A file without a model: each claim is judged against the network that the forward
    equations written above it in the file define (seed 001 writes h_t = ReLU(...), y_pred = ...,
    L = ... before its answers). A new block of equations that defines a network starts a new
    problem (seeds 000, 002, 003 hold two or three); equations that define none (the working of a
    solution, or OCR damage) change nothing, and claims with no network above them are unchecked,
    saying which equations failed and why."""
    from derive.check.reader import Definition
    from derive.equations import modelfile
    from derive.equations.text import EquationError

    verdicts, names, pending = [], [], []
    checker, failure = None, "no forward equations above it define a network"
    deadline = time.monotonic() + FILE_SECONDS
    for item in answer.items:
        if isinstance(item, Definition):
            if _defines(item) and _defines(item) in {_defines(d) for d in pending}:
                pending = []  # a symbol defined again: a new problem starts here
            pending.append(item)
            continue
        if pending:
            lines = modelfile.forward_lines(pending)
            span = f"lines {lines[0][0]}–{lines[-1][0]}" if lines else ""
            try:
                decl = _cached(("in file", file, tuple(lines)),
                               lambda lines=lines: modelfile.declare_lines(lines, Path(file or "answer").stem))
                model = modelfile.declared_model(decl, f"{file} ({span})", Path(file or "answer").stem)
                options = {**answer.settings, **(settings or {})}
                key = ("checker", "in file", file, tuple(lines), layout or answer.layout,
                       tuple(sorted(answer.notation.items())), tuple(sorted(options.items())))
                checker = _cached(key, lambda model=model, options=options: Checker(
                    model, layout or answer.layout, answer.notation, options))
                names.append(model.ref)
            except (EquationError, DeclarationError) as err:
                if checker is None:
                    failure = f"the equations on {span} do not define a network: {err}"
            except Exception as err:  # noqa: BLE001 - a student's equations: never a traceback
                if checker is None:
                    failure = f"the equations on {span} cannot be evaluated ({type(err).__name__})"
            pending = []
        verdicts.append(_verdict(checker, item, deadline) if checker is not None else _unchecked(item, failure))
    if not any(isinstance(item, Definition) for item in answer.items):
        raise CheckError("no model: pass --model MODEL or put model: or forward: in the front matter")
    return "; ".join(names) or None, verdicts


def _defines(definition) -> str | None:
    """The left side a definition writes, without spaces (h_t in h_t = ...), or None."""
    left, equals, _ = definition.text.partition("=")
    return "".join(left.split()) if equals else None


# A class of answer files shares its model: it is read, derived and sampled once per process.
_CACHE: dict = {}
CACHE_SIZE = 16


def _cached(key, make):
    if key not in _CACHE:
        if len(_CACHE) >= CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = make()
    return _CACHE[key]


def _stamp(text: str):
    """A file's modification time and size, so that an edited model file is read again."""
    try:
        stat = Path(text).stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _forward_model(answer: Answer, file: str | None):
    """The model the answer file's own forward: equations declare."""
    from derive.equations.modelfile import declaration, declared_model
    from derive.equations.text import EquationError

    ref = file or "--claim"
    try:
        decl = declaration(answer.forward, stem=Path(ref).stem, first_line=answer.forward_line)
    except EquationError as err:
        raise DeclarationError(f"{ref}: forward: {err}") from None
    return declared_model(decl, f"{ref} (forward:)", Path(ref).stem)


def _unchecked(claim: Claim, reason: str) -> Verdict:
    return Verdict(claim.line, " ".join(claim.lhs.split()), claim.latex, "unchecked", reason)
