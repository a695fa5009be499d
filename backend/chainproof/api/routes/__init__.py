"""The API's routers, in the order ``create_app`` includes them.

Each is included on the app itself, not gathered under one more router: FastAPI matches a
request against every route of an included router before it enters it, and then again
inside, so one more level of nesting is one more pass over all the routes. Verify comes
first because it is the hot public route (a request walks the routes in order until one
matches); no two routers share a path, so the order changes nothing else.
"""

from __future__ import annotations

from fastapi import APIRouter

from chainproof.accounts import routes as accounts
from chainproof.api.routes import (
    admin,
    audit,
    bundle,
    business_types,
    channels,
    court,
    crosschain,
    datasets,
    draws,
    epcis,
    evidence,
    invoices,
    licences,
    metrics,
    network,
    operations,
    recordings,
    subsidy,
    system,
    tenders,
    trace,
    tsa,
    verify,
    well_known,
)

API_ROUTERS: tuple[APIRouter, ...] = (
    verify.router,
    evidence.router,
    system.router,
    network.router,
    admin.router,
    audit.router,
    channels.router,
    business_types.router,
    datasets.router,
    *subsidy.ROUTERS,
    trace.router,
    well_known.router,
    operations.router,
    metrics.router,
    accounts.router,
    tsa.router,
    bundle.router,
    court.router,
    *epcis.ROUTERS,  # the EPCIS 2.0 REST binding, /epcis
    recordings.router,
    licences.router,
    draws.router,
    invoices.router,
    invoices.consistency_router,
    tenders.router,
    crosschain.router,
)

__all__ = ["API_ROUTERS"]
