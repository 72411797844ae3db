"""A model file -> its forward equations and settings -> a ``Model``.

``problem.md`` / ``.tex``: YAML front matter whose ``forward:`` holds the equations, one per line
(``$``, ``&``, a trailing ``\\\\`` or comma and ``%`` comments are dropped); ``.yaml``: the same
keys as the whole file. The other keys are ``sizes:``, ``shapes:``, ``constants:``, ``data:``
(DESIGN.md, "Models"); an unknown key is refused rather than ignored.
"""

from __future__ import annotations

import re
from pathlib import Path

from derive import frontmatter
from derive.equations.declare import Declaration, declare
from derive.equations.text import EquationError
from derive.model import Concrete, Model
from derive.network import DeclarationError
from derive.reading import ReadError, read_text

MAX_FILE_BYTES = 1_000_000
KEYS = ("forward", "sizes", "shapes", "constants", "data", "title")


def equation_lines(forward, first_line: int = 1) -> list[tuple[int, str]]:
    """(line, equation) for every equation of a forward: text (a block of lines, or a list)."""
    if isinstance(forward, list):
        lines = [str(x) for x in forward]
    elif isinstance(forward, str):
        lines = forward.split("\n")
    else:
        raise EquationError("forward: holds the equations, one per line")
    out = []
    for j, raw in enumerate(lines):
        text = re.sub(r"(?<!\\)%.*$", "", raw)
        text = text.replace("$", "").replace("&", " ").strip()
        text = re.sub(r"(\\\\|[,.;])\s*$", "", text).strip()
        for piece in _side_by_side(text):
            out.append((first_line + j, piece))
    return out


def _side_by_side(text: str) -> list[str]:
    """a = W x + b, \\quad h = σ(a): two equations on one line, each on its own (a piece without
    = stays with the one before it: a range or a space it is said to be in)."""
    from derive.check.reader import split_top

    pieces = [p.strip().rstrip(",;").strip() for p in split_top(text, r"\\q?quad")]
    out = []
    for piece in pieces:
        if not piece:
            continue
        if out and "=" not in piece.replace("\\in", ""):
            out[-1] = f"{out[-1]}, {piece}"
        elif out and re.match(r"\(?\s*t\s*=", piece):  # "\quad t = 1, ..., T": a range, not an equation
            out[-1] = f"{out[-1]}, {piece}"
        else:
            out.append(piece)
    return out


def declaration(settings: dict, *, stem: str, first_line: int = 1) -> Declaration:
    """The declaration a front matter's forward:, sizes:, shapes:, constants: and data: make."""
    unknown = [k for k in settings if k not in KEYS]
    if unknown:
        raise EquationError(f"unknown key {unknown[0]!r} (a model file has {', '.join(KEYS)})")
    for key, kind in (("sizes", dict), ("shapes", dict), ("constants", dict), ("data", (list, str))):
        if settings.get(key) is not None and not isinstance(settings[key], kind):
            raise EquationError(f"{key}: must be a {'list' if key == 'data' else 'mapping'}")
    data = settings.get("data") or []
    if isinstance(data, str):
        data = [x.strip() for x in data.split(",") if x.strip()]
    return declare(equation_lines(settings.get("forward"), first_line), stem=stem, sizes=settings.get("sizes"),
                   shapes=settings.get("shapes"), constants=settings.get("constants"), data=data)


def declare_lines(lines: list[tuple[int, str]], stem: str) -> Declaration:
    """The declaration that equations written in an answer file make (no front matter): they
    must apply a loss and train a parameter, or they are working, not a network."""
    decl = declare(lines, stem=stem)
    if not decl.has_loss:
        raise EquationError("they apply no loss (−yᵀ log ŷ, ½‖o − y‖², ℓ(o, y), ...)")
    if not any(s.role == "param" for s in decl.symbols.values()):
        raise EquationError("they have no parameter")
    return decl


def read(path: Path, ref: str) -> Declaration:
    try:
        text = read_text(path, MAX_FILE_BYTES)
    except FileNotFoundError:
        raise DeclarationError(f"no such model file: {ref}") from None
    except ReadError as err:
        raise DeclarationError(f"cannot read {ref}: {err}") from None
    try:
        if path.suffix in (".yaml", ".yml"):
            settings, offset = frontmatter.load_yaml(text) or {}, 0
            if not isinstance(settings, dict):
                raise EquationError("a .yaml model is a mapping with forward:")
        else:
            settings, _, _ = frontmatter.split(text)
            offset = 1
        if "forward" not in settings and path.suffix not in (".yaml", ".yml"):
            return _document_declaration(text, path.stem)
        if "forward" not in settings:
            raise EquationError("it has no forward: equations")
        first = forward_line(text, settings["forward"]) if isinstance(settings["forward"], str) else offset + 1
        return declaration(settings, stem=path.stem, first_line=first)
    except (EquationError, frontmatter.FrontMatterError) as err:
        raise DeclarationError(f"{ref}: {err}") from None


def _document_declaration(text: str, stem: str) -> Declaration:
    """A problem written as a document (no forward: in front matter): its display equations that
    are not claims, as homework states a network."""
    from derive.check.reader import Definition, items_in, repair

    _, body, offset = frontmatter.split(text)
    definitions = [x for x in items_in(repair(body), offset) if isinstance(x, Definition)]
    if not definitions:
        raise EquationError("it has no forward: in its front matter and no equations")
    return declare_lines(forward_lines(definitions), stem)


def forward_line(text: str, forward) -> int:
    """The file line of the forward: block's first line (block scalars start after 'forward:')."""
    lines = text.split("\n")
    for j, line in enumerate(lines):
        if re.match(r"\s*forward\s*:", line):
            rest = line.split(":", 1)[1].strip()
            return j + 1 if rest and rest not in ("|", ">", "|-", ">-", "|+") else j + 2
    return 1


def model(path: Path, ref: str) -> Model:
    """The model a file of forward equations declares."""
    decl = read(path, ref)
    return declared_model(decl, ref, path.stem)


def declared_model(decl: Declaration, ref: str, stem: str) -> Model:
    def factory(options, sizes):
        try:
            return decl.network(sizes, options)
        except EquationError as err:
            raise DeclarationError(f"{ref}: {err}") from None

    try:
        decl.network()  # every reading error at resolve time, before any output is written
    except EquationError as err:
        raise DeclarationError(f"{ref}: {err}") from None
    options = decl.options()
    concrete = tuple(
        Concrete(name, {name: "ce"}, "ℓ is generic in the problem; {user} uses softmax cross-entropy on its "
                 "arguments") if name == "ell" else
        Concrete(name, {name: "tanh"}, f"{name} is generic in the problem; {{user}} uses tanh")
        for name in options)
    return Model(ref, stem, "", options, dict.fromkeys(options, "generic"), dict(decl.size_defaults), factory, concrete)


def forward_lines(definitions) -> list[tuple[int, str]]:
    """The definitions as forward equations, less the unrolled instances of a step's equation
    (h_1 = σ(U x_1 + w h_0) where h_t = σ(U x_t + w h_{t-1}) is written too)."""
    general = {m.group(1) for d in definitions
               if (m := re.match(r"\s*(.+?)_\{?\s*t\s*\}?\s*=", d.text))}
    out = []
    for d in definitions:
        instance = re.match(r"\s*(.+?)_\{?\s*[1-9]\d*\s*\}?\s*=", d.text)
        if instance and instance.group(1) in general:
            continue
        text = re.sub(r"[,.;]\s*$", "", d.text.strip()).strip()
        if out and re.match(r"\(?\s*t\s*=\s*1", text):  # "\quad t = 1, \dots, T": the range of the one before
            out[-1] = (out[-1][0], f"{out[-1][1]}, {text}")
            continue
        out.append((d.line, text))
    return out
