"""Two Anvils shared by the cross-chain tests: a main chain (ChainRegistry) and a sub-chain
with its own chain id. Tests isolate themselves with snapshots, never a new chain."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from chainproof.chain.chain_registry import (
    ChainRegistryClient,
    chain_registry_artifact,
    deploy_chain_registry,
)
from chainproof.chain.deployments import Deployment
from chainproof.chain.managed import AnvilNode
from chainproof.chain.sender import TxSender
from tests.conftest import node_binary_present, require

SUB_CHAIN_ID = 4242


@dataclass
class TwoChains:
    main: AnvilNode
    sub: AnvilNode
    main_w3: Web3
    sub_w3: Web3
    registry: Deployment
    admin: LocalAccount  # owner of the ChainRegistry (dev key 0)
    accounts: list[LocalAccount]

    def client(self) -> ChainRegistryClient:
        abi = self.registry.abi
        assert abi is not None
        return ChainRegistryClient(self.main_w3, self.registry.address, abi)

    @property
    def main_url(self) -> str:
        assert self.main.rpc_url is not None
        return self.main.rpc_url

    @property
    def sub_url(self) -> str:
        assert self.sub.rpc_url is not None
        return self.sub.rpc_url

    def mine_sub(self, height: int) -> None:
        """Mines empty sub-chain blocks until it has a block at ``height``."""
        missing = height - self.sub_w3.eth.block_number
        if missing > 0:
            self.sub_w3.provider.make_request("anvil_mine", [hex(missing)])  # type: ignore[arg-type]

    def fork_sub(self, depth: int) -> None:
        """Replaces the sub-chain's last ``depth`` blocks with others (a transfer in the
        first: empty blocks re-mined in the same second could hash the same)."""
        a = self.accounts[7].address
        tx = {"from": a, "to": a, "value": "0x1"}
        self.sub_w3.provider.make_request("anvil_reorg", [depth, [[tx, 0]]])  # type: ignore[arg-type]

    def admin_sender(self) -> TxSender:
        return TxSender(self.main_w3, self.admin)


@pytest.fixture(scope="session")
def two_chains(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoChains]:
    require(node_binary_present("anvil"), "anvil is missing from node_modules")
    main = AnvilNode()
    sub = AnvilNode(chain_id=SUB_CHAIN_ID)
    main.start()
    sub.start()
    try:
        main_w3, sub_w3 = main.web3(), sub.web3()
        accounts = main.dev_accounts()
        registry = deploy_chain_registry(main_w3, accounts[0], chain_registry_artifact())
        yield TwoChains(main, sub, main_w3, sub_w3, registry, accounts[0], accounts)
    finally:
        sub.stop()
        main.stop()


@pytest.fixture
def chains(two_chains: TwoChains) -> Iterator[TwoChains]:
    """Both chains rolled back after the test."""
    main_snap, sub_snap = two_chains.main.snapshot(), two_chains.sub.snapshot()
    try:
        yield two_chains
    finally:
        two_chains.main.revert(main_snap)
        two_chains.sub.revert(sub_snap)
