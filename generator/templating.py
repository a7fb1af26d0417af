"""The one Jinja environment: strict, with delimiters that leave `{{ }}` to Argo CD and GitHub.

Templates write `{= value | y =}` for a scalar and `{= value | yblock(6) =}` for a nested
collection at column 6; `{{ ... }}` and `${{ ... }}` pass through untouched.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from generator import yamlout


def templates_dir() -> Path:
    """`templates/` beside the package in a checkout, or inside it when installed."""
    packaged = Path(__file__).parent / "templates"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "templates"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        variable_start_string="{=",
        variable_end_string="=}",
        comment_start_string="<#",
        comment_end_string="#>",
    )
    env.filters["y"] = yamlout.flow
    env.filters["yblock"] = yamlout.block
    return env


def render(template: str, **context: Any) -> str:
    """Render one template by its path under templates/."""
    return environment().get_template(template).render(**context)
