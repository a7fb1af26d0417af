"""`gitopsgen windows`: per environment, whether Argo CD would sync at a time, and until when."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from generator.argo import syncwindows, timespec
from generator.resolve import Model
from generator.spec.errors import InputError

EXIT_OK = 0
_EARLIEST_YEAR, _LATEST_YEAR = 1900, 2999
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_AT_EXAMPLE = "e.g. 2025-01-31T09:30, read in platform.timezone, or 2025-01-31T09:30+04:00"


def parse_at(text: str | None, zone: tzinfo) -> datetime:
    """The instant --at names (default: now); a time without an offset is in `zone`."""
    if text is None:
        return datetime.now(UTC).astimezone(zone)
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            [f"gitopsgen windows: --at {text!r} is not an ISO 8601 time ({_AT_EXAMPLE})"]
        ) from None
    if not _EARLIEST_YEAR <= at.year <= _LATEST_YEAR:
        raise InputError(
            [
                f"gitopsgen windows: --at {text!r} is out of range:"
                f" give a year from {_EARLIEST_YEAR} to {_LATEST_YEAR}"
            ]
        )
    if at.tzinfo is not None:
        return at.astimezone(zone)
    local = at.replace(tzinfo=zone)  # fold 0: an ambiguous wall time is its first occurrence
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != at:
        raise InputError(
            [
                f"gitopsgen windows: --at {text!r} does not exist in {zone}:"
                " the clocks skip it (daylight saving time)"
            ]
        )
    return local


def report(model: Model, at: datetime) -> list[dict[str, Any]]:
    """One row per environment, in promotion order: manual, automatic, next_change."""
    zone = timespec.check_timezone(model.spec.platform.timezone)
    rows: list[dict[str, Any]] = []
    for env in model.environments:
        manual, automatic = syncwindows.state_at(
            env.sync_windows, zone, at, auto_sync=env.auto_sync
        )
        change = syncwindows.next_change(env.sync_windows, zone, at, auto_sync=env.auto_sync)
        rows.append(
            {
                "environment": env.name,
                "manual": manual,
                "automatic": automatic,
                "next_change": change.astimezone(zone).isoformat() if change else None,
            }
        )
    return rows


def run(model: Model, at: str | None, as_json: bool) -> int:
    """Print the report: an aligned table, or with `as_json` a JSON list of objects."""
    zone = timespec.check_timezone(model.spec.platform.timezone)
    instant = parse_at(at, zone)
    rows = report(model, instant)
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        print(table(model, rows, instant), end="")
    return EXIT_OK


def table(model: Model, rows: list[dict[str, Any]], at: datetime) -> str:
    """The human form: when, then one aligned line per environment."""
    auto = {env.name: env.auto_sync for env in model.environments}
    headers = ("ENVIRONMENT", "MANUAL", "AUTOMATIC", "NEXT CHANGE")
    cells = [
        (
            row["environment"],
            _verdict(row["manual"]),
            _verdict(row["automatic"]) if auto[row["environment"]] else "off",
            _when(row["next_change"], at),
        )
        for row in rows
    ]
    widths = [max(len(c) for c in column) for column in zip(headers, *cells, strict=True)]
    lines = [
        f"Sync windows at {at.isoformat(timespec='seconds')} ({model.spec.platform.timezone}):"
    ]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
        for line in (headers, *cells)
    ]
    if not all(auto.values()):
        lines.append("off: auto_sync = false, Argo CD never syncs that environment on its own")
    return "\n".join(lines) + "\n"


def _verdict(allowed: bool) -> str:
    return "allowed" if allowed else "denied"


def _when(change: str | None, at: datetime) -> str:
    if change is None:
        return "never"
    moment = datetime.fromisoformat(change)
    weekday = _WEEKDAYS[moment.weekday()]  # not strftime("%a"): that follows the locale
    return f"{change} ({weekday}, in {_span(moment - at)})"


def _span(delta: timedelta) -> str:
    """A short human duration: 2d 3h, 45m, 30s."""
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    text = " ".join(part for part in parts if part)
    return text or f"{seconds}s"
