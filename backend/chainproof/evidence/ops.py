"""The evidence service's kinds of chain operation (``chain/writer.py``): leaf revocations,
member role grants and removals, and the start of a registry admin transfer.

Each kind turns its ``chain_op`` payload into a contract call when the writer is about to
sign it, and applies its effect to the index when the writer has the receipt. A call whose
effect the chain already holds (a member granted by hand, say) is settled without a
transaction, so asking twice never costs two.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session
from web3 import Web3

from chainproof.chain.context import ChainContext
from chainproof.chain.sender import MinedTx
from chainproof.chain.writer import Call, OpKind
from chainproof.errors import ChainError, ConflictError
from chainproof.evidence.roots import root_states
from chainproof.identity import member_account
from chainproof.store.models import Evidence, EvidenceStatus, Member, RevokedLeaf, utcnow
from chainproof.store.ops import ChainOp

REVOKE_LEAF = "revoke_leaf"
GRANT_MEMBER = "grant_member"
REVOKE_MEMBER = "revoke_member"
BEGIN_ADMIN_TRANSFER = "begin_admin_transfer"


class RevokeLeaf:
    """Revokes one anchored document's leaf: ``revokeLeaf`` by the operator for its own
    anchors (and as admin of a v1 registry), ``revokeLeafWithSignature`` for a member's,
    signed by the member's custodial key (unlocked with ``member_secret``) at signing time."""

    name = REVOKE_LEAF

    def __init__(self, member_secret: str | None) -> None:
        self.member_secret = member_secret

    def build(self, session: Session, op: ChainOp, chain: ChainContext) -> Call | None:
        p = op.payload
        registry = chain.registry_at(p["contract"])
        if registry.is_leaf_revoked(p["signer"], p["root"], p["leaf"]):
            return None  # on chain already (by hand, or a tx this row lost track of)
        if not p["member_signs"]:
            return Call(
                registry, registry.revoke_leaf_call(p["root"], p["leaf"], p["proof"], p["reason"])
            )
        member = session.get(Member, op.member_id) if op.member_id is not None else None
        if member is None or self.member_secret is None:
            raise ConflictError(f"no custodial key to sign revocation {op.public_id}")
        signer = member_account(session=session, member=member, secret=self.member_secret)
        fn = registry.revoke_leaf_signed_call(
            signer, root=p["root"], leaf=p["leaf"], proof=p["proof"], reason_hash=p["reason"]
        )
        return Call(registry, fn)

    def confirmed(
        self, session: Session, op: ChainOp, chain: ChainContext, mined: MinedTx | None
    ) -> None:
        p = op.payload
        ev = session.get(Evidence, p["evidence_id"])
        if ev is not None:
            ev.status = EvidenceStatus.REVOKED.value
            ev.revoked_at = utcnow()
            ev.revoke_reason = p["reason_text"]
            session.add(ev)
        tx_hash, block = (mined.tx_hash, mined.block_number) if mined else _revoked_at(chain, p)
        session.merge(
            RevokedLeaf(
                root=p["root"],
                leaf_hash=p["leaf"],
                reason_hash=p["reason"],
                tx_hash=tx_hash,
                block_number=block,
            )
        )
        # This process's own revocation is seen by its next verify, not a second later.
        root_states(chain).forget(bytes.fromhex(p["root"][2:]))

    def failed(self, session: Session, op: ChainOp, chain: ChainContext) -> None:
        return None  # the document stays anchored; the caller may ask again


def _revoked_at(chain: ChainContext, p: dict[str, Any]) -> tuple[str, int]:
    """The ``LeafRevoked`` event of a leaf found revoked before our transaction was sent."""
    registry = chain.registry_at(p["contract"])
    leaf = bytes.fromhex(p["leaf"][2:])
    for r in registry.revocation_events(from_block=int(p.get("from_block", 0))):
        if r["leaf"] is not None and bytes.fromhex(r["leaf"][2:]) == leaf:
            return r["tx_hash"], int(r["block_number"])
    raise ChainError(f"leaf {p['leaf']} is revoked on chain but no LeafRevoked event says when")


class MemberRole:
    """Grants (``grant=True``) or removes a member's submitter role on the registry: the
    main one, or the one the payload's ``contract`` names (a virtual channel's)."""

    def __init__(self, *, grant: bool) -> None:
        self.grant = grant
        self.name = GRANT_MEMBER if grant else REVOKE_MEMBER

    def build(self, session: Session, op: ChainOp, chain: ChainContext) -> Call | None:
        address = Web3.to_checksum_address(op.payload["address"])
        contract = op.payload.get("contract")
        registry = chain.registry_at(contract) if contract else chain.registry
        if registry.is_member(address) == self.grant:
            return None  # the chain holds it already
        fn = (
            registry.grant_member_call(address)
            if self.grant
            else registry.revoke_member_call(address)
        )
        return Call(registry, fn)

    def confirmed(
        self, session: Session, op: ChainOp, chain: ChainContext, mined: MinedTx | None
    ) -> None:
        return None  # the role lives on chain only

    def failed(self, session: Session, op: ChainOp, chain: ChainContext) -> None:
        return None


class BeginAdminTransfer:
    """``beginDefaultAdminTransfer(to)`` on the registry (v2), from the operator's key while
    it is the admin: step one of moving the admin role to an offline key
    (``chainproof contracts transfer-admin``)."""

    name = BEGIN_ADMIN_TRANSFER

    def build(self, session: Session, op: ChainOp, chain: ChainContext) -> Call | None:
        to = Web3.to_checksum_address(op.payload["to"])
        registry = chain.registry
        functions = registry.contract.functions
        pending, _ = functions.pendingDefaultAdmin().call()
        if Web3.to_checksum_address(pending) == to:
            return None  # begun already (a transaction this row lost track of)
        return Call(registry, functions.beginDefaultAdminTransfer(to))

    def confirmed(
        self, session: Session, op: ChainOp, chain: ChainContext, mined: MinedTx | None
    ) -> None:
        return None  # the pending admin lives on chain only

    def failed(self, session: Session, op: ChainOp, chain: ChainContext) -> None:
        return None


def evidence_kinds(*, member_secret: str | None) -> Mapping[str, OpKind]:
    kinds: list[OpKind] = [
        RevokeLeaf(member_secret),
        MemberRole(grant=True),
        MemberRole(grant=False),
        BeginAdminTransfer(),
    ]
    return {k.name: k for k in kinds}
