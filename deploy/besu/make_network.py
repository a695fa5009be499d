#!/usr/bin/env python3
"""Generates a Hyperledger Besu QBFT network of N validators for ChainProof's production
profile (docs/consortium.md): one node key per validator (``keys/validatorN/key``, never
committed), the genesis whose ``extraData`` names the validators, and ``static-nodes.json``
wiring the nodes to each other on the compose network.

    python deploy/besu/make_network.py            # 4 validators, into deploy/besu/
    python deploy/besu/make_network.py --validators 6 --out /tmp/net

The committed genesis.json and static-nodes.json are one run of this script (an example):
run it again to make a network of your own, whose keys only you hold.

QBFT ``extraData`` (Besu docs, "Configure QBFT consensus", block header validator selection)
is the RLP encoding of ``[32 bytes vanity, [validator addresses], vote, round, seals]``: at
genesis no vote (an empty list), round 0 (an empty string) and no seals (an empty list).
"""

from __future__ import annotations

import argparse
import json
import secrets
from pathlib import Path

import rlp
from eth_keys import keys

HERE = Path(__file__).resolve().parent
SUBNET = "172.28.0"  # the compose file's besu network; validator N at .1N
P2P_PORT = 30303
CHAIN_ID = 20230  # 桂链-style consortium profile; any id no public network uses
# Besu's QBFT/IBFT 2.0 genesis mixHash ("ictical byzantine fault tolerance"), from its docs.
QBFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"


def extra_data(validators: list[str], vanity: bytes = b"\x00" * 32) -> str:
    """QBFT genesis extraData for ``validators`` (0x addresses)."""
    if len(vanity) != 32:
        raise ValueError("the vanity is 32 bytes")
    addresses = [bytes.fromhex(a.removeprefix("0x")) for a in validators]
    if any(len(a) != 20 for a in addresses):
        raise ValueError("validators are 20-byte addresses")
    return "0x" + rlp.encode([vanity, addresses, [], b"", []]).hex()


def validators_of(extra: str) -> list[str]:
    """The validator addresses a QBFT extraData names (the inverse of :func:`extra_data`)."""
    vanity, addresses, vote, round_, seals = rlp.decode(bytes.fromhex(extra.removeprefix("0x")))
    if len(vanity) != 32 or vote != [] or round_ != b"" or seals != []:
        raise ValueError("not a QBFT genesis extraData")
    return ["0x" + bytes(a).hex() for a in addresses]


def genesis(validators: list[str], *, chain_id: int = CHAIN_ID) -> dict[str, object]:
    return {
        "config": {
            "chainId": chain_id,
            "berlinBlock": 0,
            "londonBlock": 0,
            "shanghaiTime": 0,
            "cancunTime": 0,  # the registry is compiled for cancun and later (MCOPY)
            # Free gas: base fee 0 for ever, so ChainProof sends legacy transactions at gas
            # price 0 (with min-gas-price=0 in config.toml) and no account needs ether.
            "zeroBaseFee": True,
            "qbft": {
                "blockperiodseconds": 2,
                "epochlength": 30000,
                "requesttimeoutseconds": 4,
            },
        },
        "nonce": "0x0",
        "timestamp": "0x0",
        "extraData": extra_data(validators),
        "gasLimit": "0x1c9c380",  # 30,000,000: the dev chains' limit
        "difficulty": "0x1",
        "mixHash": QBFT_MIX_HASH,
        "coinbase": "0x0000000000000000000000000000000000000000",
        "alloc": {},
        "number": "0x0",
        "gasUsed": "0x0",
        "parentHash": "0x" + "00" * 32,
    }


def enode_address(enode: str) -> str:
    """The address of the node key behind ``enode://PUBKEY@host:port``."""
    public = keys.PublicKey(bytes.fromhex(enode.removeprefix("enode://").split("@", 1)[0]))
    return public.to_checksum_address().lower()


def make(out: Path, count: int) -> list[str]:
    """Writes keys/, genesis.json and static-nodes.json under ``out``; returns the validators."""
    validators, enodes = [], []
    for n in range(1, count + 1):
        key = keys.PrivateKey(secrets.token_bytes(32))
        folder = out / "keys" / f"validator{n}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "key").write_text(key.to_hex() + "\n")
        (folder / "key").chmod(0o600)
        (folder / "key.pub").write_text(key.public_key.to_hex() + "\n")
        validators.append(key.public_key.to_checksum_address().lower())
        enodes.append(f"enode://{key.public_key.to_hex()[2:]}@{SUBNET}.1{n}:{P2P_PORT}")
    (out / "genesis.json").write_text(json.dumps(genesis(validators), indent=2) + "\n")
    (out / "static-nodes.json").write_text(json.dumps(enodes, indent=2) + "\n")
    return validators


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--validators", type=int, default=4, help="how many (4 or more)")
    parser.add_argument("--out", type=Path, default=HERE, help="where to write")
    args = parser.parse_args()
    if args.validators < 4:
        parser.error("QBFT tolerates f faulty validators out of 3f+1: run 4 or more")
    for address in make(args.out, args.validators):
        print(address)


if __name__ == "__main__":
    main()
