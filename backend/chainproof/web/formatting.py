"""Text forms shared by the pages and the PDF certificate: times, short hashes.

Times are block timestamps (the proof of time), shown in China Standard Time (UTC+8, no
daylight saving) with the UTC instant beside it, so a reader in Guangxi and a verifier
anywhere read the same moment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Final

CST: Final = timezone(timedelta(hours=8), "UTC+8")


def cst_time(timestamp: int | None) -> str:
    """``2025-01-01 08:00:00 (UTC+8)``; an empty string for no timestamp."""
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp, CST).strftime("%Y-%m-%d %H:%M:%S (UTC+8)")


def utc_iso(timestamp: int | None) -> str:
    """``2025-01-01T00:00:00Z``; an empty string for no timestamp."""
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def short_hex(value: str | None, keep: int = 10) -> str:
    """``0x5891b5b5…be03`` for display; the full value goes in a title or a copy field."""
    if not value:
        return ""
    return value if len(value) <= keep + 6 else f"{value[:keep]}…{value[-4:]}"
