"""Fixtures shared by the security suite.

The embedded chain and the app factory are the integration suite's (``test_api.py``): the
same module-scoped chain, the same per-test app on its own SQLite database. Helpers that
start real processes (``chainproof serve`` / ``worker``) live in ``_procs.py``.
"""

from __future__ import annotations

from ..integration.test_api import chain, start_api  # noqa: F401  (fixtures, reused)
