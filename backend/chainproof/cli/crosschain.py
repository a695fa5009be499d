"""``chainproof crosschain``: the main chain's ChainRegistry, for its admin (二级链注册).

    chainproof crosschain deploy   --main URL                    (prints the address)
    chainproof crosschain register --main URL --registry ADDR --sub URL --signer ADDR ...
    chainproof crosschain rotate   --main URL --registry ADDR --chain-id N --signer ADDR ...
    chainproof crosschain retire   --main URL --registry ADDR --chain-id N
    chainproof crosschain status   --main URL --registry ADDR [--chain-id N]
    chainproof crosschain sign     --main URL --registry ADDR --sub URL --from N --to M --root R
    chainproof crosschain signer   --main URL --registry ADDR --sub URL [--host H --port P]

The admin key comes from ``CHAINPROOF_MAIN_ADMIN_KEY`` (never an option: shells keep
history). A deployment relays its own checkpoints once registered (``CHAINPROOF_MAIN_CHAIN``,
docs/crosschain.md); these commands are the main chain operator's, but ``sign`` and
``signer``, which each of a sub-chain's validators runs with its own key
(``CHAINPROOF_VALIDATOR_KEY``) beside its own node.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import Web3

    from chainproof.chain.chain_registry import ChainRegistryClient
    from chainproof.crosschain.validators import ValidatorSigner

app = typer.Typer(
    help="Sub-chains on the main chain's ChainRegistry: deploy, register, rotate, retire, status.",
    no_args_is_help=True,
)
MainOpt = Annotated[str, typer.Option("--main", help="The main chain's JSON-RPC URL.")]
RegistryOpt = Annotated[str, typer.Option("--registry", help="ChainRegistry's address.")]
SignerOpt = Annotated[
    list[str], typer.Option("--signer", help="A key that signs the sub-chain's checkpoints.")
]
ThresholdOpt = Annotated[
    int, typer.Option("--threshold", min=1, help="How many signers must sign each checkpoint.")
]


def _node(url: str) -> Web3:
    """The chain at ``url`` (main or sub), its calls timing out after 10 s."""
    from web3 import Web3

    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 10}))


def _admin() -> LocalAccount:
    from eth_account import Account

    key = os.environ.get("CHAINPROOF_MAIN_ADMIN_KEY")
    if not key:
        typer.echo("set CHAINPROOF_MAIN_ADMIN_KEY to the ChainRegistry admin's key", err=True)
        raise typer.Exit(2)
    return Account.from_key(key)


def _client(main: str, registry: str) -> ChainRegistryClient:

    from chainproof.chain.chain_registry import ChainRegistryClient, chain_registry_abi

    w3 = _node(main)
    return ChainRegistryClient(w3, registry, chain_registry_abi())


def _run(action: Callable[[], object]) -> None:
    from chainproof.errors import ChainProofError

    try:
        action()
    except ChainProofError as exc:
        typer.echo(f"refused: {exc.message}", err=True)
        raise typer.Exit(1) from None


@app.command("deploy")
def deploy(main: MainOpt) -> None:
    """Deploy a ChainRegistry owned by the admin key; prints its address."""

    from chainproof.chain.chain_registry import chain_registry_artifact, deploy_chain_registry

    w3 = _node(main)
    deployed = deploy_chain_registry(w3, _admin(), chain_registry_artifact())
    typer.echo(deployed.address)


@app.command("register")
def register(
    main: MainOpt,
    registry: RegistryOpt,
    sub: Annotated[str, typer.Option("--sub", help="The sub-chain's JSON-RPC URL.")],
    signer: SignerOpt,
    threshold: ThresholdOpt = 1,
    name: Annotated[str, typer.Option("--name", help="A name, e.g. 南宁.")] = "",
    sub_registry: Annotated[
        list[str] | None, typer.Option("--sub-registry", help="A registry on the sub-chain.")
    ] = None,
    first_height: Annotated[int, typer.Option("--first-height", min=0)] = 0,
) -> None:
    """Register the sub-chain at SUB (its chain id and genesis hash read from it)."""

    from chainproof.chain.deployments import genesis_hash
    from chainproof.chain.sender import TxSender

    sub_w3 = _node(sub)
    client = _client(main, registry)

    def act() -> None:
        chain_id = int(sub_w3.eth.chain_id)
        client.register(
            TxSender(client.w3, _admin()),
            chain_id=chain_id,
            genesis_hash=genesis_hash(sub_w3),
            name=name or f"chain {chain_id}",
            registries=sub_registry or [],
            signers=signer,
            threshold=threshold,
            first_height=first_height,
        )
        typer.echo(f"registered chain {chain_id}: {len(signer)} signer(s), threshold {threshold}")

    _run(act)


@app.command("rotate")
def rotate(
    main: MainOpt,
    registry: RegistryOpt,
    chain_id: Annotated[int, typer.Option("--chain-id")],
    signer: SignerOpt,
    threshold: ThresholdOpt = 1,
) -> None:
    """Replace the sub-chain's signers (a new epoch; the old keys sign no more)."""
    from chainproof.chain.sender import TxSender

    client = _client(main, registry)

    def act() -> None:
        client.rotate_signers(TxSender(client.w3, _admin()), chain_id, signer, threshold)
        epoch = client.chain_of(chain_id).epoch
        typer.echo(f"chain {chain_id}: signer epoch {epoch}")

    _run(act)


@app.command("retire")
def retire(
    main: MainOpt, registry: RegistryOpt, chain_id: Annotated[int, typer.Option("--chain-id")]
) -> None:
    """Retire the sub-chain: its checkpoints stay, no new one is accepted."""
    from chainproof.chain.sender import TxSender

    client = _client(main, registry)
    _run(lambda: client.retire(TxSender(client.w3, _admin()), chain_id))
    typer.echo(f"chain {chain_id} retired")


@app.command("status")
def status(
    main: MainOpt,
    registry: RegistryOpt,
    chain_id: Annotated[int | None, typer.Option("--chain-id")] = None,
) -> None:
    """Registered sub-chains: genesis, signers, threshold, next height, last checkpoint."""
    client = _client(main, registry)

    def act() -> None:
        ids = (
            [chain_id]
            if chain_id is not None
            else client.call(lambda: client.contract.functions.chainIds().call())
        )
        for cid in ids:
            rec = client.chain_of(cid)
            if not rec.known:
                typer.echo(f"chain {cid}: not registered")
                continue
            count = client.checkpoint_count(cid)
            last = client.checkpoint_at(cid, count - 1) if count else None
            signers = ", ".join(client.signers_of(cid, rec.epoch))
            typer.echo(
                f"chain {cid} {rec.name!r} genesis {rec.genesis_hash}"
                f"{' RETIRED' if rec.retired else ''}: epoch {rec.epoch}, "
                f"{rec.threshold} of [{signers}], next height {rec.next_height}, "
                f"{count} checkpoint(s)"
                + (f", last [{last.from_block}, {last.to_block}] {last.root}" if last else "")
            )

    _run(act)


# ---- validators: each signs a checkpoint over the root its own node gives ----------------

SubOpt = Annotated[str, typer.Option("--sub", help="This validator's own sub-chain node.")]


def _validator(sub: str, main: str, registry: str) -> ValidatorSigner:
    from eth_account import Account

    from chainproof.crosschain.validators import ValidatorSigner

    key = os.environ.get("CHAINPROOF_VALIDATOR_KEY")
    if not key:
        typer.echo("set CHAINPROOF_VALIDATOR_KEY to this validator's signing key", err=True)
        raise typer.Exit(2)
    sub_w3 = _node(sub)
    return ValidatorSigner(
        key=Account.from_key(key), sub_w3=sub_w3, registry=_client(main, registry)
    )


@app.command("sign")
def sign(
    main: MainOpt,
    registry: RegistryOpt,
    sub: SubOpt,
    from_block: Annotated[int, typer.Option("--from", min=0)],
    to_block: Annotated[int, typer.Option("--to", min=0)],
    root: Annotated[str, typer.Option("--root", help="The range root the relay proposes.")],
) -> None:
    """Sign one checkpoint range (key: CHAINPROOF_VALIDATOR_KEY) after recomputing its root
    from this validator's own node; refused (exit 1) when the node's blocks differ."""

    from chainproof.crosschain.validators import SignRequest

    signer = _validator(sub, main, registry)
    chain_id = int(_node(sub).eth.chain_id)
    req = SignRequest.from_json(
        json.dumps(
            {"sub_chain_id": chain_id, "from_block": from_block, "to_block": to_block, "root": root}
        ).encode()
    )
    _run(lambda: typer.echo(signer.sign(req)))


@app.command("signer")
def signer_endpoint(
    main: MainOpt,
    registry: RegistryOpt,
    sub: SubOpt,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8701,
) -> None:
    """Serve POST /sign for the relay (CHAINPROOF_CHECKPOINT_SIGNERS lists these URLs): each
    request's root is recomputed from this validator's own node before it is signed."""
    import time

    from chainproof.crosschain.validators import serve

    signer = _validator(sub, main, registry)
    server = serve(signer, host, port)
    typer.echo(f"validator {signer.key.address} signing at http://{host}:{port}/sign")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()
