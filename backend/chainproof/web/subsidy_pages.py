"""The subsidy pages (issues #4, #6): applicant, reviewer queue, integrity check, report.

Like every page (``web/routes.py``), these HTML routes never see an API key: the key stays
in the tab's ``sessionStorage`` and the page's script (``static/js/subsidy.js``) calls the
JSON API under ``/api/v1/subsidy`` with it. So the server renders the frame, the public
guide data (scopes, document kinds, 附件4-1 packages, rounds) and the labels; everything
that belongs to an applicant unit (fields, documents, trail, report) is fetched by the
script, and the API decides who may see it (``subsidy/access.py``).

An id that is not a number, or names no application, is a 404 page. That tells an
anonymous visitor that application #7 exists, which the sequential ids say anyway; its
contents stay behind the API.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from chainproof.api.deps import SessionDep
from chainproof.roles import Role
from chainproof.store.models import MAX_ID
from chainproof.subsidy import rounds
from chainproof.subsidy.models import Application
from chainproof.subsidy.schemas import CatalogOut
from chainproof.web.i18n_subsidy import INTEGRITY_RESULTS, KINDS, STATUSES
from chainproof.web.routes import error_page, page_gate, render

router = APIRouter(include_in_schema=False)

_ACTIVE_APPLICANT: Final = "web_applications"
_ACTIVE_REVIEW: Final = "web_review"
# Who may open which page (the API decides what they see): admin always.
Applicant = Annotated[Any, Depends(page_gate(Role.SUBMITTER))]
ApplicantOrReviewer = Annotated[Any, Depends(page_gate(Role.SUBMITTER, Role.REVIEWER))]
Reviewer = Annotated[Any, Depends(page_gate(Role.REVIEWER))]


def _application_id(request: Request, raw: str, session: SessionDep) -> int | HTMLResponse:
    """The id, or the 404 page for one that is malformed or names no application."""
    try:
        number = int(raw)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_ID or session.get(Application, number) is None:
        return error_page(request, 404, "error.not_found", f"application {raw[:80]!r}")
    return number


@router.get("/applications", name="web_applications", response_class=HTMLResponse)
def applications_page(request: Request, session: SessionDep, gate: Applicant) -> Response:
    if isinstance(gate, Response):
        return gate
    catalog = CatalogOut.current()
    return render(
        request,
        "subsidy_list.html",
        active=_ACTIVE_APPLICANT,
        catalog=catalog,
        rounds=rounds.list_rounds(session=session),
        statuses=STATUSES,
    )


@router.get("/review", name="web_review", response_class=HTMLResponse)
def review_page(request: Request, gate: Reviewer) -> Response:
    if isinstance(gate, Response):
        return gate
    return render(request, "review_queue.html", active=_ACTIVE_REVIEW, statuses=STATUSES)


@router.get("/applications/{application_id}", name="web_application", response_class=HTMLResponse)
def application_page(
    request: Request, application_id: str, session: SessionDep, gate: ApplicantOrReviewer
) -> Response:
    if isinstance(gate, Response):
        return gate
    found = _application_id(request, application_id, session)
    if isinstance(found, HTMLResponse):
        return found
    return render(
        request,
        "subsidy_detail.html",
        active=_ACTIVE_APPLICANT,
        application_id=found,
        kinds=KINDS,
        statuses=STATUSES,
    )


@router.get(
    "/applications/{application_id}/check",
    name="web_application_check",
    response_class=HTMLResponse,
)
def check_page(
    request: Request, application_id: str, session: SessionDep, gate: Reviewer
) -> Response:
    return _review_page(
        request, application_id, session, gate, "review_check.html", results=INTEGRITY_RESULTS
    )


@router.get(
    "/applications/{application_id}/report",
    name="web_application_report",
    response_class=HTMLResponse,
)
def report_page(
    request: Request, application_id: str, session: SessionDep, gate: Reviewer
) -> Response:
    return _review_page(request, application_id, session, gate, "review_report.html")


def _review_page(
    request: Request,
    application_id: str,
    session: SessionDep,
    gate: Any,
    template: str,
    **context: Any,
) -> Response:
    """A reviewer's page about one application: the gate's answer when it refuses, the
    application id's error page when it names none."""
    if isinstance(gate, Response):
        return gate
    found = _application_id(request, application_id, session)
    if isinstance(found, HTMLResponse):
        return found
    return render(request, template, active=_ACTIVE_REVIEW, application_id=found, **context)
