"""Go durations, robfig/cron v3 schedules (as Argo CD parses them) and time zones."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from generator.argo.timespec import (
    CronError,
    DurationError,
    check_timezone,
    parse_cron,
    parse_duration,
    parse_duration_ns,
    parse_pause_duration,
)

HOUR_NS = 3600 * 10**9

# Go's time.ParseDuration accepts these, with these values in nanoseconds.
GO_DURATIONS = [
    ("0", 0),
    ("+0", 0),
    ("-0", 0),
    ("0s", 0),
    ("24h", 24 * HOUR_NS),
    ("1h30m", 90 * 60 * 10**9),
    ("2h45m10s", (2 * 3600 + 45 * 60 + 10) * 10**9),
    ("-1.5h", -HOUR_NS * 3 // 2),
    ("+5s", 5 * 10**9),
    ("300ms", 300 * 10**6),
    ("1us", 1000),
    ("1\u00b5s", 1000),  # micro sign
    ("1\u03bcs", 1000),  # Greek mu
    ("7ns", 7),
    (".5s", 5 * 10**8),
    ("5.s", 5 * 10**9),
    ("1.0000000001s", 10**9),  # Go truncates what float64 cannot hold
    ("1h1m1s1ms1us1ns", HOUR_NS + 61 * 10**9 + 10**6 + 10**3 + 1),
    ("9223372036854775807ns", 2**63 - 1),
    ("-9223372036854775808ns", -(2**63)),
    ("2562047h", 2562047 * HOUR_NS),
]


@pytest.mark.parametrize(("text", "ns"), GO_DURATIONS)
def test_go_duration_accepted(text: str, ns: int) -> None:
    assert parse_duration_ns(text) == ns
    micros = abs(ns) // 1000  # truncated toward zero
    assert parse_duration(text) == timedelta(microseconds=micros if ns >= 0 else -micros)


HINT = "units are ns, us, ms, s, m, h; 24h is a day"
# Rejected, with our message and Go's own.
BAD_DURATIONS = [
    (
        "1d",
        f"not a Go duration: '1d' (unknown unit 'd'; {HINT})",
        'time: unknown unit "d" in duration "1d"',
    ),
    ("", f"not a Go duration: '' ({HINT})", 'time: invalid duration ""'),
    ("5", f"not a Go duration: '5' (missing unit; {HINT})", 'time: missing unit in duration "5"'),
    (
        "1.5.2s",
        f"not a Go duration: '1.5.2s' (missing unit; {HINT})",
        'time: missing unit in duration "1.5.2s"',
    ),
    (".s", f"not a Go duration: '.s' ({HINT})", 'time: invalid duration ".s"'),
    ("-", f"not a Go duration: '-' ({HINT})", 'time: invalid duration "-"'),
    ("h", f"not a Go duration: 'h' ({HINT})", 'time: invalid duration "h"'),
    (
        "1h-5m",
        f"not a Go duration: '1h-5m' (unknown unit 'h-'; {HINT})",
        'time: unknown unit "h-" in duration "1h-5m"',
    ),
    (
        "-1h+5m",
        f"not a Go duration: '-1h+5m' (unknown unit 'h+'; {HINT})",
        'time: unknown unit "h+" in duration "-1h+5m"',
    ),
    (
        "1h 5m",
        f"not a Go duration: '1h 5m' (unknown unit 'h '; {HINT})",
        'time: unknown unit "h " in duration "1h 5m"',
    ),
    (
        "1 h",
        f"not a Go duration: '1 h' (unknown unit ' h'; {HINT})",
        'time: unknown unit " h" in duration "1 h"',
    ),
    (
        "1H",
        f"not a Go duration: '1H' (unknown unit 'H'; {HINT})",
        'time: unknown unit "H" in duration "1H"',
    ),
    (
        "2562048h",
        f"not a Go duration: '2562048h' (out of range: Go durations end near 2562047h; {HINT})",
        'time: invalid duration "2562048h"',
    ),
    (
        "9223372036854775808ns",
        "not a Go duration: '9223372036854775808ns'"
        f" (out of range: Go durations end near 2562047h; {HINT})",
        'time: invalid duration "9223372036854775808ns"',
    ),
]


@pytest.mark.parametrize(("text", "message", "go_message"), BAD_DURATIONS)
def test_go_duration_rejected(text: str, message: str, go_message: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    assert str(caught.value) == message
    assert caught.value.go_message == go_message


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30", 30), ("0", 0), ("1m", 60), ("1h", 3600), ("1500ms", 1), ("90s", 90)],
)
def test_rollouts_pause_duration(text: str, seconds: int) -> None:
    assert parse_pause_duration(text) == timedelta(seconds=seconds)


def test_rollouts_pause_duration_rejects_what_go_rejects() -> None:
    with pytest.raises(DurationError):
        parse_pause_duration("1d")


def bits(*values: int) -> int:
    return sum(1 << v for v in set(values))


# (schedule, minutes, hours, day of month, months, day of week, dom star, dow star)
CRON_ACCEPTED = [
    (
        "0 10 * * 0-4",
        bits(0),
        bits(10),
        bits(*range(1, 32)),
        bits(*range(1, 13)),
        bits(0, 1, 2, 3, 4),
        True,
        False,
    ),
    (
        "*/15 9-17 * * MON-FRI",
        bits(0, 15, 30, 45),
        bits(*range(9, 18)),
        bits(*range(1, 32)),
        bits(*range(1, 13)),
        bits(1, 2, 3, 4, 5),
        True,
        False,
    ),
    (
        "0 0 1,15 * *",
        bits(0),
        bits(0),
        bits(1, 15),
        bits(*range(1, 13)),
        bits(*range(7)),
        False,
        True,
    ),
    (
        "0 0 * jan,Jul ?",
        bits(0),
        bits(0),
        bits(*range(1, 32)),
        bits(1, 7),
        bits(*range(7)),
        True,
        True,
    ),
    (
        "5/20 * * * *",
        bits(5, 25, 45),
        bits(*range(24)),
        bits(*range(1, 32)),
        bits(*range(1, 13)),
        bits(*range(7)),
        True,
        True,
    ),
    ("0 0 1 * 1", bits(0), bits(0), bits(1), bits(*range(1, 13)), bits(1), False, False),
    (
        "0 0 */2 * *",
        bits(0),
        bits(0),
        bits(*range(1, 32, 2)),
        bits(*range(1, 13)),
        bits(*range(7)),
        False,
        True,
    ),
    (
        "0 0 */1 * *",
        bits(0),
        bits(0),
        bits(*range(1, 32)),
        bits(*range(1, 13)),
        bits(*range(7)),
        True,
        True,
    ),
    (
        "*-5 * * * *",
        bits(*range(60)),
        bits(*range(24)),
        bits(*range(1, 32)),
        bits(*range(1, 13)),
        bits(*range(7)),
        True,
        True,
    ),  # robfig ignores a range after *
    (
        "0,,5 * * * *",
        bits(0, 5),
        bits(*range(24)),
        bits(*range(1, 32)),
        bits(*range(1, 13)),
        bits(*range(7)),
        True,
        True,
    ),  # empty list items are dropped
    (
        "+5 * * * SUN",
        bits(5),
        bits(*range(24)),
        bits(*range(1, 32)),
        bits(*range(1, 13)),
        bits(0),
        True,
        False,
    ),
    ("  0\t0  30 2 *  ", bits(0), bits(0), bits(30), bits(2), bits(*range(7)), False, True),
]


@pytest.mark.parametrize(("spec", "expected"), [(row[0], row[1:]) for row in CRON_ACCEPTED])
def test_cron_accepted(spec: str, expected: tuple[int | bool, ...]) -> None:
    cron = parse_cron(spec)
    fields = (
        cron.minutes,
        cron.hours,
        cron.dom,
        cron.months,
        cron.dow,
        cron.dom_star,
        cron.dow_star,
    )
    assert fields == expected


ATOI = 'strconv.Atoi: parsing "{0}": invalid syntax'
CRON_REJECTED = [
    ("", "empty spec string"),
    ("   ", "expected exactly 5 fields, found 0: [] (minute hour day-of-month month day-of-week)"),
    (
        "0 0 * *",
        "expected exactly 5 fields, found 4: [0 0 * *]"
        " (minute hour day-of-month month day-of-week)",
    ),
    (
        "0 0 0 * * *",
        "expected exactly 5 fields, found 6: [0 0 0 * * *] (Argo CD schedules have no seconds"
        " field: minute hour day-of-month month day-of-week)",
    ),
    ("0 0 * * * * *", "expected exactly 5 fields, found 7: [0 0 * * * * *]"),
    (
        "@daily",
        "parser does not accept descriptors: @daily (Argo CD wants five fields: minute hour"
        " day-of-month month day-of-week, e.g. '0 0 * * *' for @daily)",
    ),
    (
        "CRON_TZ=UTC 0 0 * * *",
        "a TZ= or CRON_TZ= prefix is not supported: Argo CD would apply the zone twice;"
        " set platform.timezone instead",
    ),
    ("0 0 * * 7", "end of range (7) above maximum (6): 7 (day of week is 0-6, Sunday is 0)"),
    ("0 0 * * 1-7", "end of range (7) above maximum (6): 1-7 (day of week is 0-6, Sunday is 0)"),
    ("60 * * * *", "end of range (60) above maximum (59): 60"),
    ("0 24 * * *", "end of range (24) above maximum (23): 24"),
    ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
    ("0 0 32 * *", "end of range (32) above maximum (31): 32"),
    ("0 0 * 13 *", "end of range (13) above maximum (12): 13"),
    ("0 0 * 0 *", "beginning of range (0) below minimum (1): 0"),
    ("5-3 * * * *", "beginning of range (5) beyond end of range (3): 5-3"),
    ("*/0 * * * *", "step of range should be a positive number: */0"),
    ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
    ("*/5/2 * * * *", "too many slashes: */5/2"),
    ("*/-1 * * * *", "negative number (-1) not allowed: -1"),
    ("-5 * * * *", "failed to parse int from : " + ATOI.format("")),
    ("a * * * *", "failed to parse int from a: " + ATOI.format("a")),
    ("0 0 * * MONDAY", "failed to parse int from MONDAY: " + ATOI.format("MONDAY")),
    ("jan * * * *", "failed to parse int from jan: " + ATOI.format("jan")),
    ("L * * * *", "failed to parse int from L: " + ATOI.format("L")),
    ("0 0 * * 5#3", "failed to parse int from 5#3: " + ATOI.format("5#3")),
    (
        "99999999999999999999 * * * *",
        "failed to parse int from 99999999999999999999: strconv.Atoi: parsing"
        ' "99999999999999999999": value out of range',
    ),
]


@pytest.mark.parametrize(("spec", "message"), CRON_REJECTED)
def test_cron_rejected(spec: str, message: str) -> None:
    with pytest.raises(CronError) as caught:
        parse_cron(spec)
    assert str(caught.value) == message


# robfig's Next on a naive clock (how Argo CD runs it): strictly after, or None for its zero time.
CRON_NEXT = [
    ("0 10 * * 0-4", "2024-06-01T12:00", "2024-06-02T10:00"),  # Saturday -> Sunday
    ("0 10 * * 0-4", "2024-06-02T10:00", "2024-06-03T10:00"),  # strictly after
    ("0 10 * * 0-4", "2024-06-02T09:59:59.5", "2024-06-02T10:00"),
    ("0 10 * * 0-4", "2024-06-06T10:00", "2024-06-09T10:00"),  # Thursday -> Sunday
    ("0 0 1 * 1", "2024-06-01T00:00", "2024-06-03T00:00"),  # both day fields given: either
    ("0 0 * * 1", "2024-06-04T00:00", "2024-06-10T00:00"),  # day of month starred: both
    ("0 0 1 * *", "2024-01-31T23:59", "2024-02-01T00:00"),
    ("*/20 * * * *", "2024-12-31T23:59", "2025-01-01T00:00"),
    ("30 2 31 * *", "2024-04-01T00:00", "2024-05-31T02:30"),
    ("0 0 29 2 *", "2024-06-01T00:00", "2028-02-29T00:00"),
    ("0 0 30 2 *", "2024-06-01T00:00", None),  # never fires: robfig's zero time
    ("0 0 29 2 *", "2097-06-01T00:00", None),  # next is 2104, past robfig's five-year limit
]


@pytest.mark.parametrize(("spec", "after", "expected"), CRON_NEXT)
def test_cron_next(spec: str, after: str, expected: str | None) -> None:
    found = parse_cron(spec).next(datetime.fromisoformat(after))
    assert found == (datetime.fromisoformat(expected) if expected else None)


def test_cron_next_aware_skips_a_wall_time_that_dst_skips() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    cron = parse_cron("30 2 * * *")
    after = datetime(2024, 3, 30, 12, 0, tzinfo=berlin)
    assert cron.next(after) == datetime(2024, 4, 1, 2, 30, tzinfo=berlin)
    assert cron.next(datetime(2024, 10, 26, 12, tzinfo=berlin)) == datetime(
        2024, 10, 27, 2, 30, tzinfo=berlin
    )


@pytest.mark.parametrize(
    ("spec", "fires"),
    [("0 0 30 2 *", False), ("0 0 31 4 *", False), ("0 0 29 2 *", True), ("0 0 30 2 1", True)],
)
def test_cron_ever_matches(spec: str, fires: bool) -> None:
    assert parse_cron(spec).ever_matches is fires


@pytest.mark.parametrize("name", ["UTC", "Asia/Dubai", "Europe/Berlin", "America/New_York"])
def test_timezone_known(name: str) -> None:
    assert check_timezone(name) == ZoneInfo(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Europe/Berln", "unknown time zone 'Europe/Berln' (did you mean 'Europe/Berlin'?)"),
        ("Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("Local", "'Local' is not an IANA time zone; write one such as 'UTC' or 'Europe/Berlin'"),
        # the system's zoneinfo folder beside the zones: the machine's own zone, placeholders
        (
            "localtime",
            "'localtime' is not an IANA time zone; write one such as 'UTC' or 'Europe/Berlin'",
        ),
        (
            "Factory",
            "'Factory' is not an IANA time zone; write one such as 'UTC' or 'Europe/Berlin'",
        ),
        (
            "posix/Europe/Berlin",
            "'posix/Europe/Berlin' is not an IANA time zone; write one such as 'UTC' or"
            " 'Europe/Berlin'",
        ),
        ("", "'' is not an IANA time zone; write one such as 'UTC' or 'Europe/Berlin'"),
        ("../etc/passwd", "unknown time zone '../etc/passwd'"),
    ],
)
def test_timezone_unknown(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        check_timezone(name)
