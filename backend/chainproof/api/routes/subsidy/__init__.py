"""The 2023 subsidy applications: ``/api/v1/subsidy`` (issue #4).

Routes parse, call one service function of ``chainproof.subsidy`` and shape the answer
(docs/architecture.md, Layers). Files are hashed while they stream in (``api/upload.py``): only
digests reach the services. Roles: a ``submitter`` key is its applicant unit, ``reviewer`` keys
review and decide, ``admin`` keys manage rounds and may act in either role.

One module an area (``guide``, ``rounds``, ``applications``, ``lifecycle``, ``review``,
``acceptance``; what they share in ``common``), each with its own router under
``/api/v1/subsidy``: ``ROUTERS``, in this order, are included on the app itself (one level of
matching, as ``api/routes/__init__.py`` explains).
"""

from __future__ import annotations

import re
from typing import Final

from fastapi import APIRouter

from chainproof.api.routes.subsidy import (
    acceptance,
    applications,
    guide,
    lifecycle,
    review,
    rounds,
)
from chainproof.api.routes.subsidy.common import get_clock

# The routes that stream multipart files: BodyLimitMiddleware must give them the upload limit
# (it matches exact paths today, so these need a pattern; see api/middleware.py STREAMING_PATHS).
STREAMING_PATTERNS: Final = (
    re.compile(
        r"/api/v1/subsidy/applications/\d+/(documents|acceptance/documents|integrity-check)"
    ),
)

ROUTERS: Final[tuple[APIRouter, ...]] = tuple(
    area.router for area in (guide, rounds, applications, lifecycle, review, acceptance)
)

__all__ = ["ROUTERS", "STREAMING_PATTERNS", "get_clock"]
