"""The standard query parameters that name a user extension field (EPCIS 2.0 section
8.2.7.1): ``EQ_``/``GT_``/``GE_``/``LT_``/``LE_``/``EXISTS_`` followed by the field, with the
``ILMD_``, ``INNER_`` and ``INNER_ILMD_`` forms.

GS1 names the field by its IRI; a stored event keeps the keys it was captured with
(``ext1:lot`` under its own ``@context``). Capture already refused every extension key that
is not an absolute IRI or a CURIE whose prefix the context declares
(``epcis_conformance``), so expanding a key is one lookup in the event's prefix map (its
inline context and the standard context's prefixes), no JSON-LD processor. The parameter's
field may be an IRI (``https://ns.example.org/ext1/lot``) or a CURIE, expanded the same way
with each event's own prefixes.

- plain: an extension field of the event (``EQ_https://…/temperatureLogger=…``);
- ``ILMD_``: an extension field of the event's ``ilmd``;
- ``INNER_``: a field nested at any depth inside an extension field of the event (or of its
  ``ilmd`` with ``INNER_ILMD_``).

``EQ_`` matches a value as written (numbers compared as numbers); ``GT_``… compare numbers,
or date-times when both are; ``EXISTS_`` takes ``true``/``false``. Each event is read at
most ``MAX_NODES`` values deep, so a large extension costs a bounded walk.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from chainproof.errors import InvalidInputError

OPS: Final = ("EQ", "GT", "GE", "LT", "LE", "EXISTS")
MAX_NAME: Final = 500
MAX_NODES: Final = 500  # values of one event an INNER_ parameter reads (x 10,000 a page)
_ABSOLUTE: Final = ("http://", "https://", "urn:")


@dataclass(frozen=True)
class Field:
    """One parameter: where the field sits, its IRI or CURIE as asked, and how compared."""

    op: str
    name: str
    ilmd: bool
    inner: bool
    values: tuple[Any, ...]


def split(name: str) -> tuple[str, bool, bool, str] | None:
    """``EQ_INNER_ILMD_ext1:lot`` → (``EQ``, ilmd, inner, ``ext1:lot``); None when the name
    names no extension field (a field name is an IRI or CURIE: it holds a colon)."""
    op, _, rest = name.partition("_")
    if op not in OPS:
        return None
    inner = rest.startswith("INNER_")
    rest = rest[len("INNER_") :] if inner else rest
    ilmd = rest.startswith("ILMD_")
    rest = rest[len("ILMD_") :] if ilmd else rest
    if ":" not in rest or not 3 <= len(rest) <= MAX_NAME:
        return None
    return op, ilmd, inner, rest


def parse(name: str, values: tuple[str, ...]) -> Field:
    parts = split(name)
    assert parts is not None, name  # is_parameter said so
    op, ilmd, inner, field = parts
    if op == "EXISTS":
        if values[0].lower() not in ("true", "false"):
            raise InvalidInputError(f"{name}: {values[0]!r} is neither true nor false")
        return Field(op, field, ilmd, inner, (values[0].lower() == "true",))
    return Field(op, field, ilmd, inner, values if op == "EQ" else values[:1])


@cache
def _standard() -> dict[str, str]:
    """The prefixes of the bundled standard contexts (the terms whose IRI ends a namespace)."""
    from chainproof.trace import epcis, epcis_conformance

    out: dict[str, str] = {}
    for url in epcis.CONTEXT_FILES:
        for term, iri in _inline(epcis_conformance.standard_context(url)).items():
            if iri.endswith(("/", "#", ":")):
                out.setdefault(term, iri)
    return out


def _inline(context: dict[str, Any]) -> dict[str, str]:
    out = {}
    for term, value in context.items():
        iri = value.get("@id") if isinstance(value, dict) else value
        if isinstance(iri, str) and not term.startswith("@"):
            out[term] = iri
    return out


def prefixes(context: Any) -> dict[str, str]:
    """The prefix → IRI map of a stored event's ``@context`` (string, object or list)."""
    out = dict(_standard())
    for item in context if isinstance(context, list) else [context]:
        if isinstance(item, dict):
            out.update(_inline(item))
    return out


def expand(key: str, prefix_map: dict[str, str]) -> str:
    if key.startswith(_ABSOLUTE):
        return key
    prefix, _, local = key.partition(":")
    base = prefix_map.get(prefix)
    return base + local if base is not None and not local.startswith("//") else key


def _found(container: Any, field: Field, iri: str, prefix_map: dict[str, str]) -> Iterator[Any]:
    """The values of the field: a namespaced key of ``container`` (or, INNER, any depth
    inside its namespaced keys), at most MAX_NODES values read."""
    if not isinstance(container, dict):
        return
    budget = MAX_NODES
    tops = [(k, v) for k, v in container.items() if ":" in k]
    if not field.inner:
        for key, value in tops:
            if expand(key, prefix_map) == iri:
                yield value
        return
    stack: list[Any] = [v for _, v in tops]
    while stack and budget > 0:
        node = stack.pop()
        budget -= 1
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if ":" in key and expand(key, prefix_map) == iri:
                    yield value
                stack.append(value)


def _scalar(value: Any) -> Any:
    return value.get("@value") if isinstance(value, dict) else value


def number_of(value: Any) -> float | None:
    """``value`` as a finite number (an EPCIS number may come as a string), or None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _compare(op: str, stored: Any, wanted: str) -> bool:
    left, right = number_of(stored), number_of(wanted)
    if left is None or right is None:
        from chainproof.trace import epcis

        try:
            left_t = epcis.parse_time(stored, "value")
            right_t = epcis.parse_time(wanted, "value")
        except InvalidInputError:
            return False
        return {"GT": left_t > right_t, "GE": left_t >= right_t, "LT": left_t < right_t}.get(
            op, left_t <= right_t
        )
    return {"GT": left > right, "GE": left >= right, "LT": left < right}.get(op, left <= right)


def _equal(stored: Any, wanted: tuple[Any, ...]) -> bool:
    if isinstance(stored, dict | list) or stored is None:
        return False
    number = number_of(stored) if not isinstance(stored, str) else None
    if number is not None:
        return any(number_of(w) == number for w in wanted)
    text = str(stored).lower() if isinstance(stored, bool) else str(stored)
    return text in wanted


def holds(field: Field, event: dict[str, Any], context: Any) -> bool:
    """True when the stored event (captured under ``context``) meets the parameter."""
    prefix_map = prefixes(context)
    iri = expand(field.name, prefix_map)
    container = event.get("ilmd") if field.ilmd else event
    found = (_scalar(v) for v in _found(container, field, iri, prefix_map))
    if field.op == "EXISTS":
        return any(True for _ in found) == field.values[0]
    if field.op == "EQ":
        return any(_equal(v, field.values) for v in found)
    return any(_compare(field.op, v, field.values[0]) for v in found if v is not None)
