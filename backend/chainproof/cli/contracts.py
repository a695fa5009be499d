"""``chainproof contracts ...``: build the Solidity contracts, check deployed code against them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from chainproof.errors import ChainError, ChainProofError, ConflictError, InvalidInputError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from chainproof.chain.context import ChainContext
    from chainproof.chain.nodes import Node
    from chainproof.config import Settings

app = typer.Typer(
    help="Compile the Solidity contracts and check deployed code against them.",
    no_args_is_help=True,
)

# The EIP-170 and EIP-3860 size limits: above them a deployment fails on every chain.
MAX_RUNTIME_SIZE = 24_576
MAX_INITCODE_SIZE = 49_152

_out = Console()
_err = Console(stderr=True)


@app.command()
def build(
    force: Annotated[
        bool, typer.Option("--force", help="Recompile even when the cache is up to date.")
    ] = False,
) -> None:
    """Compile contracts/**/*.sol (cached in .cache/contracts/) and list the contracts."""
    from chainproof.chain.compiler import compile_contracts

    try:
        result = compile_contracts(force=force)
    except ChainProofError as exc:
        _fail(exc)
    _out.print(f"compiler: {escape(result.compiler)}", soft_wrap=True)
    _out.print("cache: hit (not recompiled)" if result.cached else "cache: miss (compiled)")
    for warning in result.warnings:
        _err.print(f"[yellow]{escape(warning)}[/yellow]", soft_wrap=True)

    table = Table("contract", "runtime bytes", "creation bytes", box=box.SIMPLE)
    for name, artifact in sorted(result.contracts.items()):
        runtime = _size(artifact.runtime_bytecode)
        creation = _size(artifact.bytecode)
        table.add_row(
            name,
            _sized(runtime, MAX_RUNTIME_SIZE) if runtime else "- (no code)",
            _sized(creation, MAX_INITCODE_SIZE) if creation else "-",
        )
    _out.print(table)


DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Where the deployment records are [default: CHAINPROOF_DATA_DIR].",
        show_default=False,
    ),
]


@app.command()
def check(
    rpc: Annotated[str, typer.Option("--rpc", help="JSON-RPC URL of the node.")],
    address: Annotated[str, typer.Option("--address", help="Address of the deployed contract.")],
    name: Annotated[str, typer.Option("--name", help="Contract to compare with.")] = (
        "EvidenceRegistry"
    ),
    data_dir: DataDirOption = None,
) -> None:
    """Check that the code at ADDRESS is our contract NAME.

    Ours when it is NAME compiled from today's sources, or, when the sources changed since
    the deployment (an OpenZeppelin or solc upgrade), the build recorded in its deployment
    record (the recorded input compiled again; for records without one, the code read back
    at deployment). Exits 0 when it is ours (saying which), 1 when it is not our contract
    (with the reason), 2 on errors.
    """
    from eth_utils import keccak
    from hexbytes import HexBytes

    from chainproof.chain.compiler import load_artifact, runtime_matches, runtime_mismatch
    from chainproof.chain.deployments import find_record, recorded_artifact
    from chainproof.config import get_settings

    try:
        artifact = load_artifact(name)
        chain_id, deployed = _get_code(rpc, address)
    except ChainProofError as exc:
        _fail(exc)
    reason = runtime_mismatch(artifact, deployed)
    if reason is None:
        _out.print(f"[green]{name} at {address} matches the sources[/green]", soft_wrap=True)
        return
    folder = data_dir or get_settings().data_dir
    record = find_record(folder, chain_id, address)
    if record is not None:
        try:
            recorded = recorded_artifact(folder, record)
        except ChainProofError as exc:
            _err.print(f"[yellow]{escape(exc.message)}[/yellow]", soft_wrap=True)
            recorded = None
        if recorded is not None and runtime_matches(recorded, deployed):
            how = f"its recorded compiler input (solc {record.compiler_version})"
        elif HexBytes(keccak(deployed)).to_0x_hex() == record.bytecode_hash:
            how = "the code recorded at its deployment"
        else:
            how = None
        if how is not None:
            _out.print(
                f"[yellow]{record.contract} at {address} is ours ({how}, deployed "
                f"{record.deployed_at}): sources changed since deployment ({escape(reason)})"
                "[/yellow]",
                soft_wrap=True,
            )
            return
    _out.print(
        f"[red]{name} at {address} is not our contract: {escape(reason)}"
        f"{'' if record else f' (no deployment record of it in {folder})'}[/red]",
        soft_wrap=True,
    )
    raise typer.Exit(1)


@app.command()
def verify(
    rpc: Annotated[str, typer.Option("--rpc", help="JSON-RPC URL of the node.")],
    address: Annotated[str, typer.Option("--address", help="Address of the deployed contract.")],
    data_dir: DataDirOption = None,
) -> None:
    """Reproduce the code at ADDRESS from its deployment record: compile the recorded
    standard JSON input with the recorded compiler version and compare the runtime code
    (immutables aside, metadata hash included).

    Exits 0 when reproduced, 1 when the code differs, 2 on errors (no record, a record
    without a compiler input, another compiler version here).
    """
    from chainproof.chain.compiler import runtime_mismatch
    from chainproof.chain.deployments import find_record, recorded_artifact
    from chainproof.config import get_settings

    folder = data_dir or get_settings().data_dir
    try:
        chain_id, deployed = _get_code(rpc, address)
        record = find_record(folder, chain_id, address)
        if record is None:
            raise InvalidInputError(
                f"no deployment record of {address} on chain {chain_id} in {folder}"
            )
        rebuilt = recorded_artifact(folder, record)
        if rebuilt is None:
            raise InvalidInputError(
                f"the record of {address} keeps no compiler input (deployed before records "
                "kept them): `contracts check` compares it with the code recorded then"
            )
    except ChainProofError as exc:
        _fail(exc)
    reason = runtime_mismatch(rebuilt, deployed)
    if reason is None:
        _out.print(
            f"[green]reproduced: the code of {record.contract} at {address} is its recorded "
            f"input compiled with solc {record.compiler_version}[/green]",
            soft_wrap=True,
        )
        return
    _out.print(
        f"[red]not reproduced: {record.contract} at {address}: {escape(reason)}[/red]",
        soft_wrap=True,
    )
    raise typer.Exit(1)


def _get_code(rpc: str, address: str) -> tuple[int, bytes]:
    """(chain id, code at ``address``) from the node at ``rpc``."""
    # Imported here: web3 costs ~1 s to import, and `chainproof --help` should not pay it.
    import requests
    from web3 import Web3
    from web3.exceptions import Web3Exception

    if not Web3.is_address(address):
        raise InvalidInputError(f"not an address: {address!r}")
    # No retries: a one-shot command should say "unreachable" now, not after a backoff.
    w3 = Web3(
        Web3.HTTPProvider(rpc, request_kwargs={"timeout": 10}, exception_retry_configuration=None)
    )
    try:
        return int(w3.eth.chain_id), bytes(w3.eth.get_code(Web3.to_checksum_address(address)))
    except (requests.RequestException, Web3Exception, OSError, ValueError) as exc:
        raise ChainError(f"cannot read the code at {address} from {rpc}: {exc}") from None


def _size(hex_code: str) -> int:
    return (len(hex_code) - 2) // 2


def _sized(size: int, limit: int) -> str:
    text = f"{size:,}"
    return f"[red]{text} (limit {limit:,})[/red]" if size > limit else text


def _fail(exc: ChainProofError) -> NoReturn:
    """One red line, then any detail (compiler diagnostics) plain; exit 2, no traceback."""
    first, _, rest = exc.message.partition("\n")
    _err.print(f"[red]error: {escape(first)}[/red]", soft_wrap=True)
    if rest:
        _err.print(escape(rest), soft_wrap=True, highlight=False)
    raise typer.Exit(2)


@app.command()
def deploy(
    chain: Annotated[
        str | None,
        typer.Option(
            "--chain", help="anvil, ganache or a JSON-RPC URL [default: CHAINPROOF_CHAIN]."
        ),
    ] = None,
    new: Annotated[
        bool,
        typer.Option(
            "--new",
            help="Retire this chain's deployment record (kept beside it) and deploy afresh.",
        ),
    ] = False,
    upgrade: Annotated[
        bool,
        typer.Option(
            "--upgrade",
            help=(
                "Deploy EvidenceRegistry v2 beside this chain's v1 and anchor on v2 from the "
                "next start; v1 stays honoured (its receipts still verify)."
            ),
        ),
    ] = False,
) -> None:
    """Deploy EvidenceRegistry on the chain (or show the recorded deployment).

    With --new the current record is moved aside first: use it after a chain reset, once you
    accept that receipts issued on the old chain stay verifiable only against that chain.
    With --upgrade (same chain, registry v1 recorded) v2 is deployed beside v1, with
    CHAINPROOF_REGISTRY_ADMIN as its admin (docs/operations.md, "Upgrading the registry").
    """
    from chainproof.audit import platform
    from chainproof.audit.log import Who
    from chainproof.config import get_settings
    from chainproof.store import shared_files

    settings = get_settings()
    spec = chain or settings.chain
    if new and upgrade:
        _fail(InvalidInputError("--new and --upgrade exclude each other"))
    engine = _engine(settings)
    try:
        # The records this writes reach the database at once (store/shared_files.py): a
        # replica or a worker on another host finds the new registry at its next start.
        recorder = platform.deployment_recorder(engine, settings.data_dir, Who.cli())
        with (
            shared_files.shared_deployments(engine, settings.data_dir, recorder),
            _key_owner(engine, settings, deploying=new or upgrade),
        ):
            ctx = _deploy(spec, settings, new=new, upgrade=upgrade)
    except ChainProofError as exc:
        _fail(exc)
    finally:
        engine.dispose()
    try:
        d = ctx.deployment
        _out.print(
            f"{d.contract} v{d.version} at {d.address} on chain {d.chain_id} "
            f"(genesis {d.genesis_hash}), deployed in block {d.block_number}, tx {d.tx_hash}",
            soft_wrap=True,
        )
        for past in ctx.honoured:
            _out.print(
                f"honoured: {past.contract} v{past.version} at {past.address} "
                f"(code hash {past.bytecode_hash})",
                soft_wrap=True,
            )
        if d.version >= 2:
            admin = ctx.registry.default_admin()
            if admin == ctx.operator.address:
                _err.print(
                    "[yellow]warning: the registry's admin is the operator's online key; "
                    "transfer it to an offline key (docs/operations.md)[/yellow]",
                    soft_wrap=True,
                )
    finally:
        ctx.stop()


@contextmanager
def _key_owner(engine: Engine, settings: Settings, *, deploying: bool) -> Iterator[None]:
    """Holds the operator key's nonce-owner lock (the chain writer's) while this command may
    deploy: a deployment is a transaction of that key, and a second process signing with it
    beside a running writer would race it for nonces. Refused while a worker (or a server
    with its batcher) leads the key."""
    from eth_account import Account

    from chainproof.runtime import key_lock

    if not deploying:
        yield  # shows the record, or deploys on a chain with none: no writer runs there yet
        return
    signer = Account.from_key(settings.operator_key.get_secret_value()).address
    lock = key_lock(engine, settings.data_dir, signer)
    try:
        lock.acquire()
    except ConflictError as exc:
        raise ConflictError(
            f"{exc.message}: its chain writer owns the operator key's nonces. Stop the "
            "workers (and servers running the batcher), deploy, then start them again",
            signer=signer,
        ) from exc
    try:
        yield
    finally:
        lock.release()


def _deploy(spec: str, settings: Settings, *, new: bool, upgrade: bool) -> ChainContext:
    from chainproof.chain.context import open_chain
    from chainproof.chain.deployments import retire_record
    from chainproof.chain.nodes import make_node

    if new or upgrade:
        node = make_node(spec, data_dir=settings.data_dir)
        node.start()
        try:
            if new:
                retired = retire_record(settings.data_dir, node.chain_id())
                if retired is not None:
                    _out.print(f"retired the old record: {retired}", soft_wrap=True)
            else:
                _upgrade(node, settings)
        finally:
            node.stop()
    return open_chain(
        chain=spec,
        data_dir=settings.data_dir,
        operator_key=settings.operator_key.get_secret_value(),
        registry_admin=settings.registry_admin,
        require_offline_admin=settings.env == "production",
    )


def _send_op(ctx: ChainContext, settings: Settings, *, kind: str, payload: dict[str, str]) -> None:
    """Through the chain writer, as every chain write (one nonce owner per key): enqueued,
    then sent here when no process leads the key, else waited for while the leader (a
    running worker) sends it, with its status as it moves."""
    import time

    from sqlmodel import Session

    from chainproof.chain.writer import enqueue
    from chainproof.runtime import send_now
    from chainproof.store.ops import ChainOp, OpStatus

    engine = _engine(settings)
    try:
        with Session(engine) as s:
            op = enqueue(s, kind=kind, payload=payload)
        _out.print(f"operation {op.public_id} ({kind}) queued", soft_wrap=True)
        if not send_now(engine, ctx, settings, [op], timeout=120.0):
            _out.print("another process leads the signing key: waiting for it to send it")
        status, deadline = op.status, time.monotonic() + 600
        while True:
            with Session(engine) as s:
                now = s.get(ChainOp, op.id)
                assert now is not None
            if now.status != status:
                status = now.status
                _out.print(f"operation {op.public_id}: {status}", soft_wrap=True)
            if status == OpStatus.CONFIRMED.value:
                return
            if status == OpStatus.FAILED.value:
                raise ChainError(f"operation {op.public_id} failed: {now.error}")
            if time.monotonic() > deadline:
                raise ChainError(f"operation {op.public_id} still {status} after 600 s")
            time.sleep(0.25)
    finally:
        engine.dispose()


def _engine(settings: Settings) -> Engine:
    """The database, migrated: deployment records and chain operations live there."""
    from chainproof.store import db

    url = settings.resolved_database_url
    db.upgrade(url)
    return db.make_engine(url)


def _upgrade(node: Node, settings: Settings) -> None:
    """Deploys v2 beside the recorded v1 and switches the record (v1 becomes honoured)."""
    from eth_account import Account

    from chainproof.chain.compiler import load_artifact
    from chainproof.chain.context import require_admin_off
    from chainproof.chain.deployments import REGISTRY, upgrade_registry

    operator = Account.from_key(settings.operator_key.get_secret_value())
    if settings.env == "production":
        require_admin_off(settings.registry_admin, operator.address)
    old, new = upgrade_registry(
        node.web3(),
        deployer=operator,
        artifact=load_artifact(REGISTRY),
        data_dir=settings.data_dir,
        admin=settings.registry_admin,
    )
    _out.print(
        f"upgraded: {REGISTRY} v{new.version} at {new.address} anchors from now on; "
        f"v{old.version} at {old.address} stays honoured",
        soft_wrap=True,
    )


@app.command("transfer-admin")
def transfer_admin(
    to: Annotated[str, typer.Option("--to", help="The new admin: an offline key's address.")],
    chain: Annotated[
        str | None,
        typer.Option(
            "--chain", help="anvil, ganache or a JSON-RPC URL [default: CHAINPROOF_CHAIN]."
        ),
    ] = None,
) -> None:
    """Step one of moving the registry's admin role off the operator's key.

    Sends `beginDefaultAdminTransfer(TO)` from the operator key, which must be the current
    admin (a registry deployed without CHAINPROOF_REGISTRY_ADMIN). Step two is the new key's:
    `acceptDefaultAdminTransfer()` once the delay has passed (docs/operations.md).
    """
    from web3 import Web3

    from chainproof.chain.context import open_chain
    from chainproof.config import get_settings

    if not Web3.is_address(to):
        _fail(InvalidInputError(f"not an address: {to!r}"))
    settings = get_settings()
    try:
        ctx = open_chain(
            chain=chain or settings.chain,
            data_dir=settings.data_dir,
            operator_key=settings.operator_key.get_secret_value(),
            deploy_if_missing=False,
        )
    except ChainProofError as exc:
        _fail(exc)
    try:
        registry = ctx.registry
        if registry.version < 2:
            _fail(InvalidInputError("the registry is version 1: upgrade it first (--upgrade)"))
        if registry.default_admin() != ctx.operator.address:
            _fail(
                InvalidInputError(
                    f"the operator key is not the registry's admin ({registry.default_admin()}):"
                    " the current admin starts the transfer itself"
                )
            )
        _send_op(ctx, settings, kind="begin_admin_transfer", payload={"to": to})
        pending, schedule = registry.contract.functions.pendingDefaultAdmin().call()
    except ChainProofError as exc:
        _fail(exc)
    finally:
        ctx.stop()
    _out.print(
        f"admin transfer to {pending} begun: it may accept (acceptDefaultAdminTransfer, from "
        f"its own key) from Unix time {schedule} on; until then the operator key can cancel "
        "it (cancelDefaultAdminTransfer)",
        soft_wrap=True,
    )
