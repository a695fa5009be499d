"""What GS1's EPCIS 2.0 JSON Schema and JSON-LD 1.1 accept, and nothing else.

A body is an ``EPCISDocument``, an ``EPCISQueryDocument`` or one bare event (each with its
``@context``). Checks, in order, each failure an :class:`InvalidInputError` that says where
(a JSON pointer into the body) and why:

1. GS1's inline EPCIS 2.0 JSON Schema (``gs1/EPCIS-JSON-Schema.json``, pinned), formats
   asserted, through the compiled validator jsonschema-rs. The schema takes user vocabularies
   (``bizStep``, ``disposition``, business transaction, source/destination and error-reason
   types, sensor types) as URIs, and user extension fields as URIs.
2. Namespaces the schema cannot see: a CURIE (``ext1:summarising_discharge``), as a
   vocabulary value or an extension field name, needs its prefix declared by the
   ``@context`` (or an IRI scheme such as ``https:`` or ``urn:``); extension fields inside
   ``readPoint``, ``bizLocation``, sensor elements and inside other extensions are
   namespaced too. An un-namespaced field is dropped by JSON-LD expansion, so it would be
   stored but not covered by the event hash: refused rather than silently unhashed.

JSON-LD 1.1 errors (a protected term redefined, say) surface when the event is hashed
(``epcis.hash_document``).
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import jsonschema
import jsonschema_rs

from chainproof.errors import InvalidInputError

DOCUMENT_TYPES: Final = ("EPCISDocument", "EPCISQueryDocument")
EVENT_TYPES: Final = (
    "ObjectEvent",
    "AggregationEvent",
    "TransformationEvent",
    "TransactionEvent",
    "AssociationEvent",
)
# IRI schemes a user vocabulary or extension may be written in without a declared prefix.
IRI_SCHEMES: Final = frozenset({"http", "https", "urn", "tag", "ni", "did"})
# Vocabulary values CBV lets a user extend (the schema's vocab-other-uri alternatives).
_VOCAB_FIELDS: Final = ("bizStep", "disposition")
_PAIR_LISTS: Final = ("bizTransactionList", "sourceList", "destinationList")
_LOCATIONS: Final = ("readPoint", "bizLocation")
_SENSOR_METADATA: Final = frozenset(
    {
        "time",
        "deviceID",
        "deviceMetadata",
        "rawData",
        "startTime",
        "endTime",
        "dataProcessingMethod",
        "bizRules",
    }
)
_ERROR_DECLARATION: Final = frozenset({"declarationTime", "reason", "correctiveEventIDs"})


@dataclass(frozen=True)
class Body:
    """A body read as EPCIS: its kind, its document-level ``@context`` and its events."""

    kind: str  # EPCISDocument, EPCISQueryDocument or the bare event's type
    context: Any
    events: list[dict[str, Any]]
    event_pointer: str  # where the events are, as a JSON pointer ("/epcisBody/eventList")


def _resource(name: str) -> Any:
    return json.loads(
        importlib.resources.files("chainproof.trace").joinpath(name).read_text("utf-8")
    )


@cache
def schema() -> dict[str, Any]:
    """GS1's inline EPCIS 2.0 JSON Schema, as vendored (trace/gs1/README.md)."""
    loaded: dict[str, Any] = _resource("gs1/EPCIS-JSON-Schema.json")
    return loaded


@cache
def gs1_openapi() -> dict[str, Any]:
    """GS1's EPCIS 2.0 REST bindings OpenAPI (2.0.0), as vendored."""
    loaded: dict[str, Any] = _resource("gs1/openapi.json")
    return loaded


@cache
def _validator() -> jsonschema_rs.Draft7Validator:
    return jsonschema_rs.Draft7Validator(schema(), validate_formats=True)


@cache
def _explainer() -> jsonschema.Draft7Validator:
    # Only on the error path: its best_match names the deepest cause of an anyOf failure.
    return jsonschema.Draft7Validator(schema())


@cache
def _event_fields() -> frozenset[str]:
    """Every field name GS1's schema defines for some event type (the rest are extensions)."""
    defs = schema()["definitions"]
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            names.update((node.get("properties") or {}).keys())
            ref = node.get("$ref", "")
            if ref.startswith("#/definitions/") and ref.endswith(("Event", "properties")):
                walk(defs[ref.rsplit("/", 1)[1]])
            for option in node.get("anyOf", []) + node.get("allOf", []):
                walk(option)
            enum = node.get("propertyNames", {})
            for option in enum.get("anyOf", []):
                names.update(option.get("enum", []))

    for name in (*EVENT_TYPES, "Event"):
        walk(defs[name])
    names.update(defs["common-event-properties"]["anyOf"][0]["enum"])
    return frozenset(names)


def pointer(*parts: str | int) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def read_body(body: Any) -> Body:
    """The body's kind, context and events after checks 1 and 2; InvalidInputError otherwise."""
    if not isinstance(body, dict):
        raise InvalidInputError(
            "the body must be a JSON object: an EPCISDocument, an EPCISQueryDocument or one event"
        )
    kind = body.get("type")
    if kind not in DOCUMENT_TYPES and kind not in EVENT_TYPES:
        raise InvalidInputError(
            "at /type: the body must be an EPCIS 2.0 EPCISDocument, EPCISQueryDocument or "
            f"event ({', '.join(EVENT_TYPES)}), got {kind!r}"
        )
    _check_schema(body)
    read = split_body(body)
    where = read.event_pointer
    prefixes = declared_prefixes(read.context)
    for i, event in enumerate(read.events):
        at = f"{where}/{i}" if where else ""
        own = prefixes | declared_prefixes(event.get("@context")) if "@context" in event else None
        for path, problem in _namespace_problems(event, own or prefixes):
            raise InvalidInputError(f"at {at}{path}: {problem}")
    return read


def split_body(body: dict[str, Any]) -> Body:
    """The kind, context and events of a body :func:`read_body` has accepted before (a
    capture job's document), without checking it again."""
    kind = body.get("type")
    if kind == "EPCISDocument":
        events, where = body["epcisBody"]["eventList"], "/epcisBody/eventList"
    elif kind == "EPCISQueryDocument":
        results = body["epcisBody"]["queryResults"]
        events = results["resultsBody"]["eventList"]
        where = "/epcisBody/queryResults/resultsBody/eventList"
    else:
        events, where = [body], ""
    return Body(kind=str(kind), context=body.get("@context"), events=events, event_pointer=where)


def _check_schema(body: dict[str, Any]) -> None:
    if _validator().is_valid(body):
        return
    found = sorted(_explainer().iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])
    if found:
        error = jsonschema.exceptions.best_match([found[0]])
        path = pointer(*found[0].absolute_path) if found[0].absolute_path else "(the body)"
        raise InvalidInputError(
            f"at {path}: {_hint(found[0].absolute_path, error.message)} "
            "(GS1's EPCIS 2.0 JSON Schema)"
        )
    # Only formats failed (the Python validator does not assert them): jsonschema-rs says where.
    rs = next(iter(_validator().iter_errors(body)))
    path = pointer(*rs.instance_path) if rs.instance_path else "(the body)"
    raise InvalidInputError(
        f"at {path}: {_hint(rs.instance_path, rs.message)} (GS1's EPCIS 2.0 JSON Schema)"
    )


def _hint(path: Any, message: str) -> str:
    last = list(path)[-1] if list(path) else None
    if '"date-time"' in message:
        return f"{message}: not an RFC 3339 date-time (like 2024-05-01T08:30:00+08:00)"
    if last in _VOCAB_FIELDS:
        return (
            f"{message}: it is not a CBV 2.0 {last} nor a user vocabulary URI (an absolute URI, or "
            "a CURIE whose prefix the @context declares)"
        )
    if any(p in ("ilmd", *_LOCATIONS, "sensorElementList") for p in list(path)[:-1]):
        return f"{message}: a user extension field must be namespaced (prefix:name or a URI)"
    return message


def declared_prefixes(context: Any) -> frozenset[str]:
    """The prefixes a ``@context`` (string, object or list of them) declares."""
    items = context if isinstance(context, list) else [context]
    found: set[str] = set()
    for item in items:
        if isinstance(item, str):
            found |= _standard_prefixes(item)
        elif isinstance(item, dict):
            for term, value in item.items():
                iri = value.get("@id") if isinstance(value, dict) else value
                if isinstance(iri, str) and not term.startswith("@"):
                    found.add(term)
    return frozenset(found)


@cache
def _standard_prefixes(url: str) -> frozenset[str]:
    # The bundled standard contexts (epcis.CONTEXT_FILES): their prefix-like terms.

    ctx = standard_context(url)
    out = set()
    for term, value in ctx.items():
        iri = value.get("@id") if isinstance(value, dict) else value
        if isinstance(iri, str) and iri.endswith(("/", "#", ":")):
            out.add(term)
    return frozenset(out)


@cache
def standard_context(url: str) -> dict[str, Any]:
    """The ``@context`` object of a bundled standard context (empty for another URL)."""
    from chainproof.trace import epcis

    name = epcis.CONTEXT_FILES.get(url)
    if name is None:
        return {}
    doc = json.loads(importlib.resources.files(epcis.CONTEXT_PACKAGE).joinpath(name).read_text())
    context: dict[str, Any] = doc["@context"]
    return context


def _curie_problem(value: str, prefixes: frozenset[str], what: str) -> str | None:
    if ":" not in value:
        return None
    prefix = value.split(":", 1)[0]
    if prefix in prefixes or prefix.lower() in IRI_SCHEMES:
        return None
    return (
        f"{what} {value!r}: its prefix {prefix!r} is not declared in the @context; declare "
        f'it ("{prefix}": "https://…/") or write the absolute URI'
    )


def _key_problem(key: str, prefixes: frozenset[str]) -> str | None:
    if key.startswith("@"):
        return None  # a JSON-LD keyword
    if ":" not in key:
        return (
            f"user extension field {key!r} is not namespaced: write it as prefix:name with the "
            "prefix declared in the @context, or as an absolute URI (JSON-LD would drop it "
            "from the event hash)"
        )
    return _curie_problem(key, prefixes, "user extension field")


def _namespace_problems(
    event: dict[str, Any], prefixes: frozenset[str]
) -> Iterator[tuple[str, str]]:
    standard = _event_fields()
    for key, value in event.items():
        if key in standard:
            continue
        yield from _key_problems_at(pointer(key), key, prefixes)
        yield from _extension_problems(value, pointer(key), prefixes)
    for field in _VOCAB_FIELDS:
        if isinstance(event.get(field), str):
            problem = _curie_problem(event[field], prefixes, field)
            if problem:
                yield pointer(field), problem
    persistent = event.get("persistentDisposition")
    if isinstance(persistent, dict):
        for part in ("set", "unset"):
            for i, value in enumerate(persistent.get(part) or []):
                problem = _curie_problem(str(value), prefixes, "persistentDisposition")
                if problem:
                    yield pointer("persistentDisposition", part, i), problem
    for field in _PAIR_LISTS:
        for i, pair in enumerate(event.get(field) or []):
            if isinstance(pair, dict) and isinstance(pair.get("type"), str):
                problem = _curie_problem(pair["type"], prefixes, f"{field} type")
                if problem:
                    yield pointer(field, i, "type"), problem
    for field in _LOCATIONS:
        yield from _object_problems(event.get(field), (field,), {"id"}, prefixes)
    if isinstance(event.get("ilmd"), dict):
        yield from _object_problems(event["ilmd"], ("ilmd",), set(), prefixes)
    declaration = event.get("errorDeclaration")
    yield from _object_problems(declaration, ("errorDeclaration",), _ERROR_DECLARATION, prefixes)
    if isinstance(declaration, dict) and isinstance(declaration.get("reason"), str):
        problem = _curie_problem(declaration["reason"], prefixes, "error reason")
        if problem:
            yield pointer("errorDeclaration", "reason"), problem
    for i, element in enumerate(event.get("sensorElementList") or []):
        yield from _sensor_problems(element, ("sensorElementList", i), prefixes)


def _sensor_problems(
    element: Any, at: tuple[str | int, ...], prefixes: frozenset[str]
) -> Iterator[tuple[str, str]]:
    if not isinstance(element, dict):
        return
    yield from _object_problems(element, at, {"sensorMetadata", "sensorReport"}, prefixes)
    yield from _object_problems(
        element.get("sensorMetadata"), (*at, "sensorMetadata"), _SENSOR_METADATA, prefixes
    )
    report_fields = set(schema()["definitions"]["sensorReport"]["properties"])
    for j, report in enumerate(element.get("sensorReport") or []):
        where = (*at, "sensorReport", j)
        yield from _object_problems(report, where, report_fields, prefixes)
        if isinstance(report, dict):
            for field in ("type", "exception"):
                if isinstance(report.get(field), str):
                    problem = _curie_problem(report[field], prefixes, f"sensor {field}")
                    if problem:
                        yield pointer(*where, field), problem


def _object_problems(
    obj: Any,
    at: tuple[str | int, ...],
    standard: set[str] | frozenset[str],
    prefixes: frozenset[str],
) -> Iterator[tuple[str, str]]:
    """Extension fields of a standard object: namespaced, and so is everything inside them."""
    if not isinstance(obj, dict):
        return
    for key, value in obj.items():
        if key in standard:
            continue
        yield from _key_problems_at(pointer(*at, key), key, prefixes)
        yield from _extension_problems(value, pointer(*at, key), prefixes)


def _key_problems_at(path: str, key: str, prefixes: frozenset[str]) -> Iterator[tuple[str, str]]:
    problem = _key_problem(key, prefixes)
    if problem:
        yield path, problem


def _extension_problems(value: Any, at: str, prefixes: frozenset[str]) -> Iterator[tuple[str, str]]:
    """Inside an extension every field is a user field (bounded by the body's size)."""
    stack: list[tuple[Any, str]] = [(value, at)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for key, inner in node.items():
                where = f"{path}/{key.replace('~', '~0').replace('/', '~1')}"
                yield from _key_problems_at(where, key, prefixes)
                stack.append((inner, where))
        elif isinstance(node, list):
            stack.extend((inner, f"{path}/{i}") for i, inner in enumerate(node))
