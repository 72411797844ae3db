"""YAML front matter (``---`` ... ``---`` at the top of a file), read safely and in bounded time.

Answer files and model files both start with it. ``yaml.safe_load`` runs no code but expands
aliases without limit (a few lines of nested ``&a [*a, *a, ...]`` become gigabytes), so anchors
and aliases are refused: nothing a model or an answer says needs them.
"""

from __future__ import annotations

import re

import yaml

MAX_YAML_CHARS = 100_000


class FrontMatterError(ValueError):
    """Front matter that cannot be read (one line for the user)."""


class _NoAliases(yaml.SafeLoader):
    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise FrontMatterError("YAML aliases (*name) are not read")
        event = self.peek_event()
        if getattr(event, "anchor", None) is not None:
            raise FrontMatterError("YAML anchors (&name) are not read")
        return super().compose_node(parent, index)


def load_yaml(text: str):
    """The data of a YAML text; FrontMatterError for invalid YAML, aliases or a text too long."""
    if len(text) > MAX_YAML_CHARS:
        raise FrontMatterError(f"the YAML has {len(text)} characters; derive reads up to {MAX_YAML_CHARS}")
    try:
        return yaml.load(text, Loader=_NoAliases)  # noqa: S506 - a SafeLoader subclass
    except ValueError as err:  # an integer of more than 4300 digits
        raise FrontMatterError(f"a value in the YAML cannot be read ({err.args[0].split(':')[0]})") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1} of the YAML)" if mark is not None else ""
        hint = "; quote LaTeX inside [...] or {...}: data: ['\\hat{y}']" if "\\" in text else ""
        raise FrontMatterError(f"not valid YAML{where}: {str(err).splitlines()[0]}{hint}") from None
    except RecursionError:
        raise FrontMatterError("the YAML is nested too deeply") from None


def split(text: str) -> tuple[dict, str, int]:
    """(the front matter's mapping, the body after it, the number of lines the front matter took);
    ({}, text, 0) for a text without front matter."""
    if not text.startswith("---"):
        return {}, text, 0
    match = re.match(r"---[ \t]*\n(.*?)\n---[ \t]*(\n|$)", text, re.S)
    if match is None:
        return {}, text, 0
    data = load_yaml(match.group(1)) or {}
    if not isinstance(data, dict):
        raise FrontMatterError("the front matter must be a YAML mapping (key: value lines)")
    return data, text[match.end():], match.group(0).count("\n")
