"""Draws: commit (record anchored through the evidence queue), reveal, publish.

A draw's commitment record (``selection.commitment_record``) goes on chain as an ordinary
evidence digest (algorithm keccak256), so its receipt verifies against the same pinned
registry as every document: no second contract to deploy, pin and trust. The record names
the target block, and a draw counts only when the record's anchor block is *before* it
(:func:`reveal_due` voids it otherwise): the organiser fixed everything before anyone could
know that block's hash.

The secret is revealed by :func:`reveal_due` (run by ``draws/revealer.py`` in the process
that runs the batcher) once the target block is as deep as the anchors' finality policy
asks. Its hash is read from the block header over JSON-RPC, not with the EVM's BLOCKHASH
opcode, so the 256-block window does not apply: a reveal after a long outage still uses the
real hash (docs/draws.md, "The 256-block window").
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, Final

import structlog
from sqlmodel import Session, col, select
from web3 import Web3

from chainproof.chain.context import ChainContext
from chainproof.digests import canonical_json, parse_hex
from chainproof.draws import selection
from chainproof.draws.models import Draw, DrawStatus
from chainproof.errors import ConflictError, InvalidInputError, NotFoundError
from chainproof.evidence.intake import submit_digests
from chainproof.evidence.service import build_receipt
from chainproof.evidence.verify import Viewer
from chainproof.public_ids import new_public_id
from chainproof.store.crypto import decrypt_secret, encrypt_secret
from chainproof.store.lookup import by_public_id
from chainproof.store.models import Batch, Evidence, EvidenceStatus, utcnow

log = structlog.get_logger("chainproof.draws")

# At least two blocks ahead: the commitment's own anchor transaction needs a block before
# the target (on an automining chain the next block is the anchor's).
MIN_BLOCKS_AHEAD: Final = 2
MAX_BLOCKS_AHEAD: Final = 100_000
SecretSource = Callable[[], bytes]
# Who may read a commitment's receipt: everyone; it holds public data only.
_PUBLIC_RECEIPT: Final = Viewer(member_id=None, is_admin=True, is_reviewer=True)


def create_draw(
    *,
    session: Session,
    chain: ChainContext,
    secret_key: str,
    title: str,
    candidates: Sequence[str],
    count: int,
    blocks_ahead: int,
    member_id: int | None,
    purpose: str | None = None,
    organiser_commitment: str | None = None,
    secret_source: SecretSource = lambda: os.urandom(selection.SECRET_SIZE),
) -> Draw:
    """Fixes the draw (commitments, target block), queues its record for anchoring, stores it.

    ``organiser_commitment``: the organiser holds the secret and gives only its keccak256;
    the server then never knows it, and the draw waits for :func:`reveal_secret`."""
    title = title.strip()
    if not title or len(title) > selection.MAX_TITLE_LEN:
        raise InvalidInputError(f"the title must have 1 to {selection.MAX_TITLE_LEN} characters")
    selection.check_candidates(candidates, count)
    if not MIN_BLOCKS_AHEAD <= blocks_ahead <= MAX_BLOCKS_AHEAD:
        raise InvalidInputError(
            f"blocks_ahead must be {MIN_BLOCKS_AHEAD} to {MAX_BLOCKS_AHEAD}, got {blocks_ahead}"
        )
    chain.require_ok()
    target = int(chain.w3.eth.block_number) + blocks_ahead
    secret = None if organiser_commitment else secret_source()
    public_id = new_public_id()
    c_hash = selection.candidates_hash(candidates)
    if secret is not None:
        commitment = selection.secret_commitment(secret)
    else:
        assert organiser_commitment is not None
        commitment = "0x" + parse_hex(organiser_commitment, size=32, what="secret_commitment").hex()
    record = selection.commitment_record(
        draw_id=public_id,
        title=title,
        chain_id=chain.chain_id,
        candidates_hash=c_hash,
        count=count,
        target_block=target,
        secret_commitment=commitment,
    )
    digest = selection.record_digest(record)
    # The record first (it commits): its evidence row's key goes into the draw row. A crash
    # between the two commits leaves an anchored record no draw names, and no draw.
    accepted = submit_digests(
        session=session,
        algorithm="keccak256",
        digests=[bytes.fromhex(digest[2:])],
        member_id=None,  # the platform's commitment, anchored by the operator's key
        label=f"draw {public_id}",
        filenames=[f"draw-{public_id}.json"],
        sizes=[len(canonical_json(record))],
    )
    draw = Draw(
        public_id=public_id,
        title=title,
        purpose=purpose,
        candidates=list(candidates),
        count=count,
        chain_id=chain.chain_id,
        target_block=target,
        candidates_hash=c_hash,
        secret_commitment=commitment,
        record_digest=digest,
        evidence_id=accepted[0].id,
        secret_encrypted=None
        if secret is None
        else encrypt_secret(secret.hex(), secret=secret_key),
        member_id=member_id,
    )
    session.add(draw)
    session.commit()
    session.refresh(draw)
    log.info("draw committed", draw_id=public_id, target_block=target, candidates=len(candidates))
    return draw


def get_draw(*, session: Session, draw_id: str) -> Draw:
    draw = by_public_id(session, Draw, draw_id)
    if draw is None:
        raise NotFoundError(f"no draw with id {draw_id!r}")
    return draw


def _anchor_block(session: Session, draw: Draw) -> int | None:
    """The block of the record's anchor, once its batch is confirmed."""
    ev = session.get(Evidence, draw.evidence_id)
    if ev is None or ev.status not in (EvidenceStatus.ANCHORED, EvidenceStatus.REVOKED):
        return None
    batch = session.get(Batch, ev.batch_id) if ev.batch_id else None
    return None if batch is None else batch.block_number


def draw_public(*, session: Session, draw: Draw) -> dict[str, Any]:
    """The API shape of ``GET /api/v1/draws/{id}``: everything public, the secret once revealed."""
    ev = session.get(Evidence, draw.evidence_id)
    receipt = None
    if ev is not None and ev.status == EvidenceStatus.ANCHORED:
        try:
            receipt = build_receipt(
                session=session, evidence_id=ev.public_id, viewer=_PUBLIC_RECEIPT
            ).model_dump(mode="json")
        except ConflictError:
            receipt = None
    record = selection.commitment_record(
        draw_id=draw.public_id,
        title=draw.title,
        chain_id=draw.chain_id,
        candidates_hash=draw.candidates_hash,
        count=draw.count,
        target_block=draw.target_block,
        secret_commitment=draw.secret_commitment,
    )
    return {
        "id": draw.public_id,
        "title": draw.title,
        "purpose": draw.purpose,
        "status": draw.status,
        "candidates": draw.candidates,
        "count": draw.count,
        "chain_id": draw.chain_id,
        "target_block": draw.target_block,
        "commitments": {
            "candidates_hash": draw.candidates_hash,
            "secret_commitment": draw.secret_commitment,
            "record": record,
            "record_digest": draw.record_digest,
            "evidence_id": ev.public_id if ev is not None else None,
            "anchor_block": _anchor_block(session, draw),
            "receipt": receipt,
        },
        "block_hash": draw.block_hash,
        "secret": draw.secret,
        "selected": draw.selected,
        "void_reason": draw.void_reason,
        "created_at": draw.created_at.isoformat(),
        "drawn_at": draw.drawn_at.isoformat() if draw.drawn_at else None,
    }


def reveal_due(*, session: Session, w3: Web3, secret_key: str, confirmations: int) -> int:
    """Reveals every committed draw whose target block is ``confirmations`` deep; voids those
    whose record was anchored too late. Returns how many draws changed."""
    head = int(w3.eth.block_number)
    due = session.exec(
        select(Draw)
        .where(Draw.status == DrawStatus.COMMITTED.value, col(Draw.target_block) <= head)
        .order_by(col(Draw.id))
    ).all()
    changed = 0
    for draw in due:
        anchored_in = _anchor_block(session, draw)
        if anchored_in is None:
            continue  # still on its way: only its anchor block can tell whether it was in time
        if _void_if_late(draw, anchored_in):
            pass
        elif draw.secret_encrypted is None:
            continue  # the organiser holds the secret: reveal_secret
        elif head - draw.target_block >= confirmations:
            _reveal(draw, w3, secret_key)
        else:
            continue
        session.add(draw)
        session.commit()
        changed += 1
        log.info("draw " + draw.status, draw_id=draw.public_id, target_block=draw.target_block)
    return changed


def reveal_secret(
    *, session: Session, w3: Web3, draw: Draw, secret: str, confirmations: int
) -> Draw:
    """The organiser's reveal of a secret it held: it must match the commitment on chain, and
    the draw must have counted (record anchored before the target block, now final)."""
    raw = parse_hex(secret, size=selection.SECRET_SIZE, what="secret")
    if draw.status != DrawStatus.COMMITTED.value or draw.secret_encrypted is not None:
        raise ConflictError(f"draw {draw.public_id} is {draw.status}: nothing to reveal here")
    if selection.secret_commitment(raw) != draw.secret_commitment:
        raise ConflictError("this secret does not match the draw's secret_commitment")
    anchored_in = _anchor_block(session, draw)
    head = int(w3.eth.block_number)
    if anchored_in is None or head - draw.target_block < confirmations:
        raise ConflictError(
            f"too early: reveal once the record is anchored and block {draw.target_block} is "
            f"final (head {head})"
        )
    if not _void_if_late(draw, anchored_in):
        _compute(draw, w3, raw)
    session.add(draw)
    session.commit()
    return draw


def _void_if_late(draw: Draw, anchored_in: int) -> bool:
    """Voids ``draw`` when its record reached the chain at or after the target block."""
    if anchored_in < draw.target_block:
        return False
    draw.status = DrawStatus.VOID.value
    draw.void_reason = (
        f"the commitment was anchored in block {anchored_in}, not before the target "
        f"block {draw.target_block}: its hash could have been known; draw again"
    )
    draw.secret_encrypted = None  # never revealed: nobody learns the void outcome
    return True


def _reveal(draw: Draw, w3: Web3, secret_key: str) -> None:
    assert draw.secret_encrypted is not None
    _compute(draw, w3, bytes.fromhex(decrypt_secret(draw.secret_encrypted, secret=secret_key)))


def _compute(draw: Draw, w3: Web3, secret: bytes) -> None:
    block = w3.eth.get_block(draw.target_block)
    block_hash = bytes(block["hash"])
    seed = selection.seed_of(block_hash, secret)
    draw.selected = selection.select(draw.candidates, draw.count, seed)
    draw.block_hash = "0x" + block_hash.hex()
    draw.secret = "0x" + secret.hex()
    draw.secret_encrypted = None
    draw.status = DrawStatus.DRAWN.value
    draw.drawn_at = utcnow()
