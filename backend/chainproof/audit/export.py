"""The audit log as CSV, and back: ``GET /api/v1/audit?format=csv`` writes it,
``chainproof audit verify --file`` reads it.

Every row keeps its canonical ``record`` and ``record_hash``, so an exported file can be
checked on its own. Cells a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``
first) get a leading ``'``, which :func:`read_csv` removes again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any, Final

from chainproof.audit.log import COLUMNS, Stored
from chainproof.audit.models import AuditEntry

HEADER: Final = ("seq", "at", *COLUMNS[1:], "actor_user_id", "record_hash", "record")
_FORMULA: Final = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _uncell(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA) else text


def write_csv(rows: Iterable[AuditEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(
            [_cell(row.at.isoformat() if name == "at" else getattr(row, name)) for name in HEADER]
        )
    return out.getvalue()


def read_csv(lines: Iterable[str]) -> Iterator[Stored]:
    """The rows of an exported file; a malformed row is still yielded (and fails the check)."""
    for raw in csv.DictReader(lines):
        row = {k: _uncell(v or "") for k, v in raw.items() if k is not None}
        columns: dict[str, Any] = {name: row.get(name) or None for name in COLUMNS}
        for name in ("seq", "actor_key_id"):
            value = columns[name]
            columns[name] = int(value) if value is not None and value.isdigit() else value
        seq = columns["seq"]
        yield Stored(
            seq=seq if isinstance(seq, int) else 0,
            record=row.get("record", ""),
            record_hash=row.get("record_hash", ""),
            columns=columns,
        )
