"""The one place where errors become HTTP: every failure is ``{"error": {"code", "message"}}``.

Services raise :class:`~chainproof.errors.ChainProofError` subclasses and know nothing of
HTTP; :func:`status_for` maps each branch of that tree to one status code. The API adds a
few leaves of its own for what only HTTP can get wrong (a body too large, a missing
boundary, no credentials), still under the same root so there is one mapping::

    InvalidInputError              422  (a well-formed request with bad values)
    ├── BadRequestError            400  (a body that cannot be parsed: truncated multipart, ...)
    ├── PayloadTooLargeError       413
    └── UnsupportedMediaTypeError  415
    AuthError                      403  (authenticated, but not allowed)
    └── NotAuthenticatedError      401  + WWW-Authenticate: Bearer

FastAPI's own validation errors become 422 with a readable message (``body.digests[3]:
...``); ``HTTPException`` keeps its status and headers. A database that is busy (SQLite
"database is locked") or unreachable (PostgreSQL down, connection lost) is 503
``database_busy`` / ``database_unavailable`` with ``Retry-After``: the request committed
nothing, the client retries (``store/db.py: unavailable``). Anything else is a bug, answered
500 ``internal`` and logged with a plain traceback (no local variables: ``logs.py``), never
with the request body.
"""

from __future__ import annotations

from typing import Any, Final

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from chainproof.api import problems as epcis_problems
from chainproof.errors import (
    AuthError,
    ChainError,
    ChainProofError,
    CompilerError,
    ConfigError,
    ConflictError,
    ContractRevertError,
    InvalidInputError,
    NotFoundError,
)
from chainproof.store.db import unavailable

log = structlog.get_logger("chainproof.api")

# How many validation problems one message spells out; the rest are counted.
_SHOWN_PROBLEMS = 5


class BadRequestError(InvalidInputError):
    """The request body cannot be parsed at all (truncated multipart, missing boundary)."""

    code = "bad_request"


class PayloadTooLargeError(InvalidInputError):
    code = "payload_too_large"


class UnsupportedMediaTypeError(InvalidInputError):
    code = "unsupported_media_type"


class QueryTooLargeError(PayloadTooLargeError):
    """More events match an EPCIS query than its ``maxEventCount`` (413)."""

    code = "query_too_large"
    epcis_type = "QueryTooLargeException"


class NotAuthenticatedError(AuthError):
    """No usable credentials: no key where one is needed, or a key that is not valid."""

    code = "unauthorized"


# Each branch of the error tree and its HTTP status, most specific class first: the first
# match answers. A decoded revert comes before ChainError: it is the contract refusing this
# request (root already anchored, leaf already revoked), not the chain being unavailable.
_STATUS: Final[tuple[tuple[type[ChainProofError], int], ...]] = (
    (BadRequestError, 400),
    (PayloadTooLargeError, 413),
    (UnsupportedMediaTypeError, 415),
    (InvalidInputError, 422),
    (NotFoundError, 404),
    (NotAuthenticatedError, 401),
    (AuthError, 403),
    (ContractRevertError, 409),
    (ConflictError, 409),
    (ChainError, 503),
)


def status_for(exc: ChainProofError) -> int:
    """The HTTP status of a ChainProof error; 500 for ConfigError and CompilerError (the
    server is misconfigured, not the client)."""
    return next((status for cls, status in _STATUS if isinstance(exc, cls)), 500)


def _code_for(exc: ChainProofError, status: int) -> str:
    # AuthError's class code is "unauthorized", which reads wrong on a 403.
    if status == 403:
        return "forbidden"
    return exc.code


def request_error(exc: ValidationError, *where: str | int) -> RequestValidationError:
    """The 422 FastAPI gives a declared parameter or body, for ``exc`` raised on a value a
    route read by hand; ``where`` is where the value was (``"body"``, or ``"query",
    "algorithm"``)."""
    errors = exc.errors(include_url=False)
    return RequestValidationError([{**e, "loc": (*where, *e["loc"])} for e in errors])


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The error envelope; ``extra`` keys go next to ``code`` and ``message``."""
    return {"error": {"code": code, "message": message, **extra}}


def _auth_headers(exc: ChainProofError) -> dict[str, str] | None:
    if not isinstance(exc, NotAuthenticatedError):
        return None
    # RFC 6750: a presented but unusable token is invalid_token; no token gets no error.
    if exc.details.get("presented"):
        return {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    return {"WWW-Authenticate": "Bearer"}


async def _chainproof_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ChainProofError)  # registered for this class only
    status = status_for(exc)
    if epcis_problems.is_epcis_path(request.url.path) and status < 500:
        return epcis_problems.problem(
            status,
            exc.message,
            headers=_auth_headers(exc),
            kind=getattr(exc, "epcis_type", None),
        )
    extra: dict[str, Any] = {}
    if isinstance(exc, ContractRevertError):
        extra = {"revert": exc.error_name, "args": exc.error_args}
    if status >= 500:
        # Config and compiler errors are the operator's to fix: log them in full. Chain
        # outages are logged once per request as warnings; the client gets the reason.
        if isinstance(exc, ConfigError | CompilerError) or status == 500:
            log.error("server misconfigured", code=exc.code, error=exc.message, exc_info=exc)
        else:
            log.warning("chain unavailable", code=exc.code, error=exc.message)
    return JSONResponse(
        error_body(_code_for(exc, status), exc.message, **extra),
        status_code=status,
        headers=_auth_headers(exc),
    )


def _where(loc: tuple[int | str, ...] | list[int | str]) -> str:
    """``("body", "digests", 3)`` → ``body.digests[3]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "request"


def describe_validation_errors(errors: list[dict[str, Any]] | Any) -> str:
    """One readable line for a list of pydantic errors: ``where: what; where: what``."""
    parts = []
    for err in errors:
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{_where(err.get('loc', ()))}: {msg}")
    shown = "; ".join(parts[:_SHOWN_PROBLEMS])
    if len(parts) > _SHOWN_PROBLEMS:
        shown += f"; and {len(parts) - _SHOWN_PROBLEMS} more"
    return shown or "invalid request"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if epcis_problems.is_epcis_path(request.url.path):
        return epcis_problems.problem(400, describe_validation_errors(errors))
    # Inputs are left out of the answer: they can be megabytes (10,000 digests) or secrets.
    problems = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in errors]
    return JSONResponse(
        error_body("validation_error", describe_validation_errors(errors), problems=problems[:100]),
        status_code=422,
    )


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "unavailable",
}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if epcis_problems.is_epcis_path(request.url.path) and exc.status_code < 500:
        headers = dict(exc.headers) if exc.headers else None
        return epcis_problems.problem(exc.status_code, message, headers=headers)
    code = _HTTP_CODES.get(exc.status_code, "internal" if exc.status_code >= 500 else "error")
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    down = unavailable(exc)
    if down is None:
        return await _unexpected_error(request, exc)
    # One line, no traceback: an outage must not flood the log with one per request.
    log.warning(
        "database unavailable",
        code=down.code,
        method=request.method,
        path=request.url.path,
        error=str(getattr(exc, "orig", None) or type(exc).__name__)[:200],
    )
    return JSONResponse(
        error_body(down.code, down.message, retry_after=down.retry_after),
        status_code=503,
        headers={"Retry-After": str(down.retry_after)},
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # A bug: log the traceback and the route, never the body (it may hold documents).
    log.error(
        "unhandled error",
        method=request.method,
        path=request.url.path,
        error_type=type(exc).__name__,
        exc_info=exc,
    )
    return JSONResponse(
        error_body("internal", "internal server error; the details are in the server log"),
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Registers every handler above on ``app``."""
    app.add_exception_handler(ChainProofError, _chainproof_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeoutError, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)
