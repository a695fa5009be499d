"""EPCIS 2.0 JSON-LD documents: validation and CBV 2.0 event hashes.

Validation, in order, each failure an :class:`InvalidInputError` naming the event and the
reason (the API answers 422 and stores nothing):

1. the GS1 EPCIS 2.0 JSON Schema (``data/EPCIS-JSON-Schema.json``, bundled);
2. the JSON-LD ``@context``: only the bundled EPCIS contexts and inline objects, since
   nothing is fetched at run time;
3. times: ``eventTime`` (and ``recordTime``) are RFC 3339 date-times with an offset, and
   ``eventTimeZoneOffset`` agrees with the schema's pattern;
4. CBV 2.0 vocabularies: ``bizStep`` and ``disposition`` must be CBV values, bare
   (``shipping``), as URN (``urn:epcglobal:cbv:bizstep:shipping``) or as Web URI
   (``https://ref.gs1.org/cbv/BizStep-shipping``); private vocabularies are refused.

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

import jsonschema
from epcis_event_hash_generator import json_to_py
from pyld import jsonld

from chainproof.errors import InvalidInputError
from chainproof.trace import cbv_hash

EVENT_TYPES = (
    "ObjectEvent",
    "AggregationEvent",
    "TransformationEvent",
    "TransactionEvent",
    "AssociationEvent",
)
MAX_EVENTS = 1000
HASH_PREFIX = "ni:///sha-256;"
HASH_SUFFIX = "?ver=CBV2.0"
_BIZSTEP_URN = "urn:epcglobal:cbv:bizstep:"
_BIZSTEP_WEB = "https://ref.gs1.org/cbv/BizStep-"
_DISP_URN = "urn:epcglobal:cbv:disp:"
_DISP_WEB = "https://ref.gs1.org/cbv/Disp-"

# The JSON-LD contexts we can resolve, all from the hash generator's bundled copies.
_PKG = "epcis_event_hash_generator"
_CONTEXT_FILES = {
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
_lock = threading.Lock()


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
    name = _CONTEXT_FILES.get(url)
    if name is None:
        raise InvalidInputError(
            f"unknown JSON-LD context {url!r}: ChainProof fetches nothing at run time; use "
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld and inline "
            "objects for your own namespaces"
        )
    data = json.loads(importlib.resources.files(_PKG).joinpath(name).read_text("utf-8"))
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": data,
    }


@cache
def schema() -> dict[str, Any]:
    text = importlib.resources.files("chainproof.trace").joinpath("data/EPCIS-JSON-Schema.json")
    loaded: dict[str, Any] = json.loads(text.read_text("utf-8"))
    return loaded


@cache
def _validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(schema())


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


def cbv_value(value: str, *, urn: str, web: str, allowed: frozenset[str], field: str) -> str:
    """The bare CBV value of ``value`` in any of its three spellings, or InvalidInputError."""
    bare = value
    for prefix in (urn, web):
        if value.startswith(prefix):
            bare = value[len(prefix) :]
    if bare not in allowed:
        raise InvalidInputError(
            f"{field} {value!r} is not a CBV 2.0 {field}; use one of: {', '.join(sorted(allowed))}"
        )
    return bare


def biz_step_of(event: dict[str, Any]) -> str | None:
    value = event.get("bizStep")
    if value is None:
        return None
    return cbv_value(
        str(value), urn=_BIZSTEP_URN, web=_BIZSTEP_WEB, allowed=biz_steps(), field="bizStep"
    )


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
    """The events of an EPCIS 2.0 document, in order, after every check above."""
    if not isinstance(doc, dict):
        raise InvalidInputError("the body must be an EPCISDocument JSON object")
    if doc.get("type") != "EPCISDocument":
        raise InvalidInputError('the body must be an EPCIS 2.0 document ("type": "EPCISDocument")')
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        raise InvalidInputError(
            "the document does not follow the EPCIS 2.0 JSON Schema: " + _explain(errors[0])
        )
    events = doc["epcisBody"]["eventList"]
    if not events:
        raise InvalidInputError("the document holds no events (epcisBody.eventList is empty)")
    if len(events) > MAX_EVENTS:
        raise InvalidInputError(f"at most {MAX_EVENTS} events per document, got {len(events)}")
    _check_contexts(doc.get("@context"))
    for i, event in enumerate(events):
        where = f"event {i} ({event.get('type', '?')})"
        if event.get("type") not in EVENT_TYPES:
            raise InvalidInputError(f"{where}: type must be one of {', '.join(EVENT_TYPES)}")
        try:
            parse_time(event.get("eventTime"), "eventTime")
            if "recordTime" in event:
                parse_time(event["recordTime"], "recordTime")
            biz_step_of(event)
            if "disposition" in event:
                cbv_value(
                    str(event["disposition"]),
                    urn=_DISP_URN,
                    web=_DISP_WEB,
                    allowed=dispositions(),
                    field="disposition",
                )
        except InvalidInputError as exc:
            raise InvalidInputError(f"{where}: {exc.message}") from None
    return list(events)


def _explain(error: jsonschema.ValidationError) -> str:
    path = "/".join(str(p) for p in error.absolute_path) or "(document)"
    # anyOf/oneOf failures say little at the top; the deepest sub-error says what is wrong.
    best = jsonschema.exceptions.best_match([error])
    return f"at {path}: {best.message}"


def _check_contexts(context: Any) -> None:
    items = context if isinstance(context, list) else [context]
    for c in items:
        if isinstance(c, str) and c not in _CONTEXT_FILES:
            _offline_loader(c)  # raises with the explanation


def hash_events(doc: dict[str, Any]) -> list[HashedEvent]:
    """Validates ``doc`` and returns each event's CBV 2.0 pre-hash string and hash, in order."""
    validate_document(doc)
    return hash_document(doc)


def hash_document(doc: dict[str, Any]) -> list[HashedEvent]:
    """Each event's CBV 2.0 pre-hash string and hash, in order, without the checks of
    :func:`validate_document` beyond what reading the JSON-LD needs (contexts stay offline).

    For partners' documents that use private vocabularies, and for test vectors.
    """
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
            parsed = json_to_py.event_list_from_epcis_document_json(json.loads(json.dumps(doc)))
            prehashes = cbv_hash.prehashes(parsed)
        except InvalidInputError:
            raise
        except Exception as exc:  # pyld errors on odd JSON-LD: the client's document
            raise InvalidInputError(f"the document cannot be read as JSON-LD: {exc}") from None
    if len(prehashes) != len(events):  # an event the reader could not make sense of
        raise InvalidInputError(
            f"{len(events) - len(prehashes)} event(s) of the document cannot be read as EPCIS"
        )
    out = []
    for i, (event, pre) in enumerate(zip(events, prehashes, strict=True)):
        digest = hashlib.sha256(pre.encode("utf-8")).hexdigest()
        out.append(HashedEvent(i, event, pre, f"{HASH_PREFIX}{digest}{HASH_SUFFIX}"))
    return out
