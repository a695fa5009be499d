"""``chainproof chain ...``: run a local development chain in the foreground."""

from __future__ import annotations

import signal
import threading
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from pydantic import ValidationError

from chainproof.config import get_settings
from chainproof.errors import ChainProofError

app = typer.Typer(help="Run and inspect chains.", no_args_is_help=True)


class ManagedKind(StrEnum):
    anvil = "anvil"
    ganache = "ganache"


def _fail(message: str) -> typer.Exit:
    """One red line; a failed start's node output (already in ``message``) follows uncolored."""
    first, _, rest = message.partition("\n")
    typer.secho(f"error: {first}", fg=typer.colors.RED, err=True)
    if rest:
        typer.echo(rest, err=True)
    return typer.Exit(2)


@app.command()
def up(
    kind: Annotated[
        ManagedKind, typer.Option("--kind", help="Which node to run.")
    ] = ManagedKind.anvil,
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="RPC port (default: a free one).")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Where the chain state lives (default: CHAINPROOF_DATA_DIR, ./data).",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Start a dev chain with persisted state; Ctrl-C stops it (the state is kept)."""
    from chainproof.chain.nodes import DEV_MNEMONIC, make_node  # heavy: eth_account

    try:
        data_dir = data_dir if data_dir is not None else get_settings().data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        node = make_node(kind.value, data_dir=data_dir, port=port)
    except ValidationError as exc:  # bad CHAINPROOF_* settings
        raise _fail("; ".join(str(err["msg"]) for err in exc.errors())) from None
    except ChainProofError as exc:
        raise _fail(exc.message) from None
    except OSError as exc:
        raise _fail(f"cannot use the data directory: {exc}") from None

    # SIGTERM (docker stop, systemd, kill) must stop the node as cleanly as Ctrl-C does. The
    # node runs in its own session, so a terminal's Ctrl-C reaches only us: we stop it.
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    previous = {
        sig: signal.signal(sig, request_stop)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    try:
        try:
            node.start()
            w3 = node.web3()
            chain_id = w3.eth.chain_id
            balances = [
                (acct.address, w3.eth.get_balance(acct.address)) for acct in node.dev_accounts()
            ]
        except ChainProofError as exc:
            raise _fail(exc.message) from None
        pid = getattr(node, "pid", None)
        typer.echo(f"{kind.value} running at {node.rpc_url}  chain id {chain_id}  pid {pid}")
        typer.echo(f"state in {data_dir.resolve()}")
        typer.echo(f'dev accounts (dev mnemonic: "{DEV_MNEMONIC}"; public, dev only):')
        for address, balance in balances:
            typer.echo(f"  {address}  {w3.from_wei(balance, 'ether'):,} ETH")
        typer.echo("Press Ctrl-C to stop.")
        while not stopping.wait(0.5):
            if not node.is_running():
                raise _fail(f"the {kind.value} node exited unexpectedly; see its log in {data_dir}")
        typer.echo(f"stopping {kind.value}…")
    finally:
        node.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    typer.echo("stopped; state kept.")
