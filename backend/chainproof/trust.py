"""The trust anchor: what a verifier pins, out of band, before it believes any receipt.

A receipt names its own chain and contract, so checking it against "the chain it names"
proves nothing: a 20-line look-alike contract emitting ``Anchored(root, <a real member>, …)``,
or a private chain with the same chain id and the real registry at the same address, pass
every such check. A verifier therefore holds a :class:`TrustAnchor` (``chain_id``,
``genesis_hash``, the registry's address and the keccak-256 of its runtime code, the
registries still honoured on that chain) got from somewhere it trusts: a certificate, the
operator's published ``/.well-known/chainproof.json`` fetched over HTTPS, a colleague. Then
:func:`chainproof.receipts.verify_receipt` checks the node and the receipt against it.

The format (``chainproof-trust-anchor/1``) is documented in ``docs/receipt.md``. Pure: no
FastAPI, no SQL; importable by a third party with the verifier alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from web3 import Web3

from chainproof import tls
from chainproof.digests import keccak256, to_hex
from chainproof.errors import InvalidInputError
from chainproof.receipts import Address, Hex32
from chainproof.validation import invalid_input

TRUST_ANCHOR_FORMAT: Final = "chainproof-trust-anchor/1"
WELL_KNOWN_PATH: Final = "/.well-known/chainproof.json"
# A real anchor is well under 4 KiB; a bigger answer is not one (and is not buffered).
MAX_ANCHOR_BYTES: Final = 64 * 1024
FETCH_TIMEOUT_S: Final = 10.0
MAX_PAST_REGISTRIES: Final = 64
# Virtual channels' registries (issue 25): 64 entries of ~500 bytes (a 100-character channel
# name in UTF-8 included) keep the whole anchor far under MAX_ANCHOR_BYTES.
MAX_CHANNEL_REGISTRIES: Final = 64

_Version = Annotated[int, Field(strict=True, ge=1)]


class PastRegistry(BaseModel):
    """A registry on the anchor's chain whose receipts are still honoured (e.g. v1 after v2)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: Address
    code_hash: Hex32
    version: _Version


class ChannelRegistry(BaseModel):
    """The EvidenceRegistry of a virtual channel (虚拟通道, docs/channels.md): a separate
    deployment on the anchor's chain whose receipts count as the main registry's do."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: Address
    code_hash: Hex32
    channel: Annotated[str, Field(min_length=1, max_length=100)]
    version: _Version


class MainChainAnchor(BaseModel):
    """The main chain this deployment's chain is checkpointed into (issue 22): a verifier
    holding it checks the deployment's receipts through ``ChainRegistry`` there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chain_id: Annotated[int, Field(strict=True, ge=1)]
    genesis_hash: Hex32
    checkpoint_registry: Address
    checkpoint_registry_code_hash: Hex32


class OtherChainAnchor(BaseModel):
    """Another chain the deployment anchors each root on too (dual anchoring): the chain and
    its EvidenceRegistry, pinned as the first chain's are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chain_id: Annotated[int, Field(strict=True, ge=1)]
    genesis_hash: Hex32
    registry: Address
    registry_code_hash: Hex32
    registry_version: _Version


class TrustAnchor(BaseModel):
    """One pinned deployment: the chain (id + genesis) and the registries honoured on it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["chainproof-trust-anchor/1"]
    chain_id: Annotated[int, Field(strict=True, ge=1)]
    genesis_hash: Hex32
    registry: Address
    registry_code_hash: Hex32
    registry_version: _Version
    trace_registry: Address | None
    trace_registry_code_hash: Hex32 | None
    rpc_url: Annotated[str, Field(max_length=2048)] | None
    past_registries: Annotated[list[PastRegistry], Field(max_length=MAX_PAST_REGISTRIES)]
    # Optional and left out of the document when unset: older verifiers (extra="forbid")
    # keep reading the anchors of deployments with no main chain.
    main_chain: MainChainAnchor | None = None
    # The TenderRegistry (sealed bids), once the deployment has one: optional and left out
    # when unset, as main_chain. ``tender verify`` pins the registry a tender names by these.
    tender_registry: Address | None = None
    tender_registry_code_hash: Hex32 | None = None
    other_chains: Annotated[list[OtherChainAnchor], Field(max_length=4)] | None = None
    # Virtual channels' own registries: optional and left out when there are none, as
    # main_chain, so older verifiers keep reading the anchors of deployments without any.
    channel_registries: (
        Annotated[list[ChannelRegistry], Field(max_length=MAX_CHANNEL_REGISTRIES)] | None
    ) = None

    @model_validator(mode="after")
    def _trace_pair(self) -> TrustAnchor:
        if (self.trace_registry is None) != (self.trace_registry_code_hash is None):
            raise ValueError("trace_registry and trace_registry_code_hash go together")
        if (self.tender_registry is None) != (self.tender_registry_code_hash is None):
            raise ValueError("tender_registry and tender_registry_code_hash go together")
        # One pin per address: a channel entry may not restate (and so re-hash) the main
        # registry or a past one, nor name one address twice.
        pinned = {self.registry, *(p.address for p in self.past_registries)}
        channels = [c.address for c in self.channel_registries or []]
        if len(set(channels)) != len(channels) or pinned & set(channels):
            raise ValueError("a registry address appears twice in the anchor")
        return self

    # --- reading -------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Any) -> TrustAnchor:
        """Validates ``data``; InvalidInputError says what is wrong where."""
        if not isinstance(data, dict):
            raise InvalidInputError("invalid trust anchor: not a JSON object")
        if data.get("format") != TRUST_ANCHOR_FORMAT:
            raise InvalidInputError(
                f"invalid trust anchor: format is {data.get('format')!r}, not "
                f"{TRUST_ANCHOR_FORMAT!r}"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _invalid(exc) from None

    @classmethod
    def from_json(cls, text: str | bytes) -> TrustAnchor:
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"invalid trust anchor: not JSON ({exc})") from None
        return cls.from_dict(data)

    @classmethod
    def from_file(cls, path: str | Path) -> TrustAnchor:
        path = Path(path)
        try:
            with path.open("rb") as f:
                text = f.read(MAX_ANCHOR_BYTES + 1)
        except OSError as exc:
            raise InvalidInputError(f"cannot read trust anchor {path}: {exc.strerror}") from None
        if len(text) > MAX_ANCHOR_BYTES:
            raise InvalidInputError(f"{path} is over {MAX_ANCHOR_BYTES} bytes: not an anchor")
        return cls.from_json(text)

    @classmethod
    def fetch(cls, url: str, *, timeout: float = FETCH_TIMEOUT_S) -> TrustAnchor:
        """The anchor a server publishes: ``url`` is its base URL (the well-known path is
        added) or the document's own URL (ending in ``.json``). Bounded in size and time; no
        redirects (the anchor comes from where you said, or not at all)."""
        doc_url = well_known_url(url)
        body = bytearray()
        try:
            with httpx.stream(
                "GET", doc_url, timeout=timeout, follow_redirects=False, verify=tls.client_context()
            ) as response:
                if response.status_code != 200:
                    raise InvalidInputError(
                        f"{doc_url} answered HTTP {response.status_code}, not a trust anchor"
                    )
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_ANCHOR_BYTES:
                        raise InvalidInputError(
                            f"{doc_url} sent over {MAX_ANCHOR_BYTES} bytes: not a trust anchor"
                        )
        except httpx.HTTPError as exc:
            raise InvalidInputError(
                f"cannot fetch the trust anchor from {doc_url}: {type(exc).__name__}: {exc}"
            ) from None
        return cls.from_json(bytes(body))

    @classmethod
    def load(cls, source: str) -> TrustAnchor:
        """``source`` is an http(s) URL (see :meth:`fetch`) or a file path."""
        if urlsplit(source).scheme in ("http", "https"):
            return cls.fetch(source)
        return cls.from_file(source)

    # --- using ---------------------------------------------------------------------------

    def honoured(self) -> dict[str, tuple[str, int]]:
        """Checksummed address → (code hash, version) of every registry whose receipts count."""
        found = {p.address: (p.code_hash, p.version) for p in self.past_registries}
        found.update({c.address: (c.code_hash, c.version) for c in self.channel_registries or []})
        found[self.registry] = (self.registry_code_hash, self.registry_version)
        return found

    def channel_of(self, address: str) -> str | None:
        """The virtual channel whose registry ``address`` is (EIP-55), None for any other."""
        for c in self.channel_registries or []:
            if c.address == address:
                return c.channel
        return None

    def document(self) -> dict[str, Any]:
        """The ``/.well-known/chainproof.json`` document (every key, nulls included)."""
        doc = self.model_dump(mode="json")
        for optional in (
            "main_chain",
            "other_chains",
            "tender_registry",
            "tender_registry_code_hash",
        ):
            if doc.get(optional) is None:
                doc.pop(optional, None)
        if not doc.get("channel_registries"):  # none: as an anchor from before issue 25
            doc.pop("channel_registries", None)
        return doc

    def for_other_chain(self, chain_id: int) -> TrustAnchor | None:
        """The anchor of the other chain ``chain_id`` (as if it were the first), or None when
        this anchor pins no such chain."""
        for other in self.other_chains or []:
            if other.chain_id == chain_id:
                return TrustAnchor(
                    format=TRUST_ANCHOR_FORMAT,
                    chain_id=other.chain_id,
                    genesis_hash=other.genesis_hash,
                    registry=other.registry,
                    registry_code_hash=other.registry_code_hash,
                    registry_version=other.registry_version,
                    trace_registry=None,
                    trace_registry_code_hash=None,
                    rpc_url=None,
                    past_registries=[],
                )
        return None

    def summary(self) -> str:
        return (
            f"chain {self.chain_id} (genesis {self.genesis_hash}), registry {self.registry} "
            f"(code {self.registry_code_hash})"
        )


def well_known_url(url: str) -> str:
    """Where a server's anchor lives, from its base URL (or the document URL itself)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInputError(f"not an http(s) URL: {url!r}")
    if parts.path.endswith(".json"):
        return url
    return url.rstrip("/") + WELL_KNOWN_PATH


def code_hash(w3: Web3, address: str) -> str | None:
    """keccak-256 of the runtime code at ``address`` as the node has it (None: no code)."""
    code = bytes(w3.eth.get_code(Web3.to_checksum_address(address)))
    return to_hex(keccak256(code)) if code else None


def _invalid(exc: ValidationError) -> InvalidInputError:
    return invalid_input(exc, "trust anchor", "anchor")
