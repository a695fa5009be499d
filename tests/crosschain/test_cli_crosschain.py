"""``chainproof crosschain``: the main chain admin registers, rotates, retires and reads
sub-chains on a real ChainRegistry; another key is refused by the contract."""

from __future__ import annotations

from hexbytes import HexBytes
from typer.testing import CliRunner

from chainproof.chain.deployments import genesis_hash
from chainproof.cli import app
from tests.crosschain.conftest import SUB_CHAIN_ID, TwoChains


def _cli(chains: TwoChains, key: bytes, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        ["crosschain", *args],
        env={"CHAINPROOF_MAIN_ADMIN_KEY": HexBytes(key).to_0x_hex(), "COLUMNS": "300"},
    )
    return result.exit_code, result.output


def test_the_admin_registers_rotates_and_retires_a_sub_chain(chains: TwoChains) -> None:
    admin, stranger = chains.admin.key, chains.accounts[6].key
    a, b, c = (x.address for x in chains.accounts[1:4])
    where = ("--main", chains.main_url, "--registry", chains.registry.address)
    code, out = _cli(chains, stranger, "register", *where, "--sub", chains.sub_url, "--signer", a)
    assert code == 1 and "OwnableUnauthorizedAccount" in out, out
    code, out = _cli(
        chains,
        admin,
        "register",
        *where,
        *("--sub", chains.sub_url, "--signer", a, "--signer", b, "--threshold", "2"),
        *("--name", "南宁"),
    )
    assert code == 0, out
    record = chains.client().chain_of(SUB_CHAIN_ID)
    assert (record.genesis_hash, record.threshold) == (genesis_hash(chains.sub_w3), 2)
    code, out = _cli(
        chains, admin, "rotate", *where, "--chain-id", str(SUB_CHAIN_ID), "--signer", c
    )
    assert code == 0 and "epoch 2" in out, out
    code, out = _cli(chains, admin, "status", *where)
    assert code == 0 and f"chain {SUB_CHAIN_ID} '南宁'" in out and c in out and a not in out, out
    code, out = _cli(chains, admin, "retire", *where, "--chain-id", str(SUB_CHAIN_ID))
    assert code == 0, out
    assert chains.client().chain_of(SUB_CHAIN_ID).retired
    code, out = _cli(chains, admin, "status", *where, "--chain-id", str(SUB_CHAIN_ID))
    assert "RETIRED" in out, out
