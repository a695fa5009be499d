"""Free-gas and legacy networks (issue 18): type-0 transactions at gas price 0 on a chain
without a base fee (Anvil started with ``--base-fee 0 --gas-price 0
--disable-min-priority-fee``, as a Besu network with ``min-gas-price=0``), legacy
transactions when the operator asks for them (Ganache), EIP-1559 otherwise, and a stuck
anchor replaced at its nonce."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from sqlalchemy import Engine
from sqlmodel import Session, select

from chainproof.chain.context import ChainContext, open_chain
from chainproof.chain.managed import AnvilNode
from chainproof.chain.nodes import Node
from chainproof.config import DEV_OPERATOR_KEY
from chainproof.digests import hash_bytes
from chainproof.evidence.batcher import Batcher
from chainproof.evidence.intake import submit_digests
from chainproof.evidence.service import build_receipt
from chainproof.evidence.verify import OPERATOR
from chainproof.receipts import verify_receipt
from chainproof.store.db import make_engine, upgrade
from chainproof.store.models import Batch, Evidence

from ..factories import pinned

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def free_gas_anvil() -> Iterator[AnvilNode]:
    # --disable-min-priority-fee: otherwise Anvil suggests 1 gwei (eth_gasPrice) even here.
    node = AnvilNode(
        extra_args=["--base-fee", "0", "--gas-price", "0", "--disable-min-priority-fee"]
    )
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    url = f"sqlite:///{tmp_path / 'cp.db'}"
    upgrade(url)
    return make_engine(url)


def _anchor_and_check(ctx: ChainContext, engine: Engine, tag: str) -> dict[str, object]:
    """Anchors three documents; every receipt verifies against the pinned anchor. Returns
    the anchoring transaction as the node holds it."""
    digests = [hash_bytes(f"{tag}-{i}".encode(), "sha256") for i in range(3)]
    with Session(engine) as s:
        submit_digests(session=s, algorithm="sha256", digests=digests, member_id=None)
    Batcher(engine=engine, chain=ctx, batch_size=10, interval_ms=10).drain(timeout=60)
    trust = pinned(ctx.w3, ctx.contract)
    with Session(engine) as s:
        for ev in s.exec(select(Evidence)).all():
            assert ev.status == "anchored"
            receipt = build_receipt(session=s, evidence_id=ev.public_id, viewer=OPERATOR)
            verdict = verify_receipt(receipt, ctx.w3, trust=trust)
            assert verdict.valid, verdict.reason
        batch = s.exec(select(Batch)).one()
    return dict(ctx.w3.eth.get_transaction(batch.tx_hash))  # type: ignore[arg-type]


def test_a_key_without_ether_anchors_on_a_free_gas_chain(
    free_gas_anvil: AnvilNode, engine: Engine, tmp_path: Path
) -> None:
    w3 = free_gas_anvil.web3()
    assert w3.eth.get_block("latest")["baseFeePerGas"] == 0
    pauper = Account.create()  # no ether at all: only a zero gas price lets it transact
    ctx = open_chain(
        chain=free_gas_anvil.rpc_url or "", data_dir=tmp_path, operator_key=pauper.key.hex()
    )
    try:
        tx = _anchor_and_check(ctx, engine, "free")
    finally:
        ctx.stop()
    assert tx["type"] == 0 and tx["gasPrice"] == 0
    deploy_tx = w3.eth.get_transaction(
        w3.eth.get_block(1, full_transactions=False)["transactions"][0]
    )
    assert deploy_tx["type"] == 0 and deploy_tx["gasPrice"] == 0
    assert w3.eth.get_balance(pauper.address) == 0


def test_an_anvil_with_a_base_fee_gets_eip1559_and_a_stuck_anchor_is_replaced(
    network: AnvilNode, engine: Engine, tmp_path: Path
) -> None:
    ctx = open_chain(chain=network.rpc_url or "", data_dir=tmp_path, operator_key=DEV_OPERATOR_KEY)
    network._rpc("evm_setAutomine", [False])
    try:
        with Session(engine) as s:
            submit_digests(
                session=s,
                algorithm="sha256",
                digests=[hash_bytes(b"stuck", "sha256")],
                member_id=None,
            )
        batcher = Batcher(engine=engine, chain=ctx, batch_size=10, interval_ms=10, stuck_after=0.2)
        batcher.step(force=True)  # plans, sends, waits a second: nothing is mined
        with Session(engine) as s:
            first = s.exec(select(Batch)).one()
        assert first.status == "sent"
        old = dict(ctx.w3.eth.get_transaction(first.tx_hash))  # type: ignore[arg-type]
        assert old["type"] == 2
        batcher.step(force=True)  # still pending after stuck_after: replaced at its nonce
        assert batcher.replacements >= 1
        with Session(engine) as s:
            replaced = s.exec(select(Batch)).one()
        assert replaced.tx_hash != first.tx_hash and replaced.nonce == first.nonce
        new = dict(ctx.w3.eth.get_transaction(replaced.tx_hash))  # type: ignore[arg-type]
        assert new["maxFeePerGas"] > old["maxFeePerGas"]
        network._rpc("evm_mine", [])
        batcher.drain(timeout=30)
        with Session(engine) as s:
            done = s.exec(select(Batch)).one()
            assert done.status == "confirmed" and done.tx_hash == replaced.tx_hash
    finally:
        network._rpc("evm_setAutomine", [True])
        ctx.stop()


@pytest.mark.parametrize("chain_node", ["ganache"], indirect=True)
def test_legacy_transactions_when_the_operator_configures_them_on_ganache(
    chain_node: Node, engine: Engine, tmp_path: Path
) -> None:
    snap = chain_node.snapshot()
    ctx = open_chain(
        chain=chain_node.rpc_url or "",
        data_dir=tmp_path,
        operator_key=DEV_OPERATOR_KEY,
        tx_type="legacy",
    )
    try:
        assert ctx.w3.eth.get_block("latest")["baseFeePerGas"] > 0  # EIP-1559 is on there
        tx = _anchor_and_check(ctx, engine, "ganache-legacy")
        assert tx["type"] == 0 and tx["gasPrice"] == ctx.w3.eth.gas_price
    finally:
        ctx.stop()
        chain_node.revert(snap)
