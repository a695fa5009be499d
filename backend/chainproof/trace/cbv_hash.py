"""CBV 2.0 pre-hash strings, through the reference implementation, in the standard's order.

The reference implementation (PyPI ``epcis-event-hash-generator`` 1.9.3, the newest release)
parses the JSON-LD event and canonicalises every value; we use that as is. One thing it gets
wrong: its property order cannot match the ``(type, value)`` pairs of ``bizTransactionList``,
``sourceList`` and ``destinationList``, so those three fall through to the "other fields"
bucket at the end, alphabetically (``destinationList`` before ``sourceList``, both after
``sensorElementList``). CBV 2.0 section 8.9 orders them ``bizTransactionList``,
``sourceList``, ``destinationList`` right after ``bizLocation``, and the project's own
repository fixed this after the release: its current vectors
(``tests/examples/expected/CBV2.0/*.hashes``, see tests/data/epcis/SOURCES.md) hash
``sourceList`` first. We wrap each pair in an unnamed element so the library's own ordered
walk places and sorts them, which reproduces those vectors.

Everything else is the release's, deliberately including sensor data and user extensions
inside ``readPoint``/``bizLocation``/sensor elements: upstream's current CBV 2.0 vectors change
those too, but together with a GS1 Web Vocabulary namespace (``https://ref.gs1.org/voc/``) that
CBV 2.0 and the EPCIS 2.0.0 context do not use. tests/data/epcis/SOURCES.md has the evidence.
"""

from __future__ import annotations

from typing import Any, Final

from epcis_event_hash_generator import (
    PROP_ORDER,
    hash_generator,
    json_to_py,
    json_xml_model_mismatch_correction,
)

_PAIR_LISTS: Final = {
    "bizTransactionList": "bizTransaction",
    "sourceList": "source",
    "destinationList": "destination",
}


# The library's order with an element order the walk can follow for the three pair lists,
# and epcList before parentID: CBV 2.0's canonical property order (epcList 4th, parentID
# 5th) and upstream's current vectors, where release 1.9.3 has them the other way round.
# Only events carrying both (TransactionEvents with a parentID) hash differently.
def _standard_order(order: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    names = [name for name, _ in order]
    if "parentID" in names and "epcList" in names:
        i, j = names.index("parentID"), names.index("epcList")
        if i < j:
            order = list(order)
            order[i], order[j] = order[j], order[i]
    return order


_ORDER: Final[list[tuple[str, Any]]] = [
    (
        (name, [("", [("type", None), (_PAIR_LISTS[name], None)])])
        if name in _PAIR_LISTS
        else (name, sub)
    )
    for name, sub in _standard_order(list(PROP_ORDER))
]

Node = tuple[Any, str, list[Any]]


def _collect_namespaces(context: Any) -> None:
    """The release's namespace collection, taking expanded term definitions too.

    Release 1.9.3 maps each term of an inline context to ``{value}`` and fails on a term
    whose definition is an object (``"rail:axles": {"@type": "xsd:integer"}``, valid JSON-LD
    and in GS1's own ``Example-TransactionEvents-2020_07_03y.jsonld``). We map such a term to
    its ``@id`` when it has one and skip it otherwise; terms whose definition is a string
    map exactly as the release maps them, so no hash the release computes changes.
    """
    if not isinstance(context, list):
        return
    for c in context:
        if isinstance(c, str):
            json_to_py._namespaces[c] = "{" + c + "}"
        elif isinstance(c, dict):
            for key, value in c.items():
                iri = value.get("@id") if isinstance(value, dict) else value
                if isinstance(iri, str):
                    json_to_py._namespaces[key] = "{" + iri + "}"


# A child standing in for a pair's missing half (a business transaction without a type):
# release 1.9.3 reads each pair as exactly two children and fails on one. The stand-in lets
# its correction step run; _wrap_pairs drops it, so such a pair hashes as its one field.
_MISSING: Final[Node] = ("\x00missing", "", [])
_release_correction = json_xml_model_mismatch_correction.deep_structure_correction


def _correct_structure(py_obj: Node) -> Any:
    for child in py_obj[2] if len(py_obj) > 2 else []:
        if isinstance(child[0], str) and child[0] in _PAIR_LISTS and len(child[2]) == 1:
            child[2].append(_MISSING)
    return _release_correction(py_obj)


# Installed once: the library calls both by their module-global names.
json_to_py._collect_namespaces_from_jsonld_context = _collect_namespaces
json_to_py.json_xml_model_mismatch_correction.deep_structure_correction = _correct_structure


def _wrap_pairs(event: Node) -> Node:
    children = []
    for child in event[2]:
        if child[0] in _PAIR_LISTS:
            pairs = [("", "", [p for p in pair if p != _MISSING]) for pair in child[2]]
            child = (child[0], child[1], pairs)
        children.append(child)
    return (event[0], event[1], children)


def prehashes(parsed: Node) -> list[str]:
    """The pre-hash string of each event of a document parsed by ``json_to_py``.

    Call with the library's module state set up (document loader, namespaces) and under the
    caller's lock: the library keeps parse state in module globals.
    """
    out = []
    for event in parsed[2]:
        wrapped = _wrap_pairs(event)
        # The private walks of the library: its public entry point hard-wires its own order.
        ordered = hash_generator._recurse_through_children_in_order(wrapped[2], _ORDER)
        rest = hash_generator._gather_elements_not_in_order(wrapped[2], _ORDER)
        out.append(f"eventType={event[0]}{ordered}{rest}")
    return out
