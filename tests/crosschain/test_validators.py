"""Several validators sign a checkpoint: 2-of-3 registered signers, each behind its own
signing endpoint recomputing the range root from its own node; one is offline, one refuses
(its node is another chain); nothing is sent below the threshold, and once a second
validator answers the checkpoint lands with exactly their two signatures."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hexbytes import HexBytes
from sqlmodel import Session, select
from typer.testing import CliRunner

from chainproof.chain.deployments import genesis_hash
from chainproof.chain.managed import AnvilNode
from chainproof.chain.nodes import free_port
from chainproof.cli import app
from chainproof.config import RELAY_DEV_KEY
from chainproof.crosschain.models import CrosschainCheckpoint
from chainproof.crosschain.ranges import checkpoint_typed_data
from chainproof.crosschain.relay import Relay, open_main_chain
from chainproof.crosschain.validators import SignRequest, ValidatorSigner, serve
from chainproof.errors import ChainError, ConflictError
from chainproof.store.db import make_engine, upgrade
from tests.crosschain.conftest import SUB_CHAIN_ID, TwoChains


def test_two_of_three_validators_sign_with_one_offline_and_one_refusing(
    chains: TwoChains, tmp_path: Path
) -> None:
    a, b, c = chains.accounts[1:4]
    client = chains.client()
    client.register(
        chains.admin_sender(),
        chain_id=SUB_CHAIN_ID,
        genesis_hash=genesis_hash(chains.sub_w3),
        name="南宁",
        registries=[],
        signers=[a.address, b.address, c.address],
        threshold=2,
    )
    chains.mine_sub(chains.sub_w3.eth.block_number + 4)
    # C's node is another chain with the same id and height: it refuses to sign. Its genesis
    # is set apart: two Anvils started within one second have the same genesis block.
    genesis_time = chains.sub_w3.eth.get_block(0)["timestamp"]
    impostor = AnvilNode(chain_id=SUB_CHAIN_ID, extra_args=["--timestamp", str(genesis_time + 1)])
    impostor.start()
    missing = chains.sub_w3.eth.block_number + 1
    impostor.web3().provider.make_request("anvil_mine", [hex(missing)])  # type: ignore[arg-type]
    servers = []
    try:
        servers.append(
            serve(
                ValidatorSigner(key=a, sub_w3=chains.sub_w3, registry=client),
                "127.0.0.1",
                port_a := free_port(),
            )
        )
        servers.append(
            serve(
                ValidatorSigner(key=c, sub_w3=impostor.web3(), registry=client),
                "127.0.0.1",
                port_c := free_port(),
            )
        )
        port_b = free_port()  # B is offline for now
        urls = [f"http://127.0.0.1:{p}" for p in (port_a, port_b, port_c)]
        url = f"sqlite:///{tmp_path / 'relay.db'}"
        upgrade(url)
        engine = make_engine(url)
        relay = Relay(
            engine=engine,
            sub_w3=chains.sub_w3,
            main=open_main_chain(
                chains.main_url, chains.registry.address, Account.from_key(RELAY_DEV_KEY)
            ),
            signers=[],  # the relay holds no signing key: validators sign
            every_blocks=4,
            every_seconds=3600,
            signer_endpoints=urls,
        )
        with pytest.raises(ChainError, match="1 of 2 checkpoint signatures") as caught:
            relay.drain(timeout=30)
        said = str(caught.value)  # B away, C refusing: each named, with C's reason
        assert "ConnectError" in said and "409" in said and "another genesis" in said
        assert client.checkpoint_count(SUB_CHAIN_ID) == 0  # nothing below the threshold

        # A validator refuses a root its own node does not give.
        head = chains.sub_w3.eth.block_number
        with pytest.raises(ConflictError, match="refused"):
            ValidatorSigner(key=a, sub_w3=chains.sub_w3, registry=client).sign(
                SignRequest(SUB_CHAIN_ID, 0, head, "0x" + "33" * 32)
            )

        servers.append(
            serve(
                ValidatorSigner(key=b, sub_w3=chains.sub_w3, registry=client), "127.0.0.1", port_b
            )
        )
        relay.drain(timeout=30)
        assert client.checkpoint_count(SUB_CHAIN_ID) == 1
        with Session(engine) as s:
            row = s.exec(select(CrosschainCheckpoint)).one()
        tx = chains.main_w3.eth.get_transaction(HexBytes(row.main_tx_hash or ""))
        _, args = client.contract.decode_function_input(tx["input"])
        typed = checkpoint_typed_data(
            main_chain_id=int(chains.main_w3.eth.chain_id),
            registry=client.address,
            sub_chain_id=SUB_CHAIN_ID,
            genesis_hash=genesis_hash(chains.sub_w3),
            from_block=row.from_block,
            to_block=row.to_block,
            root=row.root,
            epoch=1,
        )
        message = encode_typed_data(full_message=typed)
        signed_by = [Account.recover_message(message, signature=sig) for sig in args["signatures"]]
        assert signed_by == sorted([a.address, b.address], key=lambda x: int(x, 16))

        # The one-shot command gives the same signature a validator's endpoint does.
        result = CliRunner().invoke(
            app,
            [
                "crosschain",
                "sign",
                "--main",
                chains.main_url,
                "--registry",
                client.address,
                "--sub",
                chains.sub_url,
                "--from",
                str(row.from_block),
                "--to",
                str(row.to_block),
                "--root",
                row.root,
            ],
            env={"CHAINPROOF_VALIDATOR_KEY": HexBytes(a.key).to_0x_hex()},
        )
        assert result.exit_code == 0, result.output
        assert Account.recover_message(message, signature=result.output.strip()) == a.address
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
        impostor.stop()
