"""Time as Argo CD reads it: Go durations, robfig/cron v3 schedules and IANA time zones.

Argo CD parses a sync window's schedule with robfig/cron v3's
`cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)` and its duration
with Go's `time.ParseDuration`; both are ported here rule for rule, with the same error texts,
so that the services file accepts exactly what Argo CD accepts.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from attrs import define, frozen

from generator.spec.errors import did_you_mean

# --------------------------------------------------------------------------------------------
# Go durations (time.ParseDuration)

_NS_PER_UNIT = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # U+00B5 micro sign
    "\u03bcs": 1_000,  # U+03BC Greek small letter mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_GO_MAX = 1 << 63
_UNITS_HINT = "units are ns, us, ms, s, m, h; 24h is a day"


class DurationError(ValueError):
    """`text` is not a Go duration; `go_message` is what Go's time.ParseDuration says."""

    def __init__(self, text: str, reason: str, go_message: str) -> None:
        self.text = text
        self.go_message = go_message
        super().__init__(f"not a Go duration: {text!r} ({reason}{_UNITS_HINT})")


def go_quote(text: str) -> str:
    """Go's time.quote: `\\"` and `\\\\` escaped, other bytes outside printable ASCII as \\xNN."""
    out = ['"']
    for char in text:
        if char < " " or char >= "\x80":
            out.extend(f"\\x{byte:02x}" for byte in char.encode("utf-8", "surrogatepass"))
        elif char in '"\\':
            out.append("\\" + char)
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def parse_duration_ns(text: str) -> int:
    """Go's `time.ParseDuration`, in nanoseconds: "300ms", "-1.5h", "2h45m", "0"; "1d" fails."""
    invalid = DurationError(text, "", f"time: invalid duration {go_quote(text)}")
    rest = text
    negative = False
    if rest[:1] in ("-", "+"):
        negative = rest[0] == "-"
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise invalid
    total = 0
    while rest:
        if not (rest[0] == "." or (rest[0].isascii() and rest[0].isdigit())):
            raise invalid
        whole, rest, digits_before = _leading_int(rest, invalid)
        fraction, scale, digits_after = 0, 1.0, False
        if rest[:1] == ".":
            fraction, scale, rest, digits_after = _leading_fraction(rest[1:])
        if not digits_before and not digits_after:
            raise invalid  # no digits, e.g. ".s"
        unit_end = 0
        while unit_end < len(rest) and not (rest[unit_end] == "." or "0" <= rest[unit_end] <= "9"):
            unit_end += 1
        if unit_end == 0:
            raise DurationError(
                text, "missing unit; ", f"time: missing unit in duration {go_quote(text)}"
            )
        unit, rest = rest[:unit_end], rest[unit_end:]
        if unit not in _NS_PER_UNIT:
            raise DurationError(
                text,
                f"unknown unit {unit!r}; ",
                f"time: unknown unit {go_quote(unit)} in duration {go_quote(text)}",
            )
        per_unit = _NS_PER_UNIT[unit]
        if whole > _GO_MAX // per_unit:
            raise _out_of_range(text)
        value = whole * per_unit
        if fraction > 0:
            # Go computes the fraction in float64, exactly like this, then truncates.
            value += int(float(fraction) * (float(per_unit) / scale))
            if value > _GO_MAX:
                raise _out_of_range(text)
        total += value
        if total > _GO_MAX:
            raise _out_of_range(text)
    if negative:
        return -total
    if total > _GO_MAX - 1:
        raise _out_of_range(text)
    return total


def _out_of_range(text: str) -> DurationError:
    return DurationError(
        text,
        "out of range: Go durations end near 2562047h; ",
        f"time: invalid duration {go_quote(text)}",
    )


def _leading_int(text: str, invalid: DurationError) -> tuple[int, str, bool]:
    value, i = 0, 0
    while i < len(text) and "0" <= text[i] <= "9":
        if value > _GO_MAX // 10:
            raise _out_of_range(invalid.text)
        value = value * 10 + ord(text[i]) - ord("0")
        if value > _GO_MAX:
            raise _out_of_range(invalid.text)
        i += 1
    return value, text[i:], i > 0


def _leading_fraction(text: str) -> tuple[int, float, str, bool]:
    """Go's leadingFraction: digits after the point; stops gaining precision on overflow."""
    value, scale, i, overflow = 0, 1.0, 0, False
    while i < len(text) and "0" <= text[i] <= "9":
        if not overflow:
            if value > (_GO_MAX - 1) // 10:
                overflow = True
            else:
                candidate = value * 10 + ord(text[i]) - ord("0")
                if candidate > _GO_MAX:
                    overflow = True
                else:
                    value = candidate
                    scale *= 10
        i += 1
    return value, scale, text[i:], i > 0


def ns_to_timedelta(ns: int) -> timedelta:
    """Nanoseconds as a timedelta, truncated toward zero to the microsecond."""
    micros = ns // 1000 if ns >= 0 else -(-ns // 1000)
    return timedelta(microseconds=micros)


def parse_duration(text: str) -> timedelta:
    """Go's `time.ParseDuration` as a timedelta (sub-microsecond parts are truncated).

    Raises DurationError (a ValueError) with a message for the user, e.g.
    `not a Go duration: '1d' (unknown unit 'd'; units are ns, us, ms, s, m, h; 24h is a day)`.
    """
    return ns_to_timedelta(parse_duration_ns(text))


def parse_pause_duration(text: str) -> timedelta:
    """An Argo Rollouts pause: a plain integer is seconds, anything else a Go duration.

    Rollouts (RolloutPause.DurationSeconds) tries strconv.ParseInt first, then
    time.ParseDuration, and waits whole seconds: the result is truncated to the second.
    """
    if re.fullmatch(r"[+-]?[0-9]+", text):
        return timedelta(seconds=int(text))
    return timedelta(seconds=int(parse_duration(text).total_seconds()))


# --------------------------------------------------------------------------------------------
# Cron schedules (robfig/cron v3, the parser options Argo CD uses for sync windows)


class CronError(ValueError):
    """robfig/cron v3 rejects the schedule; the message is robfig's, with a hint for humans."""


@frozen(kw_only=True)
class _Bounds:
    low: int
    high: int
    names: tuple[tuple[str, int], ...] = ()


_MINUTES = _Bounds(low=0, high=59)
_HOURS = _Bounds(low=0, high=23)
_DOM = _Bounds(low=1, high=31)
_MONTHS = _Bounds(
    low=1,
    high=12,
    names=tuple(
        (name, number)
        for number, name in enumerate(
            ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
            start=1,
        )
    ),
)
_DOW = _Bounds(
    low=0,
    high=6,
    names=tuple(
        (name, number)
        for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))
    ),
)
# Go's strings.Fields splits on unicode.IsSpace.
_GO_SPACE = re.compile("[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")
_GO_INT = re.compile(r"[+-]?[0-9]+")
_INT64_MAX = (1 << 63) - 1


@frozen(kw_only=True)
class Cron:
    """A parsed schedule: one bit per allowed value of each field, as robfig stores it.

    `dom_star`/`dow_star` record robfig's star bit (`*` or `?`, without a step over 1): when
    either is set a day must match both day fields, otherwise either one.
    """

    spec: str
    minutes: int
    hours: int
    dom: int
    months: int
    dow: int
    dom_star: bool
    dow_star: bool

    def day_matches(self, day: date) -> bool:
        """robfig's dayMatches (the month is checked separately)."""
        dom_match = bool(self.dom >> day.day & 1)
        dow_match = bool(self.dow >> (day.isoweekday() % 7) & 1)
        if self.dom_star or self.dow_star:
            return dom_match and dow_match
        return dom_match or dow_match

    def date_matches(self, day: date) -> bool:
        return bool(self.months >> day.month & 1) and self.day_matches(day)

    @property
    def times_of_day(self) -> tuple[int, ...]:
        """Minutes after midnight at which the schedule fires on a matching day, ascending."""
        return tuple(
            hour * 60 + minute
            for hour in range(24)
            if self.hours >> hour & 1
            for minute in range(60)
            if self.minutes >> minute & 1
        )

    @property
    def ever_matches(self) -> bool:
        """Whether any instant matches (`0 0 30 2 *` never does: there is no 30 February)."""
        if not self.times_of_day:
            return False
        # Every (month, day) pair of a leap year, and every weekday occurs in every month.
        if not (self.dom_star or self.dow_star) and self.dow and self.months:
            return True
        return any(self.date_matches(date(2024, 1, 1) + timedelta(days=i)) for i in range(366 + 7))

    def next(self, after: datetime) -> datetime | None:
        """The first instant strictly after `after` that the schedule fires; robfig's Next.

        A naive `after` is a wall clock with no DST, which is how Argo CD calls it (in UTC,
        shifted by the window's zone offset). None stands for robfig's zero time: nothing
        within five years (robfig gives up after the year of `after` plus five).

        An aware `after` is advanced on its own zone's wall clock: a wall time that DST skips
        is skipped and an ambiguous one fires at its first occurrence. (robfig instead
        normalises skipped times with Go's time.Date; Argo CD never calls it that way.)
        """
        if after.tzinfo is None:
            return self._next_wall(after)
        zone = after.tzinfo
        wall = after.replace(tzinfo=None)
        while True:
            found = self._next_wall(wall)
            if found is None:
                return None
            instant = found.replace(tzinfo=zone)
            round_trip = instant.astimezone(UTC).astimezone(zone)
            if round_trip.replace(tzinfo=None) == found and instant > after:
                return instant
            wall = found

    def _next_wall(self, after: datetime) -> datetime | None:
        """robfig's SpecSchedule.Next on a naive clock, step for step.

        Each field is advanced until it matches; advancing one wraps around to re-check the
        larger fields (robfig's `goto WRAP`), and the search gives up after five years.
        """
        if not (self.minutes and self.hours and self.months and (self.dom or self.dow)):
            return None  # robfig would search five years and return the zero time
        t = after.replace(microsecond=0) + timedelta(seconds=1)
        year_limit = min(t.year + 5, 9998)
        state = _Search(t=t, added=False)
        while state.t.year <= year_limit:
            if (
                self._advance_month(state)
                and self._advance_day(state)
                and self._advance_hour(state)
                and self._advance_minute(state)
                and _advance_second(state)
            ):
                return state.t
        return None

    def _advance_month(self, state: _Search) -> bool:
        while not self.months >> state.t.month & 1:
            if not state.added:
                state.added = True
                state.t = datetime(state.t.year, state.t.month, 1)
            state.t = datetime(state.t.year + state.t.month // 12, state.t.month % 12 + 1, 1)
            if state.t.month == 1:
                return False
        return True

    def _advance_day(self, state: _Search) -> bool:
        while not self.day_matches(state.t.date()):
            if not state.added:
                state.added = True
                state.t = datetime(state.t.year, state.t.month, state.t.day)
            state.t += timedelta(days=1)
            if state.t.day == 1:
                return False
        return True

    def _advance_hour(self, state: _Search) -> bool:
        while not self.hours >> state.t.hour & 1:
            if not state.added:
                state.added = True
                state.t = state.t.replace(minute=0, second=0)
            state.t += timedelta(hours=1)
            if state.t.hour == 0:
                return False
        return True

    def _advance_minute(self, state: _Search) -> bool:
        while not self.minutes >> state.t.minute & 1:
            if not state.added:
                state.added = True
                state.t = state.t.replace(second=0)
            state.t += timedelta(minutes=1)
            if state.t.minute == 0:
                return False
        return True


@define
class _Search:
    """robfig's Next loop variables: the candidate time and whether a field was advanced."""

    t: datetime
    added: bool


def _advance_second(state: _Search) -> bool:
    while state.t.second != 0:  # the seconds field is always "0"
        state.added = True
        state.t += timedelta(seconds=1)
        if state.t.second == 0:
            return False
    return True


@cache
def parse_cron(expr: str) -> Cron:
    """Parse `expr` exactly as Argo CD parses a sync window's schedule.

    Five fields (minute hour day-of-month month day-of-week); `*` and `?`; lists, ranges,
    steps (`N/step` means `N-max/step`); JAN-DEC and SUN-SAT in any case; day of week 0-6.
    No descriptors (`@daily`) and no seconds field. Raises CronError with robfig's message.
    """
    if not expr:
        raise CronError("empty spec string")
    if expr.startswith(("TZ=", "CRON_TZ=")):
        # robfig accepts a zone prefix, but Argo CD then shifts the clock by the window's own
        # time zone as well, so the window would open at the wrong hour: refuse it.
        raise CronError(
            "a TZ= or CRON_TZ= prefix is not supported: Argo CD would apply the zone twice;"
            " set platform.timezone instead"
        )
    if expr.startswith("@"):
        raise CronError(
            f"parser does not accept descriptors: {expr}"
            " (Argo CD wants five fields: minute hour day-of-month month day-of-week,"
            " e.g. '0 0 * * *' for @daily)"
        )
    fields = [field for field in _GO_SPACE.split(expr) if field]
    if len(fields) != 5:
        hint = ""
        if len(fields) == 6:
            hint = (
                " (Argo CD schedules have no seconds field:"
                " minute hour day-of-month month day-of-week)"
            )
        elif len(fields) < 5:
            hint = " (minute hour day-of-month month day-of-week)"
        raise CronError(
            f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]{hint}"
        )
    minutes, _ = _field(fields[0], _MINUTES)
    hours, _ = _field(fields[1], _HOURS)
    dom, dom_star = _field(fields[2], _DOM)
    months, _ = _field(fields[3], _MONTHS)
    dow, dow_star = _field(fields[4], _DOW)
    return Cron(
        spec=expr,
        minutes=minutes,
        hours=hours,
        dom=dom,
        months=months,
        dow=dow,
        dom_star=dom_star,
        dow_star=dow_star,
    )


def _field(text: str, bounds: _Bounds) -> tuple[int, bool]:
    """robfig's getField: a comma-separated list of ranges (empty elements are dropped)."""
    bits, star = 0, False
    for expr in (part for part in text.split(",") if part):
        part_bits, part_star = _range(expr, bounds)
        bits |= part_bits
        star = star or part_star
    return bits, star


def _range(expr: str, bounds: _Bounds) -> tuple[int, bool]:
    """robfig's getRange: `*`, `?`, `N`, `N-M`, each with an optional `/step`."""
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    single = len(low_and_high) == 1
    star = False
    if low_and_high[0] in ("*", "?"):
        start, end, star = bounds.low, bounds.high, True
    else:
        start = _int_or_name(low_and_high[0], bounds)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _int_or_name(low_and_high[1], bounds)
        else:
            raise CronError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _go_uint(range_and_step[1])
        if single:
            end = bounds.high  # "N/step" means "N-max/step"
        if step > 1:
            star = False
    else:
        raise CronError(f"too many slashes: {expr}")
    if start < bounds.low:
        raise CronError(f"beginning of range ({start}) below minimum ({bounds.low}): {expr}")
    if end > bounds.high:
        hint = " (day of week is 0-6, Sunday is 0)" if bounds is _DOW and end == 7 else ""
        raise CronError(f"end of range ({end}) above maximum ({bounds.high}): {expr}{hint}")
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expr}")
    bits = 0
    for value in range(start, end + 1, step):
        bits |= 1 << value
    return bits, star


def _int_or_name(text: str, bounds: _Bounds) -> int:
    lowered = text.lower()
    for name, number in bounds.names:
        if name == lowered:
            return number
    return _go_uint(text)


def _go_uint(text: str) -> int:
    """robfig's mustParseInt: strconv.Atoi, then no negatives."""
    if not _GO_INT.fullmatch(text):
        raise CronError(
            f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax'
        )
    number = int(text)
    if not -_INT64_MAX - 1 <= number <= _INT64_MAX:
        raise CronError(
            f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": value out of range'
        )
    if number < 0:
        raise CronError(f"negative number ({number}) not allowed: {text}")
    return number


# --------------------------------------------------------------------------------------------
# Time zones


_NOT_A_PLACE = frozenset({"Local", "localtime", "Factory", "posixrules"})
_NOT_A_PLACE_PREFIXES = ("posix/", "right/")


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def check_timezone(name: str) -> ZoneInfo:
    """The IANA zone `name` (as Go's time.LoadLocation finds it); ValueError when unknown.

    "Local" and "localtime" are refused: Go would take the Argo CD controller's own zone,
    whatever it is; so is tzdata's "Factory" (an unset zone's placeholder, "-00") and what
    the system's zoneinfo folder holds beside the zones (posixrules, posix/..., right/...:
    leap-second variants Go's embedded tzdata does not carry).
    """
    if name in _NOT_A_PLACE or name.startswith(_NOT_A_PLACE_PREFIXES) or not name:
        raise ValueError(
            f"{name!r} is not an IANA time zone; write one such as 'UTC' or 'Europe/Berlin'"
        )
    if name not in _zone_names():
        raise ValueError(f"unknown time zone {name!r}{did_you_mean(name, _zone_names())}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
