"""CBV 2.0 event hashes against vectors ChainProof did not write.

The documents, expected hashes and pre-hash strings are copied verbatim from the reference
implementation's repository, https://github.com/RalphTro/epcis-event-hash-generator,
``tests/examples/`` (paths, commits and the known differences in
tests/data/epcis/SOURCES.md). The event hash is
``ni:///sha-256;<sha-256 of the pre-hash>?ver=CBV2.0``.

Where the release and upstream's current CBV 2.0 vectors differ and the CBV 2.0 text does not
side with the vectors (sensor data, user extensions inside ``readPoint``/``bizLocation``/sensor
elements, ``certificationInfo``), or the change is not ours to make here (``parentID`` before
``epcList``), we keep the released behaviour; the tests pin each difference to exactly what
SOURCES.md lists, against upstream's own CBV 2.0 and CBV 2.1 (draft) strings.
"""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from chainproof.errors import InvalidInputError
from chainproof.trace import codes, epcis
from chainproof.trace.chains import GENESIS, head_of, next_link

DATA = Path(__file__).parent.parent / "data" / "epcis"
# (document, its expected .hashes file): every event of each document is checked.
HASHED = [
    ("epcisDocWithVariousEventTypes.jsonld", "epcisDocWithVariousEventTypes.hashes"),
    (
        "epcisDocWithShippingAndTransportingEvent.jsonld",
        "epcisDocWithShippingAndTransportingEvent.hashes",
    ),
    # CBV 2.0 worked example 1 (user extensions at event level).
    ("ReferenceEventHashAlgorithm.jsonld", "ReferenceEventHashAlgorithm.hashes"),
]
ASSOCIATION = "AssociationEvent_all_possible_fields"
EXAMPLE_2 = "ReferenceEventHashAlgorithm2"  # sensor data, no extensions
EXAMPLE_3 = "ReferenceEventHashAlgorithm3"  # a user extension inside readPoint
TRANSACTION = "TransactionEvent_all_possible_fields"  # parentID, epcList and certificationInfo
# The GS1 Web Vocabulary namespace of the EPCIS 2.0.0 context and CBV 2.0 rule 15, and the one
# upstream's current vectors write (see SOURCES.md).
GS1_VOC = "https://gs1.org/voc/"
REF_GS1_VOC = "https://ref.gs1.org/voc/"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any socket connection fails: contexts must come from the bundled copies."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / name).read_text())
    return loaded


def _prehash(stem: str) -> str:
    """An upstream single-event ``.prehashes`` file, checked against its ``.hashes`` file."""
    text = (DATA / f"{stem}.prehashes").read_text().rstrip("\n")
    assert hashlib.sha256(text.encode()).hexdigest() == _digest(stem), (
        f"{stem}: not the hashed copy"
    )
    return text


def _digest(stem: str) -> str:
    """The hex digest of an upstream single-event ``.hashes`` file (CBV 2.0 or 2.1 suffix)."""
    return epcis.hash_hex((DATA / f"{stem}.hashes").read_text().strip())


@pytest.mark.parametrize(("doc_name", "hashes_name"), HASHED)
def test_event_hashes_match_the_upstream_vectors(
    doc_name: str, hashes_name: str, no_network: None
) -> None:
    doc = _load(doc_name)
    expected = (DATA / hashes_name).read_text().split()
    hashed = epcis.hash_document(doc)
    assert len(expected) == len(hashed) == len(doc["epcisBody"]["eventList"])
    for h, want in zip(hashed, expected, strict=True):
        assert h.event_hash == want, f"event {h.index} ({h.event['type']})"
        assert hashlib.sha256(h.prehash.encode()).hexdigest() == epcis.hash_hex(want)


def test_the_vectors_cover_every_event_type() -> None:
    types = {e["type"] for d, _ in HASHED for e in _load(d)["epcisBody"]["eventList"]}
    types |= {e["type"] for e in _load(f"{ASSOCIATION}.json")["epcisBody"]["eventList"]}
    assert types == set(epcis.EVENT_TYPES)


def test_capture_validation_accepts_the_user_vocabulary_step_with_the_same_hashes() -> None:
    """hash_events (what capture uses) gives the vectors' hashes, event 12 included: its
    bizStep is a user vocabulary URI, which GS1's schema allows (issue 24)."""
    doc = _load("epcisDocWithVariousEventTypes.jsonld")
    assert doc["epcisBody"]["eventList"][12]["bizStep"].startswith("http://epcis.example.com/")
    expected = (DATA / "epcisDocWithVariousEventTypes.hashes").read_text().split()
    assert [h.event_hash for h in epcis.hash_events(doc)] == expected


def test_custom_schema_prehash_matches_the_upstream_string(no_network: None) -> None:
    doc = _load("epcisDocWithCustomSchemaInContext.jsonld")
    first = (DATA / "epcisDocWithCustomSchemaInContext.prehashes").read_text().splitlines()[0]
    assert epcis.hash_events(doc)[0].prehash == first


def test_association_event_matches_upstream_up_to_the_sensor_data(no_network: None) -> None:
    """See SOURCES.md: the sensor-data part follows the released implementation."""
    upstream = (DATA / f"{ASSOCIATION}.prehashes").read_text().rstrip("\n")
    assert hashlib.sha256(upstream.encode()).hexdigest() == epcis.hash_hex(
        (DATA / f"{ASSOCIATION}.hashes").read_text().strip()
    ), "the copied vector is not the one upstream hashed"
    ours = epcis.hash_events(_load(f"{ASSOCIATION}.json"))[0].prehash
    cut = upstream.index("sensorElement")
    assert ours[:cut] == upstream[:cut]
    assert ours[cut:].startswith("sensorElementList")


_NOT_FOLLOWED = (
    "upstream's unreleased revision for sensor data and extension points is not adopted: its "
    "vectors also write https://ref.gs1.org/voc/ for GS1 measurement types, which CBV 2.0 and "
    "the EPCIS 2.0.0 context do not (tests/data/epcis/SOURCES.md)"
)


@pytest.mark.xfail(strict=True, reason=_NOT_FOLLOWED)
def test_association_event_full_hash_matches_upstream() -> None:
    want = (DATA / f"{ASSOCIATION}.hashes").read_text().strip()
    assert epcis.hash_events(_load(f"{ASSOCIATION}.json"))[0].event_hash == want


@pytest.mark.xfail(strict=True, reason=_NOT_FOLLOWED)
@pytest.mark.parametrize("stem", [EXAMPLE_2, EXAMPLE_3])
def test_worked_examples_2_and_3_match_upstream_cbv20(stem: str) -> None:
    want = (DATA / f"{stem}.hashes").read_text().strip()
    assert epcis.hash_events(_load(f"{stem}.jsonld"))[0].event_hash == want


def test_association_event_is_the_cbv21_draft_string_but_for_two_values(no_network: None) -> None:
    """Our sensor part is upstream's CBV 2.1 (draft) structure: ``sensorElementList`` written
    once, extensions of sensorMetadata/sensorReport/sensorElement inline. Only two values
    differ: the JSON boolean as the released implementation prints it (``True``) and the GS1
    Web Vocabulary namespace, ``https://gs1.org/voc/`` as in the EPCIS 2.0.0 context we resolve
    the document's context URL to."""
    ours = epcis.hash_events(_load(f"{ASSOCIATION}.json"))[0].prehash
    assert "booleanValue=True" in ours and f"type={GS1_VOC}Temperature" in ours
    mapped = ours.replace("booleanValue=True", "booleanValue=true").replace(GS1_VOC, REF_GS1_VOC)
    assert mapped == _prehash(f"{ASSOCIATION}.cbv21")


def test_example_2_differs_from_cbv20_by_list_label_and_namespace_only(no_network: None) -> None:
    """Sensor data without extensions: upstream's CBV 2.0 string drops the
    ``sensorElementList`` label and writes ``https://ref.gs1.org/voc/`` although the document's
    own context (EPCIS 2.0.0) maps ``gs1`` to ``https://gs1.org/voc/``."""
    ours = epcis.hash_events(_load(f"{EXAMPLE_2}.jsonld"))[0].prehash
    assert ours.count("sensorElementList") == 1
    assert REF_GS1_VOC not in ours and ours.count(f"type={GS1_VOC}") == 4
    as_cbv21 = ours.replace(GS1_VOC, REF_GS1_VOC)
    assert as_cbv21 == _prehash(f"{EXAMPLE_2}.cbv21")
    assert as_cbv21.replace("sensorElementList", "", 1) == _prehash(EXAMPLE_2)


def test_example_3_keeps_the_read_point_extension_inline(no_network: None) -> None:
    """Not sensor-specific: an extension inside readPoint. We write it right after readPoint's
    id (upstream's CBV 2.1 draft, hash identical); upstream's CBV 2.0 reading moves it to a
    trailing ``readPoint{…}`` block before the event-level extensions."""
    ours = epcis.hash_events(_load(f"{EXAMPLE_3}.jsonld"))[0]
    assert ours.prehash == _prehash(f"{EXAMPLE_3}.cbv21")
    assert epcis.hash_hex(ours.event_hash) == _digest(f"{EXAMPLE_3}.cbv21")
    ext = "{https://ns.example.com/epcis/}myField1=AB-12"
    assert "readPointid=https://id.gs1.org/414/4012345000115" + ext in ours.prehash
    assert ours.prehash.replace(ext, "", 1) == _prehash(EXAMPLE_3).replace("readPoint" + ext, "", 1)


def _doc() -> dict[str, Any]:
    return _load("epcisDocWithShippingAndTransportingEvent.jsonld")


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e.update(bizStep="harvest_party"), "not a CBV 2.0 bizStep"),
        (lambda e: e.update(disposition="tasty"), "not a CBV 2.0 disposition"),
        (lambda e: e.update(eventTime="16/02/2022 12:50"), "not an RFC 3339 date-time"),
        (lambda e: e.pop("action"), "'action' is a required property"),
        (lambda e: e.pop("eventTimeZoneOffset"), "eventTimeZoneOffset"),
    ],
)
def test_invalid_events_are_refused_with_the_reason(mutate: Any, reason: str) -> None:
    doc = _doc()
    mutate(doc["epcisBody"]["eventList"][0])
    with pytest.raises(InvalidInputError, match=reason):
        epcis.hash_events(doc)


def test_unknown_contexts_are_refused_not_fetched(no_network: None) -> None:
    doc = _doc()
    doc["@context"] = ["https://example.org/my-context.jsonld"]
    with pytest.raises(InvalidInputError, match="unknown JSON-LD context"):
        epcis.hash_events(doc)


def test_codes_validate_check_digits_and_normalise() -> None:
    c = codes.parse_code("urn:epc:id:sgtin:0614141.107346.2017")
    assert c.uri == "https://id.gs1.org/01/10614141073464/21/2017"
    assert codes.parse_code("https://example.com/01/10614141073464/21/2017").uri == c.uri
    assert c.digital_link("https://resolver.example.cn/") == (
        "https://resolver.example.cn/01/10614141073464/21/2017"
    )
    with pytest.raises(InvalidInputError, match="check digit"):
        codes.item_code("10614141073465", "1")
    p = codes.platform_code("item")
    assert codes.parse_code(p.code) == p
    assert codes.chain_key(b"\x01" * 32, c.uri) != codes.chain_key(b"\x02" * 32, c.uri)


def test_chain_links() -> None:
    d1, d2 = hashlib.sha256(b"a").digest(), hashlib.sha256(b"b").digest()
    one = next_link(GENESIS, d1)
    assert one == "0x" + hashlib.sha256(b"\x00" * 32 + d1).hexdigest()
    assert head_of([d1, d2]) == next_link(one, d2) != head_of([d2, d1])


# Not sensor data: the release writes certificationInfo and puts parentID before epcList;
# upstream's current CBV 2.0 vectors do neither (SOURCES.md). Kept as released; pinned exactly.
_CERT = "certificationInfo=https://accreditation-council.example.org/certificate/ABC12345"
_PARENT = "parentID=https://id.gs1.org/00/106141412345678908"
_EPCS = (
    "epcListepc=https://id.gs1.org/01/10614141073464/21/2017"
    "epc=https://id.gs1.org/01/10614141073464/21/2018"
)


def _before_sensor_data(prehash: str) -> str:
    return prehash[: prehash.index("sensorElement")]


def test_transaction_event_differs_from_cbv20_by_certification_info_only(
    no_network: None,
) -> None:
    """Up to its sensor data, our TransactionEvent pre-hash is upstream's CBV 2.0 string but
    for ``certificationInfo`` (not in CBV 2.0's canonical property order; the release writes it
    third, upstream's current vectors and OpenEPCIS leave it out). ``epcList`` comes before
    ``parentID`` as CBV 2.0 orders them (4th and 5th) and the current vectors do."""
    ours = _before_sensor_data(epcis.hash_events(_load(f"{TRANSACTION}.json"))[0].prehash)
    assert _CERT in ours and _EPCS + _PARENT in ours and _PARENT + _EPCS not in ours
    assert ours.replace(_CERT, "", 1) == _before_sensor_data(_prehash(TRANSACTION))


@pytest.mark.xfail(
    strict=True,
    reason="certificationInfo is kept: CBV 2.0 is silent on it (tests/data/epcis/SOURCES.md)",
)
def test_transaction_event_matches_upstream_up_to_the_sensor_data() -> None:
    ours = epcis.hash_events(_load(f"{TRANSACTION}.json"))[0].prehash
    assert _before_sensor_data(ours) == _before_sensor_data(_prehash(TRANSACTION))


# --- issue 27: the canonical order's one change, on its own --------------------------------


def test_standard_order_puts_epc_list_before_parent_id_and_nothing_else() -> None:
    from chainproof.trace.cbv_hash import _ORDER, _standard_order

    released = [("eventType", None), ("parentID", None), ("x", None), ("epcList", ["epc"])]
    before = list(released)
    assert _standard_order(released) == [
        ("eventType", None),
        ("epcList", ["epc"]),
        ("x", None),
        ("parentID", None),
    ]
    assert released == before  # the library's own list is left alone
    in_order = [("epcList", None), ("parentID", None)]
    assert _standard_order(in_order) == in_order
    for without in ([("parentID", None), ("x", None)], [("x", None), ("epcList", None)], []):
        assert _standard_order(without) == without
    names = [name for name, _ in _ORDER]
    assert names.index("epcList") < names.index("parentID")
    # The three pair lists sit where CBV 2.0 section 8.9 puts them, right after bizLocation.
    at = names.index("bizLocation")
    assert names[at + 1 : at + 4] == ["bizTransactionList", "sourceList", "destinationList"]
    pairs = dict(_ORDER)
    assert pairs["sourceList"] == [("", [("type", None), ("source", None)])]
    assert pairs["destinationList"] == [("", [("type", None), ("destination", None)])]
    assert pairs["bizTransactionList"] == [("", [("type", None), ("bizTransaction", None)])]


def test_wrap_pairs_wraps_only_the_three_pair_lists() -> None:
    from chainproof.trace.cbv_hash import _wrap_pairs

    source = ("sourceList", "", [("type", "owning_party"), ("source", "urn:a")])
    other = ("epcList", "", [("epc", "urn:x")])
    event = ("ObjectEvent", "value", [other, source])
    assert _wrap_pairs(event) == (
        "ObjectEvent",
        "value",
        [
            other,
            ("sourceList", "", [("", "", ["type", "owning_party"]), ("", "", ["source", "urn:a"])]),
        ],
    )
    assert event[2][1] is source  # the parsed event is not changed in place
