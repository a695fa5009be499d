"""Request and response bodies of the HTTP API, each with an example for ``/docs``.

Names and fields follow issue 3's API section, a contract other tools rely on: fields may
be added, never renamed. Responses that show metadata only to its owner declare those
fields optional and are sent with ``response_model_exclude_unset``, so an anonymous caller
gets no ``label`` key at all rather than ``"label": null``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from chainproof.digests import DIGEST_SIZE, Algorithm, parse_hex, to_hex
from chainproof.evidence.intake import MAX_BULK
from chainproof.identity import MEMBER_NAME_MAX
from chainproof.store.models import LABEL_LEN
from chainproof.vocabulary import Verdict

# --- shared examples -------------------------------------------------------------------------

EX_DIGEST: Final = "0x5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
EX_ROOT: Final = "0x3bccf72f4360f8af653317414b9c077462de763bcdadee83bdb433bb06e970b8"
EX_TX: Final = "0x7129e1738184e452b667c67321b41bbc607ea4bcbf9d9281904429ec86380b8e"
EX_BLOCK_HASH: Final = "0xe4e657139f820bb920c21905b1b00b89cff9500591cd6ceee30d0865594953e2"
EX_SALT: Final = "0x9c1e3f5a0b7d2c4e6f8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e"
EX_CONTRACT: Final = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
EX_SUBMITTER: Final = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
EX_CHAIN_ID: Final = 31337
EX_TIMESTAMP: Final = 1_735_689_600
EX_EVIDENCE_ID: Final = "01943b2e-7c00-7a3f-9d21-5c8e4b7f0a16"
EX_ANCHOR: Final[dict[str, Any]] = {
    "root": EX_ROOT,
    "tx_hash": EX_TX,
    "block_number": 42,
    "block_hash": EX_BLOCK_HASH,
    "block_timestamp": EX_TIMESTAMP,
    "chain_id": EX_CHAIN_ID,
    "contract": EX_CONTRACT,
    "submitter": EX_SUBMITTER,
}
EX_RECEIPT: Final[dict[str, Any]] = {
    "version": 1,
    "algorithm": "sha256",
    "digest": EX_DIGEST,
    "salt": EX_SALT,
    "leaf_types": ["string", "bytes32", "bytes32"],
    "leaf_values": ["sha256", EX_DIGEST, EX_SALT],
    "leaf_hash": "0x1f3a5c7e9b0d2f4a6c8e0b1d3f5a7c9e2b4d6f8a0c1e3f5a7b9d0e2f4a6c8e0b",
    "proof": ["0x2b4d6f8a0c1e3f5a7b9d0e2f4a6c8e0b1f3a5c7e9b0d2f4a6c8e0b1d3f5a7c9e"],
    "root": EX_ROOT,
    "chain_id": EX_CHAIN_ID,
    "contract": EX_CONTRACT,
    "tx_hash": EX_TX,
    "block_number": 42,
    "block_hash": EX_BLOCK_HASH,
    "block_timestamp": EX_TIMESTAMP,
    "submitter": EX_SUBMITTER,
    "issued_at": "2025-01-01T00:00:05+00:00",
    "evidence_id": EX_EVIDENCE_ID,
    "label": "2023 示范应用申报书",
}


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


def _digest(value: str) -> str:
    # InvalidInputError is a ValueError: pydantic reports it at the item's index.
    return to_hex(parse_hex(value, size=DIGEST_SIZE, what="digest"))


DigestHex = Annotated[
    str,
    AfterValidator(_digest),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^(0x)?[0-9a-fA-F]{64}$",
            "description": "32 bytes in hex, 0x optional, any case.",
            "examples": [EX_DIGEST],
        }
    ),
]
Label = Annotated[str, Field(max_length=LABEL_LEN, description="Free text, kept off chain.")]


# --- errors ----------------------------------------------------------------------------------


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable name, e.g. `not_found`.")
    message: str = Field(description="What went wrong, for people.")


class ErrorOut(BaseModel):
    """Every error answer."""

    model_config = _examples(
        {"error": {"code": "not_found", "message": f"no evidence with id {EX_EVIDENCE_ID!r}"}},
    )

    error: ErrorBody


ERROR_TEXT: Final = {
    400: "The body cannot be parsed (truncated multipart, missing boundary, not JSON).",
    401: "No API key, or one that is not valid. Comes with `WWW-Authenticate: Bearer`.",
    403: "The key's role or organisation may not do this.",
    404: "No such record.",
    409: "The record's state does not allow it (still pending, already revoked).",
    413: "The body is over the server's upload limit.",
    415: "The Content-Type is not one this endpoint reads.",
    422: "A value is invalid; the message names the field (and index).",
    429: "Over a rate limit (per key, or per client address); `Retry-After` says when to retry.",
    503: "The chain is unreachable, or not the chain the index was built on.",
}


def public_id_path(of: str, example: str) -> Any:
    """The path parameter naming one ``of`` (evidence, licence, recording) by its public id
    (a UUIDv7, ``public_ids.py``). Not validated here: anything that is not one (an old
    integer id included) is the same 404 as an id nobody has, not a 422 saying so."""
    return Path(
        description=f"The {of}'s public id (a UUIDv7).",
        examples=[example],
        json_schema_extra={"format": "uuid"},
    )


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting the error envelope for ``codes``."""
    return {code: {"model": ErrorOut, "description": ERROR_TEXT[code]} for code in codes}


# --- evidence --------------------------------------------------------------------------------


class AcceptedItem(BaseModel):
    id: str = Field(description="The public id (a UUIDv7) that names the record everywhere.")
    algorithm: Algorithm
    digest: str = Field(description="0x + 64 lowercase hex digits.")
    status: str = Field(description="`queued` on acceptance.")


class AcceptedOut(BaseModel):
    """Documents accepted into the anchoring queue, in request order."""

    model_config = _examples(
        {
            "items": [
                {
                    "id": EX_EVIDENCE_ID,
                    "algorithm": "sha256",
                    "digest": EX_DIGEST,
                    "status": "queued",
                },
            ]
        }
    )

    items: list[AcceptedItem]


class DigestsIn(BaseModel):
    """Digests computed by the client: the documents never leave its machine."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"algorithm": "sha256", "digests": [EX_DIGEST], "label": "发票 2023-118"}]
        },
    )

    algorithm: Algorithm = "sha256"
    digests: list[DigestHex] = Field(min_length=1, max_length=MAX_BULK)
    label: Label | None = None
    business_type: str | None = Field(
        None,
        max_length=64,
        description="A business type's code (业务类型): typed evidence, docs/business-types.md.",
    )
    metadata: dict[str, Any] | None = Field(
        None,
        description=(
            "The document's metadata, checked against its business type's JSON Schema (400 "
            "naming the failing field) and committed in each leaf's salt."
        ),
    )
    channel: str | None = Field(
        None,
        max_length=100,
        description="A channel (通道) of the caller's org whose members see the records.",
    )


class AnchorOut(BaseModel):
    root: str
    tx_hash: str | None
    block_number: int
    block_hash: str | None
    block_timestamp: int | None
    chain_id: int
    contract: str
    submitter: str | None = None
    anchored_at: str | None = Field(None, description="The block's time (ISO 8601, UTC).")


class EvidenceOut(BaseModel):
    """One document's record: id and status for everyone; the other fields only for those
    who may see them (its member, admins, reviewers of its subsidy application)."""

    model_config = _examples(
        {
            "id": EX_EVIDENCE_ID,
            "algorithm": "sha256",
            "digest": EX_DIGEST,
            "status": "anchored",
            "anchor": EX_ANCHOR,
            "member": "广西示范科技有限公司",
            "label": "2023 示范应用申报书",
            "filename": "申报书.pdf",
            "size": 183_204,
            "created_at": "2025-01-01T00:00:00.120000+00:00",
            "confirmed_at": "2025-01-01T00:00:01.480000+00:00",
            "revoked_at": None,
            "revoke_reason": None,
        }
    )

    id: str
    status: Literal["queued", "batched", "anchored", "revoked"]
    algorithm: str | None = None
    digest: str | None = None
    anchor: AnchorOut | None = None
    member: str | None = None
    label: str | None = None
    filename: str | None = None
    size: int | None = None
    created_at: str | None = None
    confirmed_at: str | None = Field(
        None,
        description=(
            "When the index saw enough confirmations; the proof of time is anchor.anchored_at."
        ),
    )
    revoked_at: str | None = None
    revoke_reason: str | None = None
    business_type: str | None = Field(
        None, description="Typed evidence: its business type's code (业务类型)."
    )
    metadata: dict[str, Any] | None = Field(
        None, description="Typed evidence: its metadata, as committed in the leaf."
    )


class RevokeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "submitted the wrong version of the file"}]},
    )

    reason: str = Field(min_length=1, max_length=500, description="Kept off chain; its hash is on.")


# --- verification ----------------------------------------------------------------------------


class VerifyDigestIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"algorithm": "sha256", "digest": EX_DIGEST}]},
    )

    algorithm: Algorithm = "sha256"
    digest: DigestHex


class EndpointAgreementOut(BaseModel):
    required: int = Field(description="How many endpoints must agree (the quorum).")
    agreed: int = Field(description="How many report the same anchoring block hash.")
    asked: int = Field(description="The endpoints of this chain that were asked.")


class VerdictOut(BaseModel):
    """Is this document on chain? The verdict for everyone; member, chain data and
    metadata only for those who may see the record (its member, admins, reviewers of its
    subsidy application). A stranger learns "anchored or not", never by whom or when."""

    model_config = _examples(
        {
            "verdict": "anchored",
            "reason": None,
            "algorithm": "sha256",
            "digest": EX_DIGEST,
            "matches": 1,
            "status": "anchored",
            "member": "广西示范科技有限公司",
            **EX_ANCHOR,
            "anchored_at": "2025-01-01T00:00:00+00:00",
        },
        {
            "verdict": "not_found",
            "reason": "no evidence with this digest",
            "algorithm": "sha256",
            "digest": EX_DIGEST,
            "matches": 0,
        },
    )

    verdict: Verdict
    reason: str | None = None
    algorithm: str
    digest: str
    matches: int = Field(description="How many accepted documents have this digest.")
    status: str | None = None
    member: str | None = None
    root: str | None = None
    tx_hash: str | None = None
    block_number: int | None = None
    block_hash: str | None = None
    block_timestamp: int | None = None
    anchored_at: str | None = Field(None, description="The block's time (ISO 8601, UTC).")
    chain_id: int | None = None
    contract: str | None = None
    submitter: str | None = None
    evidence_id: str | None = None
    label: str | None = None
    filename: str | None = None
    size: int | None = None
    created_at: str | None = None
    revoke_reason: str | None = None
    endpoints: EndpointAgreementOut | None = Field(
        None,
        description="With several JSON-RPC endpoints and CHAINPROOF_VERIFY_QUORUM set: how "
        "many of them report the anchoring block's hash (k of n).",
    )


class ReceiptCheckOut(BaseModel):
    name: str
    ok: bool
    detail: str


class ReceiptVerdictOut(BaseModel):
    """The receipt checked against this server's node, as a third party would."""

    model_config = _examples(
        {
            "valid": True,
            "reason": None,
            "checks": [
                {
                    "name": "offline",
                    "ok": True,
                    "detail": "leaf values, leaf hash and proof agree with the root",
                },
                {"name": "chain_id", "ok": True, "detail": "chain 31337"},
            ],
        },
        {
            "valid": False,
            "reason": "the node is on chain 1337, the receipt is for chain 31337",
            "checks": [
                {"name": "offline", "ok": True, "detail": "leaf values ... agree with the root"},
                {
                    "name": "chain_id",
                    "ok": False,
                    "detail": "the node is on chain 1337, the receipt is for chain 31337",
                },
            ],
        },
    )

    valid: bool
    reason: str | None
    checks: list[ReceiptCheckOut]
    evidence_id: str | None = Field(
        None, description="The record this receipt is of, when it is one of ours."
    )
    member: str | None = Field(
        None,
        description=(
            "The member that anchored it: named to the receipt's holder only (the salt in "
            "the receipt proves one holds it)."
        ),
    )
    pinned: bool = Field(
        default=True,
        description="Checked against this server's trust anchor "
        "(GET /.well-known/chainproof.json); false only while the server has no chain to pin, "
        "and then `valid` is false.",
    )
    revoked: bool | None = Field(
        None,
        description=(
            "True when a sub-chain relayed the revocation of this receipt's leaf here, with "
            "its checkpoint proof (docs/crosschain.md); then `valid` is false."
        ),
    )


class PastRegistryOut(BaseModel):
    address: str
    code_hash: str
    version: int


class ChannelRegistryOut(BaseModel):
    address: str
    code_hash: str
    channel: str = Field(description="The virtual channel whose registry it is.")
    version: int


class TrustAnchorOut(BaseModel):
    """``chainproof-trust-anchor/1``: what a verifier pins (docs/receipt.md)."""

    model_config = _examples(
        {
            "format": "chainproof-trust-anchor/1",
            "chain_id": 31337,
            "genesis_hash": EX_DIGEST,
            "registry": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            "registry_code_hash": EX_DIGEST,
            "registry_version": 1,
            "trace_registry": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
            "trace_registry_code_hash": EX_DIGEST,
            "rpc_url": "https://rpc.example.org",
            "past_registries": [],
        }
    )

    format: str = Field(description="`chainproof-trust-anchor/1`.")
    chain_id: int
    genesis_hash: str = Field(description="Hash of block 0: tells this chain from any other.")
    registry: str = Field(description="EvidenceRegistry address (EIP-55).")
    registry_code_hash: str = Field(description="keccak-256 of the registry's runtime code.")
    registry_version: int
    trace_registry: str | None
    trace_registry_code_hash: str | None
    rpc_url: str | None = Field(description="Public JSON-RPC URL; null when none is configured.")
    past_registries: list[PastRegistryOut] = Field(
        description="Registries on this chain whose receipts are still honoured."
    )
    tender_registry: str | None = Field(
        None, description="The TenderRegistry (sealed bids); absent until the first tender."
    )
    tender_registry_code_hash: str | None = Field(
        None, description="keccak-256 of the TenderRegistry's runtime code; absent with it."
    )
    channel_registries: list[ChannelRegistryOut] | None = Field(
        None,
        description=(
            "Virtual channels' own EvidenceRegistry deployments on this chain, whose receipts "
            "are honoured too (docs/channels.md); absent when there are none."
        ),
    )


# --- chain and system ------------------------------------------------------------------------


class NetworkSummaryOut(BaseModel):
    endpoints: int = Field(description="Configured JSON-RPC endpoints.")
    healthy: int = Field(description="Endpoints passing their health checks.")
    head: int | None = Field(description="The best head block seen.")
    ok: bool = Field(description="No warning (an endpoint down, a stall, a low balance).")
    warnings: int


class ChainOut(BaseModel):
    """Where a third party verifies receipts: chain, contract and a JSON-RPC URL."""

    model_config = _examples(
        {
            "chain_id": EX_CHAIN_ID,
            "contract": EX_CONTRACT,
            "genesis_hash": EX_BLOCK_HASH,
            "rpc_url": "http://127.0.0.1:8545",
            "kind": "anvil",
            "deployment_block": 1,
        }
    )

    chain_id: int
    contract: str
    genesis_hash: str
    rpc_url: str | None = Field(description="Public JSON-RPC URL; null for an in-process chain.")
    kind: str = Field(description="embedded, anvil, ganache or external.")
    deployment_block: int
    network: NetworkSummaryOut | None = Field(
        default=None,
        description="The network's health in counts (details: GET /api/v1/chain/network).",
    )


class BatchOut(BaseModel):
    """One anchoring transaction and the root it carries (public chain data)."""

    model_config = _examples(
        {
            "id": 3,
            "status": "confirmed",
            "root": EX_ROOT,
            "leaf_count": 1000,
            "chain_id": EX_CHAIN_ID,
            "contract": EX_CONTRACT,
            "signer": EX_SUBMITTER,
            "nonce": 12,
            "tx_hash": EX_TX,
            "block_number": 42,
            "block_hash": EX_BLOCK_HASH,
            "block_timestamp": EX_TIMESTAMP,
            "gas_used": 98_311,
        }
    )

    id: int
    status: str
    # Null to all but admins until the batch is mined (status "confirmed"): a planned root
    # is not published, so no one can race its anchoring transaction (docs/security.md F15).
    root: str | None
    leaf_count: int
    chain_id: int
    contract: str
    signer: str
    nonce: int | None
    tx_hash: str | None
    block_number: int | None
    block_hash: str | None
    block_timestamp: int | None
    gas_used: int | None


class HealthOut(BaseModel):
    model_config = _examples({"status": "ok"})

    status: Literal["ok"]


class CheckOut(BaseModel):
    ok: bool
    detail: str | None = None


class ReadyOut(BaseModel):
    """Everything a request needs is there: database, the right chain, the batcher."""

    model_config = _examples(
        {
            "status": "ready",
            "checks": {
                "database": {"ok": True, "detail": "SELECT 1"},
                "chain": {"ok": True, "detail": "chain 31337, contract 0x5FbDB…0aa3"},
                "batcher": {"ok": True, "detail": "running; 12 batches confirmed"},
            },
        }
    )

    status: Literal["ready"]
    checks: dict[str, CheckOut]


class NotReadyOut(BaseModel):
    model_config = _examples(
        {
            "error": {
                "code": "chain_mismatch",
                "message": "chain: chain 31337 has genesis 0x… but EvidenceRegistry was "
                "deployed on a chain with genesis 0x…",
            },
            "checks": {
                "database": {"ok": True, "detail": "SELECT 1"},
                "chain": {"ok": False, "detail": "chain 31337 has genesis 0x… (reset?)"},
                "batcher": {"ok": False, "detail": "not running: the chain is unusable"},
            },
        }
    )

    error: ErrorBody
    checks: dict[str, CheckOut]


# --- admin -----------------------------------------------------------------------------------

RoleName = Literal["admin", "submitter", "reviewer", "auditor"]


class MemberIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "广西示范科技有限公司"}]}
    )

    name: str = Field(min_length=1, max_length=MEMBER_NAME_MAX)


class MemberOut(BaseModel):
    model_config = _examples(
        {
            "id": 1,
            "name": "广西示范科技有限公司",
            "created_at": "2025-01-01T00:00:00+00:00",
            "chain_address": None,
        }
    )

    id: int
    name: str
    created_at: datetime
    chain_address: str | None


class KeyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"org": "广西示范科技有限公司", "role": "submitter"}]},
    )

    org: str = Field(min_length=1, max_length=MEMBER_NAME_MAX, description="Created if new.")
    role: RoleName


class KeyOut(BaseModel):
    model_config = _examples(
        {
            "id": 3,
            "org": "广西示范科技有限公司",
            "role": "submitter",
            "prefix": "cpk_Xb3k9QwE",
            "created_at": "2025-01-01T00:00:00+00:00",
            "revoked_at": None,
            "last_used_at": None,
        }
    )

    id: int
    org: str
    role: RoleName
    prefix: str = Field(description="The first characters of the key, to tell keys apart.")
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class KeyCreatedOut(KeyOut):
    """A new key. ``key`` is shown this once: only its hash is stored."""

    model_config = _examples(
        {
            "key": "cpk_Xb3k9QwE0f7vJ2m8sLq4TzR1yN6cHdP5gK0aWuVe3iB",
            "id": 3,
            "org": "广西示范科技有限公司",
            "role": "submitter",
            "prefix": "cpk_Xb3k9QwE",
            "created_at": "2025-01-01T00:00:00+00:00",
            "revoked_at": None,
            "last_used_at": None,
        }
    )

    key: str
