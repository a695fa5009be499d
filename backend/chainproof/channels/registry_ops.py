"""A virtual channel's own EvidenceRegistry (虚拟通道, docs/channels.md): deployed by the
chain writer as one of its operations, so the deployment has the crash story of every other
chain write (``chain/writer.py``): the raw transaction and its nonce are stored before it
is sent, and the new contract's address follows from them.

When the deployment is mined, the same commit that marks the operation confirmed records
the registry on the channel (address, code hash) and enqueues the role grants it needs: the
operator's (it relays and anchors) and each member org's chain key that exists already.
Members whose key is made later are admitted by the batcher on their first anchor there,
as on the main registry (``evidence/batch_close.py``); member changes grant and revoke
(:func:`member_roles`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence

import structlog
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from web3 import Web3

from chainproof.chain.compiler import load_artifact
from chainproof.chain.context import ChainContext, ChannelRegistryRef
from chainproof.chain.deployments import REGISTRY, deployment_record, registry_args
from chainproof.chain.sender import MinedTx
from chainproof.chain.writer import Call, OpKind
from chainproof.channels.models import Channel, ChannelMember
from chainproof.errors import TransactionError
from chainproof.evidence.ops import GRANT_MEMBER, REVOKE_MEMBER
from chainproof.store.models import Member
from chainproof.store.ops import LIVE, ChainOp
from chainproof.trust import code_hash

log = structlog.get_logger("chainproof.channels")

DEPLOY_CHANNEL_REGISTRY = "deploy_channel_registry"


def role_op(*, grant: bool, contract: str, address: str, member_id: int | None) -> ChainOp:
    """A grant (or removal) of the submitter role on a channel's registry, as a row to add
    to the caller's own commit (``evidence/ops.py`` MemberRole does it)."""
    kind = GRANT_MEMBER if grant else REVOKE_MEMBER
    return ChainOp(
        public_id=secrets.token_hex(16),
        kind=kind,
        payload={"address": address, "contract": contract},
        member_id=member_id,
        # The batcher's lazy admission of the same key shares this key: one live grant.
        dedupe_key=f"{'grant' if grant else 'revoke'}:{contract.lower()}:{address.lower()}",
    )


def deploy_op(channel: Channel) -> ChainOp:
    """The deployment of ``channel``'s registry, as a row to add to the caller's commit (the
    one that creates the channel, or ``reanchor``'s): never a channel without its operation."""
    assert channel.id is not None
    op = ChainOp(
        public_id=secrets.token_hex(16),
        kind=DEPLOY_CHANNEL_REGISTRY,
        payload={"channel_id": channel.id},
        dedupe_key=f"channel-registry:{channel.id}",
    )
    channel.registry_op = op.public_id
    return op


def _add_unless_live(session: Session, op: ChainOp) -> None:
    """Adds ``op`` unless a live operation holds its dedupe key (asked already)."""
    live = session.exec(
        select(ChainOp.id).where(ChainOp.dedupe_key == op.dedupe_key, col(ChainOp.status).in_(LIVE))
    ).first()
    if live is None:
        session.add(op)


class DeployChannelRegistry:
    """Deploys a virtual channel's EvidenceRegistry from the operator's key: its admin is
    the main registry's (an offline key in production), the operator its member admin."""

    name = DEPLOY_CHANNEL_REGISTRY

    def build(self, session: Session, op: ChainOp, chain: ChainContext) -> Call | None:
        channel = session.get(Channel, op.payload["channel_id"])
        if channel is None or channel.registry_address is not None:
            return None  # deployed already (or the channel is gone): nothing to send
        artifact = load_artifact(REGISTRY)
        admin = (
            chain.registry.default_admin()
            if chain.deployment.version >= 2
            else chain.sender.address
        )
        args = registry_args(artifact, deployer=chain.sender.address, admin=admin)
        ctor = chain.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode).constructor(
            *args
        )
        return Call(chain.registry, ctor)  # the main registry's client decodes its errors

    def confirmed(
        self, session: Session, op: ChainOp, chain: ChainContext, mined: MinedTx | None
    ) -> None:
        channel = session.get(Channel, op.payload["channel_id"])
        if channel is None or mined is None:
            return
        receipt = chain.w3.eth.get_transaction_receipt(mined.tx_hash)  # type: ignore[arg-type]
        address = receipt["contractAddress"]
        if not address:
            raise TransactionError(f"deployment {mined.tx_hash} created no contract")
        artifact = load_artifact(REGISTRY)
        record = deployment_record(
            chain.w3,
            artifact,
            address=address,
            tx_hash=mined.tx_hash,
            block_number=mined.block_number,
            deployer=chain.sender.address,
        )
        channel.registry_address = record.address
        channel.registry_code_hash = record.bytecode_hash
        session.add(channel)
        _add_unless_live(
            session,
            role_op(
                grant=True, contract=record.address, address=chain.sender.address, member_id=None
            ),
        )
        for member_id, chain_address in _member_keys(session, channel):
            _add_unless_live(
                session,
                role_op(
                    grant=True, contract=record.address, address=chain_address, member_id=member_id
                ),
            )
        log.info("channel registry deployed", channel=channel.name, address=record.address)

    def failed(self, session: Session, op: ChainOp, chain: ChainContext) -> None:
        # The channel keeps refusing records (its registry is missing); the operation's
        # error says why (GET /api/v1/operations/{id}).
        return None


def _member_keys(session: Session, channel: Channel) -> list[tuple[int, str]]:
    rows = session.exec(
        select(Member.id, Member.chain_address)
        .join(ChannelMember, col(ChannelMember.member_id) == col(Member.id))
        .where(ChannelMember.channel_id == channel.id, col(Member.chain_address).is_not(None))
    ).all()
    return [(int(i or 0), str(a)) for i, a in rows]


def member_roles(
    session: Session, channel: Channel, *, added: Sequence[Member], removed: Sequence[Member]
) -> None:
    """Grants the added members' keys the submitter role on the channel's registry and
    removes the removed members' (once it is deployed; before, the deployment grants the
    members it finds). Rows added to the caller's commit."""
    if channel.registry_address is None:
        return
    for grant, members in ((True, added), (False, removed)):
        for m in members:
            if m.chain_address:
                _add_unless_live(
                    session,
                    role_op(
                        grant=grant,
                        contract=channel.registry_address,
                        address=Web3.to_checksum_address(m.chain_address),
                        member_id=m.id,
                    ),
                )


def registries(engine: Engine) -> list[ChannelRegistryRef]:
    """The deployed virtual channels' registries (the chain context's list of them)."""
    with Session(engine) as s:
        return registries_in(s)


def registries_in(session: Session) -> list[ChannelRegistryRef]:
    """:func:`registries`, read in ``session`` (a CLI command's)."""
    rows = session.exec(
        select(
            Channel.name,
            Channel.registry_address,
            Channel.registry_code_hash,
            ChainOp.block_number,
        )
        .outerjoin(ChainOp, col(ChainOp.public_id) == col(Channel.registry_op))
        .where(col(Channel.registry_address).is_not(None))
        .order_by(col(Channel.id))
    ).all()
    return [
        ChannelRegistryRef(address=str(a), code_hash=str(h), channel=n, block_number=int(b or 0))
        for n, a, h, b in rows
    ]


def redeploy(session: Session, w3: Web3, contracts: Sequence[str]) -> list[str]:
    """After a chain reset (``chainproof reanchor``): the virtual channels whose registry
    is one of ``contracts`` and gone from the chain ``w3`` talks to (no code there, or not
    the code recorded) forget it and get a new deployment operation, in the caller's
    commit; their re-queued records wait for it (the batcher holds a virtual channel's rows
    until its registry is deployed). Returns their names."""
    wanted = {c.lower() for c in contracts}
    names = []
    for channel in session.exec(select(Channel).where(col(Channel.registry_address).is_not(None))):
        address = channel.registry_address or ""
        if address.lower() not in wanted or code_hash(w3, address) == channel.registry_code_hash:
            continue
        session.add(deploy_op(channel))
        channel.registry_address = channel.registry_code_hash = None
        session.add(channel)
        names.append(channel.name)
    return names


def channel_kinds() -> Mapping[str, OpKind]:
    kinds: list[OpKind] = [DeployChannelRegistry()]
    return {k.name: k for k in kinds}
