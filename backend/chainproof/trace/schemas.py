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


class OrgOut(BaseModel):
    model_config = _examples({"member_id": 2, "role": "producer", "glns": ["9506000134376"]})
    member_id: int
    role: str
    glns: list[str]


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


class PublishOut(BaseModel):
    model_config = _examples({"heads": 12, "recalls": 0, "tx_hashes": ["0x…"]})
    heads: int
    recalls: int
    tx_hashes: list[str]
