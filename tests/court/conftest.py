"""Fixtures of the court-evidence suite (issue 19): the integration suite's module-scoped
embedded chain and per-test apps, reused, not restarted."""

from __future__ import annotations

from ..integration.test_api import api, chain, start_api, submitter  # noqa: F401  (fixtures)
