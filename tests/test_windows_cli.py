"""`gitopsgen windows [--at TIME] [--json]` over the fixture specs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from generator.cli import main
from tests.conftest import SPECS, warnings_of

REFERENCE_OPEN_ENVS = [
    {"environment": "dev", "manual": True, "automatic": True, "next_change": None},
    {"environment": "staging", "manual": True, "automatic": True, "next_change": None},
]

# prod (reference): allow "0 10 * * 0-4" for 6h in Asia/Dubai, Sunday to Thursday, manual only.
# prod (gcp): allow "0 9 * * 1-5" for 8h in Europe/Berlin, manual only.
JSON_CASES: list[tuple[str, str, list[dict[str, Any]]]] = [
    (
        "reference",
        "2025-01-05T09:30",  # a Sunday, before the window: local time in Asia/Dubai
        [
            *REFERENCE_OPEN_ENVS,
            {
                "environment": "prod",
                "manual": False,
                "automatic": False,
                "next_change": "2025-01-05T10:00:00+04:00",
            },
        ],
    ),
    (
        "reference",
        "2025-01-05T06:00:00Z",  # 10:00 in Dubai: the window opens
        [
            *REFERENCE_OPEN_ENVS,
            {
                "environment": "prod",
                "manual": True,
                "automatic": False,
                "next_change": "2025-01-05T16:00:00+04:00",
            },
        ],
    ),
    (
        "reference",
        "2025-01-09T16:00+04:00",  # Thursday's window has just closed; next is Sunday's
        [
            *REFERENCE_OPEN_ENVS,
            {
                "environment": "prod",
                "manual": False,
                "automatic": False,
                "next_change": "2025-01-12T10:00:00+04:00",
            },
        ],
    ),
    (
        "gcp",
        "2025-03-28T17:30",  # Friday evening; clocks go forward on Sunday 30 March
        [
            {"environment": "dev", "manual": True, "automatic": True, "next_change": None},
            {
                "environment": "prod",
                "manual": False,
                "automatic": False,
                "next_change": "2025-03-31T09:00:00+02:00",
            },
        ],
    ),
    (
        "gcp",
        "2025-03-31T07:30:00Z",  # 09:30 summer time
        [
            {"environment": "dev", "manual": True, "automatic": True, "next_change": None},
            {
                "environment": "prod",
                "manual": True,
                "automatic": False,
                "next_change": "2025-03-31T17:00:00+02:00",
            },
        ],
    ),
    (
        "minimal",
        "2025-03-31T07:30:00Z",
        [{"environment": "dev", "manual": True, "automatic": True, "next_change": None}],
    ),
]


@pytest.mark.parametrize(("spec", "at", "expected"), JSON_CASES)
def test_windows_json(
    spec: str, at: str, expected: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["windows", "-c", str(SPECS / f"{spec}.toml"), "--at", at, "--json"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, warnings_of(SPECS / f"{spec}.toml"))
    rows = json.loads(out)
    assert rows == expected
    assert [list(row) for row in rows] == [
        ["environment", "manual", "automatic", "next_change"]
    ] * len(rows)


def test_windows_table(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["windows", "-c", str(SPECS / "reference.toml"), "--at", "2025-01-09T13:15"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, warnings_of(SPECS / "reference.toml"))
    assert out == (
        "Sync windows at 2025-01-09T13:15:00+04:00 (Asia/Dubai):\n"
        "ENVIRONMENT  MANUAL   AUTOMATIC  NEXT CHANGE\n"
        "dev          allowed  allowed    never\n"
        "staging      allowed  allowed    never\n"
        "prod         allowed  off        2025-01-09T16:00:00+04:00 (Thu, in 2h 45m)\n"
        "off: auto_sync = false, Argo CD never syncs that environment on its own\n"
    )


def test_windows_defaults_to_now(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["windows", "-c", str(SPECS / "reference.toml"), "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert [row["environment"] for row in json.loads(out)] == ["dev", "staging", "prod"]


@pytest.mark.parametrize(
    ("at", "message"),
    [
        (
            "next tuesday",
            "gitopsgen windows: --at 'next tuesday' is not an ISO 8601 time"
            " (e.g. 2025-01-31T09:30, read in platform.timezone, or 2025-01-31T09:30+04:00)",
        ),
        (
            "2025-13-01T00:00",
            "gitopsgen windows: --at '2025-13-01T00:00' is not an ISO 8601 time"
            " (e.g. 2025-01-31T09:30, read in platform.timezone, or 2025-01-31T09:30+04:00)",
        ),
        (
            "1850-01-01T00:00",
            "gitopsgen windows: --at '1850-01-01T00:00' is out of range:"
            " give a year from 1900 to 2999",
        ),
        (
            "2025-03-30T02:30",
            "gitopsgen windows: --at '2025-03-30T02:30' does not exist in Europe/Berlin:"
            " the clocks skip it (daylight saving time)",
        ),
    ],
)
def test_windows_bad_time_is_a_usage_error(
    at: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["windows", "-c", str(SPECS / "gcp.toml"), "--at", at])
    out, err = capsys.readouterr()
    assert (code, out, err) == (2, "", message + "\n")
