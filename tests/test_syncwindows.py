"""Sync windows judged by Argo CD's own rules (SyncWindows.CanSync and friends)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from generator.argo.syncwindows import (
    _compile,
    automatic_never,
    can_sync,
    decide,
    forbids_for_ever,
    is_active,
    manual_sync_pointless,
    never_syncs,
    next_change,
    state_at,
)
from generator.argo.timespec import parse_cron, parse_duration
from generator.spec.model import SyncWindow, WindowKind


def w(kind: WindowKind, schedule: str, duration: str, manual: bool = False) -> SyncWindow:
    return SyncWindow(kind=kind, schedule=schedule, duration=duration, manual_sync=manual)


WEEKDAYS_9_TO_5 = w("allow", "0 9 * * 1-5", "8h")
NOON_DENY = w("deny", "0 12 * * *", "1h")

# (case, windows, zone, at, auto_sync, (manual, automatic), next change or None)
# 2024-06-03 is a Monday; Europe/Berlin goes to +02:00 on 2024-03-31 and back on 2024-10-27.
CASES: list[tuple[str, list[SyncWindow], str, str, bool, tuple[bool, bool], str | None]] = [
    ("no windows", [], "UTC", "2024-06-03T10:00Z", True, (True, True), None),
    ("no windows, manual-only env", [], "UTC", "2024-06-03T10:00Z", False, (True, False), None),
    (
        "inside allow",
        [WEEKDAYS_9_TO_5],
        "UTC",
        "2024-06-03T10:00Z",
        True,
        (True, True),
        "2024-06-03T17:00:00+00:00",
    ),
    (
        "allow opens at its start",
        [WEEKDAYS_9_TO_5],
        "UTC",
        "2024-06-03T09:00Z",
        True,
        (True, True),
        "2024-06-03T17:00:00+00:00",
    ),
    (
        "allow is closed at its end",
        [WEEKDAYS_9_TO_5],
        "UTC",
        "2024-06-03T17:00Z",
        True,
        (False, False),
        "2024-06-04T09:00:00+00:00",
    ),
    (
        "inactive allow blocks",
        [WEEKDAYS_9_TO_5],
        "UTC",
        "2024-06-03T08:00Z",
        True,
        (False, False),
        "2024-06-03T09:00:00+00:00",
    ),
    (
        "inactive allow blocks over the weekend",
        [WEEKDAYS_9_TO_5],
        "UTC",
        "2024-06-01T12:00Z",
        True,
        (False, False),
        "2024-06-03T09:00:00+00:00",
    ),
    (
        "inactive allow with manualSync lets manual through",
        [w("allow", "0 9 * * 1-5", "8h", True)],
        "UTC",
        "2024-06-03T08:00Z",
        True,
        (True, False),
        "2024-06-03T09:00:00+00:00",
    ),
    (
        "deny beats an active allow",
        [WEEKDAYS_9_TO_5, NOON_DENY],
        "UTC",
        "2024-06-03T12:30Z",
        True,
        (False, False),
        "2024-06-03T13:00:00+00:00",
    ),
    (
        "allow again after the deny",
        [WEEKDAYS_9_TO_5, NOON_DENY],
        "UTC",
        "2024-06-03T13:00Z",
        True,
        (True, True),
        "2024-06-03T17:00:00+00:00",
    ),
    (
        "deny with manualSync lets manual through",
        [w("deny", "0 12 * * *", "1h", True)],
        "UTC",
        "2024-06-03T12:30Z",
        True,
        (True, False),
        "2024-06-03T13:00:00+00:00",
    ),
    (
        "active deny with manualSync beats inactive allows",
        [w("deny", "0 6 * * *", "1h", True), WEEKDAYS_9_TO_5],
        "UTC",
        "2024-06-03T06:30Z",
        True,
        (True, False),
        "2024-06-03T07:00:00+00:00",
    ),
    (
        "after that deny, the inactive allow blocks manual too",
        [w("deny", "0 6 * * *", "1h", True), WEEKDAYS_9_TO_5],
        "UTC",
        "2024-06-03T07:30Z",
        True,
        (False, False),
        "2024-06-03T09:00:00+00:00",
    ),
    (
        "two active denies: one without manualSync blocks manual",
        [w("deny", "0 12 * * *", "2h", True), w("deny", "30 12 * * *", "1h")],
        "UTC",
        "2024-06-03T12:45Z",
        True,
        (False, False),
        "2024-06-03T13:30:00+00:00",
    ),
    (
        "two active denies, both manualSync",
        [w("deny", "0 12 * * *", "2h", True), w("deny", "30 12 * * *", "1h", True)],
        "UTC",
        "2024-06-03T12:45Z",
        True,
        (True, False),
        "2024-06-03T14:00:00+00:00",
    ),
    (
        "two inactive allows: one without manualSync blocks manual",
        [w("allow", "0 9 * * *", "1h", True), w("allow", "0 15 * * *", "1h")],
        "UTC",
        "2024-06-03T12:00Z",
        True,
        (False, False),
        "2024-06-03T15:00:00+00:00",
    ),
    (
        "two inactive allows, both manualSync",
        [w("allow", "0 9 * * *", "1h", True), w("allow", "0 15 * * *", "1h", True)],
        "UTC",
        "2024-06-03T12:00Z",
        True,
        (True, False),
        "2024-06-03T15:00:00+00:00",
    ),
    (
        "an active allow wins over another inactive allow",
        [w("allow", "0 9 * * *", "1h"), w("allow", "0 15 * * *", "1h")],
        "UTC",
        "2024-06-03T09:30Z",
        True,
        (True, True),
        "2024-06-03T10:00:00+00:00",
    ),
    (
        "manual-only env: automatic is off even inside allow",
        [WEEKDAYS_9_TO_5],
        "UTC",
        "2024-06-03T10:00Z",
        False,
        (True, False),
        "2024-06-03T17:00:00+00:00",
    ),
    (
        "zone: 09:30 in Dubai is 05:30 UTC",
        [w("allow", "0 9 * * *", "1h")],
        "Asia/Dubai",
        "2024-06-03T05:30Z",
        True,
        (True, True),
        "2024-06-03T10:00:00+04:00",
    ),
    (
        "zone: the same schedule in UTC is closed then",
        [w("allow", "0 9 * * *", "1h")],
        "UTC",
        "2024-06-03T05:30Z",
        True,
        (False, False),
        "2024-06-03T09:00:00+00:00",
    ),
    (
        "a window across midnight",
        [w("deny", "0 22 * * *", "4h")],
        "UTC",
        "2024-06-04T01:00Z",
        True,
        (False, False),
        "2024-06-04T02:00:00+00:00",
    ),
    (
        "before a window across midnight",
        [w("deny", "0 22 * * *", "4h")],
        "UTC",
        "2024-06-03T21:00Z",
        True,
        (True, True),
        "2024-06-03T22:00:00+00:00",
    ),
    (
        "a week boundary: Saturday night into Sunday",
        [w("allow", "0 22 * * 6", "4h")],
        "UTC",
        "2024-06-02T01:00Z",
        True,
        (True, True),
        "2024-06-02T02:00:00+00:00",
    ),
    (
        "a week boundary: closed until Saturday night",
        [w("allow", "0 22 * * 6", "4h")],
        "UTC",
        "2024-06-02T02:00Z",
        True,
        (False, False),
        "2024-06-08T22:00:00+00:00",
    ),
    (
        "a week boundary: Sunday to Thursday in Dubai",
        [w("allow", "0 10 * * 0-4", "6h")],
        "Asia/Dubai",
        "2024-06-06T16:00+04:00",
        False,
        (False, False),
        "2024-06-09T10:00:00+04:00",
    ),
    (
        "DST spring: opens at 01:00 +01:00",
        [w("allow", "0 1 * * *", "3h")],
        "Europe/Berlin",
        "2024-03-31T00:30+01:00",
        True,
        (False, False),
        "2024-03-31T01:00:00+01:00",
    ),
    (
        "DST spring: 01:00-04:00 lasts two hours that day",
        [w("allow", "0 1 * * *", "3h")],
        "Europe/Berlin",
        "2024-03-31T01:30+01:00",
        True,
        (True, True),
        "2024-03-31T04:00:00+02:00",
    ),
    (
        "DST autumn: the 02:30 window, first time",
        [w("deny", "30 2 * * *", "30m")],
        "Europe/Berlin",
        "2024-10-27T02:45+02:00",
        True,
        (False, False),
        "2024-10-27T02:00:00+01:00",
    ),
    (
        "DST autumn: the 02:30 window comes again",
        [w("deny", "30 2 * * *", "30m")],
        "Europe/Berlin",
        "2024-10-27T02:10+01:00",
        True,
        (True, True),
        "2024-10-27T02:30:00+01:00",
    ),
    (
        "DST autumn: a window across the switch lasts two hours",
        [w("deny", "0 2 * * *", "1h")],
        "Europe/Berlin",
        "2024-10-27T02:15+02:00",
        True,
        (False, False),
        "2024-10-27T03:00:00+01:00",
    ),
    (
        "a schedule that never fires: allow always active",
        [w("allow", "0 0 30 2 *", "1h")],
        "UTC",
        "2024-06-03T10:00Z",
        True,
        (True, True),
        None,
    ),
    (
        "a schedule that never fires: deny always active",
        [w("deny", "0 0 30 2 *", "1h")],
        "UTC",
        "2024-06-03T10:00Z",
        True,
        (False, False),
        None,
    ),
    (
        "back-to-back windows are seamless",
        [w("allow", "0 * * * *", "1h")],
        "UTC",
        "2024-06-03T10:00Z",
        True,
        (True, True),
        None,
    ),
    (
        "every minute for a minute: always denied",
        [w("deny", "* * * * *", "1m")],
        "UTC",
        "2024-06-03T10:00:30Z",
        True,
        (False, False),
        None,
    ),
    (
        "every other minute for a minute",
        [w("deny", "*/2 * * * *", "1m")],
        "UTC",
        "2024-06-03T10:00:30Z",
        True,
        (False, False),
        "2024-06-03T10:01:00+00:00",
    ),
    (
        "a zero duration never opens an allow",
        [w("allow", "0 9 * * *", "0s")],
        "UTC",
        "2024-06-03T09:00Z",
        True,
        (False, False),
        None,
    ),
]


@pytest.mark.parametrize(
    ("windows", "zone", "at", "expected"),
    [pytest.param(case[1], case[2], case[3], case[4:], id=case[0]) for case in CASES],
)
def test_window_case(
    windows: list[SyncWindow],
    zone: str,
    at: str,
    expected: tuple[bool, tuple[bool, bool], str | None],
) -> None:
    """(auto_sync, (manual, automatic) at `at`, the next change) as Argo CD would have them."""
    auto_sync, pair, change = expected
    instant = datetime.fromisoformat(at)
    assert state_at(windows, zone, instant, auto_sync=auto_sync) == pair
    found = next_change(windows, zone, instant, auto_sync=auto_sync)
    assert (found.isoformat() if found else None) == change
    assert can_sync(windows, zone, instant, manual=True) is pair[0]
    if auto_sync:
        assert can_sync(windows, zone, instant, manual=False) is pair[1]
    if found is not None:
        after = state_at(windows, zone, found, auto_sync=auto_sync)
        just_before = found.astimezone(UTC) - timedelta(microseconds=1)  # not wall-clock arithmetic
        before = state_at(windows, zone, just_before, auto_sync=auto_sync)
        assert after != pair
        assert before == pair


def test_is_active_follows_the_zone() -> None:
    window = w("allow", "0 9 * * *", "1h")
    at = datetime(2024, 6, 3, 5, 30, tzinfo=UTC)
    assert is_active(window, "Asia/Dubai", at)
    assert not is_active(window, "UTC", at)
    assert is_active(window, ZoneInfo("UTC"), datetime(2024, 6, 3, 9, 59))  # naive: in the zone


def argo_active(window: SyncWindow, zone: ZoneInfo, at: datetime) -> bool:
    """Argo CD's SyncWindow.active, line for line: the UTC clock shifted by the zone's offset."""
    offset = at.astimezone(zone).utcoffset()
    assert offset is not None
    current = at.astimezone(UTC).replace(tzinfo=None) + offset
    found = parse_cron(window.schedule).next(current - parse_duration(window.duration))
    return found is None or found < current  # robfig's zero time is before everything


RANDOM_WINDOWS = [
    w("allow", "0 10 * * 0-4", "6h"),
    w("deny", "30 2 * * *", "30m"),
    w("deny", "0 22 * * 5", "50h"),
    w("allow", "*/20 8-17 * * MON-FRI", "5m"),
    w("deny", "0 0 1,15 * 1", "12h"),  # both day fields: the 1st, the 15th or any Monday
    w("allow", "15 3 29 2 *", "36h"),
    w("deny", "0 0 30 2 *", "1h"),
]


@pytest.mark.parametrize("zone_name", ["UTC", "Asia/Dubai", "Europe/Berlin", "America/New_York"])
@pytest.mark.parametrize(
    "window", RANDOM_WINDOWS, ids=lambda x: f"{x.kind} {x.schedule} {x.duration}"
)
def test_active_matches_argo_cd_at_random_instants(window: SyncWindow, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    rng = random.Random(f"{window.schedule}{zone_name}")
    start = datetime(2023, 1, 1, tzinfo=UTC)
    for _ in range(150):
        # Odd seconds and microseconds: never exactly on a window's edge, where Argo CD's strict
        # comparison and our half-open window differ by one nanosecond.
        at = start + timedelta(
            seconds=rng.randrange(3 * 366 * 86400), microseconds=rng.randrange(1, 10**6)
        )
        assert is_active(window, zone, at) is argo_active(window, zone, at), at


def test_decide_ports_can_sync() -> None:
    """The branch order of CanSync, without time: deny first, then active allow, then inactive."""
    allow, allow_manual = (
        _compile(0, w("allow", "0 9 * * *", "1h")),
        _compile(1, w("allow", "0 9 * * *", "1h", True)),
    )
    deny, deny_manual = (
        _compile(2, w("deny", "0 9 * * *", "1h")),
        _compile(3, w("deny", "0 9 * * *", "1h", True)),
    )
    assert decide([], [], manual=False)
    assert decide([deny_manual, allow], [True, False], manual=True)
    assert not decide([deny_manual, allow], [True, False], manual=False)
    assert not decide([deny_manual, deny], [True, True], manual=True)
    assert decide([deny_manual, deny], [True, False], manual=True)
    assert decide([allow, allow_manual], [False, True], manual=False)
    assert not decide([allow, allow_manual], [False, False], manual=True)
    assert decide([allow_manual], [False], manual=True)
    assert decide([deny], [False], manual=False)


FOR_EVER = "these sync windows forbid every sync for ever: "
FORBIDS: list[tuple[str, list[SyncWindow], str | None]] = [
    ("no windows", [], None),
    ("a weekday allow", [w("allow", "0 10 * * 0-4", "6h")], None),
    (
        "a daily 24h deny",
        [w("deny", "0 0 * * *", "24h")],
        FOR_EVER + "sync_windows[0] (deny '0 0 * * *' for 24h) denies, it is active at every"
        " moment, and it does not set manual_sync; shorten it, make it fire less often, or set"
        " manual_sync = true",
    ),
    ("a daily 24h deny with manualSync", [w("deny", "0 0 * * *", "24h", True)], None),
    ("a daily 23h59m deny", [w("deny", "0 0 * * *", "23h59m")], None),
    (
        "a deny every minute for a minute",
        [w("allow", "0 9 * * *", "1h"), w("deny", "* * * * *", "1m")],
        FOR_EVER + "sync_windows[1] (deny '* * * * *' for 1m) denies, it is active at every"
        " moment, and it does not set manual_sync; shorten it, make it fire less often, or set"
        " manual_sync = true",
    ),
    ("a deny every other minute", [w("deny", "*/2 * * * *", "1m")], None),
    (
        "a deny that never fires is always active",
        [w("deny", "0 0 30 2 *", "1h")],
        FOR_EVER + "sync_windows[0] (deny '0 0 30 2 *' for 1h) denies, its schedule never fires,"
        " and Argo CD (robfig/cron) then counts the window as active at every moment, and it"
        " does not set manual_sync; shorten it, make it fire less often, or set manual_sync = true",
    ),
    ("an allow that never fires is always active", [w("allow", "0 0 30 2 *", "1h")], None),
    ("an allow only on 29 February", [w("allow", "0 0 29 2 *", "24h")], None),
    (
        "an allow that never opens",
        [w("allow", "0 9 * * *", "0s")],
        FOR_EVER + "no allow window is ever active (sync_windows[0] (allow '0 9 * * *' for 0s)),"
        " and outside allow windows Argo CD syncs nothing; give them a positive duration and a"
        " schedule that fires",
    ),
    (
        "an allow always covered by a deny",
        [w("deny", "0 9 * * *", "2h"), w("allow", "30 9 * * *", "30m")],
        FOR_EVER + "whenever an allow window is active a deny window without manual_sync is"
        " active too, and an active deny window beats any allow window; outside allow windows"
        " nothing syncs",
    ),
    (
        "the covering deny lets manual syncs through",
        [w("deny", "0 9 * * *", "2h", True), w("allow", "30 9 * * *", "30m")],
        None,
    ),
    (
        "the allow outlasts the deny",
        [w("deny", "0 9 * * *", "2h"), w("allow", "30 9 * * *", "2h")],
        None,
    ),
    (
        "weekday allow, weekday deny",
        [w("allow", "0 9 * * 1-5", "8h"), w("deny", "0 0 * * 1-5", "24h")],
        FOR_EVER + "whenever an allow window is active a deny window without manual_sync is"
        " active too, and an active deny window beats any allow window; outside allow windows"
        " nothing syncs",
    ),
    (
        "weekday allow, weekend deny",
        [w("allow", "0 9 * * 1-5", "8h"), w("deny", "0 0 * * 0,6", "24h")],
        None,
    ),
]


@pytest.mark.parametrize(
    ("windows", "message"), [pytest.param(*case[1:], id=case[0]) for case in FORBIDS]
)
def test_forbids_for_ever(windows: list[SyncWindow], message: str | None) -> None:
    assert forbids_for_ever(windows, "Europe/Berlin", True) == message
    assert (
        forbids_for_ever(windows, "UTC", False) == message
    )  # manual decides: zone and auto_sync do not
    assert never_syncs(windows, timezone="Asia/Dubai", auto_sync=False) == message


def test_automatic_never() -> None:
    assert automatic_never([w("deny", "0 0 * * *", "24h", True)], "UTC") == (
        "automated syncs can never happen under these sync windows (only manual syncs pass):"
        " auto_sync = true has no effect here"
    )
    assert automatic_never([w("allow", "0 0 * * *", "1h", True)], "UTC") is None
    assert automatic_never([w("deny", "0 0 * * *", "24h")], "UTC") is None  # nothing syncs at all
    assert automatic_never([], "UTC") is None


def test_manual_sync_pointless() -> None:
    only_manual = [w("allow", "0 10 * * 0-4", "6h", True)]
    assert manual_sync_pointless(only_manual, auto_sync=False) == [
        (
            0,
            "this allow window never restricts anything: the environment syncs only manually"
            " (auto_sync = false) and manual_sync = true lets manual syncs through outside it",
        )
    ]
    assert manual_sync_pointless(only_manual, auto_sync=True) == []  # it still gates automation
    mixed = [w("allow", "0 9 * * *", "1h"), w("allow", "0 15 * * *", "1h", True)]
    assert manual_sync_pointless(mixed, auto_sync=True) == [
        (
            1,
            "manual_sync = true has no effect: Argo CD lets manual syncs through outside allow"
            " windows only when every allow window sets it, and sync_windows[0] does not",
        )
    ]
    assert manual_sync_pointless([w("deny", "0 9 * * *", "1h", True)], auto_sync=False) == []
    assert manual_sync_pointless([w("allow", "0 9 * * *", "1h")], auto_sync=False) == []
