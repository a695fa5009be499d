"""The API's routers, gathered in one for ``create_app``."""

from __future__ import annotations

from fastapi import APIRouter

from chainproof.api.routes import admin, evidence, subsidy, system, trace, verify

api_router = APIRouter()
api_router.include_router(evidence.router)
api_router.include_router(verify.router)
api_router.include_router(system.router)
api_router.include_router(admin.router)
api_router.include_router(subsidy.router)
api_router.include_router(trace.router)

__all__ = ["api_router"]
