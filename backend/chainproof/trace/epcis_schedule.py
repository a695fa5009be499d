"""Query schedules of scheduled EPCIS subscriptions (GS1's ``QueryScheduleSubscription``;
EPCIS section 8.2.5.3): when a subscription runs, in UTC.

A schedule names some of ``second`` (0-59), ``minute`` (0-59), ``hour`` (0-23),
``dayOfMonth`` (1-31), ``month`` (1-12) and ``dayOfWeek`` (1 Monday … 7 Sunday), each a
comma-separated list of numbers and ``[low-high]`` ranges (``"1,3,[10-12]"``). The query runs
at every moment all of them match. A field the schedule omits matches any value when it is
more significant than the most significant field given, and only its least value when it is
less significant: ``{"hour": "1", "minute": "5"}`` runs every day at 01:05:00. The two kinds of
day are alternatives: an omitted ``dayOfWeek`` matches any day, and so does an omitted
``dayOfMonth`` when ``dayOfWeek`` is given (``{"dayOfWeek": "1"}``: Mondays at 00:00:00).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

from chainproof.errors import InvalidInputError

RANGES: Final = {
    "second": (0, 59),
    "minute": (0, 59),
    "hour": (0, 23),
    "dayOfMonth": (1, 31),
    "month": (1, 12),
    "dayOfWeek": (1, 7),
}
# Most significant first; the two kinds of day are one level.
_LEVEL: Final = {"month": 0, "dayOfMonth": 1, "dayOfWeek": 1, "hour": 2, "minute": 3, "second": 4}
MAX_TEXT: Final = 200
SEARCH_DAYS: Final = 366 * 8  # a leap day comes back within 4 years (on a given weekday, 28)

Schedule = dict[str, list[int]]


def _values(field: str, raw: Any) -> list[int]:
    low, high = RANGES[field]
    text = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
    if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT:
        raise InvalidInputError(f"schedule.{field}: a string of numbers and [low-high] ranges")
    found: set[int] = set()
    for part in text.replace(" ", "").split(","):
        try:
            if part.startswith("[") and part.endswith("]") and "-" in part:
                first, _, last = part[1:-1].partition("-")
                a, b = int(first), int(last)
            else:
                a = b = int(part)
        except ValueError:
            raise InvalidInputError(
                f"schedule.{field}: {part!r} is not a number or a range"
            ) from None
        if not low <= a <= b <= high:
            raise InvalidInputError(f"schedule.{field}: {part!r} is outside {low}-{high}")
        found.update(range(a, b + 1))
    return sorted(found)


def parse(raw: Any, *, now: datetime) -> Schedule:
    """The schedule's matching values per field; InvalidInputError when it is not one or
    never runs (``{"month": "2", "dayOfMonth": "30"}``)."""
    if not isinstance(raw, dict) or not raw:
        raise InvalidInputError("schedule must be an object naming at least one field")
    unknown = sorted(set(raw) - set(RANGES))
    if unknown:
        raise InvalidInputError(f"schedule.{unknown[0]} is not a schedule field")
    given = {field: _values(field, value) for field, value in raw.items()}
    top = min(_LEVEL[f] for f in given)
    schedule: Schedule = {}
    for field, (low, high) in RANGES.items():
        if field in given:
            schedule[field] = given[field]
        elif field == "dayOfWeek" or (field == "dayOfMonth" and "dayOfWeek" in given):
            schedule[field] = list(range(low, high + 1))  # the other kind of day decides
        else:
            schedule[field] = [low] if _LEVEL[field] > top else list(range(low, high + 1))
    if next_run(schedule, now) is None:
        raise InvalidInputError("schedule never runs (no date in the next 8 years has those days)")
    return schedule


def next_run(schedule: Schedule, after: datetime) -> datetime | None:
    """The first moment after ``after`` the schedule matches (UTC), or None."""
    after = after.astimezone(UTC)
    months, days, weekdays = (set(schedule[f]) for f in ("month", "dayOfMonth", "dayOfWeek"))
    day = after.date()
    for _ in range(SEARCH_DAYS):
        if day.month in months and day.day in days and day.isoweekday() in weekdays:
            today = day == after.date()
            for hour in schedule["hour"]:
                if today and hour < after.hour:
                    continue
                for minute in schedule["minute"]:
                    if today and hour == after.hour and minute < after.minute:
                        continue
                    for second in schedule["second"]:
                        moment = datetime(
                            day.year, day.month, day.day, hour, minute, second, tzinfo=UTC
                        )
                        if moment > after:
                            return moment
        day += timedelta(days=1)
    return None
