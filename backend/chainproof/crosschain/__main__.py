"""``python -m chainproof.crosschain``: one relay run, for operators' one-shot catch-up and
the crash tests (a process killed at a step, then run again).

    python -m chainproof.crosschain --database URL --sub RPC --main RPC --registry ADDR
        [--every-blocks K] [--every-seconds T]

The relay key (``CHAINPROOF_RELAY_KEY``; unset: the development relay key) sends on the main
chain, under its leader lock (PostgreSQL's advisory lock, or a lock file beside a SQLite
database): a running worker relaying with the same key makes this run refuse (exit 4). The
operator key (``CHAINPROOF_OPERATOR_KEY``) signs the checkpoints (in development it is the
sub-chain's one registered signer).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from eth_account import Account
from web3 import Web3

from chainproof.config import RELAY_DEV_KEY
from chainproof.crosschain.relay import Relay, open_main_chain
from chainproof.errors import ConflictError
from chainproof.evidence.batcher import key_lock
from chainproof.store.db import make_engine


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m chainproof.crosschain")
    ap.add_argument("--database", required=True)
    ap.add_argument("--sub", required=True, help="the sub-chain's JSON-RPC URL")
    ap.add_argument("--main", required=True, help="the main chain's JSON-RPC URL")
    ap.add_argument("--registry", required=True, help="ChainRegistry's address on the main chain")
    ap.add_argument("--every-blocks", type=int, default=64)
    ap.add_argument("--every-seconds", type=float, default=60.0)
    args = ap.parse_args(argv)
    signer = Account.from_key(os.environ["CHAINPROOF_OPERATOR_KEY"])
    relay_key = Account.from_key(os.environ.get("CHAINPROOF_RELAY_KEY") or RELAY_DEV_KEY)
    engine = make_engine(args.database)
    # SQLite: the lock file beside the database (PostgreSQL's lock ignores the directory).
    lock = key_lock(engine, Path(engine.url.database or ".").parent, relay_key.address)
    try:
        lock.acquire()
    except ConflictError as exc:
        print(exc.message)
        return 4
    relay = Relay(
        engine=engine,
        sub_w3=Web3(Web3.HTTPProvider(args.sub)),
        main=open_main_chain(args.main, args.registry, relay_key),
        signers=[signer],
        every_blocks=args.every_blocks,
        every_seconds=args.every_seconds,
    )
    relay.lock = lock
    try:
        relay.drain()
    finally:
        relay.stop()
    if relay.fork is not None:
        print(relay.fork.detail())
        return 3
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
