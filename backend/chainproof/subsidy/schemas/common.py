"""Shared types and examples of the subsidy API's bodies: money, names, statuses, package codes."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from chainproof.subsidy.catalog import get_package
from chainproof.subsidy.money import MAX_WAN, WAN_PLACES, json_number

# --- shared types ----------------------------------------------------------------------------

WanIn = Annotated[
    Decimal,
    Field(ge=0, le=MAX_WAN, decimal_places=WAN_PLACES, description="万元 (10,000 CNY)."),
]
WanOut = Annotated[
    Decimal,
    PlainSerializer(json_number, return_type=Any, when_used="json"),
    WithJsonSchema({"type": "number", "description": "万元 (10,000 CNY)."}),
]
RequestName = Literal["cash", "training", "cloud"]
StatusName = Literal[
    "draft",
    "submitted",
    "under_review",
    "approved",
    "rejected",
    "acceptance_submitted",
    "accepted",
    "acceptance_failed",
]
KindName = Literal["申报书", "合同", "发票", "人员名单", "培训材料", "其他"]
Comment = Annotated[
    str, Field(max_length=2000, description="Kept off chain; hashed into the record.")
]


def _package(code: str) -> str:
    return get_package(code).code  # InvalidInputError is a ValueError: pydantic reports it


PackageCode = Annotated[
    str,
    AfterValidator(_package),
    WithJsonSchema({"type": "string", "description": "A package code of 附件4-1."}),
]

# sha256 of "2023年区块链示范应用申报书"
EX_DIGEST: Final = "0x27a9c60d7e02a0a164c87013e92c9ecee2de0ef8f5367f36a2d952ae80ee746f"
EX_TX: Final = "0x7129e1738184e452b667c67321b41bbc607ea4bcbf9d9281904429ec86380b8e"
EX_ANCHOR: Final[dict[str, Any]] = {
    "root": "0x3bccf72f4360f8af653317414b9c077462de763bcdadee83bdb433bb06e970b8",
    "tx_hash": EX_TX,
    "block_number": 42,
    "block_hash": "0xe4e657139f820bb920c21905b1b00b89cff9500591cd6ceee30d0865594953e2",
    "block_timestamp": 1_688_000_000,
    "anchored_at": "2023-06-29T00:53:20+00:00",
    "chain_id": 31337,
    "contract": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    "submitter": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
}
EX_APPLICANT: Final = "广西示范科技有限公司"


def _examples(*examples: dict[str, Any], forbid: bool = False) -> ConfigDict:
    config = ConfigDict(json_schema_extra={"examples": list(examples)})
    if forbid:
        config["extra"] = "forbid"
    return config
