"""The batcher's middle step: a planned batch's stored raw transaction sent, its receipt
found by hash, a stuck one replaced, a gapped nonce re-signed; and the recovery at start
that requeues batches whose block the chain lost (``evidence/batcher.py``)."""

from __future__ import annotations

import os
import signal
from datetime import UTC

import structlog
from hexbytes import HexBytes
from sqlmodel import Session, col, select

from chainproof.chain.sender import MinedTx, SignedTx
from chainproof.errors import ChainError, TransactionError
from chainproof.evidence.batch_close import Closing
from chainproof.evidence.batch_confirm import Confirming
from chainproof.store.models import (
    Batch,
    BatchStatus,
    Evidence,
    utcnow,
)

log = structlog.get_logger("chainproof.batcher")


def failpoint(point: str) -> None:
    """Failpoint for the crash tests: CHAINPROOF_FAULT=<point> kills this process right
    here with SIGKILL, as a power cut would. Unset in normal runs, where it costs a lookup."""
    if os.environ.get("CHAINPROOF_FAULT") == point:
        os.kill(os.getpid(), signal.SIGKILL)


class Sending(Closing, Confirming):
    def recover(self) -> bool:
        """Requeues batches whose block the chain lost. False while the chain is not ours."""
        status = self.chain.status(fresh=True)
        if not status.ok:
            self._pause(status.reason or status.code)
            return False
        w3 = self.chain.w3
        with Session(self.engine) as s:
            confirmed = s.exec(
                select(Batch)
                .where(Batch.status == BatchStatus.CONFIRMED.value)
                .order_by(col(Batch.block_number).desc(), col(Batch.id).desc())
            )
            lost: list[Batch] = []
            for b in confirmed:
                try:
                    block = w3.eth.get_block(int(b.block_number or 0))
                    found = HexBytes(block["hash"]).to_0x_hex()
                except Exception:
                    found = None
                if found == b.block_hash:
                    break  # the chain is append-only below the first intact block
                lost.append(b)
            for b in lost:
                log.warning("batch block lost; requeueing", batch_id=b.id, block=b.block_number)
                self._orphan(s, b, f"block {b.block_number} ({b.block_hash}) no longer on chain")
            s.commit()
        self.chain.sender.reset_nonce()
        return True

    def _pause(self, reason: str) -> None:
        if self._paused_reason != reason:
            log.error("batcher paused: chain is not usable", reason=reason)
        self._paused_reason = reason

    def _advance(self, batch_id: int, *, wait: bool = True) -> bool:
        sender = self.chain.sender
        with Session(self.engine) as s:
            b = s.get(Batch, batch_id)
            assert b is not None and b.raw_tx is not None and b.tx_hash is not None
            if b.status == BatchStatus.PLANNED.value:
                with sender.sending():
                    self._resign_if_gapped(s, b)
                    self._send(s, b)
                b.status = BatchStatus.SENT.value
                b.sent_at = utcnow()
                with self._turns.turn(priority=True):
                    s.commit()
                failpoint("after_send")
            if not wait:
                return True
            mined = sender.find_receipt(b.tx_hash)
            if mined is None:
                with sender.sending():
                    if self._resign_if_gapped(s, b):
                        self._send(s, b)
                        b.sent_at = utcnow()
                        with self._turns.turn(priority=True):
                            s.commit()
                        return True
                if self.chain.sender.node_knows(b.tx_hash):
                    try:
                        mined = sender.wait(b.tx_hash, timeout=1.0)
                    except ChainError:
                        self._replace_if_stuck(s, b)
                        return True  # still pending; look again next step
                else:
                    self._send(s, b)  # the node forgot it (restart, eviction): send again
                    s.commit()
                    return True
            if mined.status != 1:
                with self._turns.turn(priority=True):
                    self._handle_revert(s, b, mined)
                    s.commit()
                return True
            if not self.finality.is_final(self.chain.w3, mined.block_number):
                return True  # not final yet: not anchored, no receipt (finality.py)
            failpoint("after_receipt")
            with self._turns.turn(priority=True):
                self._confirm(s, b, mined)
                s.commit()
            self.batches_confirmed += 1
            log.info("batch anchored", batch_id=b.id, tx_hash=b.tx_hash, block=mined.block_number)
            return True

    def _replace_if_stuck(self, s: Session, b: Batch) -> None:
        """A sent anchor pending for ``stuck_after`` seconds is signed again at its nonce with
        fees a quarter higher; at a zero gas price (a free-gas network) it is broadcast again
        instead. If the old one is mined after all, the new one cannot be (same nonce), and
        a re-send that finds the nonce used adopts the root through its Anchored event."""
        if b.sent_at is None:
            return
        sent_at = b.sent_at if b.sent_at.tzinfo else b.sent_at.replace(tzinfo=UTC)
        if (utcnow() - sent_at).total_seconds() < self.stuck_after:
            return
        sender = self.chain.sender
        fees = sender.replacement_fees(b.tx_hash or "")
        with sender.sending():
            if fees is not None:
                old = b.tx_hash
                member_id = s.exec(
                    select(Evidence.member_id).where(col(Evidence.batch_id) == b.id).limit(1)
                ).first()
                self._sign_into(s, b, member_id, nonce=int(b.nonce or 0), fees=fees)
                log.warning(
                    "anchor stuck; replacing it", batch_id=b.id, old_tx=old, new_tx=b.tx_hash
                )
                self.replacements += 1
            self._send(s, b)
        b.sent_at = utcnow()
        with self._turns.turn(priority=True):
            s.commit()

    def _resign_if_gapped(self, s: Session, b: Batch) -> bool:
        """A transaction whose nonce is above the key's next one would never be mined: sign
        it again with the next nonce (True when it did). Planned: a nonce below it was
        reserved and never used. Sent and not mined: the lower nonce's transaction was
        taken away (a reorganisation dropped an anchor signed before it), and with one
        batch in flight nothing of ours would fill the gap: it waited forever, replaced at
        the same nonce each ``stuck_after``. The old copy stays in the pool; mined once
        the gap is filled, it reverts (``RootAlreadyAnchored``). The node's pending count
        is the next *contiguous* nonce (checked on Anvil: a gapped transaction does not
        raise it), and ``sending()`` is held: none of ours is between signing and send."""
        sender = self.chain.sender
        next_nonce = int(self.chain.w3.eth.get_transaction_count(sender.account.address, "pending"))
        if b.nonce is None or int(b.nonce) <= next_nonce:
            return False
        log.warning(
            "nonce above the chain's next; re-signing",
            batch_id=b.id,
            status=b.status,
            planned=b.nonce,
            next=next_nonce,
        )
        self._resign(s, b)
        return True

    def _resign(self, s: Session, b: Batch) -> None:
        """Signs ``b`` again (its member's key, the same root) with the key's next nonce."""
        self.chain.sender.reset_nonce()
        member_id = s.exec(
            select(Evidence.member_id).where(col(Evidence.batch_id) == b.id).limit(1)
        ).first()
        self._sign_into(s, b, member_id)
        s.commit()

    def _send(self, s: Session, b: Batch) -> None:
        sender = self.chain.sender
        signed = SignedTx(
            raw=b.raw_tx or "", tx_hash=b.tx_hash or "", nonce=int(b.nonce or 0), sender=b.signer
        )
        b.attempts += 1
        try:
            sender.send_raw(signed)
        except TransactionError as exc:
            if "nonce" not in str(exc).lower():
                b.last_error = str(exc)
                raise
            # Another transaction of this key took the nonce and ours was never mined:
            # the stored tx can never be mined now, so sign it again with a fresh nonce.
            log.warning("nonce taken; re-signing batch", batch_id=b.id, old_tx=b.tx_hash)
            self._resign(s, b)
            sender.send_raw(
                SignedTx(
                    raw=b.raw_tx or "",
                    tx_hash=b.tx_hash or "",
                    nonce=int(b.nonce or 0),
                    sender=b.signer,
                )
            )

    def _handle_revert(self, s: Session, b: Batch, mined: MinedTx) -> None:
        registry = self.chain.registry_at(b.contract)  # the main one or a channel's
        anchor = registry.get_anchor(b.signer, b.root)
        if anchor is not None:
            # Our root is on chain through an earlier transaction of ours (or of whoever
            # relayed our member's signature first): adopt that one.
            events = registry.anchored_events(
                from_block=anchor.block_number, to_block=anchor.block_number, root=b.root
            )
            for ev in events:
                if ev.root == b.root and ev.submitter == b.signer:
                    b.tx_hash = ev.tx_hash
                    self._confirm(s, b, self.chain.sender.find_receipt(ev.tx_hash) or mined)
                    return
        self._orphan(s, b, f"anchoring transaction {mined.tx_hash} reverted")
