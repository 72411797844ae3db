"""The Jinja2 environments for the templates in templates/ (structure only: every expression
arrives already printed)."""

from __future__ import annotations

from functools import cache
from importlib import resources

import jinja2


@cache
def environment(kind: str) -> jinja2.Environment:
    folder = resources.files("derive_templates").joinpath(kind)
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


@cache
def latex_environment() -> jinja2.Environment:
    """LaTeX templates use << >> and <% %> so that TeX's braces and percent signs stay TeX's."""
    folder = resources.files("derive_templates").joinpath("latex")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        undefined=jinja2.StrictUndefined,
        block_start_string="<%",
        block_end_string="%>",
        variable_start_string="<<",
        variable_end_string=">>",
        comment_start_string="<#",
        comment_end_string="#>",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
