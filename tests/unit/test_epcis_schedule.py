"""Query schedules of scheduled EPCIS subscriptions (trace/epcis_schedule.py): the fields,
their lists and ranges, omitted fields, and the next run from a given moment."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chainproof.errors import InvalidInputError
from chainproof.trace import epcis_schedule

NOW = datetime(2026, 12, 7, 18, 30, 15, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(
    ("raw", "after", "expected"),
    [
        # GS1's example: every morning at 01:05:00 (the omitted second is 0).
        ({"hour": "1", "minute": "5"}, NOW, datetime(2026, 12, 8, 1, 5, 0, tzinfo=UTC)),
        ({"hour": 1, "minute": 5}, datetime(2026, 12, 8, 1, 5, 0, tzinfo=UTC), None),
        # Mondays at midnight: the next one is a week on.
        ({"dayOfWeek": "1"}, NOW, datetime(2026, 12, 14, 0, 0, 0, tzinfo=UTC)),
        # Lists and ranges; omitted more significant fields match any value.
        ({"minute": "10,[40-41]"}, NOW, datetime(2026, 12, 7, 18, 40, 0, tzinfo=UTC)),
        ({"second": "[0-59]"}, NOW, datetime(2026, 12, 7, 18, 30, 16, tzinfo=UTC)),
        ({"month": "2", "dayOfMonth": "29"}, NOW, datetime(2028, 2, 29, 0, 0, 0, tzinfo=UTC)),
    ],
)
def test_the_next_run(raw: dict[str, object], after: datetime, expected: datetime | None) -> None:
    schedule = epcis_schedule.parse(raw, now=NOW)
    if expected is None:  # from a run: the next is a day later, not the same moment
        expected = datetime(2026, 12, 9, 1, 5, 0, tzinfo=UTC)
    assert epcis_schedule.next_run(schedule, after) == expected


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ({}, "at least one field"),
        ({"weekday": "1"}, "not a schedule field"),
        ({"hour": "24"}, "outside 0-23"),
        ({"minute": "[5-x]"}, "not a number or a range"),
        ({"minute": "[9-3]"}, "outside 0-59"),
        ({"month": "2", "dayOfMonth": "30"}, "never runs"),
        ({"second": "1," * 150}, "a string of numbers"),
    ],
)
def test_schedules_that_are_not_one_are_refused_saying_why(
    raw: dict[str, object], why: str
) -> None:
    with pytest.raises(InvalidInputError, match=why):
        epcis_schedule.parse(raw, now=NOW)
