"""Demo data for the seed's trace cases (``seeds/001_…txt`` 附件2), generated, idempotent.

- 融安金桔: orchard (producer, its harvest lot) → sorting center (processor, packs its own
  boxes from the harvest lot) → cold chain (logistics) → retail (retailer);
- 螺蛳粉: rice-noodle and snail-broth lots (producer) → production line (processor, a
  TransformationEvent into its own bags, one QR per bag) → shop (retailer).

Each org owns the GS1 company prefixes of its products (:data:`PREFIXES`), and every
hand-over is a shipping event naming the receiver's GLN followed by the receiver's
receiving event (``trace/ownership.py``), so custody follows the goods.

Running it twice changes nothing: members, roles and items are get-or-create, and
captured events are identified by their CBV 2.0 hash (a known event is not stored again).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from chainproof import identity
from chainproof.chain.context import ChainContext
from chainproof.trace import capture, heads, ownership, roles

DL = "https://id.gs1.org"
# GS1 GTINs/GLNs of the 950 "GS1 Global Office" prefix range: never real products.
ORCHARD, SORTING, COLD, MARKET = "9506000140018", "9506000140025", "9506000140032", "9506000140049"
MATERIALS, LINE, SHOP = "9506000140056", "9506000140063", "9506000140070"
KUMQUAT_BOX, NOODLE, SNAIL, BAG, HARVEST = (
    "09506000141008",
    "09506000141015",
    "09506000141022",
    "09506000141039",
    "09506000141046",
)
ORGS: dict[str, tuple[str, list[str]]] = {
    "融安金桔合作社": ("producer", [ORCHARD]),
    "融安金桔分拣中心": ("processor", [SORTING]),
    "北部湾冷链物流": ("logistics", [COLD]),
    "南宁水果超市": ("retailer", [MARKET, SHOP]),
    "柳州螺蛳粉原料基地": ("producer", [MATERIALS]),
    "柳州螺蛳粉生产线": ("processor", [LINE]),
}
# What a shopper reads on the scan page instead of a 13-digit GLN.
# 12-digit GS1 company prefixes, one product each (the GTIN-13 digits before the check digit).
PREFIXES: dict[str, list[str]] = {
    "融安金桔合作社": [HARVEST[1:13]],
    "融安金桔分拣中心": [KUMQUAT_BOX[1:13]],
    "柳州螺蛳粉原料基地": [NOODLE[1:13], SNAIL[1:13]],
    "柳州螺蛳粉生产线": [BAG[1:13]],
}
PLACES: dict[str, str] = {
    ORCHARD: "融安县大将镇金桔果园",
    SORTING: "融安金桔分拣包装中心",
    COLD: "北部湾冷链 南宁冷库",
    MARKET: "南宁水果超市 青秀店",
    SHOP: "南宁水果超市 螺蛳粉专柜",
    MATERIALS: "柳州螺蛳粉原料基地",
    LINE: "柳州螺蛳粉生产线 1 号线",
}


@dataclass(frozen=True)
class TraceDemo:
    scan_paths: list[str]  # "/t/{code}" of the demo items, to print or open
    events: int  # events in the demo documents (stored once, whatever the runs)
    published_heads: int  # heads sent on chain by this run (0 without a chain)


def _doc(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-11-20T08:00:00+08:00",
        "epcisBody": {"eventList": list(events)},
    }


def _ev(kind: str, step: str, at: str, gln: str, **fields: Any) -> dict[str, Any]:
    e: dict[str, Any] = {
        "type": kind,
        "eventTime": at,
        "eventTimeZoneOffset": "+08:00",
        "bizStep": step,
        "readPoint": {"id": f"{DL}/414/{gln}"},
        **fields,
    }
    if kind != "TransformationEvent":
        e.setdefault("action", "OBSERVE")
    return e


def _ship(at: str, gln: str, to: str, **fields: Any) -> dict[str, Any]:
    """A shipping event handing its things over to the org owning GLN ``to``."""
    dest = [{"type": "location", "destination": f"{DL}/414/{to}"}]
    return _ev("ObjectEvent", "shipping", at, gln, destinationList=dest, **fields)


def seed_trace_demo(
    *,
    engine: Engine,
    chain: ChainContext | None = None,
    data_dir: Path | None = None,
) -> TraceDemo:
    """Seeds the two cases through the trace services (the same checks as the API).

    ``engine``: the migrated database; ``chain`` (with ``data_dir``, where the
    TraceRegistry deployment record lives): when given and healthy, pending heads are
    published at the end so the scan pages say "verified" at once; otherwise the app's
    publisher does it later. Returns the scan paths to print.
    """
    members: dict[str, int] = {}
    with Session(engine) as s:
        for name, (role, glns) in ORGS.items():
            m = identity.create_member(session=s, name=name)
            assert m.id is not None
            roles.register_org(
                session=s,
                member_id=m.id,
                role=role,
                glns=glns,
                names=[PLACES.get(g) for g in glns],
            )
            members[name] = m.id
            trace_org = roles.org_of(s, m.id)
            assert trace_org is not None
            for prefix in PREFIXES.get(name, []):
                ownership.admit_prefix(session=s, org=trace_org, prefix=prefix)
    boxes = [f"JJ{n:04d}" for n in range(1, 4)]
    bags = [f"LSF{n:05d}" for n in range(1, 4)]
    box_uris = [f"{DL}/01/{KUMQUAT_BOX}/21/{b}" for b in boxes]
    bag_uris = [f"{DL}/01/{BAG}/21/{b}" for b in bags]
    harvest = {"epcClass": f"{DL}/01/{HARVEST}/10/RA2024A", "quantity": 500, "uom": "KGM"}
    noodle = {"epcClass": f"{DL}/01/{NOODLE}/10/MF2411", "quantity": 300, "uom": "KGM"}
    snail = {"epcClass": f"{DL}/01/{SNAIL}/10/LS2411", "quantity": 120, "uom": "KGM"}
    with Session(engine) as s:
        capture.register_items(
            session=s,
            member_id=members["融安金桔分拣中心"],
            product="融安金桔 精品礼盒 2.5kg",
            gtin=KUMQUAT_BOX,
            lot="RA2024A",
            serials=boxes,
        )
        capture.register_items(
            session=s,
            member_id=members["柳州螺蛳粉生产线"],
            product="柳州螺蛳粉 320g 袋装",
            gtin=BAG,
            lot="P241102",
            serials=bags,
        )
    plan: list[tuple[str, dict[str, Any]]] = [
        (
            "融安金桔合作社",
            _doc(
                _ev(
                    "ObjectEvent",
                    "commissioning",
                    "2024-11-18T07:30:00+08:00",
                    ORCHARD,
                    action="ADD",
                    quantityList=[harvest],
                ),
                _ship("2024-11-18T10:00:00+08:00", ORCHARD, SORTING, quantityList=[harvest]),
            ),
        ),
        (
            "融安金桔分拣中心",
            _doc(
                _ev(
                    "ObjectEvent",
                    "receiving",
                    "2024-11-18T11:00:00+08:00",
                    SORTING,
                    quantityList=[harvest],
                ),
                _ev(
                    "TransformationEvent",
                    "packing",
                    "2024-11-18T14:00:00+08:00",
                    SORTING,
                    inputQuantityList=[harvest],
                    outputEPCList=box_uris,
                ),
                _ship("2024-11-19T05:00:00+08:00", SORTING, COLD, epcList=box_uris),
            ),
        ),
        (
            "北部湾冷链物流",
            _doc(
                _ev(
                    "ObjectEvent",
                    "receiving",
                    "2024-11-19T05:30:00+08:00",
                    COLD,
                    epcList=box_uris,
                ),
                _ev(
                    "ObjectEvent",
                    "departing",
                    "2024-11-19T06:00:00+08:00",
                    COLD,
                    epcList=box_uris,
                    bizTransactionList=[
                        {
                            "type": "desadv",
                            "bizTransaction": "urn:epcglobal:cbv:bt:9506000140032:CK2411190001",
                        }
                    ],
                ),
                _ev(
                    "ObjectEvent",
                    "transporting",
                    "2024-11-19T12:00:00+08:00",
                    COLD,
                    epcList=box_uris,
                ),
                _ship("2024-11-19T17:00:00+08:00", COLD, MARKET, epcList=box_uris),
            ),
        ),
        (
            "南宁水果超市",
            _doc(
                _ev(
                    "ObjectEvent",
                    "receiving",
                    "2024-11-19T18:00:00+08:00",
                    MARKET,
                    epcList=box_uris,
                )
            ),
        ),
        (
            "柳州螺蛳粉原料基地",
            _doc(
                _ev(
                    "ObjectEvent",
                    "commissioning",
                    "2024-11-01T08:00:00+08:00",
                    MATERIALS,
                    action="ADD",
                    quantityList=[noodle, snail],
                ),
                _ship("2024-11-01T16:00:00+08:00", MATERIALS, LINE, quantityList=[noodle, snail]),
            ),
        ),
        (
            "柳州螺蛳粉生产线",
            _doc(
                _ev(
                    "ObjectEvent",
                    "receiving",
                    "2024-11-02T08:00:00+08:00",
                    LINE,
                    quantityList=[noodle, snail],
                ),
                _ev(
                    "TransformationEvent",
                    "commissioning",
                    "2024-11-02T09:00:00+08:00",
                    LINE,
                    inputQuantityList=[noodle, snail],
                    outputEPCList=bag_uris,
                ),
                _ship("2024-11-04T09:00:00+08:00", LINE, SHOP, epcList=bag_uris),
            ),
        ),
        (
            "南宁水果超市",
            _doc(
                _ev("ObjectEvent", "receiving", "2024-11-05T10:00:00+08:00", SHOP, epcList=bag_uris)
            ),
        ),
    ]
    total = 0
    for org, doc in plan:
        with Session(engine) as s:
            total += len(capture.capture_document(session=s, member_id=members[org], doc=doc))
    published = 0
    if chain is not None and chain.status().ok:
        published = heads.publish_pending(engine=engine, chain=chain, data_dir=data_dir).heads
    paths = [f"/t/01/{KUMQUAT_BOX}/21/{b}" for b in boxes] + [f"/t/01/{BAG}/21/{b}" for b in bags]
    return TraceDemo(scan_paths=paths, events=total, published_heads=published)
