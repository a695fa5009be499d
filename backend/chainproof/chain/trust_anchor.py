"""This server's trust anchor: what ``/.well-known/chainproof.json`` publishes, certificates
print, and ``POST /api/v1/receipts/verify`` checks every receipt against.

Built from the chain context (chain id and genesis hash of the deployment, which the chain
guard keeps checking against the node), the registry's address and the keccak-256 of the
runtime code the node holds there, the TraceRegistry likewise (and the TenderRegistry once
the first tender deployed it), the public RPC URL (never
the private one), the past registries still honoured on this chain, and the virtual
channels' own registries (docs/channels.md).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from chainproof.chain.compiler import load_artifact
from chainproof.chain.context import ChainContext, ChannelRegistryRef
from chainproof.chain.deployments import REGISTRY, artifact_version
from chainproof.chain.registry import registry_version
from chainproof.chain.tender_registry import find_tender_registry
from chainproof.chain.trace_registry import trace_chain
from chainproof.errors import ChainError, ChainMismatchError
from chainproof.trust import TRUST_ANCHOR_FORMAT, PastRegistry, TrustAnchor, code_hash

# Code at an address does not change (no proxies, no selfdestruct since Cancun); the guard's
# chain status (genesis, code present) is checked on every build. A minute bounds the reads.
ANCHOR_TTL_S: Final = 60.0


class _Built:
    """The anchor last built for one chain context and when (kept on the context)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # held while one is built: one build at a time
        self.at_anchor: tuple[float, TrustAnchor] | None = None


def past_registries(chain: ChainContext, *, data_dir: Path | None) -> list[PastRegistry]:
    """Registries of this chain whose receipts are still honoured (v1 after a v2 deploy):
    the chain context's honoured deployments (same chain id and genesis), with the code hash
    recorded when each was deployed."""
    del data_dir  # the context already read them from its data dir
    return [
        PastRegistry(address=d.address, code_hash=d.bytecode_hash, version=d.version)
        for d in chain.honoured
    ]


def server_trust_anchor(
    chain: ChainContext, *, data_dir: Path | None, public_rpc_url: str | None
) -> TrustAnchor:
    """The anchor of the deployment ``chain`` serves. Raises (ChainError) while the node is
    not the deployment's chain: a server never publishes an anchor it cannot stand behind."""
    chain.require_ok()
    built = chain.local(_Built, _Built)
    with built.lock:
        cached = built.at_anchor
        if cached is not None and time.monotonic() - cached[0] < ANCHOR_TTL_S:
            anchor = cached[1]
            # A TenderRegistry deployed since (by the first tender) is published at once.
            tender_since = anchor.tender_registry is None and (
                find_tender_registry(chain, data_dir=data_dir) is not None
            )
            # So is a virtual channel's registry: one small query, the anchor rebuilt only
            # when the list changed.
            channels_since = [
                (r.address, r.code_hash, r.channel) for r in chain.channel_registries()
            ] != [(c.address, c.code_hash, c.channel) for c in anchor.channel_registries or []]
            if anchor.rpc_url == public_rpc_url and not tender_since and not channels_since:
                return anchor
        anchor = _build(chain, data_dir=data_dir, public_rpc_url=public_rpc_url)
        built.at_anchor = (time.monotonic(), anchor)
        return anchor


def _build(
    chain: ChainContext, *, data_dir: Path | None, public_rpc_url: str | None
) -> TrustAnchor:
    try:
        return _read(chain, data_dir=data_dir, public_rpc_url=public_rpc_url)
    except ChainError:
        raise
    except Exception as exc:  # the node went away after the status check: web3's errors
        raise ChainError(f"cannot read the deployment's code from the node: {exc}") from exc


def _read(chain: ChainContext, *, data_dir: Path | None, public_rpc_url: str | None) -> TrustAnchor:
    deployment = chain.deployment
    registry_hash = code_hash(chain.w3, deployment.address)
    if registry_hash is None:
        raise ChainMismatchError(f"no contract code at {deployment.address} on this chain")
    trace = trace_chain(chain, data_dir=data_dir)
    trace_hash = code_hash(chain.w3, trace.contract)
    tenders = find_tender_registry(chain, data_dir=data_dir)  # never deploys one
    tender_hash = code_hash(chain.w3, tenders.address) if tenders is not None else None
    tender_fields = (
        {"tender_registry": tenders.address, "tender_registry_code_hash": tender_hash}
        if tenders is not None and tender_hash
        else {}
    )
    channels = _channel_entries(chain.channel_registries())
    return TrustAnchor.from_dict(
        {
            **tender_fields,
            **({"channel_registries": channels} if channels else {}),
            "format": TRUST_ANCHOR_FORMAT,
            "chain_id": deployment.chain_id,
            "genesis_hash": deployment.genesis_hash,
            "registry": deployment.address,
            "registry_code_hash": registry_hash,
            "registry_version": registry_version(chain.w3, deployment.address),
            "trace_registry": trace.contract if trace_hash else None,
            "trace_registry_code_hash": trace_hash,
            "rpc_url": public_rpc_url,
            "past_registries": [
                p.model_dump(mode="json") for p in past_registries(chain, data_dir=data_dir)
            ],
        }
    )


def _channel_entries(refs: Sequence[ChannelRegistryRef]) -> list[dict[str, object]]:
    """The anchor's ``channel_registries`` entries: a channel's registry is deployed from
    today's sources (their version), its code hash read back when it was deployed."""
    version = artifact_version(load_artifact(REGISTRY))
    return [
        {"address": r.address, "code_hash": r.code_hash, "channel": r.channel, "version": version}
        for r in refs
    ]
