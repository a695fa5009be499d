"""The registry's on-chain state of the roots being verified, read for many roots at once.

A verdict of ``anchored`` needs the registry's ``verify`` rule to hold on the chain: root
anchored, root not revoked, leaf not revoked, Merkle proof to the root. The proof is pure
computation; the rest is the root's state, which ``EvidenceRegistryClient.root_state``
reads root by root (``getAnchor`` and the root's ``LeafRevoked`` events, each through
web3's middleware, which adds an ``eth_chainId`` to each). With one state per root at most
a second old (promise 6's bound), a verify load spread over the roots of a large ingest spent
more CPU on those refreshes than on anything else (docs/performance.md).

Here a refresh reads every root verified in the last few seconds whose state is older
than half the bound, in two requests whatever their number: one JSON-RPC batch of
``getAnchor`` calls, then one ``eth_getLogs`` for the ``LeafRevoked`` events of all of
them. The rule and the staleness bound are the registry client's; a state is stamped with
the time its read *started*, so no answer rests on a state older than ``ROOT_STATE_TTL``.
One refresh runs at a time and the others wait for it rather than read the same roots
again. A state read past half its age starts that refresh in the background, so under a
steady load the states are renewed before anyone needs to wait, and the verify route can
answer on its event loop (``may_block=False`` raises ``WouldBlock`` instead of reading).
Chains without batch requests (the in-process test chain) use the client's own
per-root read. Revocations this process sends drop the root at once (``forget``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any, Final

from eth_abi import decode as abi_decode
from eth_utils import (
    event_abi_to_log_topic,
    function_signature_to_4byte_selector,
    to_checksum_address,
)
from web3 import HTTPProvider

from chainproof.background import Renewal
from chainproof.chain.context import ChainContext
from chainproof.chain.registry import RootState
from chainproof.errors import ChainError, ChainMismatchError, WouldBlock
from chainproof.merkle import process_proof
from chainproof.vocabulary import Hash32

_GET_ANCHOR: Final = function_signature_to_4byte_selector("getAnchor(address,bytes32)")
_GET_ANCHOR_V1: Final = function_signature_to_4byte_selector("getAnchor(bytes32)")
_ANCHOR_TYPES: Final = ["address", "uint64", "uint32", "uint64", "bool"]
RECENT_S: Final = 5.0  # roots verified this recently are refreshed together
_MAX_ROUND: Final = 500  # roots per refresh (a JSON-RPC batch of this many eth_calls)


Key = tuple[str, bytes]  # (submitter, root): an anchor of the registry
# How stale a root state may be: the bound on how long a revocation or reorg made by someone
# else (another replica, a member's own key, a node rolled back) can go unseen by a verify.
# The same second as the chain status check (ChainContext.status_ttl), which bounds how long
# a reset chain goes unseen. Revocations this process sends are seen at once (forget).
ROOT_STATE_TTL: Final = 1.0


class RootStates:
    """Fresh-enough ``RootState``s of one chain's registry, for the verify hot path, per
    anchor (submitter, root): in version 2 two members may anchor the same root."""

    def __init__(self, chain: ChainContext, *, ttl: float = ROOT_STATE_TTL) -> None:
        self.chain = chain
        self.ttl = ttl
        self._states: dict[Key, RootState] = {}
        self._asked: dict[Key, float] = {}  # anchor -> when a verify last needed it
        self._lock = threading.Lock()  # guards the two dicts
        self._refreshing = threading.Lock()  # one refresh at a time
        self._batched = isinstance(chain.w3.provider, HTTPProvider)
        self._forgotten: dict[bytes, float] = {}  # root -> when this process revoked in it
        self._v2 = chain.registry.version >= 2
        # Under a steady verify load the states are renewed at half their age, so no
        # request waits for the node and the event loop answers them all.
        self._ahead = Renewal(self._refresh_ahead, name="chainproof-root-states")
        event = next(
            e
            for e in chain.registry.contract.abi
            if e.get("type") == "event" and e.get("name") == "LeafRevoked"
        )
        self._leaf_revoked = event_abi_to_log_topic(event)  # type: ignore[arg-type]

    def holds(
        self,
        submitter: str,
        root: Hash32,
        leaf: Hash32,
        proof: Sequence[Hash32],
        *,
        may_block: bool = True,
    ) -> bool:
        """The registry's ``verify(submitter, root, leaf, proof)``, from a state at most
        ``ttl`` old."""
        state = self.state((to_checksum_address(submitter), root), may_block=may_block)
        if not state.anchored or state.revoked or leaf in state.revoked_leaves:
            return False
        return process_proof(leaf, proof) == root

    def state(self, root: Key, *, may_block: bool = True) -> RootState:
        """The anchor's state, read now if the one held is older than ``ttl``; with
        ``may_block=False``, ``WouldBlock`` instead of that read (the root still counts as
        asked for, so the next refresh, from a thread that may wait, reads it too)."""
        now = time.monotonic()
        with self._lock:  # held only around dict operations, never around a read
            self._asked[root] = now
            state = self._states.get(root)
        if state is not None and now - state.fetched_at < self.ttl:
            if now - state.fetched_at > self.ttl / 2:
                self._ahead.start()
            return state
        if not may_block:
            self._ahead.start()  # the next ask finds it, without a thread of its own
            raise WouldBlock("the root's on-chain state is stale")
        with self._refreshing:
            with self._lock:  # another thread's refresh may have just read it
                state = self._states.get(root)
            if state is not None and time.monotonic() - state.fetched_at < self.ttl:
                return state
            return self._refresh(root)[root]

    def forget(self, root: Hash32) -> None:
        """Drops ``root``'s state (after this process revoked in it); a read that started
        before this is not stored when it ends, so the next verify reads the chain."""
        with self._lock:
            for key in [k for k in self._states if k[1] == root]:
                del self._states[key]
            self._forgotten[root] = time.monotonic()

    def _refresh_ahead(self) -> None:
        with self._refreshing:
            self._refresh(None)

    def _refresh(self, root: Key | None) -> dict[Key, RootState]:
        """Reads ``root`` (when given) and every root asked for lately whose state is
        missing or past half its age."""
        now = time.monotonic()
        with self._lock:
            for r, at in list(self._asked.items()):
                if now - at > RECENT_S:
                    del self._asked[r]
                    self._states.pop(r, None)
            due = ([] if root is None else [root]) + [
                r
                for r in self._asked
                if r != root
                and (r not in self._states or now - self._states[r].fetched_at > self.ttl / 2)
            ]
        due = due[:_MAX_ROUND]
        if not due:
            return {}
        states = self._read_batched(due) if self._batched else self._read_one_by_one(due)
        with self._lock:
            for r, st in states.items():
                if self._forgotten.get(r[1], -1.0) < st.fetched_at:
                    self._states[r] = st
            for gone, at in list(self._forgotten.items()):
                if now - at > self.ttl:
                    del self._forgotten[gone]
        return states

    def _read_one_by_one(self, roots: list[Key]) -> dict[Key, RootState]:
        registry = self.chain.registry
        return {r: registry.root_state(r[0], r[1]) for r in roots}

    def _call_data(self, key: Key) -> str:
        submitter, root = key
        if self._v2:
            return "0x" + (_GET_ANCHOR + bytes(12) + bytes.fromhex(submitter[2:]) + root).hex()
        return "0x" + (_GET_ANCHOR_V1 + root).hex()

    def _read_batched(self, roots: list[Key]) -> dict[Key, RootState]:
        started = time.monotonic()  # a state is as old as the start of its read
        provider = self.chain.w3.provider
        assert isinstance(provider, HTTPProvider)
        address = self.chain.registry.address
        calls: list[tuple[Any, Any]] = [
            ("eth_call", [{"to": address, "data": self._call_data(r)}, "latest"]) for r in roots
        ]
        answers = provider.make_batch_request(calls)
        if not isinstance(answers, list) or len(answers) != len(roots):
            raise ChainError(f"the node refused a batch of {len(roots)} getAnchor calls")
        anchors: dict[Key, tuple[int, bool]] = {}  # anchor -> (its block, root revoked)
        for r, answer in zip(roots, answers, strict=True):
            if answer.get("error"):
                raise ChainError(f"getAnchor failed on the node: {answer['error']}")
            data = bytes.fromhex(str(answer.get("result") or "0x")[2:])
            if not data:
                # Empty return data: no contract at the address (reset chain, other net),
                # as the registry client reports it.
                raise ChainMismatchError(
                    f"no EvidenceRegistry answers at {address} on this chain", address=address
                )
            found, timestamp, _, block_number, revoked = abi_decode(_ANCHOR_TYPES, data)
            # v1 holds one anchor per root: it counts only when it is the submitter's.
            if int(timestamp) != 0 and to_checksum_address(found) == r[0]:
                anchors[r] = (int(block_number), bool(revoked))
        revoked_leaves: dict[Key, set[bytes]] = {r: set() for r in anchors}
        if anchors:
            logs = provider.make_request(
                "eth_getLogs",
                [
                    {
                        "address": address,
                        "topics": [
                            "0x" + self._leaf_revoked.hex(),
                            sorted({"0x" + r[1].hex() for r in anchors}),
                        ],
                        "fromBlock": hex(min(block for block, _ in anchors.values())),
                        "toBlock": "latest",
                    }
                ],
            )
            if logs.get("error"):
                raise ChainError(f"eth_getLogs failed on the node: {logs['error']}")
            by_root: dict[bytes, list[Key]] = {}
            for key in anchors:
                by_root.setdefault(key[1], []).append(key)
            for log in logs.get("result") or []:
                topics = log["topics"]
                revoker = to_checksum_address("0x" + topics[3][-40:])
                for r in by_root.get(bytes.fromhex(topics[1][2:]), []):
                    # v2: only the submitter revokes in its anchor. A root's revocations
                    # count from its own anchoring block, as in
                    # EvidenceRegistryClient.root_state (one query from the earliest here).
                    if (not self._v2 or revoker == r[0]) and int(log["blockNumber"], 16) >= anchors[
                        r
                    ][0]:
                        revoked_leaves[r].add(bytes.fromhex(topics[2][2:]))
        return {
            r: RootState(
                anchored=r in anchors,
                revoked=r in anchors and anchors[r][1],
                revoked_leaves=frozenset(revoked_leaves.get(r, ())),
                fetched_at=started,
            )
            for r in roots
        }


def root_states(chain: ChainContext) -> RootStates:
    """The ``RootStates`` of ``chain``, kept on the context (one per chain context)."""
    return chain.local(RootStates, lambda: RootStates(chain))
