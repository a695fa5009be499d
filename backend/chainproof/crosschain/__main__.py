"""``python -m chainproof.crosschain``: one relay run, for operators' one-shot catch-up and
the crash tests (a process killed at a step, then run again).

    python -m chainproof.crosschain --database URL --sub RPC --main RPC --registry ADDR
        [--every-blocks K] [--every-seconds T]

The operator key (``CHAINPROOF_OPERATOR_KEY``) sends on the main chain and signs the
checkpoints (in development it is the sub-chain's one registered signer too).
"""

from __future__ import annotations

import argparse
import os

from eth_account import Account
from web3 import Web3

from chainproof.crosschain.relay import Relay, open_main_chain
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
    key = Account.from_key(os.environ["CHAINPROOF_OPERATOR_KEY"])
    relay = Relay(
        engine=make_engine(args.database),
        sub_w3=Web3(Web3.HTTPProvider(args.sub)),
        main=open_main_chain(args.main, args.registry, key),
        signers=[key],
        every_blocks=args.every_blocks,
        every_seconds=args.every_seconds,
    )
    relay.drain()
    if relay.fork is not None:
        print(relay.fork.detail())
        return 3
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
