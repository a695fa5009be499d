"""The standard query parameters that read inside an event (EPCIS 2.0 section 8.2.7.1):
quantities and sensor data, checked on the stored event body.

The indexed parameters (types, times, steps, places, EPCs) are SQL filters in
``epcis_store.find_events``; these are not worth a column each, so the page is filled by
reading candidate events in order and keeping those that match (at most
``epcis_store.MAX_EXAMINED`` read per page: a rare match answers a short page with a next
link rather than scanning the repository in one request).

- ``EQ_quantity``, ``GT_quantity``, ``GE_quantity``, ``LT_quantity``, ``LE_quantity``: some
  element of the event's ``quantityList``, ``childQuantityList``, ``inputQuantityList`` or
  ``outputQuantityList`` has a ``quantity`` meeting every one given;
- ``EXISTS_sensorElement``; ``EQ_type`` (a sensor report's measurement type: ``Temperature``,
  ``gs1:Temperature`` and ``https://gs1.org/voc/Temperature`` are one type), ``EQ_deviceID``,
  ``EQ_dataProcessingMethod``, ``EQ_bizRules`` (in ``sensorMetadata`` or a report),
  ``EQ_microorganism``, ``EQ_chemicalSubstance``, ``EQ_stringValue``, ``EQ_hexBinaryValue``,
  ``EQ_uriValue``, ``EQ_booleanValue``: some sensor report (with its element's metadata)
  carries one of the values;
- ``GE_startTime``, ``LT_startTime``, ``GE_endTime``, ``LT_endTime``: a sensor element's
  metadata times;
- ``{EQ,GT,GE,LT,LE}_{value,minValue,maxValue,meanValue,sDev,percValue}_{uom}``: some report
  in unit ``uom`` whose field compares so (``GE_value_CEL=15.5``).

Every sensor parameter given must hold for one and the same report.

- ``EXISTS_errorDeclaration``, ``GE_errorDeclarationTime``, ``LT_errorDeclarationTime``,
  ``EQ_errorReason`` (CBV reasons in any spelling: ``incorrect_data``,
  ``https://ref.gs1.org/cbv/ER-incorrect_data``, ``urn:epcglobal:cbv:er:incorrect_data``),
  ``EQ_correctiveEventID``: the event's ``errorDeclaration``;
- ``EQ_persistentDisposition_set``, ``EQ_persistentDisposition_unset`` (CBV dispositions in
  any spelling), ``EQ_transformationID``: the event's field holds one of the values;
- ``EXISTS_{field}`` (``true``/``false``) for the top-level fields of EPCIS 2.0 events
  (``EXISTS_ilmd``, ``EXISTS_bizTransactionList``, …);
- ``EQ_bizTransaction_{type}``, ``EQ_source_{type}``, ``EQ_destination_{type}``: an element
  of the list with that type (CBV types in any spelling: ``po``,
  ``https://ref.gs1.org/cbv/BTT-po``) names one of the values;
- the parameters naming a user extension field (``EQ_ILMD_ext1:lot``…): ``epcis_fields``.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from chainproof.errors import InvalidInputError
from chainproof.trace import epcis_fields

_QUANTITY_LISTS: Final = (
    "quantityList",
    "childQuantityList",
    "inputQuantityList",
    "outputQuantityList",
)
_COMPARE: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "EQ": operator.eq,
    "GT": operator.gt,
    "GE": operator.ge,
    "LT": operator.lt,
    "LE": operator.le,
}
_SENSOR_EQ: Final = (
    "type",
    "deviceID",
    "dataProcessingMethod",
    "bizRules",
    "microorganism",
    "chemicalSubstance",
    "stringValue",
    "hexBinaryValue",
    "uriValue",
)
_MEASURED: Final = ("value", "minValue", "maxValue", "meanValue", "sDev", "percValue")
# Bounded: a unit is a UN/ECE Rec. 20 code (2-3 characters); the pattern has no nested
# quantifiers (linear in the parameter's length, which the query string bounds anyway).
_MEASURE_PARAM: Final = re.compile(
    r"(EQ|GT|GE|LT|LE)_(value|minValue|maxValue|meanValue|sDev|percValue)_([A-Za-z0-9]{1,8})"
)
MAX_LISTED: Final = 1000  # values of one list read per event (a capture holds at most this)
_TYPE_PREFIXES: Final = ("https://gs1.org/voc/", "https://ref.gs1.org/voc/", "gs1:")
# EXISTS_{field}: the top-level fields of the five EPCIS 2.0 event types (no extension
# fields: their names are URIs a query string cannot carry unambiguously).
_EXISTS_FIELDS: Final = (
    "action",
    "bizStep",
    "disposition",
    "persistentDisposition",
    "readPoint",
    "bizLocation",
    "bizTransactionList",
    "sourceList",
    "destinationList",
    "ilmd",
    "certificationInfo",
    "errorDeclaration",
    "epcList",
    "quantityList",
    "parentID",
    "childEPCs",
    "childQuantityList",
    "inputEPCList",
    "inputQuantityList",
    "outputEPCList",
    "outputQuantityList",
    "transformationID",
    "sensorElementList",
)
# parameter → (the event's values it reads, the CBV kind its values are normalised as)
_VALUE_PARAMS: Final[dict[str, tuple[Callable[[dict[str, Any]], list[Any]], str | None]]] = {
    "EQ_errorReason": (lambda e: [_declaration(e).get("reason")], "ER"),
    "EQ_correctiveEventID": (lambda e: _listed(_declaration(e).get("correctiveEventIDs")), None),
    "EQ_persistentDisposition_set": (lambda e: _listed(_persistent(e).get("set")), "Disp"),
    "EQ_persistentDisposition_unset": (lambda e: _listed(_persistent(e).get("unset")), "Disp"),
    "EQ_transformationID": (lambda e: [e.get("transformationID")], None),
}
# EQ_{element}_{type}: the list it reads and the CBV kind of its types (section 8.2.7.1).
_TYPED: Final = {
    "bizTransaction": ("bizTransactionList", "BTT"),
    "source": ("sourceList", "SDT"),
    "destination": ("destinationList", "SDT"),
}
MAX_TYPE: Final = 300
PARAMETERS: Final = frozenset(
    {f"{op}_quantity" for op in _COMPARE}
    | {f"EQ_{field}" for field in _SENSOR_EQ}
    | {"EQ_booleanValue", "EXISTS_sensorElement"}
    | {f"{op}_{field}" for op in ("GE", "LT") for field in ("startTime", "endTime")}
    | {f"EXISTS_{field}" for field in _EXISTS_FIELDS}
    | {"GE_errorDeclarationTime", "LT_errorDeclarationTime"}
    | set(_VALUE_PARAMS)
)


@dataclass(frozen=True)
class Filter:
    """One parameter: ``field`` compared with ``op`` to one of ``values`` (already typed)."""

    # "quantity", "sensor", "metadata-time", "measure", "exists", "value",
    # "declaration-time", "typed" (its type in ``uom``), "field" (an epcis_fields.Field)
    kind: str
    field: str
    op: str
    values: tuple[Any, ...]
    uom: str | None = None


def _typed(name: str) -> tuple[str, str] | None:
    """``EQ_bizTransaction_po`` → (``bizTransaction``, ``po``); None for other names."""
    head, _, rest = name.partition("_")
    element, _, kind = rest.partition("_")
    if head == "EQ" and element in _TYPED and 1 <= len(kind) <= MAX_TYPE:
        return element, kind
    return None


def is_parameter(name: str) -> bool:
    return (
        name in PARAMETERS
        or _typed(name) is not None
        or _MEASURE_PARAM.fullmatch(name) is not None
        or epcis_fields.split(name) is not None
    )


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidInputError(f"{name}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise InvalidInputError(f"{name}: {text!r} is not a finite number")
    return value


def _boolean(text: str, name: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise InvalidInputError(f"{name}: {text!r} is neither true nor false")
    return text.lower() == "true"


def parse(name: str, values: tuple[str, ...], parse_time: Callable[[str, str], datetime]) -> Filter:
    """The filter of one parameter :func:`is_parameter` accepts (its values non-empty)."""
    head, _, field = name.partition("_")
    if field == "quantity":
        return Filter("quantity", "quantity", head, (_number(values[0], name),))
    if head == "EXISTS" and name in PARAMETERS:
        key = "sensorElementList" if field == "sensorElement" else field
        return Filter("exists", key, "EXISTS", (_boolean(values[0], name),))
    if name in _VALUE_PARAMS:
        kind = _VALUE_PARAMS[name][1]
        return Filter("value", name, "EQ", tuple(_cbv(v, kind) for v in values))
    if (element_type := _typed(name)) is not None:
        element, type_ = element_type
        return Filter("typed", element, "EQ", values, _cbv(type_, _TYPED[element][1]))
    if field == "errorDeclarationTime":
        return Filter("declaration-time", field, head, (parse_time(values[0], name),))
    if name == "EQ_booleanValue":
        return Filter("sensor", "booleanValue", "EQ", (_boolean(values[0], name),))
    if field in ("startTime", "endTime"):
        return Filter("metadata-time", field, head, (parse_time(values[0], name),))
    if head == "EQ" and field in _SENSOR_EQ:
        typed = tuple(_bare_type(v) for v in values) if field == "type" else values
        return Filter("sensor", field, "EQ", typed)
    found = _MEASURE_PARAM.fullmatch(name)
    if found is None:  # is_parameter said so: a user extension field (epcis_fields)
        return Filter("field", name, "", (epcis_fields.parse(name, values),))
    op, measured, uom = found.groups()
    return Filter("measure", measured, op, (_number(values[0], name),), uom)


def _bare_type(value: str) -> str:
    for prefix in _TYPE_PREFIXES:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


def _cbv(value: Any, kind: str | None) -> Any:
    """A CBV value in its bare form (``incorrect_data``) however spelled; others as given."""
    if kind is None or not isinstance(value, str):
        return value
    for prefix in (f"https://ref.gs1.org/cbv/{kind}-", f"urn:epcglobal:cbv:{kind.lower()}:"):
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


def _declaration(event: dict[str, Any]) -> dict[str, Any]:
    found = event.get("errorDeclaration")
    return found if isinstance(found, dict) else {}


def _persistent(event: dict[str, Any]) -> dict[str, Any]:
    found = event.get("persistentDisposition")
    return found if isinstance(found, dict) else {}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _value_holds(f: Filter, event: dict[str, Any]) -> bool:
    read, kind = _VALUE_PARAMS[f.field]
    return any(isinstance(v, str) and _cbv(v, kind) in f.values for v in read(event)[:MAX_LISTED])


def _typed_holds(f: Filter, event: dict[str, Any]) -> bool:
    key, kind = _TYPED[f.field]
    listed = event.get(key)
    return any(
        isinstance(item, dict)
        and _cbv(item.get("type"), kind) == f.uom
        and item.get(f.field) in f.values
        for item in (listed if isinstance(listed, list) else [])[:MAX_LISTED]
    )


def _declared_holds(f: Filter, event: dict[str, Any]) -> bool:
    from chainproof.trace import epcis

    try:
        moment = epcis.parse_time(_declaration(event).get("declarationTime"), f.field)
    except InvalidInputError:
        return False
    return moment >= f.values[0] if f.op == "GE" else moment < f.values[0]


def _reports(event: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Each sensor report of the event with its element's metadata."""
    for element in event.get("sensorElementList") or []:
        if not isinstance(element, dict):
            continue
        metadata = element.get("sensorMetadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        reports = element.get("sensorReport") or []
        for report in reports if isinstance(reports, list) else [reports]:
            if isinstance(report, dict):
                yield metadata, report


def _report_holds(f: Filter, metadata: dict[str, Any], report: dict[str, Any]) -> bool:
    if f.kind == "sensor":
        value = report.get(f.field, metadata.get(f.field))
        if f.field == "type" and isinstance(value, str):
            value = _bare_type(value)
        return value in f.values if not isinstance(value, dict | list) else False
    if f.kind == "metadata-time":
        from chainproof.trace import epcis

        raw = metadata.get(f.field)
        try:
            moment = epcis.parse_time(raw, f.field)
        except InvalidInputError:
            return False
        return moment >= f.values[0] if f.op == "GE" else moment < f.values[0]
    # measure
    if report.get("uom") != f.uom:
        return False
    number = epcis_fields.number_of(report.get(f.field))
    return number is not None and _COMPARE[f.op](number, f.values[0])


def matches(event: dict[str, Any], filters: tuple[Filter, ...], context: Any = None) -> bool:
    """True when the stored event (captured under ``context``) meets every filter."""
    quantity = [f for f in filters if f.kind == "quantity"]
    sensor = [f for f in filters if f.kind in ("sensor", "metadata-time", "measure")]
    for f in filters:
        if f.kind == "exists" and bool(event.get(f.field)) != f.values[0]:
            return False
        if f.kind == "value" and not _value_holds(f, event):
            return False
        if f.kind == "declaration-time" and not _declared_holds(f, event):
            return False
        if f.kind == "typed" and not _typed_holds(f, event):
            return False
        if f.kind == "field" and not epcis_fields.holds(f.values[0], event, context):
            return False
    if quantity:
        elements = [
            q
            for key in _QUANTITY_LISTS
            for q in (event.get(key) or [])
            if isinstance(q, dict) and epcis_fields.number_of(q.get("quantity")) is not None
        ]
        if not any(
            all(
                _COMPARE[f.op](epcis_fields.number_of(q["quantity"]), f.values[0]) for f in quantity
            )
            for q in elements
        ):
            return False
    return not sensor or any(
        all(_report_holds(f, metadata, report) for f in sensor)
        for metadata, report in _reports(event)
    )
