"""EPCIS 2.0 documents as GS1 wrote them (issue 24, part 1): accepted where GS1's EPCIS 2.0
JSON Schema and JSON-LD 1.1 accept them, refused with where and why otherwise.

The examples under tests/data/epcis/gs1/ are GS1's own (gs1/EPCIS ``JSON/``, pinned commit in
tests/data/epcis/SOURCES.md); the documents refused are exactly those docs/epcis.md lists.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from chainproof.errors import InvalidInputError
from chainproof.trace import epcis

ROOT = Path(__file__).parent.parent.parent
GS1 = ROOT / "tests" / "data" / "epcis" / "gs1"
EXAMPLES = sorted(p.relative_to(GS1).as_posix() for p in GS1.rglob("*.jsonld"))
CTX = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"


def _refused_in_docs() -> dict[str, str]:
    """docs/epcis.md's table of refused GS1 examples: path → the reason it quotes."""
    text = (ROOT / "docs" / "epcis.md").read_text()
    section = text.split("## GS1 examples refused", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`JSON/"):
            rows[cells[0].strip("`")[len("JSON/") :]] = cells[1].split("`")[1]
    return rows


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((GS1 / name).read_text())
    return loaded


def _event(**fields: Any) -> dict[str, Any]:
    event = {
        "type": "ObjectEvent",
        "eventTime": "2024-05-01T08:30:00+08:00",
        "eventTimeZoneOffset": "+08:00",
        "epcList": ["https://id.gs1.org/01/09521234543213/21/7"],
        "action": "ADD",
        "bizStep": "commissioning",
        "readPoint": {"id": "https://id.gs1.org/414/9521234500001"},
    }
    event.update(fields)
    return event


def _document(*events: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return {
        "@context": context or [CTX, {"ext1": "https://ns.example.org/ext1/"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-05-01T09:00:00+08:00",
        "epcisBody": {"eventList": list(events)},
    }


def test_the_gs1_examples_are_all_here() -> None:
    assert len(EXAMPLES) == 47


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_gs1_example_is_accepted_unless_docs_say_why_not(name: str) -> None:
    refused = _refused_in_docs()
    doc = _load(name)
    if name in refused:
        with pytest.raises(InvalidInputError, match=re.escape(refused[name])):
            epcis.hash_events(doc)
        return
    hashed = epcis.hash_events(doc)
    assert hashed and all(h.event_hash.startswith("ni:///sha-256;") for h in hashed)


def test_docs_list_only_refusals_that_happen() -> None:
    refused = _refused_in_docs()
    assert set(refused) <= set(EXAMPLES)
    assert refused == {
        "WithFullCombinationOfFields/transformation_event_all_possible_fields.jsonld": (
            "protected term redefinition"
        )
    }


@pytest.mark.parametrize(
    "step",
    [
        "http://epcis.example.org/hc/bizstep/summarising_discharge",  # GS1's own example
        "ext1:summarising_discharge",  # a CURIE whose prefix the context declares
        "urn:example:bizstep:summarising_discharge",
    ],
)
def test_user_vocabulary_steps_and_dispositions_are_accepted(step: str) -> None:
    doc = _document(_event(bizStep=step, disposition="ext1:quarantined"))
    (hashed,) = epcis.hash_events(doc)
    assert epcis.biz_step_of(hashed.event) == step


def test_a_curie_needs_its_prefix_declared() -> None:
    doc = _document(_event(bizStep="ext9:summarising_discharge"))
    with pytest.raises(InvalidInputError, match=r"at /epcisBody/eventList/0/bizStep: .*'ext9'"):
        epcis.hash_events(doc)


def test_a_non_uri_step_is_refused_by_the_schema_with_the_place() -> None:
    doc = _document(_event(bizStep="summarising discharge"))
    with pytest.raises(InvalidInputError, match=r"at /epcisBody/eventList/0/bizStep: .*CBV 2.0"):
        epcis.hash_events(doc)


def test_the_gs1_query_document_is_accepted_and_hashes_as_its_events() -> None:
    query = _load("EPCISQueryDocument.jsonld")
    events = query["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    as_doc = _document(*copy.deepcopy(events), context=query["@context"])
    assert [h.event_hash for h in epcis.hash_events(query)] == [
        h.event_hash for h in epcis.hash_events(as_doc)
    ]


def test_a_bare_event_is_accepted_and_hashes_as_in_a_document() -> None:
    context = [CTX, {"ext1": "https://ns.example.org/ext1/"}]
    bare = {"@context": context, **_event(bizStep="ext1:sampling_for_lab")}
    (alone,) = epcis.hash_events(bare)
    (inside,) = epcis.hash_events(_document(_event(bizStep="ext1:sampling_for_lab")))
    assert alone.event_hash == inside.event_hash


def test_a_bare_event_needs_its_context() -> None:
    with pytest.raises(InvalidInputError, match="@context"):
        epcis.hash_events(_event())


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"ilmd": {"lotNumber": "L1"}}, "/epcisBody/eventList/0/ilmd"),
        ({"readPoint": {"id": "https://id.gs1.org/414/9521234500001", "shelf": "3"}}, "shelf"),
        ({"bizLocation": {"id": "https://id.gs1.org/414/9521234500001", "room": "3"}}, "room"),
        ({"ext1:box": {"colour": "red"}}, "/epcisBody/eventList/0/ext1:box/colour"),
        (
            {
                "sensorElementList": [
                    {"sensorReport": [{"type": "gs1:Temperature", "value": 4}], "note": "x"}
                ]
            },
            "/epcisBody/eventList/0/sensorElementList/0",
        ),
        (
            {"sensorElementList": [{"sensorReport": [{"type": "gs1:Temperature", "probe": 1}]}]},
            "/epcisBody/eventList/0/sensorElementList/0/sensorReport/0",
        ),
    ],
)
def test_un_namespaced_extensions_are_refused_with_the_place(
    fields: dict[str, Any], where: str
) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(where)):
        epcis.hash_events(_document(_event(**fields)))


def test_namespaced_extensions_everywhere_are_accepted_and_hashed() -> None:
    event = _event(
        ilmd={"ext1:lotNumber": "L1"},
        readPoint={"id": "https://id.gs1.org/414/9521234500001", "ext1:shelf": "3"},
        sensorElementList=[
            {"sensorReport": [{"type": "gs1:Temperature", "value": 4, "ext1:probe": "p"}]}
        ],
        **{"ext1:box": {"ext1:colour": "red"}},
    )
    (hashed,) = epcis.hash_events(_document(event))
    assert "ilmd{https://ns.example.org/ext1/}lotNumber=L1" in hashed.prehash
    plain = epcis.hash_events(_document(_event()))[0]
    assert hashed.event_hash != plain.event_hash


def test_an_undeclared_extension_prefix_is_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"ilmd/ext7:lot: .*'ext7' is not declared"):
        epcis.hash_events(_document(_event(ilmd={"ext7:lot": "L1"})))


def test_a_protected_term_redefined_is_refused_as_json_ld() -> None:
    context = [CTX, {"cbvmda": "http://example.com/cbvmda/"}]
    with pytest.raises(InvalidInputError, match=r"JSON-LD 1\.1.*protected term redefinition"):
        epcis.hash_events(_document(_event(), context=context))


def test_the_public_hash_route_takes_a_query_document_and_a_bare_event(client: Any) -> None:
    """Over HTTP: /api/v1/trace/hash refused both on main ("must be an EPCISDocument")."""
    query = _load("EPCISQueryDocument.jsonld")
    r = client.post("/api/v1/trace/hash", json=query)
    assert r.status_code == 200, r.text
    assert [e["event_hash"] for e in r.json()["events"]] == [
        h.event_hash for h in epcis.hash_events(query)
    ]
    bare = {"@context": [CTX], **_event()}
    assert client.post("/api/v1/trace/hash", json=bare).status_code == 200
    bad = _document(_event(ilmd={"lotNumber": "L1"}))
    r = client.post("/api/v1/trace/hash", json=bad)
    assert r.status_code == 422
    assert "/epcisBody/eventList/0/ilmd" in r.json()["error"]["message"]
