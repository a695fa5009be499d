"""Relayed tender commitments go through the chain writer (issues 15 and 21): SIGKILL a real
``chainproof worker`` before the send, after the send and after the receipt; after a restart
each commitment has landed exactly once (one ``commitBid`` transaction, its operation
``confirmed`` with that hash, the bidder's commitment on chain)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak
from sqlalchemy import Engine
from sqlmodel import Session

from chainproof.chain.context import ChainContext, open_chain
from chainproof.chain.managed import AnvilNode
from chainproof.chain.tender_registry import TenderRegistryClient, tender_registry
from chainproof.config import DEV_OPERATOR_KEY
from chainproof.digests import keccak256
from chainproof.store.db import make_engine, upgrade
from chainproof.tenders import commitments as c
from chainproof.tenders import service
from chainproof.tenders.models import Tender

from .test_trace_writer_crash import _txs
from .test_writer_crash import STEPS, _killed_at, _ops, _run_until, anvil  # noqa: F401

pytestmark = pytest.mark.chain
COMMIT_BID = keccak(text="commitBid(bytes32,address,bytes32,bytes)")[:4]
REFERENCE = "CRASH-001"


@dataclass
class Opened:
    ctx: ChainContext
    client: TenderRegistryClient
    engine: Engine
    data: Path


@pytest.fixture(scope="module")
def opened(
    anvil: AnvilNode,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Opened]:
    """A TenderRegistry (recorded in the data dir, where the worker finds it) with one open
    tender, indexed in the worker's database."""
    data = tmp_path_factory.mktemp("tender-crash") / "data"
    assert anvil.rpc_url
    ctx = open_chain(chain=anvil.rpc_url, data_dir=data, operator_key=DEV_OPERATOR_KEY)
    client = tender_registry(ctx, data_dir=data)
    now = int(ctx.w3.eth.get_block("latest")["timestamp"])
    tid = c.tender_id(REFERENCE)
    client.open_tender(ctx.sender, tid, now + 3600, now + 7200, keccak256(b"documents"))
    url = f"sqlite:///{data / 'chainproof.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as s:
        s.add(
            Tender(
                reference=REFERENCE,
                title="crash",
                tender_id="0x" + tid.hex(),
                registry_address=client.address,
                chain_id=ctx.chain_id,
            )
        )
        s.commit()
    yield Opened(ctx, client, engine, data)
    engine.dispose()
    ctx.stop()


def _relay(opened: Opened, name: str) -> tuple[Account, bytes, int]:
    """A bidder's signed commitment, relayed as the API does: its operation is enqueued."""
    bidder = Account.create()
    tid = c.tender_id(REFERENCE)
    commitment = c.commitment(tid, bidder.address, keccak256(name.encode()), c.new_salt())
    signature = c.sign_commitment(
        bidder,
        chain_id=opened.ctx.chain_id,
        registry=opened.client.address,
        tender=tid,
        commitment=commitment,
    )
    with Session(opened.engine) as s:
        op = service.relay_commitment(
            session=s,
            chain=opened.ctx,
            reference=REFERENCE,
            bidder=bidder.address,
            commitment="0x" + commitment.hex(),
            signature="0x" + signature.hex(),
        )
        assert op.id is not None
        return bidder, commitment, op.id


def test_kill9_at_each_writer_step_lands_each_relayed_commitment_once(
    anvil: AnvilNode,  # noqa: F811
    opened: Opened,
) -> None:
    # Three commitments queued; one worker killed at each step in turn (the first dies
    # before sending the first; the next lands it and dies after sending the second; the
    # next dies after the second's receipt), then one runs until all are settled.
    relayed = [_relay(opened, f"bid {i}") for i in range(3)]
    for step in STEPS:
        _killed_at(anvil, opened.data, step)

    def settled() -> bool:
        return all(op.status in ("confirmed", "failed") for op in _ops(opened.engine))

    _run_until(anvil, opened.data, settled)
    ops = {op.id: op for op in _ops(opened.engine)}
    sent = _txs(opened.ctx, opened.client.address, COMMIT_BID)
    tid = c.tender_id(REFERENCE)
    for bidder, commitment, op_id in relayed:
        done = ops[op_id]
        assert (done.kind, done.status) == ("tender_commit", "confirmed"), done.error
        mine = [
            h
            for h in sent
            if bidder.address[2:].lower() in opened.ctx.w3.eth.get_transaction(h)["input"].hex()  # type: ignore[arg-type]
        ]
        assert mine == [done.tx_hash]  # one transaction for the intention, the one recorded
        assert opened.client.bid(tid, bidder.address).commitment == "0x" + commitment.hex()
