"""EPCIS 2.0 JSON-LD documents: validation and CBV 2.0 event hashes.

Validation (``epcis_conformance.py``): what GS1's EPCIS 2.0 JSON Schema and JSON-LD 1.1
accept, user vocabularies and namespaced extensions included, for an ``EPCISDocument``, an
``EPCISQueryDocument`` or one bare event; each failure an :class:`InvalidInputError` naming
where (a JSON pointer) and why. Then the JSON-LD ``@context``: only the bundled EPCIS
contexts and inline objects, since nothing is fetched at run time; and the times parse as
RFC 3339 date-times with an offset.

Event hashes follow the CBV 2.0 event hash algorithm through the reference implementation
(PyPI ``epcis-event-hash-generator``, with the property-order fix of ``cbv_hash.py``):
``ni:///sha-256;{hex}?ver=CBV2.0`` over the canonical pre-hash string, which we keep so a
browser can recompute the hash itself.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from epcis_event_hash_generator import json_to_py
from pyld import jsonld

from chainproof.errors import InvalidInputError
from chainproof.trace import cbv_fast, cbv_hash, epcis_conformance

EVENT_TYPES = epcis_conformance.EVENT_TYPES
MAX_EVENTS = 1000
HASH_PREFIX = "ni:///sha-256;"
HASH_SUFFIX = "?ver=CBV2.0"
_BIZSTEP_URN = "urn:epcglobal:cbv:bizstep:"
_BIZSTEP_WEB = "https://ref.gs1.org/cbv/BizStep-"

# The JSON-LD contexts we can resolve, all from the hash generator's bundled copies.
CONTEXT_PACKAGE = "epcis_event_hash_generator"
CONTEXT_FILES = {
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld": (
        "e532647e8eb371379b8b0e8602d8981c8566bc60f7351f22c76a5bc865962008.jsonld"
    ),
    # The unversioned address, resolved to the 2.0.0 copy. The file GS1 now serves there (as
    # the hash generator's repository bundles it) maps "gs1" to https://ref.gs1.org/voc/
    # instead, which matters for sensor measurement types (tests/data/epcis/SOURCES.md).
    "https://ref.gs1.org/standards/epcis/epcis-context.jsonld": (
        "e532647e8eb371379b8b0e8602d8981c8566bc60f7351f22c76a5bc865962008.jsonld"
    ),
    "https://gs1.github.io/EPCIS/epcis-context.jsonld": (
        "14b10c9d3e92d35f577bfc610fe5ec15aa2941124987919389d7cd9998516861.jsonld"
    ),
}

# The hash generator keeps parse state in module globals: one document at a time.
# Re-entrant: the fast path expands a value (taking it) while the caller holds it.
_lock = threading.RLock()


def lock() -> threading.RLock:
    """The lock around the hash generator's and PyLD's module state."""
    return _lock


@dataclass(frozen=True)
class HashedEvent:
    index: int  # position in the document
    event: dict[str, Any]
    prehash: str  # the canonical pre-hash string the hash is taken over
    event_hash: str  # ni:///sha-256;…?ver=CBV2.0

    @property
    def digest(self) -> bytes:
        return bytes.fromhex(hash_hex(self.event_hash))


def hash_hex(event_hash: str) -> str:
    """The hex SHA-256 inside an ``ni:`` event hash."""
    return event_hash[len(HASH_PREFIX) :].split("?", 1)[0]


def _offline_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    name = CONTEXT_FILES.get(url)
    if name is None:
        raise InvalidInputError(
            f"unknown JSON-LD context {url!r}: ChainProof fetches nothing at run time; use "
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld and inline "
            "objects for your own namespaces"
        )
    data = json.loads(importlib.resources.files(CONTEXT_PACKAGE).joinpath(name).read_text("utf-8"))
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": data,
    }


def schema() -> dict[str, Any]:
    """GS1's EPCIS 2.0 JSON Schema, as vendored (``trace/gs1``)."""
    return epcis_conformance.schema()


@cache
def biz_steps() -> frozenset[str]:
    """The CBV 2.0 business steps, from the bundled schema."""
    return _enum("bizStep")


@cache
def dispositions() -> frozenset[str]:
    return _enum("disposition")


def _enum(definition: str) -> frozenset[str]:
    for option in schema()["definitions"][definition]["anyOf"]:
        if "enum" in option:
            return frozenset(option["enum"])
    raise AssertionError(f"the bundled schema has no {definition} enumeration")  # pragma: no cover


def biz_step_of(event: dict[str, Any]) -> str | None:
    """The bare CBV 2.0 step (``shipping``, however it was spelled), or a user vocabulary's
    URI or CURIE as written."""
    value = event.get("bizStep")
    if value is None:
        return None
    text = str(value)
    for prefix in (_BIZSTEP_URN, _BIZSTEP_WEB):
        if text.startswith(prefix) and text[len(prefix) :] in biz_steps():
            return text[len(prefix) :]
    return text


def parse_time(value: Any, field: str) -> datetime:
    """An RFC 3339 date-time with an offset; InvalidInputError otherwise."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{field} must be a date-time string, got {value!r}")
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            f"{field} {value!r} is not an RFC 3339 date-time (like 2024-05-01T08:30:00+08:00)"
        ) from None
    if t.tzinfo is None or "T" not in value.upper():
        raise InvalidInputError(f"{field} {value!r} needs a date, a time and a UTC offset")
    return t


def validate_document(doc: Any) -> list[dict[str, Any]]:
    """The events of an EPCIS 2.0 document, query document or bare event, in order, after
    every check above."""
    body = epcis_conformance.read_body(doc)
    events = body.events
    if not events:
        raise InvalidInputError(f"at {body.event_pointer}: the document holds no events")
    if len(events) > MAX_EVENTS:
        raise InvalidInputError(f"at most {MAX_EVENTS} events per document, got {len(events)}")
    _check_contexts(body.context)
    for i, event in enumerate(events):
        where = f"event {i} ({event.get('type', '?')}) at {body.event_pointer}/{i}"
        _check_contexts(event.get("@context"))
        try:
            parse_time(event.get("eventTime"), "eventTime")
            if "recordTime" in event:
                parse_time(event["recordTime"], "recordTime")
        except InvalidInputError as exc:
            raise InvalidInputError(f"{where}: {exc.message}") from None
    return list(events)


def as_document(doc: Any) -> dict[str, Any]:
    """``doc`` as the EPCISDocument the hash generator reads: a query document's events, or
    one bare event, under the same ``@context`` (the hash depends on the context and the
    event, never on the envelope)."""
    if not isinstance(doc, dict):
        raise InvalidInputError("the body must be a JSON object")
    kind = doc.get("type")
    if kind == "EPCISQueryDocument":
        body = doc.get("epcisBody")
        results = body.get("queryResults") if isinstance(body, dict) else None
        inner = results.get("resultsBody") if isinstance(results, dict) else None
        events = inner.get("eventList") if isinstance(inner, dict) else None
    elif kind in EVENT_TYPES:
        # The release would hash the event's own @context as a field: it is the envelope's.
        events = [{k: v for k, v in doc.items() if k != "@context"}]
    else:
        return doc
    return {
        "@context": doc.get("@context"),
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "1970-01-01T00:00:00Z",
        "epcisBody": {"eventList": events},
    }


def _check_contexts(context: Any) -> None:
    items = context if isinstance(context, list) else [context]
    for c in items:
        if isinstance(c, str) and c not in CONTEXT_FILES:
            _offline_loader(c)  # raises with the explanation


def hash_events(doc: dict[str, Any]) -> list[HashedEvent]:
    """Validates ``doc`` and returns each event's CBV 2.0 pre-hash string and hash, in order."""
    validate_document(doc)
    return hash_document(doc)


def hash_document(doc: dict[str, Any], *, reference: bool = False) -> list[HashedEvent]:
    """Each event's CBV 2.0 pre-hash string and hash, in order, without the checks of
    :func:`validate_document` beyond what reading the JSON-LD needs (contexts stay offline).

    For test vectors and documents outside the schema. Takes what :func:`validate_document`
    takes (a query document or a bare event is hashed as the EPCISDocument of its events).
    Documents with the standard contexts take the fast path (``cbv_fast.py``, the same
    strings); ``reference=True`` forces the reference implementation's path.
    """
    doc = as_document(doc)
    if not isinstance(doc, dict) or not isinstance(doc.get("epcisBody"), dict):
        raise InvalidInputError("the body must be an EPCISDocument JSON object with epcisBody")
    events = doc["epcisBody"].get("eventList")
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise InvalidInputError("epcisBody.eventList must be a list of event objects")
    _check_contexts(doc.get("@context"))
    with _lock:
        jsonld.set_document_loader(_offline_loader)
        json_to_py._namespaces.clear()  # module state from an earlier document
        try:
            prehashes = None
            if not reference and cbv_fast.contexts_apply(doc):
                prehashes = cbv_fast.prehashes(doc)
            if prehashes is None:
                parsed = json_to_py.event_list_from_epcis_document_json(json.loads(json.dumps(doc)))
                prehashes = cbv_hash.prehashes(parsed)
        except InvalidInputError:
            raise
        except Exception as exc:  # pyld errors on odd JSON-LD: the client's document
            raise InvalidInputError(
                f"the document is not valid JSON-LD 1.1: {_jsonld_reason(exc)}"
            ) from None
    if len(prehashes) != len(events):  # an event the reader could not make sense of
        raise InvalidInputError(
            f"{len(events) - len(prehashes)} event(s) of the document cannot be read as EPCIS"
        )
    out = []
    for i, (event, pre) in enumerate(zip(events, prehashes, strict=True)):
        digest = hashlib.sha256(pre.encode("utf-8")).hexdigest()
        out.append(HashedEvent(i, event, pre, f"{HASH_PREFIX}{digest}{HASH_SUFFIX}"))
    return out


def _jsonld_reason(exc: Exception) -> str:
    """PyLD's message, error code and details on one line (its str() spans several)."""
    message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else type(exc).__name__
    code = getattr(exc, "code", None)
    details = getattr(exc, "details", None)
    return f"{message} ({code}: {details})" if code else message
