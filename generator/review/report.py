"""A rendered diff as text (coloured on a terminal), Markdown (a PR comment) or JSON."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import IO

from generator.review.changes import AppChange, ObjectChange, Report

MARKER = "<!-- gitopsgen:rendered-diff -->"
# GitHub refuses an issue or pull request comment longer than this (characters).
COMMENT_LIMIT = 65_536
# A step's job summary may hold 1 MiB; GitHub drops a larger one with an error.
SUMMARY_LIMIT = 1_000_000
ARTIFACT_NOTE = "the full diff is in this run's artifact `rendered-diff` (`rendered.diff`)"
_SIGNS = {"added": "+", "removed": "-", "changed": "~"}


def _headline_line(app: AppChange) -> str:
    return f"{app.name}: {app.headline}" if app.headline else app.name


def _summary(report: Report, base: str) -> str:
    changed = len(report.changes)
    if not changed:
        return f"no Application changes ({report.unchanged} unchanged, compared with {base})"
    noun = "Application changes" if changed == 1 else "Applications change"
    return f"{changed} {noun}, {report.unchanged} unchanged (compared with {base})"


# ---------------------------------------------------------------------------------------------
# Text


def use_colour(stream: IO[str]) -> bool:
    """On a terminal, unless NO_COLOR is set (https://no-color.org) or TERM is dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return stream.isatty()


def _paint(line: str, colour: bool) -> str:
    if not colour:
        return line
    if line.startswith("@@"):
        return f"\x1b[36m{line}\x1b[0m"
    if line.startswith("+"):
        return f"\x1b[32m{line}\x1b[0m"
    if line.startswith("-"):
        return f"\x1b[31m{line}\x1b[0m"
    return line


def _object_text(change: ObjectChange, colour: bool) -> Iterator[str]:
    title = f"  {_SIGNS[change.change]} {change.title}"
    yield f"\x1b[1m{title}\x1b[0m" if colour else title
    for line in change.diff():
        yield "    " + _paint(line, colour)


TEMPLATE_NOTE = (
    "The ApplicationSet's template changed: every Application it generates may change; read"
    " the source diff of argocd/applicationset.yaml."
)


def text(report: Report, base: str, *, colour: bool = False) -> str:
    lines = [f"Rendered manifests: {_summary(report, base)}"]
    if report.template_changed:
        lines.append(TEMPLATE_NOTE)
    for app in report.changes:
        lines.append("")
        head = _headline_line(app)
        lines.append(f"\x1b[1m{head}\x1b[0m" if colour else head)
        for change in app.objects:
            lines.extend(_object_text(change, colour))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Markdown


def _cell(value: str) -> str:
    """Text safe inside a Markdown table cell (no pipes, no line breaks, no HTML)."""
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace("@", "&#64;")
    for char in "|[]!`*_":  # no links, images, emphasis or code spans from object data
        value = value.replace(char, "\\" + char)
    return value.replace("\n", " ")


def _fence(body: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    return "`" * max(3, longest + 1)


def _details(app: AppChange) -> str:
    body_lines = []
    for change in app.objects:
        body_lines.append(f"{_SIGNS[change.change]} {change.title}")
        body_lines.extend(change.diff())
    body = "\n".join(body_lines)
    fence = _fence(body)
    count = len(app.objects)
    return (
        f"<details>\n<summary><code>{_cell(app.name)}</code> ({app.status}:"
        f" {count} object{'s' if count != 1 else ''})</summary>\n\n"
        f"{fence}diff\n{body}\n{fence}\n\n</details>\n"
    )


def _table(rows: list[str]) -> str:
    return "| Application | Change |\n| --- | --- |\n" + "".join(rows)


def _row(app: AppChange) -> str:
    return f"| `{_cell(app.name)}` | {_cell(app.headline)} |\n"


def markdown(report: Report, base: str, *, limit: int = COMMENT_LIMIT) -> str:
    """The comment: the summary table, then each Application's diff, cut to fit `limit`."""
    head = f"{MARKER}\n### Rendered manifests\n\n{_summary(report, base)}.\n\n"
    if report.template_changed:
        head += f"> **{TEMPLATE_NOTE}**\n\n"
    if not report.changes:
        return head
    rows = [_row(app) for app in report.changes]
    details = [_details(app) for app in report.changes]
    full = head + _table(rows) + "\n" + "".join(details)
    if len(full) <= limit:
        return full
    return _cut(head, rows, details, limit)


def _cut(head: str, rows: list[str], details: list[str], limit: int) -> str:
    """Past the limit: the table stays (cut itself only if it alone is too long), then as many
    Applications' details as fit, then a note saying what was left out and where it is."""

    def note(shown: int, total: int) -> str:
        return (
            f"\n> Cut to fit GitHub's {COMMENT_LIMIT:,}-character comment limit: the details of"
            f" {total - shown} of {total} Applications are not shown; {ARTIFACT_NOTE}.\n"
        )

    reserve = len(note(0, len(details))) + 200
    kept_rows = list(rows)
    table = _table(kept_rows)
    while kept_rows and len(head) + len(table) + reserve > limit:
        kept_rows.pop()
        more = len(rows) - len(kept_rows)
        table = _table(kept_rows) + f"| ... | {more} more Applications: {ARTIFACT_NOTE} |\n"
    out = head + table + "\n"
    shown = 0
    for block in details:
        if len(out) + len(block) + reserve > limit:
            break
        out += block
        shown += 1
    return out + note(shown, len(details))


# ---------------------------------------------------------------------------------------------
# JSON


def as_json(report: Report, base: str) -> str:
    data = {
        "base": base,
        "unchanged": report.unchanged,
        "template_changed": report.template_changed,
        "applications": [
            {
                "application": app.name,
                "service": app.service,
                "env": app.env,
                "status": app.status,
                "headline": app.headline,
                "objects": [
                    {
                        "kind": change.kind,
                        "namespace": change.namespace,
                        "name": change.name,
                        "change": change.change,
                        "diff": change.diff(),
                    }
                    for change in app.objects
                ],
            }
            for app in report.changes
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
