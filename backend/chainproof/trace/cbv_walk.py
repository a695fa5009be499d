"""The CBV 2.0 property-order walk written directly over an event's JSON object.

The reference implementation reaches the pre-hash string in three passes over tuple trees:
``json_to_py`` (JSON → ``(name, text, children)``, each child list sorted), its XML/JSON
model correction (``…List`` children regrouped, ``childEPCs`` regathered, a few renames) and
the property-order walk (``hash_generator``: per property of ``cbv_hash._ORDER`` the sorted
strings of its children, user extensions of a nested element gathered after them, and
everything the order does not name appended as "the rest"). :class:`Walk` writes the same
string in one pass over the event's dictionaries, for the shapes EPCIS 2.0 gives its standard
fields; the rest (``ilmd``, user extensions at event level) and the user extensions of nested
elements go through the reference's own functions, which is where their rules live.

Where an event's shape is anything else (a standard field holding an object where the
standard has a string, an un-namespaced key inside ``readPoint``, a pair list element with a
third key, a ``@xmlns`` key…), :meth:`Walk.event` returns None and the caller takes the
reference's tuple path for that event: the rules of those corners stay the reference's
alone. Each rule followed here names the reference step it mirrors; tests/unit/test_cbv_fast.py
proves the strings equal on every vector, every GS1 example and a Hypothesis corpus, and that
the walk (not the fallback) wrote them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any, Final

from epcis_event_hash_generator import hash_generator, json_to_py
from epcis_event_hash_generator import json_xml_model_mismatch_correction as correction

from chainproof.trace import cbv_hash, epcis_conformance

Order = list[tuple[str, Any]]


class _Unsupported(Exception):
    """The event has a shape the walk leaves to the reference."""


_ORDER: Final[Order] = cbv_hash._ORDER
# Property → how its value is read at the event's level (see Walk.event).
_EPC_LISTS: Final = frozenset({"epcList", "inputEPCList", "outputEPCList", "childEPCs"})
_QUANTITY_LISTS: Final = frozenset(
    {"quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"}
)
_PAIR_LISTS: Final = {"bizTransactionList": "bizTransaction", "sourceList": "source"}
_PAIR_LISTS["destinationList"] = "destination"
_NESTED: Final = frozenset({"persistentDisposition", "readPoint", "bizLocation"})
_SENSORS: Final = "sensorElementList"
_NAMES: Final = frozenset(name for name, _ in _ORDER)
# Never hashed: the reference drops these from the rest (_gather_elements_not_in_order).
_IGNORED: Final = frozenset({"recordTime", "eventID", "type", "errorDeclaration"})
# json_to_py skips these keys at every level.
_SKIPPED: Final = frozenset({"rdfs:comment", "comment"})
# Child names that stop the rest from being sorted (hash_generator.should_sort); json_to_py
# does not sort an object holding one of them either.
_UNSORTED: Final = frozenset({"bizTransaction", "source", "destination"})


def _sub_order(order: Order, name: str) -> Order:
    for key, sub in order:
        if key == name:
            result: Order = sub
            return result
    raise KeyError(name)  # pragma: no cover - the order is the module's own constant


_QUANTITY: Final = _sub_order(_sub_order(_ORDER, "quantityList"), "quantityElement")
_SENSOR_ELEMENT: Final = _sub_order(_sub_order(_ORDER, _SENSORS), "sensorElement")

# Every property of the order has a reading here (checked at import: a new release's order
# fails loudly instead of hashing differently).
_READ: Final = _EPC_LISTS | _QUANTITY_LISTS | set(_PAIR_LISTS) | _NESTED | {_SENSORS}
assert {n for n, sub in _ORDER if sub is not None} == _READ, "cbv_hash._ORDER changed"

# GS1 Digital Link URIs already in the canonical form the normaliser writes (GTIN + serial,
# ASCII digits, the serial characters its last check allows but "?", which it reads as a
# query and cuts): it returns them unchanged.
# Proved against the normaliser by tests/unit/test_cbv_fast.py.
_CANONICAL_SGTIN: Final = re.compile(
    r"https://id\.gs1\.org/01/[0-9]{14}/21/[\x22\x27\x2D\x2E\x30-\x39\x3B-\x3E\x41-\x5A\x5F\x61-\x7A]{0,20}"
)


def canonize(text: str) -> str:
    """``hash_generator._canonize_value`` (remembered), without its twenty-odd regular
    expressions for a Digital Link already canonical."""
    if _CANONICAL_SGTIN.fullmatch(text):
        return text
    result: str = hash_generator._canonize_value(text)
    return result


@cache
def _is_time(name: str) -> bool:
    """hash_generator._child_to_pre_hash_string: which values are read as times."""
    lower = name.lower()
    return "time" in lower and "offset" not in lower


class Walk:
    """Pre-hash strings of one document's events: its CBV replacement index and namespaces
    fixed, values remembered across its events."""

    def __init__(
        self,
        index: dict[str, str | None],
        namespaces: dict[str, str],
        replace: Callable[[Any], Any],
    ) -> None:
        self._index = index
        self._keys = dict(namespaces)
        self._values = {p: iri.replace("{", "").replace("}", "") for p, iri in namespaces.items()}
        self._replace = replace
        self._key_memo: dict[str, str] = {}
        self._text_memo: dict[tuple[str, bool], str] = {}

    # -- values and keys, as json_to_py and the walk read them --------------------------

    def _key(self, key: str) -> str:
        """json_to_py._namespace_replace of a key: a declared prefix becomes ``{iri}``."""
        found = self._key_memo.get(key)
        if found is None:
            found = key
            head, sep, tail = key.partition(":")
            if sep and head in self._keys:
                found = self._keys[head] + tail
            self._key_memo[key] = found
        return found

    def _text(self, value: Any, time: bool) -> str:
        """``=canonical`` for one scalar, or "" when it is blank: the bare-string replacement
        (CBV IRIs), the namespace replacement of values, strip, then the time or value
        canonicaliser."""
        if isinstance(value, str):
            memo = (value, time)
            found = self._text_memo.get(memo)
            if found is not None:
                return found
            text = self._index.get(value) or value
            head, sep, tail = text.partition(":")
            if sep and head in self._values:
                text = self._values[head] + tail
        elif value is None or isinstance(value, bool | int | float):
            memo = None
            text = str(value)
        else:
            raise _Unsupported
        text = text.strip()
        if text:
            text = "=" + (hash_generator._fix_time_stamp_format(text) if time else canonize(text))
        if memo is not None:
            self._text_memo[memo] = text
        return text

    def _items(self, node: dict[str, Any]) -> Iterator[tuple[str, Any]]:
        for key, value in node.items():
            if key in _SKIPPED:
                continue
            if key == "#text" or key.startswith("@xmlns"):
                raise _Unsupported  # a text node, or a namespace declared mid-document
            yield self._key(key), value

    # -- the walk --------------------------------------------------------------------------

    def _scalars(self, name: str, value: Any) -> list[str]:
        """The strings of a property without sub-order: one per scalar (a list gives one
        child per element in json_to_py), blank ones dropped."""
        time = _is_time(name)
        if isinstance(value, list):
            out = []
            for item in value:
                if isinstance(item, dict | list):
                    raise _Unsupported
                text = self._text(item, time)
                if text:
                    out.append(name + text)
            return out
        if isinstance(value, dict):
            raise _Unsupported  # its children would stay behind for the rest
        text = self._text(value, time)
        return [name + text] if text else []

    def _level(self, node: Any, order: Order, *, empty: bool = True) -> str:
        """hash_generator._recurse_through_children_in_order over one object's children.

        ``empty=False``: an object without children is left to the reference (a
        ``quantityList`` element is renamed ``quantityElement`` only when it has some).
        """
        if not isinstance(node, dict):
            raise _Unsupported
        items = list(self._items(node))
        count = 0
        for key, value in items:
            if isinstance(value, list):
                # A list is one child per element; model correction regroups a …List.
                count += 1 if key.endswith("List") and value else len(value)
            else:
                count += 1
        if not count and not empty:
            raise _Unsupported
        gather = count > 1 and not any("eventTime" in k or "action" in k for k, _ in items)
        known = dict(order)
        found: dict[str, Any] = {}
        extensions = []
        for key, value in items:
            if key in known:
                found[key] = value
            elif gather and "{" in key and "/}" in key:
                extensions.append((key, value))
            else:
                raise _Unsupported  # it would stay behind for the rest
        out = ""
        for name, sub in order:
            if name not in found:
                continue
            value = found[name]
            if sub is None:
                strings = self._scalars(name, value)
            else:
                nodes = value if isinstance(value, list) else [value]
                strings = [name + s for s in (self._level(n, sub) for n in nodes) if s]
            strings.sort()
            out += "".join(strings)
        if extensions:
            out += self._generic(extensions)
        return out

    def _generic(self, items: list[tuple[str, Any]]) -> str:
        """User extensions and the rest: the reference's own reading (json_to_py, model
        correction, hash_generator._generic_child_list_to_prehash_string)."""
        children: list[Any] = []
        for key, value in items:
            _no_xmlns(value)
            child = json_to_py._json_to_py(self._replace(value))
            if isinstance(value, list):
                children.extend((key, c[1], c[2]) for c in child[2])
            else:
                children.append((key, child[1], child[2]))
        corrected = correction.deep_structure_correction(("", "", children))[2]
        kept = [c for c in corrected if c[0] not in _IGNORED]
        result: str = hash_generator._generic_child_list_to_prehash_string(kept)
        return result

    def _list_of(self, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise _Unsupported  # model correction regroups a lone value; left to it
        return value

    def _pair(self, node: Any, second: str) -> str:
        """One bizTransaction / source / destination: its type, then its value."""
        if not isinstance(node, dict):
            raise _Unsupported
        items = dict(self._items(node))
        # The correction keeps a pair's first two children: only the two the standard has.
        if second not in items or not set(items) <= {"type", second}:
            raise _Unsupported
        out = ""
        for name in ("type", second):
            if name in items:
                if isinstance(items[name], list | dict):
                    raise _Unsupported
                text = self._text(items[name], False)
                if text:
                    out += name + text
        return out

    def event(self, event: dict[str, Any]) -> str | None:
        """The pre-hash string of ``event``, or None for a shape left to the reference."""
        try:
            return self._event(event)
        except _Unsupported:
            return None

    def _event(self, event: dict[str, Any]) -> str:
        kind = event.get("type")
        if isinstance(kind, str):
            kind = self._index.get(kind) or kind  # the bare-string replacement reads it too
        if kind not in epcis_conformance.EVENT_TYPES:
            raise _Unsupported  # model correction renames a few odd event names
        items = list(self._items(event))
        keys = {k for k, _ in items}
        # Without eventTime or action among its children the event's own extensions would
        # be gathered like a nested element's; with bizTransaction & co. it is not sorted.
        if not any("eventTime" in k or "action" in k for k in keys) or keys & _UNSORTED:
            raise _Unsupported
        values = dict(items)
        out = "eventType=" + kind
        for name, sub in _ORDER:
            if name not in values:
                continue
            value = values[name]
            if sub is None:
                strings = self._scalars(name, value)
            elif name in _EPC_LISTS:
                strings = ["".join(sorted(self._scalars("epc", self._list_of(value))))]
            elif name in _QUANTITY_LISTS:
                strings = [
                    "".join(
                        sorted(
                            "quantityElement" + s
                            for s in (
                                self._level(n, _QUANTITY, empty=name != "quantityList")
                                for n in self._list_of(value)
                            )
                            if s
                        )
                    )
                ]
            elif name in _PAIR_LISTS:
                strings = [
                    "".join(
                        sorted(
                            s
                            for s in (
                                self._pair(n, _PAIR_LISTS[name]) for n in self._list_of(value)
                            )
                            if s
                        )
                    )
                ]
            elif name == _SENSORS:
                strings = [
                    "".join(
                        sorted(
                            "sensorElement" + s
                            for s in (self._level(n, _SENSOR_ELEMENT) for n in self._list_of(value))
                            if s
                        )
                    )
                ]
            else:  # readPoint, bizLocation, persistentDisposition: one object
                if isinstance(value, list):
                    raise _Unsupported
                strings = [self._level(value, sub)]
            if sub is not None:
                strings = [name + s for s in strings if s]
            strings.sort()
            out += "".join(strings)
        rest = [(k, v) for k, v in items if k not in _IGNORED and k not in _NAMES]
        if rest:
            out += self._generic(rest)
        return out


def _no_xmlns(node: Any) -> None:
    """json_to_py changes its namespace table on an ``@xmlns`` key: left to the reference."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key.startswith("@xmlns"):
                    raise _Unsupported
                if isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(x for x in item if isinstance(x, dict | list))
