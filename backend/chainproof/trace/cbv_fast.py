"""CBV 2.0 pre-hash strings without expanding whole documents: the same strings as
``cbv_hash`` (the reference implementation), at evidence speed.

The reference spends most of its time in two places, both replaced here by equivalents:

1. **JSON-LD expansion of the whole document**, done only to learn which CBV / GS1 Web
   Vocabulary IRIs (``https://ref.gs1.org/cbv…``, ``https://gs1.org/voc…``) the document's
   values expand to; every string value that is the last ``-`` or ``/`` segment of exactly one
   of those IRIs is then replaced by it. Here each value that *can* expand to such an IRI (a
   term some scope of the context defines, a CURIE on a defined prefix, or one of those IRIs
   itself) is expanded alone, in a skeleton event that keeps its path and the ``type`` of
   each enclosing object (what selects property- and type-scoped contexts), through PyLD,
   and the answer is remembered per context, path and value. A stream of documents with the
   standard contexts costs no expansion once their vocabulary has been seen.
2. **The property-order walk** over tuple trees (three passes: JSON to tuples, the XML/JSON
   model correction, the ordered walk): written directly over the event's dictionaries in
   ``cbv_walk.py``, which leaves the shapes it does not read to the reference's tuple path
   event by event. Its value canonicalisers (Digital Link conversion of EPC URNs, UTC
   milliseconds for times) are pure functions of one string: remembered, plain RFC 3339
   times read by ``datetime.fromisoformat`` instead of dateutil (same instant, the release's
   own rounding and format after it), and its debug logging per element silenced.

It applies to documents whose contexts are the bundled EPCIS ones plus inline prefix maps
(no ``@vocab``, ``@base`` or nested contexts), with no ``@context`` inside events; anything
else goes through the reference unchanged (:func:`applies`). tests/unit/test_cbv_fast.py
proves the strings equal on every vector, every GS1 example and a Hypothesis corpus.
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import types
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any, Final

from epcis_event_hash_generator import (
    dl_normaliser,
    hash_generator,
    json_to_py,
    json_xml_model_mismatch_correction,
)
from pyld import jsonld

from chainproof.trace import cbv_hash, cbv_walk

_EXPANDED: Final = ("https://ref.gs1.org/cbv", "https://gs1.org/voc")
_MEMO: Final = 65_536

# The walk's value canonicalisers are pure functions of one string: remembered. Installed on
# the library's module (it calls them by module-global name), so the reference path gains too.
_release_time_format = hash_generator._fix_time_stamp_format


def _rfc3339(text: str) -> datetime | None:
    """``text`` as an offset date-time when it is plainly RFC 3339 (at most microseconds),
    else None: such strings read the same through ``fromisoformat`` as through dateutil."""
    if len(text) < 20 or text[4] != "-" or text[7] != "-" or text[10] not in "Tt":
        return None
    if text[13] != ":" or text[16] != ":":
        return None
    tail = text[19:]
    if tail[:1] == ".":
        digits = len(tail) - len(tail[1:].lstrip("0123456789")) - 1
        if not 1 <= digits <= 6:
            return None
        tail = tail[1 + digits :]
    if tail not in ("Z", "z") and not (
        len(tail) == 6 and tail[0] in "+-" and tail[3] == ":" and tail[1:3].isdigit()
    ):
        return None
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if tail in ("Z", "z") else text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _time_format(timestamp: str) -> Any:
    """The release's UTC-milliseconds form, without dateutil for plain RFC 3339 strings."""
    parsed = _rfc3339(timestamp)
    if parsed is None:
        return _release_time_format(timestamp)
    # The release's own steps from here (its rounding included).
    utc = parsed.astimezone(UTC)
    utc = utc.replace(microsecond=round(utc.microsecond, -3))
    return utc.isoformat(timespec="milliseconds")[:-6] + "Z"


hash_generator._canonize_value = lru_cache(maxsize=_MEMO)(hash_generator._canonize_value)
# A stream names many serials of few products: the check digit of a GTIN, GLN or SSCC
# prefix part repeats.
dl_normaliser.check_digit = lru_cache(maxsize=_MEMO)(dl_normaliser.check_digit)
hash_generator._fix_time_stamp_format = lru_cache(maxsize=_MEMO)(_time_format)


def _no_debug(*args: Any, **kwargs: Any) -> None:
    return None


# The library logs at debug level per element (a third of the walk's time with logging off):
# its modules get a logging whose debug does nothing and whose other levels are logging's.
_quiet = types.SimpleNamespace(**{n: getattr(logging, n) for n in dir(logging) if n[0] != "_"})
_quiet.debug = _no_debug
for _module in (hash_generator, json_to_py, json_xml_model_mismatch_correction, dl_normaliser):
    if hasattr(_module, "logging"):
        _module.logging = _quiet


@cache
def _context_terms(name: str) -> frozenset[str]:
    """Every term any scope of a bundled context defines."""
    from chainproof.trace import epcis

    doc = json.loads(importlib.resources.files(epcis.CONTEXT_PACKAGE).joinpath(name).read_text())
    terms: set[str] = set()
    stack = [doc["@context"]]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if not key.startswith("@"):
                    terms.add(key)
                if isinstance(value, dict | list):
                    stack.append(value)
    return frozenset(terms)


def applies(doc: dict[str, Any]) -> bool:
    """True when the fast path gives the reference's strings (see the module docstring)."""
    events = doc.get("epcisBody", {}).get("eventList")
    return (
        contexts_apply(doc)
        and isinstance(events, list)
        and not any(_has_context(e) for e in events)
    )


def contexts_apply(doc: dict[str, Any]) -> bool:
    """The document's own ``@context`` is one the fast path reads (:func:`prehashes` checks
    the events' while it reads them)."""
    from chainproof.trace import epcis

    context = doc.get("@context")
    items = context if isinstance(context, list) else [context]
    for item in items:
        if isinstance(item, str):
            if item not in epcis.CONTEXT_FILES:
                return False
        elif isinstance(item, dict):
            if any(k.startswith("@") for k in item) or not all(
                isinstance(v, str) for v in item.values()
            ):
                return False
        else:
            return False
    return True


def _has_context(node: Any) -> bool:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "@context" in item:
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _terms(context: Any) -> frozenset[str]:
    from chainproof.trace import epcis

    items = context if isinstance(context, list) else [context]
    terms: set[str] = set()
    for item in items:
        if isinstance(item, str):
            terms |= _context_terms(epcis.CONTEXT_FILES[item])
        elif isinstance(item, dict):
            terms |= set(item)
    return frozenset(terms)


Path = tuple[tuple[str, bool, str | None], ...]  # (key, in a list, the object's "type")
ProbeKey = tuple[str, Path, str]


class _EventContext(Exception):
    """An event carries its own ``@context``: the reference path reads it."""


def _wanted(events: list[Any], terms: frozenset[str], context_json: str) -> set[ProbeKey]:
    """Each string value of the events that can expand to a CBV / GS1 Web Vocabulary IRI (a
    term some scope defines, a CURIE on a defined prefix, or such an IRI itself), with the
    path to it. Raises _EventContext."""
    wanted: set[ProbeKey] = set()

    def may_expand(value: str) -> bool:
        return value.startswith(_EXPANDED) or value.partition(":")[0] in terms

    def visit(node: dict[str, Any], path: Path) -> None:
        if "@context" in node:
            raise _EventContext
        kind = node.get("type")
        if not isinstance(kind, str):
            kind = None
        for key, value in node.items():
            if isinstance(value, str):
                if may_expand(value):
                    wanted.add((context_json, (*path, (key, False, kind)), value))
            elif isinstance(value, dict):
                visit(value, (*path, (key, False, kind)))
            elif isinstance(value, list):
                step = (*path, (key, True, kind))
                for item in value:
                    if isinstance(item, str):
                        if may_expand(item):
                            wanted.add((context_json, step, item))
                    elif isinstance(item, dict):
                        visit(item, step)
                    elif _has_context(item):  # a list in a list: no value of it is probed
                        raise _EventContext

    for event in events:
        visit(event, ())
    return wanted


def _skeleton(path: Path, value: str) -> dict[str, Any]:
    node: Any = value
    for key, in_list, kind in reversed(path):
        node = {key: [node] if in_list else node}
        if kind is not None and key != "type":
            node["type"] = kind
    result: dict[str, Any] = node
    return result


_probed: dict[ProbeKey, frozenset[str]] = {}
# New values a document may make us expand one by one; past this, one expansion of the whole
# document (the reference's own step) is cheaper, so an anonymous caller sending distinct
# CURIEs costs no more than on the reference path.
MAX_PROBES: Final = 32


def _expansions(context_json: str, path: Path, value: str) -> frozenset[str]:
    """The CBV / GS1 Web Vocabulary IRIs ``value`` expands to at ``path`` (PyLD, offline)."""
    from chainproof.trace import epcis

    probe = {
        "@context": json.loads(context_json),
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2000-01-01T00:00:00Z",
        "epcisBody": {"eventList": [_skeleton(path, value)]},
    }
    with epcis.lock():
        jsonld.set_document_loader(epcis._offline_loader)
        expanded = jsonld.expand(probe)
    found: list[str] = []
    json_to_py._find_expanded_values(expanded, found)
    return frozenset(x for x in found if x.startswith(_EXPANDED))


def _whole(doc: dict[str, Any]) -> frozenset[str]:
    """The reference's own step: the IRIs of the whole document's expansion."""
    from chainproof.trace import epcis

    with epcis.lock():
        jsonld.set_document_loader(epcis._offline_loader)
        expanded = jsonld.expand(json.loads(json.dumps(doc)))
    found: list[str] = []
    json_to_py._find_expanded_values(expanded, found)
    return frozenset(x for x in found if x.startswith(_EXPANDED))


@lru_cache(maxsize=256)
def _envelope(envelope_json: str) -> frozenset[str]:
    """The IRIs the document outside its events expands to (a header's master data, say)."""
    from chainproof.trace import epcis

    with epcis.lock():
        jsonld.set_document_loader(epcis._offline_loader)
        expanded = jsonld.expand(json.loads(envelope_json))
    found: list[str] = []
    json_to_py._find_expanded_values(expanded, found)
    return frozenset(x for x in found if x.startswith(_EXPANDED))


@lru_cache(maxsize=256)
def _suffix_index(iris: frozenset[str]) -> dict[str, str | None]:
    """value → the one IRI ending in ``-value`` or ``/value`` (None when several do)."""
    index: dict[str, str | None] = {}
    for iri in iris:
        seen: set[str] = set()
        for i, ch in enumerate(iri):
            if ch in "-/":
                suffix = iri[i + 1 :]
                if suffix in seen:
                    continue
                seen.add(suffix)
                index[suffix] = iri if suffix not in index else None
    return index


def _replace(node: Any, index: dict[str, str | None]) -> Any:
    if isinstance(node, str):
        found = index.get(node)
        return found if found else node
    if isinstance(node, list):
        return [_replace(item, index) for item in node]
    if isinstance(node, dict):
        return {key: _replace(value, index) for key, value in node.items()}
    return node


def prehashes(doc: dict[str, Any]) -> list[str] | None:
    """The pre-hash string of each event of ``doc`` (an EPCISDocument whose own context
    :func:`contexts_apply`), or None when an event carries its own ``@context``.

    Must run under ``epcis.lock()``'s protection of the library's namespace table: the
    caller holds it around the walk.
    """
    context = doc.get("@context")
    context_json = json.dumps(context, sort_keys=True)
    terms = _terms(context)
    events = doc["epcisBody"]["eventList"]
    envelope = {k: v for k, v in doc.items() if k != "epcisBody"}
    envelope["epcisBody"] = {k: v for k, v in doc["epcisBody"].items() if k != "eventList"}
    iris = set(_envelope(json.dumps(envelope, sort_keys=True)))
    try:
        wanted = _wanted(events, terms, context_json)
    except _EventContext:
        return None
    missing = [key for key in wanted if key not in _probed]
    if len(missing) > MAX_PROBES:
        iris |= _whole(doc)
    else:
        if len(_probed) + len(missing) > _MEMO:
            _probed.clear()  # bounded memory; the vocabulary comes back on the next documents
        for key in missing:
            _probed[key] = _expansions(*key)
        for key in wanted:
            iris |= _probed[key]
    index = _suffix_index(frozenset(iris))
    json_to_py._namespaces.clear()
    json_to_py._collect_namespaces_from_jsonld_context(context)
    walk = cbv_walk.Walk(index, json_to_py._namespaces, lambda node: _replace(node, index))
    out = []
    for event in events:
        prehash = walk.event(event)
        if prehash is None:
            prehash = _reference_walk(event, index)
            # An @xmlns key changes the reference's namespace table for the events after it.
            walk = cbv_walk.Walk(index, json_to_py._namespaces, lambda node: _replace(node, index))
        out.append(prehash)
    return out


def _reference_walk(event: dict[str, Any], index: dict[str, str | None]) -> str:
    """The reference's tuple path for one event (a shape cbv_walk leaves to it)."""
    correct = json_to_py.json_xml_model_mismatch_correction.deep_structure_correction
    node = correct(json_to_py._json_to_py(_replace(event, index)))
    return cbv_hash.prehashes(("EventList", "", [node]))[0]
