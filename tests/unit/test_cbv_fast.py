"""The fast CBV 2.0 path (trace/cbv_fast.py) writes the reference implementation's pre-hash
strings: on every vector, every GS1 example and a Hypothesis-generated corpus of events."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from epcis_event_hash_generator import dl_normaliser, hash_generator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainproof.errors import InvalidInputError
from chainproof.trace import cbv_fast, cbv_walk, epcis

DATA = Path(__file__).parent.parent / "data" / "epcis"
DOCUMENTS = sorted(
    p.relative_to(DATA).as_posix() for p in DATA.rglob("*") if p.suffix in (".json", ".jsonld")
)
CTX = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"


def _both(doc: dict[str, Any]) -> tuple[Any, Any]:
    """(reference, fast) pre-hash strings, or the refusal each gave."""
    out = []
    for reference in (True, False):
        try:
            out.append(
                [h.prehash for h in epcis.hash_document(copy.deepcopy(doc), reference=reference)]
            )
        except InvalidInputError as exc:
            out.append(("refused", exc.message))
    return out[0], out[1]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_fast_path_equals_the_reference_on_every_vector_and_gs1_example(name: str) -> None:
    doc = json.loads((DATA / name).read_text())
    reference, fast = _both(epcis.as_document(doc))
    assert fast == reference


def test_the_fast_path_is_taken_for_the_standard_contexts() -> None:
    doc = json.loads((DATA / "epcisDocWithVariousEventTypes.jsonld").read_text())
    assert cbv_fast.applies(doc)
    doc["@context"].append({"@vocab": "https://example.org/"})
    assert not cbv_fast.applies(doc)


# A corpus of events as partners write them: CBV values in every spelling, user vocabularies,
# EPC URNs and Digital Links, times in any offset, quantities, pairs, sensors, extensions.
_STEPS = st.sampled_from(
    [
        "shipping",
        "receiving",
        "commissioning",
        "urn:epcglobal:cbv:bizstep:packing",
        "https://ref.gs1.org/cbv/BizStep-storing",
        "ext1:summarising_discharge",
        "http://epcis.example.org/hc/bizstep/summarising_discharge",
    ]
)
_DISPOSITIONS = st.sampled_from(
    ["in_transit", "active", "urn:epcglobal:cbv:disp:sellable_accessible", "ext1:quarantined"]
)
_EPCS = st.sampled_from(
    [
        "urn:epc:id:sgtin:0614141.107346.2017",
        "urn:epc:id:sgtin:4012345.011111.9876",
        "https://id.gs1.org/01/09521234543213/21/7",
        "urn:epc:id:sscc:0614141.1234567890",
        "urn:epc:id:giai:952005385.w2",
        "https://example.com/01/10614141073464/21/2017",
    ]
)
_CLASSES = st.sampled_from(
    ["urn:epc:class:lgtin:4012345.011111.4444", "urn:epc:idpat:sgtin:4012345.066666.*"]
)
_LOCATIONS = st.sampled_from(
    ["urn:epc:id:sgln:0614141.00777.0", "https://id.gs1.org/414/9521234500001", "geo:47.5,8.5"]
)
_TIMES = st.builds(
    lambda d, h, m, frac, off: f"2024-05-{d:02d}T{h:02d}:{m:02d}:00{frac}{off}",
    st.integers(1, 28),
    st.integers(0, 23),
    st.integers(0, 59),
    st.sampled_from(["", ".5", ".123", ".123456"]),
    st.sampled_from(["Z", "+08:00", "-05:30", "+00:00"]),
)
_TEXT = st.text(alphabet="abcXYZ019 -_.", min_size=1, max_size=8)
_EXT_VALUE = st.recursive(
    st.one_of(_TEXT, st.integers(-5, 5000), st.sampled_from(["shipping", "in_transit", "true"])),
    lambda inner: st.dictionaries(
        st.sampled_from(["ext1:a", "ext1:b", "ext2:c"]), inner, min_size=1, max_size=3
    ),
    max_leaves=4,
)


@st.composite
def _events(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["ObjectEvent", "AggregationEvent", "TransactionEvent"]))
    event: dict[str, Any] = {
        "type": kind,
        "eventTime": draw(_TIMES),
        "eventTimeZoneOffset": draw(st.sampled_from(["+08:00", "-05:30", "+00:00"])),
        "action": draw(st.sampled_from(["ADD", "OBSERVE", "DELETE"])),
        "bizStep": draw(_STEPS),
        "readPoint": {"id": draw(_LOCATIONS)},
    }
    epcs = draw(st.lists(_EPCS, min_size=1, max_size=3, unique=True))
    if kind == "AggregationEvent":
        event["parentID"] = "urn:epc:id:sscc:0614141.1234567890"
        event["childEPCs"] = epcs
    else:
        event["epcList"] = epcs
        if kind == "TransactionEvent" and draw(st.booleans()):
            event["parentID"] = "urn:epc:id:sscc:0614141.0000000001"
    if draw(st.booleans()):
        event["disposition"] = draw(_DISPOSITIONS)
    if draw(st.booleans()):
        event["bizLocation"] = {"id": draw(_LOCATIONS)}
        if draw(st.booleans()):
            event["bizLocation"]["ext1:room"] = draw(_TEXT)
    if draw(st.booleans()) or kind == "TransactionEvent":
        event["bizTransactionList"] = [
            {"type": t, "bizTransaction": f"urn:epc:id:gdti:0614141.00001.{n}"}
            if t
            else {"bizTransaction": f"urn:epc:id:gdti:0614141.00001.{n}"}
            for n, t in enumerate(
                draw(st.lists(st.sampled_from(["po", "inv", "", "ext1:contract"]), max_size=3))
            )
        ] or [{"type": "po", "bizTransaction": "urn:epc:id:gdti:0614141.00001.1"}]
    if draw(st.booleans()):
        event["sourceList"] = [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00000"}]
        event["destinationList"] = [
            {"type": "location", "destination": "urn:epc:id:sgln:0614141.00777.0"}
        ]
    if draw(st.booleans()):
        key = "childQuantityList" if kind == "AggregationEvent" else "quantityList"
        event[key] = [
            {
                "epcClass": draw(_CLASSES),
                "quantity": draw(st.sampled_from([1, 2.5, 10])),
                "uom": "KGM",
            }
        ]
    if kind == "ObjectEvent" and event["action"] == "ADD" and draw(st.booleans()):
        event["ilmd"] = {"ext1:lot": draw(_TEXT), "cbvmda:bestBeforeDate": "2025-01-01"}
    if draw(st.booleans()):
        event["sensorElementList"] = [
            {
                "sensorMetadata": {"time": draw(_TIMES), "deviceID": "urn:epc:id:giai:4000001.111"},
                "sensorReport": [
                    {
                        "type": draw(st.sampled_from(["Temperature", "gs1:Humidity"])),
                        "value": 4.5,
                        "uom": "CEL",
                    }
                ],
            }
        ]
    for key in draw(st.lists(st.sampled_from(["ext1:box", "ext2:note"]), max_size=2, unique=True)):
        event[key] = draw(_EXT_VALUE)
    return event


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_events(), min_size=1, max_size=4))
def test_fast_path_equals_the_reference_on_a_generated_corpus(events: list[dict[str, Any]]) -> None:
    doc = {
        "@context": [
            CTX,
            {"ext1": "https://ns.example.org/ext1/"},
            {"ext2": "https://ns.example.org/ext2/"},
        ],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-05-01T09:00:00Z",
        "epcisBody": {"eventList": events},
    }
    assert cbv_fast.applies(doc)
    left: list[Any] = []
    real = cbv_fast._reference_walk
    with mock.patch.object(cbv_fast, "_reference_walk", lambda *a: left.append(a) or real(*a)):
        reference, fast = _both(doc)
    assert fast == reference
    assert left == []  # the direct walk wrote every string, not the reference's tuple path


def test_the_direct_walk_writes_the_vectors_and_leaves_odd_shapes_to_the_reference() -> None:
    """The vectors are walked directly; an event with a pair element with a third key (whose
    rule, "the first two children", is the reference's alone) or a readPoint holding only an
    extension takes the reference's path, with the same string."""
    left: list[Any] = []
    real = cbv_fast._reference_walk
    with mock.patch.object(cbv_fast, "_reference_walk", lambda *a: left.append(a) or real(*a)):
        for name in (
            "AssociationEvent_all_possible_fields.json",
            "ReferenceEventHashAlgorithm3.jsonld",
        ):
            doc = epcis.as_document(json.loads((DATA / name).read_text()))
            assert _both(doc)[0] == _both(doc)[1]
        assert left == []
        doc = json.loads((DATA / "epcisDocWithVariousEventTypes.jsonld").read_text())
        event = next(e for e in doc["epcisBody"]["eventList"] if "bizTransactionList" in e)
        event["bizTransactionList"][0]["example:note"] = "x"
        # A readPoint holding only an extension: not gathered as one (one child), so the
        # reference hashes it with the rest, after everything else.
        other = next(e for e in doc["epcisBody"]["eventList"] if "bizTransactionList" not in e)
        other["readPoint"] = {"example:room": "7"}
        reference, fast = _both(doc)
    assert fast == reference
    assert len(left) == 2


_DL_VALID = "\"'-.0123456789;<=>?ABCXYZ_abcxyz"


@st.composite
def _digital_links(draw: st.DrawFn) -> str:
    """Canonical GTIN + serial Digital Links, and each with one part spoilt."""
    parts = [
        "https://id.gs1.org/01/",
        draw(st.text(alphabet="0123456789", min_size=14, max_size=14)),
        "/21/",
        draw(st.text(alphabet=_DL_VALID, max_size=20)),
        "",
    ]
    spoil = draw(st.sampled_from([None, 0, 1, 2, 3, 4]))
    if spoil is not None:
        parts[spoil] = draw(
            [
                st.sampled_from(
                    ["http://id.gs1.org/01/", "https://example.org/01/", "https://id.gs1.org/gtin/"]
                ),
                st.text(alphabet="0123456789٣", min_size=8, max_size=15),
                st.sampled_from(["/10/", "/21", "/ser/", "/22/"]),
                st.text(alphabet=_DL_VALID + "/:%!é ", min_size=1, max_size=24),
                st.sampled_from(["?17=201225", "#x", "\n", "/"]),
            ][spoil]
        )
    return "".join(parts)


@settings(max_examples=400, deadline=None)
@given(_digital_links())
def test_canonical_digital_links_skip_the_normaliser_with_its_answer(uri: str) -> None:
    """cbv_walk.canonize returns what the release's value canonicaliser returns, for the
    canonical form it short-cuts and for near-misses of it."""
    assert cbv_walk.canonize(uri) == hash_generator._canonize_value.__wrapped__(uri)
    if cbv_walk._CANONICAL_SGTIN.fullmatch(uri):
        assert dl_normaliser.normaliser(uri) == uri


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(timezones=st.none()),
    st.sampled_from(["", ".", ".5", ".05", ".123", ".9996", ".123456", ".1234567"]),
    st.sampled_from(["Z", "z", "+08:00", "-05:30", "+14:00", "-00:00", "", "+0800"]),
)
def test_times_read_without_dateutil_format_as_the_release_does(
    moment: Any, fraction: str, offset: str
) -> None:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + offset
    outcomes = []
    for fn in (cbv_fast._release_time_format, cbv_fast._time_format):
        try:
            outcomes.append(fn(text))
        except (ValueError, OverflowError) as exc:
            outcomes.append(type(exc).__name__)
    assert outcomes[0] == outcomes[1]


def test_many_new_values_take_one_whole_expansion_with_the_same_strings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An anonymous caller sending distinct CURIEs gets one expansion of the whole document
    (bounded like the reference), not one per value; the strings stay the reference's."""
    probes: list[Any] = []
    real = cbv_fast._expansions
    monkeypatch.setattr(cbv_fast, "_expansions", lambda *k: probes.append(k) or real(*k))
    base = json.loads((DATA / "epcisDocWithVariousEventTypes.jsonld").read_text())
    events = []
    for i in range(cbv_fast.MAX_PROBES + 5):
        event = copy.deepcopy(base["epcisBody"]["eventList"][0])
        event["bizStep"] = f"example:step_{i}"
        events.append(event)
    base["epcisBody"]["eventList"] = events
    reference, fast = _both(base)
    assert fast == reference
    assert probes == []
