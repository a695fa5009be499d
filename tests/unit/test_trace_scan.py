"""What the scan page shows people (``chainproof.trace.scan``)."""

from __future__ import annotations

from chainproof.trace.scan import _local_time


def test_event_times_are_shown_on_the_clock_where_they_happened() -> None:
    # EPCIS may write the instant in UTC and keep the local offset apart.
    assert _local_time("2024-11-18T06:00:00.000Z", "+08:00") == "2024-11-18 14:00 (UTC+08:00)"
    assert _local_time("2024-11-18T14:00:00+08:00", "+08:00") == "2024-11-18 14:00 (UTC+08:00)"
    assert _local_time("2024-11-18T01:30:00Z", "-05:30") == "2024-11-17 20:00 (UTC-05:30)"
    assert _local_time("not a time", "+08:00") is None
