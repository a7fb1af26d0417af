"""The one Jinja environment: strict, with delimiters that leave `{{ }}` to Argo CD and GitHub.

Templates write `{= value | y =}` for a scalar and `{= value | yblock(6) =}` for a nested
collection at column 6; `{{ ... }}` and `${{ ... }}` pass through untouched.
"""

from __future__ import annotations

import os
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from generator.render import hclout, yamlout
from generator.tree import buildcache


def templates_dir() -> Path:
    """`templates/` beside the package in a checkout, or inside it when installed."""
    return buildcache.templates_dir()  # defined there: the cache fingerprints them without Jinja


class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Compiled templates on disk, as Python keeps __pycache__: compiling them all takes a
    tenth of a second on every run. A file that cannot be read or written is compiled again."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError:
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            os.makedirs(self.directory, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:
            return


def compiled_templates() -> jinja2.BytecodeCache | None:
    """Where compiled templates are kept: in the build cache directory, under the fingerprint
    of the generator (its code, templates, Jinja and Python), so that nothing compiled by
    another version is ever used; older versions' are removed. None when caching is off."""
    cache_dir = buildcache.cache_dir()
    if cache_dir is None:
        return None
    parent = cache_dir / "templates"
    directory = parent / buildcache.code_fingerprint()[:32]
    if not directory.is_dir():
        _remove_all_under(parent)
    return _CompiledTemplates(str(directory))


def _remove_all_under(directory: Path) -> None:
    try:
        for stale in directory.iterdir():
            shutil.rmtree(stale, ignore_errors=True)
    except OSError:  # absent or unreadable: nothing to tidy
        return


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        bytecode_cache=compiled_templates(),
        undefined=jinja2.StrictUndefined,
        # templates never change during a run: no stat() of the file on every render
        auto_reload=False,
        cache_size=-1,
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
    env.filters["hcl"] = hclout.literal
    return env


@cache
def compiled(template: str) -> tuple[jinja2.Template, dict[str, Any]]:
    """A template by its path under templates/, compiled once, with its globals as a dict."""
    loaded = environment().get_template(template)
    return loaded, dict(loaded.globals)


def render(template: str, /, **context: Any) -> str:
    """Render one template by its path under templates/ (the context may use any name).

    What `Template.render` does, minus copying the globals' ChainMap on every call (a fifth
    of the render time at 1,000 services): the context is a fresh dict shared with the
    template, globals first, so the template sees exactly what `render` would show it.
    """
    loaded, globals_ = compiled(template)
    context = {**globals_, **context}
    try:
        return "".join(loaded.root_render_func(loaded.new_context(context, shared=True)))
    except Exception:
        loaded.environment.handle_exception()  # re-raises with the template's line numbers
        raise
