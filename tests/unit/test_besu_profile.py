"""deploy/besu/: the production profile on paper (issue 18), checked as far as a machine
without Docker can: the compose file by a real compose client, the genesis' QBFT extraData
by decoding it (and its encoder against the Besu docs' own example), the validators against
the nodes' static enodes, and ChainProof's settings in the file by Settings itself."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from chainproof.config import Settings

from ..conftest import ROOT, require
from .test_compose import _compose_command

BESU = ROOT / "deploy" / "besu"
COMPOSE = BESU / "docker-compose.yml"
# Besu docs, "Configure QBFT consensus", block header validator selection: the example
# genesis' extraData and the four validators it names.
DOCS_EXTRA = (
    "0xf87aa00000000000000000000000000000000000000000000000000000000000000000f85494"
    "64a702e6263b7297a96638cac6ae65e6541f416994"
    "3923390ad55e90c237593b3b0e401f3b08a0318594"
    "aefdb9a738c9f433e5b6b212a6d62f6370c2f69294"
    "c7eeb9a4e00ce683cf93039b212648e01c6c6b78c080c0"
)
DOCS_VALIDATORS = [
    "0x64a702e6263b7297a96638cac6ae65e6541f4169",
    "0x3923390ad55e90c237593b3b0e401f3b08a03185",
    "0xaefdb9a738c9f433e5b6b212a6d62f6370c2f692",
    "0xc7eeb9a4e00ce683cf93039b212648e01c6c6b78",
]


@pytest.fixture(scope="module")
def network() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_network", BESU / "make_network.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _resolved() -> dict[str, Any]:
    cmd = _compose_command()
    require(cmd is not None, "no compose client (apt-get install docker-compose)")
    assert cmd is not None
    out = subprocess.run(
        [*cmd, "-f", str(COMPOSE), "config"], capture_output=True, text=True, check=True
    )
    return dict(yaml.safe_load(out.stdout))


def test_the_encoder_matches_the_besu_docs(network: ModuleType) -> None:
    assert network.extra_data(DOCS_VALIDATORS) == DOCS_EXTRA
    assert network.validators_of(DOCS_EXTRA) == DOCS_VALIDATORS
    # The contract-selection variant: no validators in the header.
    assert network.extra_data([]) == "0xe5a0" + "00" * 32 + "c0c080c0"
    with pytest.raises(ValueError):
        network.extra_data(["0x1234"])


def test_the_genesis_names_four_validators_which_are_the_nodes(network: ModuleType) -> None:
    genesis = json.loads((BESU / "genesis.json").read_text())
    validators = network.validators_of(genesis["extraData"])
    assert len(validators) == 4 and len(set(validators)) == 4
    enodes = json.loads((BESU / "static-nodes.json").read_text())
    assert [network.enode_address(e) for e in enodes] == validators
    assert [e.rsplit("@", 1)[1] for e in enodes] == [f"172.28.0.1{n}:30303" for n in range(1, 5)]
    config = genesis["config"]
    assert set(config["qbft"]) >= {"blockperiodseconds", "epochlength", "requesttimeoutseconds"}
    assert config["zeroBaseFee"] is True and config["cancunTime"] == 0
    assert genesis["mixHash"] == network.QBFT_MIX_HASH


def test_the_script_makes_a_network_whose_keys_are_its_validators(
    network: ModuleType, tmp_path: Path
) -> None:
    run = subprocess.run(
        [
            sys.executable,
            str(BESU / "make_network.py"),
            "--validators",
            "5",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    printed = run.stdout.split()
    genesis = json.loads((tmp_path / "genesis.json").read_text())
    assert network.validators_of(genesis["extraData"]) == printed and len(printed) == 5
    from eth_keys import keys

    for n, address in enumerate(printed, start=1):
        key = (tmp_path / "keys" / f"validator{n}" / "key").read_text().strip()
        assert keys.PrivateKey(bytes.fromhex(key[2:])).public_key.to_address() == address
        assert (tmp_path / "keys" / f"validator{n}" / "key").stat().st_mode & 0o077 == 0
    too_few = subprocess.run(
        [
            sys.executable,
            str(BESU / "make_network.py"),
            "--validators",
            "3",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert too_few.returncode != 0 and "4 or more" in too_few.stderr


def test_the_node_keys_are_never_committed() -> None:
    assert (BESU / ".gitignore").read_text().split() == ["keys/"]
    tracked = subprocess.run(
        ["git", "ls-files", str(BESU)], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "keys/" not in tracked


def test_the_compose_file_wires_four_validators_postgres_and_chainproof() -> None:
    cmd = _compose_command()
    require(cmd is not None, "no compose client (apt-get install docker-compose)")
    assert cmd is not None
    ok = subprocess.run([*cmd, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    services = _resolved()["services"]
    validators = [f"validator{n}" for n in range(1, 5)]
    assert set(services) == {*validators, "postgres", "chainproof"}
    for n, name in enumerate(validators, start=1):
        node = services[name]
        assert node["image"].startswith("hyperledger/besu:")
        assert f"--p2p-host=172.28.0.1{n}" in node["command"]
        # compose v1 prints "source:target[:mode]", v2 a mapping.
        mounts = {
            (v["target"] if isinstance(v, dict) else v.split(":")[1]): v for v in node["volumes"]
        }
        keys = mounts["/keys"]
        if isinstance(keys, str):
            source, _, mode = keys.split(":")
            keys = {"source": source, "read_only": mode == "ro"}
        assert keys["source"].endswith(f"deploy/besu/keys/{name}")
        assert keys.get("read_only") is True
        assert "ports" not in node  # the RPC faces ChainProof on the compose network only
    app = services["chainproof"]
    env = app["environment"]
    assert env["CHAINPROOF_CHAIN"].split(",") == [f"http://{v}:8545" for v in validators]
    for name in (*validators, "postgres"):
        assert app["depends_on"][name]["condition"] == "service_healthy"
    # ChainProof reads these settings as they are written: names and values it accepts.
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        **{
            k.removeprefix("CHAINPROOF_").lower(): v
            for k, v in env.items()
            if k.startswith("CHAINPROOF_") and v not in ("", None) and k not in ("CHAINPROOF_ENV",)
        },
    )
    assert (settings.finality, settings.confirmations) == ("confirmations", 1)
    assert settings.tx_type == "legacy"
    assert settings.gas_price == 0 and settings.verify_quorum == 3
    config = (BESU / "config.toml").read_text()
    assert (
        "min-gas-price=0" in config
        and '"QBFT"' in config
        and "ADMIN" not in config.split("rpc-http-api=")[1].split("\n")[0]
    )
