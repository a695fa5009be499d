"""The pages people use: server-rendered HTML (Jinja2) over the same services as the API.

Wire it into an app with :func:`install` (or the two lines it runs)::

    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")

The page templates reference static files by the mount's name, ``static``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from chainproof.web.account_pages import router as account_router
from chainproof.web.admin_pages import router as admin_router
from chainproof.web.draw_pages import router as draw_router
from chainproof.web.licence_pages import router as licence_router
from chainproof.web.recording_pages import router as recording_router
from chainproof.web.routes import router
from chainproof.web.subsidy_pages import router as subsidy_router
from chainproof.web.tender_pages import router as tender_router
from chainproof.web.trace_pages import router as trace_router

STATIC_DIR: Final = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Adds the pages and their static files to ``app``."""
    app.include_router(router)
    app.include_router(account_router)
    app.include_router(subsidy_router)
    app.include_router(trace_router)
    app.include_router(recording_router)
    app.include_router(draw_router)
    app.include_router(licence_router)
    app.include_router(tender_router)
    app.include_router(admin_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


__all__ = ["STATIC_DIR", "install", "router"]
