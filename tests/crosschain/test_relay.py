"""The checkpoint relay on two real chains: exactly one checkpoint per range with the
process SIGKILLed at each step, and a sub-chain fork found loudly with nothing new anchored."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hexbytes import HexBytes
from sqlmodel import Session, col, select

from chainproof.chain.deployments import genesis_hash
from chainproof.crosschain.models import CrosschainCheckpoint
from chainproof.crosschain.ranges import block_in_root, leaf_proof, range_tree
from chainproof.crosschain.relay import CHECKPOINT, FORKS, Relay, open_main_chain
from chainproof.store.db import make_engine, upgrade
from chainproof.store.ops import ChainOp, OpStatus
from tests import forked
from tests.crosschain.conftest import SUB_CHAIN_ID, TwoChains

STEPS = ("relay_after_enqueue", "writer_before_send", "writer_after_send", "writer_after_receipt")


def _register(chains: TwoChains) -> None:
    chains.client().register(
        chains.admin_sender(),
        chain_id=SUB_CHAIN_ID,
        genesis_hash=genesis_hash(chains.sub_w3),
        name="南宁 city chain",
        registries=[],
        signers=[chains.admin.address],  # development: the operator key signs for the sub-chain
        threshold=1,
    )


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'relay.db'}"
    upgrade(url)
    return url


def _run(chains: TwoChains, database: str, fault: str | None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CHAINPROOF_OPERATOR_KEY": HexBytes(chains.admin.key).to_0x_hex(),
        "CHAINPROOF_FAULT": fault or "",
    }
    return forked.run(
        [
            sys.executable,
            "-m",
            "chainproof.crosschain",
            *("--database", database, "--sub", chains.sub_url, "--main", chains.main_url),
            *("--registry", chains.registry.address, "--every-blocks", "4"),
            "--every-seconds",
            "3600",
        ],
        env=env,
        cwd=Path.cwd(),
        timeout=120,
    )


def test_each_range_is_anchored_exactly_once_with_kill_9_at_each_step(
    chains: TwoChains, database: str
) -> None:
    _register(chains)
    for step in STEPS:
        chains.mine_sub(chains.sub_w3.eth.block_number + 5)
        killed = _run(chains, database, step)
        assert killed.returncode == -9, (step, killed.stderr[-2000:])
        again = _run(chains, database, None)
        assert again.returncode == 0, (step, again.stderr[-2000:])
    client = chains.client()
    count = client.checkpoint_count(SUB_CHAIN_ID)
    on_chain = [client.checkpoint_at(SUB_CHAIN_ID, i) for i in range(count)]
    with Session(make_engine(database)) as s:
        rows = s.exec(select(CrosschainCheckpoint).order_by(col(CrosschainCheckpoint.from_block)))
        rows_list = list(rows)
        ops = list(s.exec(select(ChainOp).where(ChainOp.kind == CHECKPOINT)))
    assert count == len(STEPS)  # one range per round, none twice
    assert [(r.from_block, r.to_block, r.root) for r in rows_list] == [
        (c.from_block, c.to_block, c.root) for c in on_chain
    ]
    assert on_chain[0].from_block == 0
    for a, b in itertools.pairwise(on_chain):
        assert b.from_block == a.to_block + 1  # contiguous, no overlap
    assert [o.status for o in ops] == [OpStatus.CONFIRMED.value] * len(STEPS)
    events = client.contract.events.CheckpointPosted.get_logs(from_block=0)
    assert len(events) == len(STEPS)
    assert {r.main_tx_hash for r in rows_list} == {
        HexBytes(e["transactionHash"]).to_0x_hex() for e in events
    }
    # Every stored range is the sub-chain's hashes, under the anchored root.
    for r in rows_list:
        assert HexBytes(range_tree(r.from_block, r.block_hashes).root).to_0x_hex() == r.root


def test_a_sub_chain_fork_is_found_loudly_and_nothing_new_is_anchored(
    chains: TwoChains, database: str
) -> None:
    _register(chains)
    chains.mine_sub(9)
    main = open_main_chain(chains.main_url, chains.registry.address, chains.admin)
    relay = Relay(
        engine=make_engine(database),
        sub_w3=chains.sub_w3,
        main=main,
        signers=[chains.admin],
        every_blocks=4,
        every_seconds=3600,
    )
    relay.drain()
    client = chains.client()
    assert client.checkpoint_count(SUB_CHAIN_ID) == 1
    old = client.checkpoint_at(SUB_CHAIN_ID, 0)
    assert (old.from_block, old.to_block) == (0, 9)
    old_hash = HexBytes(chains.sub_w3.eth.get_block(8)["hash"]).to_0x_hex()
    with Session(make_engine(database)) as s:
        stored = s.exec(select(CrosschainCheckpoint)).one()
    proof = leaf_proof(range_tree(0, stored.block_hashes), 8, old_hash)

    forks_before = FORKS._value.get()
    chains.fork_sub(3)
    chains.mine_sub(20)
    new_hash = HexBytes(chains.sub_w3.eth.get_block(8)["hash"]).to_0x_hex()
    assert new_hash != old_hash

    relay.drain()
    assert relay.fork is not None and relay.fork.height == 9
    assert "reset or fork" in relay.fork.detail()
    assert FORKS._value.get() == forks_before + 1
    assert client.checkpoint_count(SUB_CHAIN_ID) == 1  # nothing anchored after the fork
    # The new block at a checkpointed height has no valid proof, on chain or off.
    assert not client.verify_block(SUB_CHAIN_ID, 8, new_hash, proof)
    assert not block_in_root(old.root, 8, new_hash, proof)
    assert client.verify_block(SUB_CHAIN_ID, 8, old_hash, proof)
