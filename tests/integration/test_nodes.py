"""chain/nodes.py and chain/managed.py against real chains: eth-tester in process, Anvil and
Ganache as child processes.

No mocks: every test talks JSON-RPC to a real node. Anvil and Ganache come from node_modules;
without them the tests skip loudly, or fail under ``CHAINPROOF_REQUIRE_ALL=1``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import TxReceipt

from chainproof.chain.managed import AnvilNode, GanacheNode, anvil_binary, ganache_binary
from chainproof.chain.nodes import (
    DEV_MNEMONIC,
    EmbeddedNode,
    ExternalNode,
    Node,
    dev_accounts,
    free_port,
    make_node,
    wait_for_rpc,
)
from chainproof.chain.processes import children, listeners
from chainproof.config import find_project_root
from chainproof.errors import ChainError, ConfigError, NodeStartError

ROOT = find_project_root()
REQUIRE_ALL = os.environ.get("CHAINPROOF_REQUIRE_ALL") == "1"
EXPECTED_CHAIN_ID = {"embedded": 131_277_322_940_537, "anvil": 31337, "ganache": 1337}
DEV_BALANCE = Web3.to_wei(10_000, "ether")

ALL_KINDS = [
    pytest.param("embedded"),
    pytest.param("anvil", marks=pytest.mark.chain),
    pytest.param("ganache", marks=pytest.mark.chain),
]
PROCESS_KINDS = [
    pytest.param("anvil", marks=pytest.mark.chain),
    pytest.param("ganache", marks=pytest.mark.chain),
]


def require_binary(kind: str) -> None:
    """Skip loudly when the node's binary is missing; fail under CHAINPROOF_REQUIRE_ALL=1."""
    find = {"anvil": anvil_binary, "ganache": ganache_binary}.get(kind)
    if find is None:
        return
    try:
        find(ROOT)
    except NodeStartError as exc:
        if REQUIRE_ALL:
            pytest.fail(f"CHAINPROOF_REQUIRE_ALL=1 and {exc.message}")
        pytest.skip(f"SKIPPED LOUDLY: {exc.message}")


def new_node(kind: str, data_dir: Path) -> Node:
    require_binary(kind)
    return make_node(kind, data_dir=data_dir)


def assert_gone(pid: int) -> None:
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def transfer(w3: Web3, sender: LocalAccount, to: str, value: int) -> TxReceipt:
    """A value transfer signed here and sent raw, the only way ChainProof sends."""
    tip = Web3.to_wei(1, "gwei")
    base_fee = int(w3.eth.get_block("latest").get("baseFeePerGas", 0))
    tx: dict[str, Any] = {
        "to": to,
        "value": value,
        "gas": 21_000,
        "nonce": w3.eth.get_transaction_count(sender.address, "pending"),
        "chainId": w3.eth.chain_id,
        "maxFeePerGas": 2 * base_fee + tip,
        "maxPriorityFeePerGas": tip,
    }
    tx_hash = w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
    return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10, poll_latency=0.01)


@pytest.fixture(scope="module", params=ALL_KINDS)
def shared_node(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Node]:
    """One running node per kind for this module (tests roll back through ``node``)."""
    node = new_node(request.param, tmp_path_factory.mktemp(f"shared-{request.param}"))
    with node:
        yield node


@pytest.fixture
def node(shared_node: Node) -> Iterator[Node]:
    """The module's node of this kind, reverted to its state before the test."""
    snapshot = shared_node.snapshot()
    yield shared_node
    shared_node.revert(snapshot)


def test_dev_keys_are_the_first_ten_of_the_dev_mnemonic() -> None:
    Account.enable_unaudited_hdwallet_features()
    derived = [
        Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}").address
        for i in range(10)
    ]
    assert [acct.address for acct in dev_accounts()] == derived


def test_node_answers_with_its_chain_id(node: Node) -> None:
    assert node.is_running()
    assert node.managed
    assert node.chain_id() == EXPECTED_CHAIN_ID[node.kind]
    assert node.web3().is_connected()
    assert (node.rpc_url is None) == (node.kind == "embedded")


def test_dev_accounts_are_funded_and_blocks_are_large(node: Node) -> None:
    w3 = node.web3()
    accounts = node.dev_accounts()
    assert len(accounts) == 10
    assert all(w3.eth.get_balance(acct.address) == DEV_BALANCE for acct in accounts)
    assert w3.eth.get_block("latest")["gasLimit"] >= 30_000_000


def test_locally_signed_transfer_is_mined(node: Node) -> None:
    w3 = node.web3()
    recipient = Account.create().address
    before = w3.eth.block_number
    receipt = transfer(w3, node.dev_accounts()[1], recipient, 12345)
    assert receipt["status"] == 1
    assert receipt["blockNumber"] > before
    assert w3.eth.get_balance(recipient) == 12345


def test_revert_undoes_everything_after_the_snapshot(node: Node) -> None:
    w3 = node.web3()
    recipient = Account.create().address
    block = w3.eth.block_number
    snapshot = node.snapshot()
    transfer(w3, node.dev_accounts()[2], recipient, 1)
    node.revert(snapshot)
    assert w3.eth.get_balance(recipient) == 0
    assert w3.eth.block_number == block
    # After a revert the chain moves on normally (same nonce again).
    assert transfer(w3, node.dev_accounts()[2], recipient, 2)["status"] == 1


def test_revert_to_an_unknown_snapshot_raises(node: Node) -> None:
    with pytest.raises(ChainError):
        node.revert("0x7777")


def test_embedded_node_refuses_web3_before_start_and_after_stop() -> None:
    node = EmbeddedNode()
    with pytest.raises(ChainError, match="not started"):
        node.web3()
    with node:
        assert node.chain_id() == EXPECTED_CHAIN_ID["embedded"]
    assert not node.is_running()
    with pytest.raises(ChainError):
        node.web3()


@pytest.mark.parametrize("kind", PROCESS_KINDS)
def test_restart_keeps_the_chain(kind: str, tmp_path: Path) -> None:
    node = new_node(kind, tmp_path)
    assert isinstance(node, AnvilNode | GanacheNode)
    recipient = Account.create().address
    with node:
        w3 = node.web3()
        genesis = w3.eth.get_block(0)["hash"]
        transfer(w3, node.dev_accounts()[3], recipient, 777)
        height = w3.eth.block_number
        first_pid = node.pid
    assert first_pid is not None
    assert_gone(first_pid)
    with node:
        w3 = node.web3()
        assert node.pid != first_pid
        assert w3.eth.get_block(0)["hash"] == genesis
        assert w3.eth.block_number == height
        assert w3.eth.get_balance(recipient) == 777


@pytest.mark.chain
def test_anvil_killed_hard_keeps_what_it_saved_a_second_ago(tmp_path: Path) -> None:
    require_binary("anvil")
    node = AnvilNode(state_file=tmp_path / "anvil-state.json")
    recipient = Account.create().address
    with node:
        w3 = node.web3()
        transfer(w3, node.dev_accounts()[4], recipient, 99)
        time.sleep(1.3)  # --state-interval 1
        assert node.pid is not None
        # The anvil itself, not its watchdog (whose death would give it a SIGTERM to save on).
        (anvil,) = children(node.pid)
        os.kill(anvil.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while node.is_running() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not node.is_running()
    with node:
        assert node.web3().eth.get_balance(recipient) == 99


@pytest.mark.parametrize("kind", PROCESS_KINDS)
def test_stop_leaves_no_process(kind: str, tmp_path: Path) -> None:
    node = new_node(kind, tmp_path)
    assert isinstance(node, AnvilNode | GanacheNode)
    with node:
        pid = node.pid
        assert pid is not None
        os.kill(pid, 0)  # alive
        nodes = [info.pid for info in children(pid)]  # under the watchdog `pid`
        assert len(nodes) == 1
    assert not node.is_running()
    for gone in (pid, *nodes):
        assert_gone(gone)
    node.stop()  # idempotent


ORPHAN_SCRIPT = """
import gc, sys
from chainproof.chain.managed import AnvilNode
node = AnvilNode()
node.start()
print(node.pid, flush=True)
if sys.argv[1] == "raise":
    raise RuntimeError("boom")
if sys.argv[1] == "drop":
    del node
    gc.collect()
    print("dropped", flush=True)
    input()  # still alive: only the finalizer can have stopped the node
"""


@pytest.mark.chain
@pytest.mark.parametrize("how", ["exit", "raise", "drop"])
def test_a_node_never_outlives_its_owner(how: str) -> None:
    """No stop() call: atexit (normal exit, uncaught exception) or GC must end the node."""
    require_binary("anvil")
    proc = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_SCRIPT, how],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        pid = int(proc.stdout.readline())
        if how == "drop":
            assert proc.stdout.readline().strip() == "dropped"
            assert_gone(pid)
        proc.communicate(input="\n", timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == (1 if how == "raise" else 0)
    assert_gone(pid)


@pytest.mark.chain
def test_a_port_in_use_fails_fast_with_the_nodes_own_words() -> None:
    require_binary("anvil")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        node = AnvilNode(port=busy.getsockname()[1])
        started = time.monotonic()
        with pytest.raises(NodeStartError, match="in use"):
            node.start()
    assert time.monotonic() - started < 5
    assert not node.is_running()


def test_a_node_never_adopts_another_nodes_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """free_port()'s race, lost the other way: another chain takes the picked port first and
    answers the readiness probe while ours fails to bind. Adopting it put two servers on one
    chain under a loaded test run (nonce too low, then a chain gone when its owner stopped)."""
    require_binary("anvil")
    from chainproof.chain import managed

    with AnvilNode() as stranger:
        taken = int(stranger.rpc_url.rsplit(":", 1)[1])
        picks = iter([taken])
        monkeypatch.setattr(managed, "free_port", lambda: next(picks, None) or free_port())
        with AnvilNode() as ours:
            assert ours.rpc_url != stranger.rpc_url and ours.is_running()
            # Its own node listens where it says, and the stranger's still on its port.
            held = listeners(int(ours.rpc_url.rsplit(":", 1)[1]))
            assert ours.pid in {os.getpgid(info.pid) for info in held}
            assert stranger.web3().eth.block_number >= 0


def test_make_node_builds_each_kind_without_starting_it(tmp_path: Path) -> None:
    anvil = make_node("anvil", data_dir=tmp_path, port=8545)
    assert isinstance(anvil, AnvilNode)
    assert anvil.state_file == tmp_path / "anvil-state.json"
    assert anvil.port == 8545
    ganache = make_node(" Ganache ", data_dir=tmp_path)
    assert isinstance(ganache, GanacheNode)
    assert ganache.db_path == tmp_path / "ganache-db"
    assert isinstance(make_node("embedded", data_dir=tmp_path), EmbeddedNode)
    external = make_node("https://rpc.example.org/v3/KEY", data_dir=tmp_path)
    assert isinstance(external, ExternalNode)
    assert not external.managed
    assert external.dev_accounts() == []
    assert "KEY" not in repr(external)  # hosted RPC URLs carry API keys
    assert not any(n.is_running() for n in (anvil, ganache))


@pytest.mark.parametrize("spec", ["", "geth", "ws://127.0.0.1:8546", "anvil2"])
def test_make_node_rejects_a_bad_spec(spec: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="embedded, anvil, ganache or an http"):
        make_node(spec, data_dir=tmp_path)


def test_make_node_hides_the_key_of_a_bad_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        make_node("wss://mainnet.example.io/v3/SECRET123", data_dir=tmp_path)
    assert "SECRET123" not in str(caught.value)


def test_make_node_refuses_a_port_for_an_unmanaged_kind(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="port"):
        make_node("embedded", data_dir=tmp_path, port=8545)


def test_external_node_on_a_closed_port_fails_quickly() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(ChainError, match=re.escape(url)):
        ExternalNode(url).start()
    assert time.monotonic() - started < 2


@pytest.mark.chain
def test_external_node_uses_a_node_it_does_not_own() -> None:
    require_binary("anvil")
    with AnvilNode() as anvil:
        assert anvil.rpc_url is not None
        external = ExternalNode(anvil.rpc_url)
        with external:
            assert external.is_running()
            assert external.chain_id() == EXPECTED_CHAIN_ID["anvil"]
            assert external.web3().eth.get_balance(dev_accounts()[0].address) == DEV_BALANCE
        assert anvil.is_running()  # stopping the external handle leaves the node alone
        assert not ExternalNode(f"http://127.0.0.1:{free_port()}").is_running()


def test_wait_for_rpc_gives_up_after_its_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(ChainError, match="no JSON-RPC answer"):
        wait_for_rpc(f"http://127.0.0.1:{free_port()}", 0.3)
    assert time.monotonic() - started < 2


@pytest.mark.chain
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_chain_up_serves_until_signalled_then_leaves_no_node(
    stop_signal: signal.Signals, tmp_path: Path
) -> None:
    require_binary("anvil")
    cli = Path(sys.executable).parent / "chainproof"
    assert cli.exists(), f"{cli} missing: pip install -e . in the venv"
    port = free_port()
    output = tmp_path / "out.txt"
    data = str(tmp_path / "data")
    with output.open("wb") as out:
        proc = subprocess.Popen(
            [str(cli), "chain", "up", "--kind", "anvil", "--port", str(port), "--data-dir", data],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_for_rpc(f"http://127.0.0.1:{port}", 20)
        deadline = time.monotonic() + 10
        while "Press Ctrl-C" not in output.read_text() and time.monotonic() < deadline:
            time.sleep(0.02)
        text = output.read_text()
        assert f"http://127.0.0.1:{port}" in text and "chain id 31337" in text
        assert dev_accounts()[0].address in text and "junk" in text
        assert "0xac0974" not in text  # addresses and the public mnemonic, not keys
        found = re.search(r"pid (\d+)", text)
        assert found, text
        anvil_pid = int(found.group(1))

        proc.send_signal(stop_signal)
        assert proc.wait(timeout=15) == 0, output.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert_gone(anvil_pid)
    if shutil.which("pgrep"):
        leftover = subprocess.run(["pgrep", "-f", f"anvil.*--port {port}"], capture_output=True)
        assert leftover.returncode == 1, leftover.stdout
    assert (tmp_path / "data" / "anvil-state.json").is_file()
    assert "stopped" in output.read_text()
