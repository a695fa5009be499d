"""Errors under ``/epcis`` as GS1's OpenAPI writes them: ``application/problem+json``
(RFC 7807) with an ``epcisException:`` type."""

from __future__ import annotations

from typing import Any, Final

from fastapi.responses import JSONResponse

PROBLEM: Final = "application/problem+json"
_TYPES: Final = {
    400: "ValidationException",
    401: "SecurityException",
    403: "SecurityException",
    404: "NoSuchNameException",
    405: "ImplementationException",
    406: "ImplementationException",
    409: "ResourceAlreadyExistsException",
    413: "CaptureLimitExceededException",
    415: "ImplementationException",
    422: "ValidationException",
    429: "ImplementationException",
    501: "ImplementationException",
}


def is_epcis_path(path: str) -> bool:
    return path == "/epcis" or path.startswith("/epcis/")


def problem(
    status: int,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    kind: str | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem response; the binding answers 400 where ChainProof's API says 422.
    ``kind``: the exception type when the status alone does not say it (413 of a query)."""
    status = 400 if status == 422 else status
    kind = kind or _TYPES.get(status, "ImplementationException")
    body = {
        "type": f"epcisException:{kind}",
        "title": kind,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)
