"""Request and response shapes of ``/api/v1/trace`` (with the OpenAPI examples)."""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

EX_HASH: Final = (
    "ni:///sha-256;7a82a68b0f9c78bebb1c729d950edbf1fd40c56f3351906020d2d67d5dffbc72?ver=CBV2.0"
)
EX_CODE: Final = "01/09506000134352/21/JJ0001"

EX_DOCUMENT: Final[dict[str, Any]] = {
    "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
    "type": "EPCISDocument",
    "schemaVersion": "2.0",
    "creationDate": "2024-11-20T08:00:00+08:00",
    "epcisBody": {
        "eventList": [
            {
                "type": "ObjectEvent",
                "eventTime": "2024-11-20T08:00:00+08:00",
                "eventTimeZoneOffset": "+08:00",
                "epcList": ["https://id.gs1.org/01/09506000134352/21/JJ0001"],
                "action": "ADD",
                "bizStep": "commissioning",
                "disposition": "active",
                "readPoint": {"id": "https://id.gs1.org/414/9506000134376"},
            }
        ]
    },
}


def _examples(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]})


class EventHashOut(BaseModel):
    event_hash: str = Field(description="CBV 2.0 event hash, `ni:///sha-256;…?ver=CBV2.0`.")
    prehash: str = Field(description="The canonical pre-hash string the hash is taken over.")


class HashOut(BaseModel):
    """Each event's hash, in document order."""

    model_config = _examples({"events": [{"event_hash": EX_HASH, "prehash": "eventType=…"}]})
    events: list[EventHashOut]


class CapturedOut(BaseModel):
    event_hash: str
    event_id: int
    created: bool = Field(description="False when the same event was captured before.")


class CaptureOut(BaseModel):
    """The captured events, in document order."""

    model_config = _examples({"events": [{"event_hash": EX_HASH, "event_id": 12, "created": True}]})
    events: list[CapturedOut]


class ItemsIn(BaseModel):
    """GTIN + serials (GS1 Digital Link), or `count` platform codes for products without a
    GTIN; `lot` links the items to their lot."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "product": "融安金桔 500 g",
                    "gtin": "09506000134352",
                    "lot": "RA2024A",
                    "serials": ["JJ0001", "JJ0002"],
                }
            ]
        },
    )
    product: str = Field(min_length=1, max_length=200)
    gtin: str | None = Field(default=None, max_length=14)
    lot: str | None = Field(default=None, max_length=20)
    serials: list[str] = Field(default_factory=list, max_length=10_000)
    count: int = Field(default=0, ge=0, le=10_000)


class ItemOut(BaseModel):
    kind: str
    code: str = Field(description="What `/t/{code}` takes.")
    uri: str = Field(description="Canonical URI, as in EPCIS events.")
    digital_link: str | None = Field(description="On the configured resolver (QR content).")
    scan_url: str
    product: str | None
    lot: str | None


class ItemsOut(BaseModel):
    model_config = _examples(
        {
            "items": [
                {
                    "kind": "item",
                    "code": EX_CODE,
                    "uri": "https://id.gs1.org/" + EX_CODE,
                    "digital_link": "https://id.gs1.org/" + EX_CODE,
                    "scan_url": "http://127.0.0.1:8000/t/" + EX_CODE,
                    "product": "融安金桔 500 g",
                    "lot": "RA2024A",
                }
            ]
        }
    )
    items: list[ItemOut]


class OrgIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"member_id": 2, "role": "producer", "glns": ["9506000134376"]}]
        },
    )
    member_id: int = Field(ge=1, le=2**63 - 1)
    role: str = Field(description="producer, processor, logistics, retailer or regulator")
    glns: list[str] = Field(default_factory=list, max_length=1000)
    names: list[str | None] | None = None
    prefixes: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="GS1 company prefixes (4-12 digits) and platform-code namespaces (CP + 1-4 "
        "characters) to admit: the org registers items and lots only under these.",
    )


class OrgOut(BaseModel):
    model_config = _examples(
        {"member_id": 2, "role": "producer", "glns": ["9506000134376"], "prefixes": ["9506000134"]}
    )
    member_id: int
    role: str
    glns: list[str]
    prefixes: list[str] = Field(default_factory=list)


class PrefixIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"prefix": "9506000134"}]}
    )
    prefix: str = Field(
        min_length=3,
        max_length=14,
        description="A GS1 company prefix (4-12 digits) or a platform-code namespace (CP + 1-4 "
        "Crockford base-32 characters).",
    )


class RecallIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"lot": "01/09506000134352/10/RA2024A", "reason": "农残超标"}]
        },
    )
    lot: str = Field(min_length=1, max_length=300)
    reason: str = Field(min_length=1, max_length=500)


class RecallOut(BaseModel):
    model_config = _examples(
        {"recall_id": 1, "lot": "01/09506000134352/10/RA2024A", "reason_hash": "0x…"}
    )
    recall_id: int
    lot: str
    reason_hash: str
    lifted_at: str | None = Field(default=None, description="When the recall was lifted.")
    lift_reason_hash: str | None = None


class PublishOut(BaseModel):
    model_config = _examples({"heads": 12, "recalls": 0, "tx_hashes": ["0x…"]})
    heads: int
    recalls: int
    tx_hashes: list[str]
    lifts: int = Field(default=0, description="Recall lifts sent on chain.")


EX_PREHASH: Final = (
    "eventType=ObjectEvent\neventTime=2024-11-20T00:00:00.000Z\neventTimeZoneOffset=+08:00"
    "\nepcListepc=https://id.gs1.org/01/09506000134352/21/JJ0001\naction=ADD"
    "\nbizStep=https://ref.gs1.org/cbv/BizStep-commissioning"
)
EX_LINK: Final = "0x5f1c0a4e9e0b7d27c4a0a6a3f7d7b8f9e5b2c3d4e5f60718293a4b5c6d7e8f90"
EX_EVENT: Final[dict[str, Any]] = {
    "event_hash": EX_HASH,
    "type": "ObjectEvent",
    "biz_step": "commissioning",
    "event_time": "2024-11-20T08:00:00+08:00",
    "event_time_local": "2024-11-20 08:00 (UTC+08:00)",
    "event_time_zone_offset": "+08:00",
    "location": "https://id.gs1.org/414/9506000134376",
    "location_gln": "9506000134376",
    "location_name": "融安县大将镇金桔果园",
    "disposition": "active",
    "prehash": EX_PREHASH,
    "evidence_id": "01943b2e-7c00-7a3f-9d21-5c8e4b7f0a16",
    "seq": 1,
    "prev": "0x" + "00" * 32,
    "link": EX_LINK,
    "part": "epc",
}


class TraceEventOut(BaseModel):
    """One event as stored: its CBV 2.0 hash, the pre-hash it was taken over, and (in an
    item's history) its place in the item's hash chain."""

    event_hash: str = Field(description="CBV 2.0 event hash, `ni:///sha-256;…?ver=CBV2.0`.")
    type: str = Field(description="EPCIS event type.")
    biz_step: str | None = Field(description="CBV bizStep (short name).")
    event_time: str | None
    event_time_local: str | None = Field(
        default=None, description="The time on the clock where it happened, for people."
    )
    event_time_zone_offset: str
    location: str | None = Field(description="readPoint or bizLocation.")
    location_gln: str | None = Field(default=None, description="The location's GLN.")
    location_name: str | None = Field(
        default=None, description="The place's registered name, else its owner org's name."
    )
    disposition: str | None
    prehash: str = Field(description="SHA-256 of this string is the event hash.")
    evidence_id: str | None = Field(
        description="The public id of the evidence record anchoring the event hash."
    )
    seq: int | None = Field(default=None, description="1-based position in the item's chain.")
    prev: str | None = Field(default=None, description="The chain link before this event.")
    link: str | None = Field(default=None, description="SHA-256(prev ‖ event digest).")
    part: str | None = Field(
        default=None, description="How the item takes part: epc, parent, child, input, output."
    )
    event: dict[str, Any] | None = Field(default=None, description="The EPCIS event as captured.")


class EventsOut(BaseModel):
    """Events matching every given parameter, oldest first."""

    model_config = _examples(
        {"events": [{k: v for k, v in EX_EVENT.items() if k not in {"seq", "prev", "link"}}]}
    )
    events: list[TraceEventOut]


class OnChainHeadOut(BaseModel):
    available: bool = Field(description="False when the chain could not be read.")
    chain_id: int | None = None
    contract: str | None = Field(default=None, description="TraceRegistry address.")
    item_key: str | None = None
    head: str | None = Field(default=None, description="headOf(item_key) on chain.")
    count: int | None = Field(default=None, description="Events covered by the head.")
    updated_at: int | None = Field(default=None, description="Block time of the last update.")
    rpc_url: str | None = Field(
        default=None,
        description="A JSON-RPC URL of the chain: ask it `headOf(item_key)` yourself "
        "(null for an in-process chain).",
    )


class CrossChainRecallOut(BaseModel):
    """Where a recall raised on a sub-chain was proven (issue 22, docs/crosschain.md)."""

    chain_id: int = Field(description="The sub-chain whose TraceRegistry recalled the lot.")
    tx_hash: str = Field(description="The recall's transaction there.")
    block_number: int
    checkpoint_index: int = Field(description="The main chain's checkpoint holding its block.")


class RecallNoteOut(BaseModel):
    """One recall of the item's lot or of a lot it came from, in force or lifted."""

    lot: str
    reason: str | None
    on_chain: bool = Field(description="The recall is on chain (TraceRegistry `recall`).")
    recalled_at: str | None = None
    lifted_at: str | None = Field(default=None, description="When it was lifted (null: in force).")
    lift_reason: str | None = None
    lift_on_chain: bool = Field(default=False, description="The lift is on chain (`liftRecall`).")
    chain_recalled_at: int | None = Field(
        default=None, description="recallOf(lot key).recalledAt on chain: 0 when none in force."
    )
    chain_lifted_at: int | None = Field(
        default=None, description="recallOf(lot key).liftedAt on chain: 0 when never lifted."
    )
    cross_chain: CrossChainRecallOut | None = Field(
        default=None, description="Set when a sub-chain raised it, proven by its checkpoint."
    )


class ScansOut(BaseModel):
    count: int
    first_at: str | None
    last_hour: int
    suspicious: bool = Field(description="Scanned suspiciously often: the code may be cloned.")


class ItemHistoryOut(BaseModel):
    """An item's history, its on-chain head, and the verdict (see docs/trace.md)."""

    model_config = _examples(
        {
            "code": EX_CODE,
            "uri": "https://id.gs1.org/" + EX_CODE,
            "kind": "item",
            "product": "融安金桔 500 g",
            "gtin": "09506000134352",
            "serial": "JJ0001",
            "lot": "01/09506000134352/10/RA2024A",
            "salt": "0x" + "ab" * 32,
            "item_key": "0x" + "cd" * 32,
            "events": [EX_EVENT],
            "head": EX_LINK,
            "count": 1,
            "onchain": {
                "available": True,
                "chain_id": 31337,
                "contract": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
                "item_key": "0x" + "cd" * 32,
                "head": EX_LINK,
                "count": 1,
                "updated_at": 1732060800,
                "rpc_url": "http://127.0.0.1:8545",
            },
            "badge": "verified",
            "badge_reason": "every event is covered by the head on chain",
            "badge_reason_code": "covered",
            "badge_reason_params": {},
            "recalls": [],
            "scans": {
                "count": 3,
                "first_at": "2024-11-20T02:00:00+00:00",
                "last_hour": 1,
                "suspicious": False,
            },
        }
    )
    code: str
    uri: str
    kind: str
    product: str | None
    gtin: str | None
    serial: str | None
    lot: str | None
    salt: str = Field(description="Hashed with the URI into item_key (serials are guessable).")
    item_key: str
    events: list[TraceEventOut]
    head: str | None = Field(description="The head the server holds (may be ahead of chain).")
    count: int
    onchain: OnChainHeadOut
    badge: str = Field(description="verified, recalled, incomplete or unverifiable.")
    badge_reason: str = Field(description="Why, in English.")
    badge_reason_code: str = Field(description="Why, as a code pages translate.")
    badge_reason_params: dict[str, Any]
    recalls: list[RecallNoteOut]
    scans: ScansOut


class LineageNodeOut(BaseModel):
    kind: str
    code: str
    uri: str
    product: str | None


class LineageOut(BaseModel):
    """Every input an item or lot came from (backward) and everything it reached (forward)."""

    model_config = _examples(
        {
            "code": "01/09506000134352/10/RA2024A",
            "kind": "lot",
            "backward": [],
            "forward": [
                {
                    "kind": "item",
                    "code": EX_CODE,
                    "uri": "https://id.gs1.org/" + EX_CODE,
                    "product": "融安金桔 500 g",
                }
            ],
        }
    )
    code: str
    kind: str
    backward: list[LineageNodeOut]
    forward: list[LineageNodeOut]


_EX_LOT_ROW: Final = {
    "relation": "recalled",
    "kind": "lot",
    "code": "01/09506000134352/10/RA2024A",
    "uri": "https://id.gs1.org/01/09506000134352/10/RA2024A",
    "product": "融安金桔",
    "gtin": "09506000134352",
    "serial": None,
    "lot": "RA2024A",
}
EX_RECALL_REPORT: Final[dict[str, Any]] = {
    "recall_id": 1,
    "lot": _EX_LOT_ROW,
    "reason": "农残超标",
    "reason_hash": "0x" + "9a" * 32,
    "recalled_at": "2024-11-25T02:00:00+00:00",
    "on_chain_tx": "0x" + "7b" * 32,
    "affected_items": [
        {
            "relation": "downstream",
            "kind": "item",
            "code": EX_CODE,
            "uri": "https://id.gs1.org/" + EX_CODE,
            "product": "融安金桔 500 g",
            "gtin": "09506000134352",
            "serial": "JJ0001",
            "lot": "RA2024A",
        }
    ],
    "downstream_lots": [],
    "inputs": [],
}
EX_RECALL_CSV: Final = (
    "relation,kind,code,uri,product,gtin,serial,lot\n"
    "recalled,lot,01/09506000134352/10/RA2024A,https://id.gs1.org/01/09506000134352/10/RA2024A,"
    "融安金桔,09506000134352,,RA2024A\n"
    f"downstream,item,{EX_CODE},https://id.gs1.org/{EX_CODE},融安金桔 500 g,09506000134352,"
    "JJ0001,RA2024A\n"
)
EX_QR_SVG: Final = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 33 33">…</svg>'
