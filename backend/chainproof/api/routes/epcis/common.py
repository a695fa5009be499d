"""What the ``/epcis`` routes share: discovery headers, reading a JSON-LD body, the caller."""

from __future__ import annotations

import json
from typing import Any, Final

from fastapi import Request

from chainproof.api.deps import Caller
from chainproof.api.errors import NotAuthenticatedError, UnsupportedMediaTypeError
from chainproof.api.upload import MAX_JSON_BYTES
from chainproof.errors import InvalidInputError
from chainproof.trace import epcis

JSON_TYPES: Final = ("application/json", "application/ld+json")
XML_TYPES: Final = ("application/xml", "text/xml")


def discovery_headers(allow: str) -> dict[str, str]:
    """The GS1 headers a discovery ``OPTIONS`` answers (OpenAPI ``204DefaultDiscoveryResponse``)."""
    return {
        "Allow": allow,
        "GS1-EPCIS-Version": "2.0.0",
        "GS1-EPCIS-Min": "2.0.0",
        "GS1-EPCIS-Max": "2.0.0",
        "GS1-CBV-Version": "2.0.0",
        "GS1-CBV-Min": "2.0.0",
        "GS1-CBV-Max": "2.0.0",
        "GS1-EPC-Format": "Always_GS1_Digital_Link",
        "GS1-EPCIS-Capture-Limit": str(epcis.MAX_EVENTS),
        "GS1-EPCIS-Capture-File-Size-Limit": str(MAX_JSON_BYTES),
        "GS1-Capture-Error-Behaviour": "rollback, proceed",
        "GS1-Extensions": "",
        "GS1-Vendor-Version": "ChainProof",
    }


def version_headers() -> dict[str, str]:
    return {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0", "GS1-Extensions": ""}


async def read_json_ld(request: Request) -> Any:
    """The body as JSON; an XML body is refused (415) with what is taken instead."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind in XML_TYPES or kind.endswith("+xml"):
        raise UnsupportedMediaTypeError(
            "EPCIS 2.0 XML is not taken here: send the JSON-LD binding "
            "(Content-Type: application/ld+json or application/json)"
        )
    if kind not in JSON_TYPES:
        raise UnsupportedMediaTypeError(
            f"Content-Type {kind or '(none)'} is not taken: send application/ld+json"
        )
    raw = await request.body()  # bounded before buffering (BodyLimitMiddleware)
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError("the body is not JSON") from None


def require_key(caller: Caller) -> Caller:
    if not caller.authenticated:
        raise NotAuthenticatedError("this needs an API key: send `Authorization: Bearer <key>`")
    return caller
