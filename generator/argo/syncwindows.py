"""Argo CD's sync window rules (SyncWindows.CanSync), at one instant and across time.

Ported from argo-cd `pkg/apis/application/v1alpha1/types.go`:

- A window is active when `schedule.Next(now - duration)` falls before `now`, on the wall
  clock of the window's `timeZone` (Argo CD shifts UTC by the zone's offset at that moment and
  runs the robfig/cron schedule on the shifted clock, so a window follows the zone's clock
  across DST changes). A schedule that never fires (`0 0 30 2 *`) makes robfig return its
  zero time, which is before every `now`: such a window is always active.
- CanSync: with no windows everything syncs. An active deny window beats everything: only a
  manual sync passes, and only when every active deny window has manualSync. Otherwise an
  active allow window allows. Otherwise, if allow windows exist (all inactive), only a manual
  sync passes, and only when every one of them has manualSync. Otherwise the sync passes.

Here a window is active on the half-open interval [start, start + duration). Argo CD's strict
`Before` leaves the start instant itself out, a single nanosecond no sync can observe; the
half-open form makes back-to-back windows seamless and `--at 10:00` mean what users expect.
Environments whose `auto_sync` is false never sync automatically: their `automatic` is false.

Not modelled: robfig's five-year search limit for a schedule that fires only on 29 February
(between 2097 and 2103 Argo CD would count it as always active); "never changes" and "for
ever" are decided over a full 28-year calendar cycle, which is exact up to the year 2100.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import cache
from typing import Literal

from attrs import frozen

from generator.argo import timespec
from generator.spec.model import SyncWindow

DAY = timedelta(days=1)
# The Gregorian calendar (weekdays, month lengths, leap years) repeats every 28 years between
# 1901 and 2099, so a pattern of windows that does not change within 28 years plus the longest
# reach of a window never changes (before 2100).
_CYCLE_DAYS = 28 * 366
# The longest gap between two firings of a schedule that fires at all: 29 February 2096 to
# 29 February 2104. A longer window is therefore active at every moment.
_LONGEST_GAP = timedelta(days=2923)
_REFERENCE_DAY = date(2001, 1, 1)  # start of a 28-year cycle, for answers that hold any day

Mode = Literal["always", "never", "normal"]
Pair = tuple[bool, bool]  # (manual, automatic by the windows alone)


@frozen(kw_only=True)
class _Window:
    """One window, compiled: when on a day it is active, relative to that day's midnight."""

    index: int
    source: SyncWindow
    cron: timespec.Cron
    duration: timedelta
    mode: Mode
    runs: tuple[tuple[timedelta, timedelta], ...]  # merged [fire, fire + duration) of a firing day
    last_fire: timedelta  # the latest firing time of day
    reach_days: int  # a firing still counts this many days later

    @property
    def kind(self) -> str:
        return self.source.kind

    @property
    def manual_sync(self) -> bool:
        return self.source.manual_sync


@cache
def _compile(index: int, window: SyncWindow) -> _Window:
    cron = timespec.parse_cron(window.schedule)
    duration = timespec.parse_duration(window.duration)
    fires = [timedelta(minutes=m) for m in cron.times_of_day]
    mode: Mode = "normal"
    if not cron.ever_matches:
        mode = "always"  # robfig's zero time is before every instant
    elif duration <= timedelta(0):
        mode = "never"
    elif duration > _LONGEST_GAP:
        mode = "always"
    runs: list[tuple[timedelta, timedelta]] = []
    if mode == "normal":
        for fire in fires:
            if runs and fire <= runs[-1][1]:
                runs[-1] = (runs[-1][0], max(runs[-1][1], fire + duration))
            else:
                runs.append((fire, fire + duration))
    last_fire = fires[-1] if fires else timedelta(0)
    reach = -((last_fire + duration) // -DAY) if mode == "normal" else 0
    return _Window(
        index=index,
        source=window,
        cron=cron,
        duration=duration,
        mode=mode,
        runs=tuple(runs),
        last_fire=last_fire,
        reach_days=reach,
    )


def decide(windows: Sequence[_Window], active: Sequence[bool], *, manual: bool) -> bool:
    """SyncWindows.CanSync, given which windows are active."""
    if not windows:
        return True
    active_denies = [w for w, on in zip(windows, active, strict=True) if on and w.kind == "deny"]
    if active_denies:
        return manual and all(w.manual_sync for w in active_denies)
    if any(on and w.kind == "allow" for w, on in zip(windows, active, strict=True)):
        return True
    inactive_allows = [
        w for w, on in zip(windows, active, strict=True) if not on and w.kind == "allow"
    ]
    if inactive_allows:
        return manual and all(w.manual_sync for w in inactive_allows)
    return True


# --------------------------------------------------------------------------------------------
# The wall-clock timeline: which windows are active when, one day at a time

DayState = tuple[bool, int | None]  # (fires this day, days since the last earlier firing day)
Piece = tuple[timedelta, tuple[bool, ...]]  # from this time of day on, which windows are active


@cache
def _calendar_key(ordinal: int) -> int:
    """(month, day of month, weekday) of a proleptic Gregorian ordinal, packed in one int."""
    day = date.fromordinal(ordinal)
    return (day.month * 32 + day.day) * 7 + ordinal % 7  # ordinal % 7: Sunday is 0, as in Go


def _match_table(window: _Window) -> tuple[bool, ...]:
    """Whether the window's schedule fires on a day, by _calendar_key."""
    if window.mode != "normal":
        return _NO_DAYS
    return _firing_days(window.cron)


_NO_DAYS = (False,) * (13 * 32 * 7)


@cache
def _firing_days(cron: timespec.Cron) -> tuple[bool, ...]:
    table = [False] * (13 * 32 * 7)
    for month in range(1, 13):
        for day in range(1, 32):
            for weekday in range(7):
                table[(month * 32 + day) * 7 + weekday] = bool(cron.months >> month & 1) and (
                    _day_matches(cron, day, weekday)
                )
    return tuple(table)


def _day_matches(cron: timespec.Cron, day: int, weekday: int) -> bool:
    dom_match = bool(cron.dom >> day & 1)
    dow_match = bool(cron.dow >> weekday & 1)
    if cron.dom_star or cron.dow_star:
        return dom_match and dow_match
    return dom_match or dow_match


class _Timeline:
    """The windows' activity on a naive wall clock, computed per day and memoised.

    On a day, a window is active from midnight until its last earlier firing plus its duration
    (later firings always end later), and from each of that day's firings for the duration.
    """

    def __init__(self, windows: Sequence[SyncWindow]) -> None:
        self.windows = tuple(_compile(i, w) for i, w in enumerate(windows))
        self._tables = tuple(_match_table(w) for w in self.windows)
        self._last_ordinal = -1
        self._last_states: tuple[DayState, ...] = ()
        self._pieces: dict[tuple[DayState, ...], tuple[Piece, ...]] = {}
        self._decisions: dict[tuple[bool, ...], Pair] = {}
        self._cycle: frozenset[tuple[bool, ...]] | None = None

    @property
    def reach_days(self) -> int:
        return max((w.reach_days for w in self.windows), default=0)

    def day_states(self, ordinal: int) -> tuple[DayState, ...]:
        if ordinal == self._last_ordinal:
            return self._last_states
        key = _calendar_key(ordinal)
        if ordinal == self._last_ordinal + 1:
            states = tuple(
                (table[key], _back_after(previous, window.reach_days))
                for table, window, previous in zip(
                    self._tables, self.windows, self._last_states, strict=True
                )
            )
        else:
            states = tuple(
                (table[key], self._seek_back(table, window, ordinal))
                for table, window in zip(self._tables, self.windows, strict=True)
            )
        self._last_ordinal, self._last_states = ordinal, states
        return states

    @staticmethod
    def _seek_back(table: tuple[bool, ...], window: _Window, ordinal: int) -> int | None:
        for days_back in range(1, window.reach_days + 1):
            if table[_calendar_key(ordinal - days_back)]:
                return days_back
        return None

    def pieces(self, ordinal: int) -> tuple[Piece, ...]:
        """The day cut where any window starts or stops: (time of day, active flags), ascending."""
        states = self.day_states(ordinal)
        found = self._pieces.get(states)
        if found is None:
            found = self._cut(states)
            self._pieces[states] = found
        return found

    def _cut(self, states: tuple[DayState, ...]) -> tuple[Piece, ...]:
        spans = [_merged(_active_spans(w, s)) for w, s in zip(self.windows, states, strict=True)]
        starts = [[a for a, _ in span] for span in spans]
        edges = {edge for span in spans for a, b in span for edge in (a, b) if edge < DAY}
        pieces: list[Piece] = []
        for cut in sorted(edges | {timedelta(0)}):
            flags = tuple(
                _covers(span, begins, cut) for span, begins in zip(spans, starts, strict=True)
            )
            if not pieces or pieces[-1][1] != flags:
                pieces.append((cut, flags))
        return tuple(pieces)

    def decision(self, flags: tuple[bool, ...]) -> Pair:
        """(manual allowed, automated allowed) by Argo CD's rules for these active flags."""
        found = self._decisions.get(flags)
        if found is None:
            found = (
                decide(self.windows, flags, manual=True),
                decide(self.windows, flags, manual=False),
            )
            self._decisions[flags] = found
        return found

    def flags_at(self, wall: datetime) -> tuple[bool, ...]:
        offset = wall - datetime(wall.year, wall.month, wall.day)
        current: tuple[bool, ...] = ()
        for start, flags in self.pieces(wall.toordinal()):
            if start > offset:
                break
            current = flags
        return current

    def changes(
        self, start: datetime, end: datetime
    ) -> Iterator[tuple[datetime, tuple[bool, ...]]]:
        """Each wall time in (start, end) where the active flags may change, with the new flags."""
        ordinal = start.toordinal()
        midnight = datetime(start.year, start.month, start.day)
        while midnight < end:
            for offset, flags in self.pieces(ordinal):
                wall = midnight + offset
                if wall >= end:
                    return
                if wall > start:
                    yield wall, flags
            ordinal += 1
            midnight += DAY

    def cycle_flags(self) -> frozenset[tuple[bool, ...]]:
        """Every combination of active windows that occurs in a whole calendar cycle."""
        if self._cycle is None:
            seen: set[tuple[bool, ...]] = set()
            checked: set[tuple[DayState, ...]] = set()
            first = _REFERENCE_DAY.toordinal()
            for ordinal in range(first, first + _CYCLE_DAYS + self.reach_days + 1):
                states = self.day_states(ordinal)
                if states not in checked:
                    checked.add(states)
                    seen.update(flags for _, flags in self.pieces(ordinal))
            self._cycle = frozenset(seen)
        return self._cycle


def _back_after(previous: DayState, reach_days: int) -> int | None:
    fired, back = previous
    if fired:
        return 1 if reach_days >= 1 else None
    if back is None or back >= reach_days:
        return None
    return back + 1


def _merged(spans: list[tuple[timedelta, timedelta]]) -> list[tuple[timedelta, timedelta]]:
    """Sorted, disjoint half-open spans covering the same time (touching spans join)."""
    merged: list[tuple[timedelta, timedelta]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        elif start < end:
            merged.append((start, end))
    return merged


def _covers(
    spans: list[tuple[timedelta, timedelta]], starts: list[timedelta], at: timedelta
) -> bool:
    index = bisect_right(starts, at) - 1
    return index >= 0 and at < spans[index][1]


def _active_spans(window: _Window, state: DayState) -> list[tuple[timedelta, timedelta]]:
    if window.mode == "always":
        return [(timedelta(0), DAY)]
    if window.mode == "never":
        return []
    fired, back = state
    spans: list[tuple[timedelta, timedelta]] = []
    if back is not None:
        end = window.last_fire + window.duration - back * DAY
        if end > timedelta(0):
            spans.append((timedelta(0), min(end, DAY)))
    if fired:
        spans.extend((a, min(b, DAY)) for a, b in window.runs if a < DAY)
    return spans


# --------------------------------------------------------------------------------------------
# Public API


def _zone(tz: str | tzinfo) -> tzinfo:
    return timespec.check_timezone(tz) if isinstance(tz, str) else tz


def _aware(at: datetime, zone: tzinfo) -> datetime:
    return at.replace(tzinfo=zone) if at.tzinfo is None else at


def _wall(at: datetime, zone: tzinfo) -> datetime:
    return at.astimezone(zone).replace(tzinfo=None)


def _pair(timeline: _Timeline, flags: tuple[bool, ...], auto_sync: bool) -> Pair:
    manual, automatic = timeline.decision(flags)
    return manual, auto_sync and automatic


def is_active(window: SyncWindow, tz: str | tzinfo, at: datetime) -> bool:
    """Whether Argo CD counts `window` as active at `at` (a naive `at` is in `tz`)."""
    zone = _zone(tz)
    return _Timeline([window]).flags_at(_wall(_aware(at, zone), zone))[0]


def can_sync(
    windows: Sequence[SyncWindow], tz: str | tzinfo, at: datetime, *, manual: bool
) -> bool:
    """Argo CD's SyncWindows.CanSync(isManual) at `at` (a naive `at` is in `tz`)."""
    zone = _zone(tz)
    timeline = _Timeline(windows)
    return decide(timeline.windows, timeline.flags_at(_wall(_aware(at, zone), zone)), manual=manual)


def state_at(
    windows: Sequence[SyncWindow], tz: str | tzinfo, at: datetime, *, auto_sync: bool
) -> Pair:
    """(manual sync allowed, automated sync allowed) at `at`; automated is False w/o auto_sync."""
    zone = _zone(tz)
    timeline = _Timeline(windows)
    return _pair(timeline, timeline.flags_at(_wall(_aware(at, zone), zone)), auto_sync)


def next_change(
    windows: Sequence[SyncWindow], tz: str | tzinfo, at: datetime, *, auto_sync: bool
) -> datetime | None:
    """The first instant after `at` at which (manual, automatic) differs from its value at `at`.

    Returned in `tz`; None when it never changes (checked over a full 28-year calendar cycle
    plus the windows' reach, which covers every future pattern up to the year 2100).
    """
    if not windows:
        return None
    zone = _zone(tz)
    timeline = _Timeline(windows)
    t = _aware(at, zone).astimezone(UTC)
    horizon = t + (_CYCLE_DAYS + timeline.reach_days + 2) * DAY
    current = _pair(timeline, timeline.flags_at(_wall(t, zone)), auto_sync)
    if {_pair(timeline, flags, auto_sync) for flags in timeline.cycle_flags()} == {current}:
        return None
    while t < horizon:
        offset = _offset(zone, t)
        end = _next_offset_change(zone, t, horizon)
        wall_start = t.replace(tzinfo=None) + offset
        wall_end = end.replace(tzinfo=None) + offset
        for wall, flags in timeline.changes(wall_start, wall_end):
            if _pair(timeline, flags, auto_sync) != current:
                return (wall - offset).replace(tzinfo=UTC).astimezone(zone)
        if end >= horizon:
            return None
        if _pair(timeline, timeline.flags_at(_wall(end, zone)), auto_sync) != current:
            return end.astimezone(zone)
        t = end
    return None


def _offset(zone: tzinfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    return offset if offset is not None else timedelta(0)


def _next_offset_change(zone: tzinfo, t: datetime, limit: datetime) -> datetime:
    """The first instant after `t` at which the zone's UTC offset changes, or `limit`."""
    offset = _offset(zone, t)
    low = t
    while low < limit:
        high = min(low + DAY, limit)
        if _offset(zone, high) != offset:
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset(zone, middle) == offset:
                    low = middle
                else:
                    high = middle
            # Transitions fall on whole seconds.
            return (
                high.replace(microsecond=0)
                if _offset(zone, high.replace(microsecond=0)) != offset
                else high
            )
        low = high
    return limit


def forbids_for_ever(
    windows: Sequence[SyncWindow], tz: str | tzinfo, auto_sync: bool
) -> str | None:
    """Why no sync of any kind can ever happen under `windows`, or None when some sync can.

    A manual sync is allowed whenever an automated one is, so this asks whether a manual sync
    is ever allowed; `auto_sync` does not change the answer. The answer holds on any day: it
    is computed over a whole 28-year calendar cycle on the wall clock (`tz` only moves it).
    """
    del tz, auto_sync  # the wall-clock pattern alone decides it
    if not windows:
        return None
    timeline = _Timeline(windows)
    if any(timeline.decision(flags)[0] for flags in timeline.cycle_flags()):
        return None
    return "these sync windows forbid every sync for ever: " + _why_never(timeline)


def never_syncs(windows: Sequence[SyncWindow], *, timezone: str, auto_sync: bool) -> str | None:
    """forbids_for_ever, keyed as the loader's checks call it."""
    return forbids_for_ever(windows, timezone, auto_sync)


def automatic_never(windows: Sequence[SyncWindow], tz: str | tzinfo) -> str | None:
    """Why an automated sync can never happen (though a manual one can), or None."""
    del tz
    if not windows:
        return None
    timeline = _Timeline(windows)
    seen = {timeline.decision(flags) for flags in timeline.cycle_flags()}
    if any(automatic for _, automatic in seen) or not any(manual for manual, _ in seen):
        return None
    return (
        "automated syncs can never happen under these sync windows (only manual syncs pass):"
        " auto_sync = true has no effect here"
    )


def manual_sync_pointless(
    windows: Sequence[SyncWindow], *, auto_sync: bool
) -> list[tuple[int, str]]:
    """Allow windows whose `manual_sync = true` changes nothing, as (index, why).

    Argo CD lets a manual sync through outside the allow windows only when every inactive allow
    window has manualSync, so the flag does nothing unless all allow windows set it; and when
    they all do, in an environment that only syncs manually, they never restrict anything.
    """
    allows = [(i, w) for i, w in enumerate(windows) if w.kind == "allow"]
    flagged = [i for i, w in allows if w.manual_sync]
    lacking = [i for i, w in allows if not w.manual_sync]
    if not flagged:
        return []
    if lacking:
        return [
            (
                i,
                "manual_sync = true has no effect: Argo CD lets manual syncs through outside allow"
                " windows only when every allow window sets it, and"
                f" sync_windows[{lacking[0]}] does not",
            )
            for i in flagged
        ]
    if auto_sync:
        return []
    return [
        (
            i,
            "this allow window never restricts anything: the environment syncs only manually"
            " (auto_sync = false) and manual_sync = true lets manual syncs through outside it",
        )
        for i in flagged
    ]


def _describe(window: _Window) -> str:
    source = window.source
    return f"sync_windows[{window.index}] ({source.kind} '{source.schedule}' for {source.duration})"


def _why_never(timeline: _Timeline) -> str:
    windows = timeline.windows
    never_fires = [w for w in windows if w.mode == "always" and not w.cron.ever_matches]
    always = _always_active(timeline)
    blocking_denies = [
        w for w in windows if w.kind == "deny" and w.index in always and not w.manual_sync
    ]
    if blocking_denies:
        window = blocking_denies[0]
        detail = (
            "its schedule never fires, and Argo CD (robfig/cron) then counts the window as"
            " active at every moment"
            if window in never_fires
            else "it is active at every moment"
        )
        return (
            f"{_describe(window)} denies, {detail}, and it does not set manual_sync;"
            " shorten it, make it fire less often, or set manual_sync = true"
        )
    allows = [w for w in windows if w.kind == "allow"]
    if allows and not any(w.index in _ever_active(timeline) for w in allows):
        listed = ", ".join(_describe(w) for w in allows)
        return (
            f"no allow window is ever active ({listed}), and outside allow windows Argo CD"
            " syncs nothing; give them a positive duration and a schedule that fires"
        )
    return (
        "whenever an allow window is active a deny window without manual_sync is active too, and"
        " an active deny window beats any allow window; outside allow windows nothing syncs"
    )


def _always_active(timeline: _Timeline) -> set[int]:
    flag_sets = timeline.cycle_flags()
    return {w.index for w in timeline.windows if all(flags[w.index] for flags in flag_sets)}


def _ever_active(timeline: _Timeline) -> set[int]:
    flag_sets = timeline.cycle_flags()
    return {w.index for w in timeline.windows if any(flags[w.index] for flags in flag_sets)}
