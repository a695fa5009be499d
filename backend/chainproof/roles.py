"""What an API key may do: the roles, apart from the tables (``store/models.py`` uses them).

Kept free of the ORM so the CLI can offer ``--role`` without importing it (start-up time).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Role"]


class Role(StrEnum):
    """What an API key may do."""

    ADMIN = "admin"  # manage members and keys, revoke anything
    SUBMITTER = "submitter"  # upload evidence for its org
    REVIEWER = "reviewer"  # read and verify, check acceptance rules
    AUDITOR = "auditor"  # read-only: the audit log and every channel's records
