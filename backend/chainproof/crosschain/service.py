"""Cross-chain in a running deployment: the relay beside the chain writer, the trust
anchor's ``main_chain``, and the ``/readyz`` check (``CHAINPROOF_MAIN_CHAIN``).

The relay sends with ``CHAINPROOF_RELAY_KEY``, never the operator key: a deployment anchoring
on the main chain may use that key there, and two processes counting one key's nonce on one
chain collide. The relay key has its own leader lock, so one process's relay writer owns its
nonce. In development, where no ChainRegistry is named, the relay key deploys one and, as its
owner, registers this chain (signer: the operator key, threshold 1). In production the
registry's admin is another key: the sub-chain is registered by the main chain's operator,
and this deployment only relays.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine
from sqlmodel import Session

from chainproof.chain.chain_registry import (
    CHAIN_REGISTRY,
    chain_registry_artifact,
    deploy_chain_registry,
)
from chainproof.chain.deployments import genesis_hash, load_record, save_record
from chainproof.crosschain.recalls import deliver_recalls
from chainproof.crosschain.relay import Relay, open_main_chain
from chainproof.crosschain.revocations import deliver_revocations
from chainproof.crosschain.second_anchor import SecondAnchorer, open_second_chain
from chainproof.digests import keccak256, to_hex
from chainproof.errors import ConflictError
from chainproof.evidence.batcher import key_lock
from chainproof.store.leader import KeyLock
from chainproof.trust import MainChainAnchor

if TYPE_CHECKING:
    from chainproof.chain.context import ChainContext
    from chainproof.config import Settings
    from chainproof.runtime import Runtime

log = structlog.get_logger("chainproof.crosschain")


def start_crosschain(runtime: Runtime) -> tuple[Relay | None, SecondAnchorer | None]:
    """The relay and the second anchorer of this deployment, both opened before either
    starts: in development each may deploy with the relay key, which must not race the
    other's writer for its nonce."""
    relay = open_runtime_relay(runtime)
    runtime.relay = relay
    anchorer = open_second_anchorer(runtime)
    if relay is not None:
        relay.start(poll=min(1.0, runtime.settings.checkpoint_seconds))
    if anchorer is not None:
        anchorer.start(poll=0.5)
    return relay, anchorer


def open_runtime_relay(runtime: Runtime) -> Relay | None:
    """The relay of this deployment's chain into ``CHAINPROOF_MAIN_CHAIN`` (not started);
    None when no main chain is set, when another process leads the relay key, or (logged as
    an error) when the main chain cannot be reached at start: anchoring on this chain goes
    on without it."""
    if not runtime.settings.main_chain:
        return None
    try:
        return open_relay(settings=runtime.settings, engine=runtime.engine, chain=runtime.chain)
    except ConflictError as exc:
        log.info("checkpoint relay on standby", reason=exc.message)
        return None
    except Exception as exc:
        log.error(
            "no checkpoint relay: the main chain cannot be used",
            error=f"{type(exc).__name__}: {exc}",
        )
        return None


def open_second_anchorer(runtime: Runtime) -> SecondAnchorer | None:
    """Dual anchoring into ``CHAINPROOF_SECOND_CHAIN`` (not started); None when unset, when
    another process leads the relay key, or (logged as an error) when the second chain
    cannot be used at start. Sent by the relay's writer when the second chain is the main
    chain, else by a writer of its own under the relay key's lock."""
    settings = runtime.settings
    if not settings.second_chain:
        return None
    relay_key = Account.from_key(settings.resolved_relay_key)
    lock: KeyLock | None = None
    if runtime.relay is None:
        lock = key_lock(runtime.engine, settings.data_dir, relay_key.address)
        try:
            lock.acquire()
        except ConflictError as exc:
            log.info("second anchoring on standby", reason=exc.message)
            return None
    try:
        second = open_second_chain(
            settings=settings, primary=runtime.chain, relay_key=relay_key, relay=runtime.relay
        )
        shared = runtime.relay is not None and second.sender is runtime.relay.main.sender
        anchorer = SecondAnchorer(
            engine=runtime.engine,
            second=second,
            writer=runtime.relay.writer if shared and runtime.relay else None,
        )
    except Exception as exc:
        if lock is not None:
            lock.release()
        log.error(
            "no second anchoring: the second chain cannot be used",
            error=f"{type(exc).__name__}: {exc}",
        )
        return None
    anchorer.lock = lock
    return anchorer


def open_relay(*, settings: Settings, engine: Engine, chain: ChainContext) -> Relay:
    """The relay (not started) with the relay key's lock held: its writer is the one nonce
    owner of ``CHAINPROOF_RELAY_KEY`` on the main chain. Raises ConflictError when another
    process holds the lock (it relays).

    Where no ChainRegistry is named, one is deployed by the relay key (development), which
    then owns it and registers this chain (signer: the operator key, threshold 1); a registry
    owned by another key waits for its admin's ``chainproof crosschain register``."""
    assert settings.main_chain is not None
    relay_account = Account.from_key(settings.resolved_relay_key)
    lock = key_lock(engine, settings.data_dir, relay_account.address)
    lock.acquire()
    try:
        return _open_relay(settings, engine, chain, relay_account, lock)
    except BaseException:
        lock.release()
        raise


def _open_relay(
    settings: Settings,
    engine: Engine,
    chain: ChainContext,
    relay_account: LocalAccount,
    lock: KeyLock,
) -> Relay:
    assert settings.main_chain is not None
    operator = Account.from_key(settings.operator_key.get_secret_value())
    address = settings.main_chain_registry or _development_registry(
        settings.main_chain, settings.data_dir, relay_account
    )
    main = open_main_chain(settings.main_chain, address, relay_account)
    registry = main.registry
    sub_id = chain.chain_id
    trace_registry = _trace_registry(chain, settings.data_dir)
    owner = registry.call(lambda: registry.contract.functions.owner().call())
    if not registry.chain_of(sub_id).known and owner == relay_account.address:
        registry.register(
            main.sender,
            chain_id=sub_id,
            genesis_hash=chain.deployment.genesis_hash,
            name=settings.chain_name or f"chain {sub_id}",
            registries=[chain.deployment.address, *([trace_registry] if trace_registry else [])],
            signers=[operator.address],
            threshold=1,
        )
        log.info(
            "registered this chain on the main chain", chain_id=sub_id, registry=registry.address
        )
    relay = Relay(
        engine=engine,
        sub_w3=chain.w3,
        main=main,
        signers=[operator],
        every_blocks=settings.checkpoint_blocks,
        every_seconds=settings.checkpoint_seconds,
        signer_endpoints=[u.strip() for u in settings.checkpoint_signers.split(",") if u.strip()],
    )
    relay.lock = lock
    if settings.main_deployment:
        relay.after_step = _courier(engine, chain, trace_registry, settings.main_deployment)
    return relay


def _trace_registry(chain: ChainContext, data_dir: Path) -> str | None:
    """This chain's TraceRegistry, when it has one (its recalls cross to the main chain)."""
    from chainproof.chain.trace_registry import trace_chain

    try:
        return trace_chain(chain, data_dir=data_dir).contract
    except Exception as exc:
        log.info("no trace registry to relay recalls from", reason=f"{type(exc).__name__}")
        return None


def _courier(
    engine: Engine, chain: ChainContext, trace_registry: str | None, main_deployment: str
) -> Callable[[], int]:
    """Delivers the checkpointed recalls and lifts (``recalls.py``) and evidence revocations
    (``revocations.py``) to the main deployment."""

    def deliver() -> int:
        with Session(engine) as s:
            sent = deliver_revocations(
                s, chain.w3, registry=chain.deployment.address, main_deployment=main_deployment
            )
            if trace_registry is not None:
                sent += deliver_recalls(
                    s, chain.w3, trace_registry=trace_registry, main_deployment=main_deployment
                )
            return sent

    return deliver


def _development_registry(url: str, data_dir: Path, deployer: LocalAccount) -> str:
    """The data dir's ChainRegistry on the main chain at ``url``, deployed by ``deployer``
    (the relay key, before its writer starts) when there is none."""
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 10}))
    record = load_record(data_dir, int(w3.eth.chain_id), CHAIN_REGISTRY)
    if record is None or record.genesis_hash != genesis_hash(w3):
        artifact = chain_registry_artifact()
        record = deploy_chain_registry(w3, deployer, artifact)
        save_record(data_dir, record, standard_input=artifact.standard_input)
        log.warning("deployed a ChainRegistry on the main chain", address=record.address)
    return record.address


_anchors: dict[int, tuple[float, MainChainAnchor]] = {}


def main_chain_anchor(relay: Relay) -> MainChainAnchor:
    """What ``/.well-known/chainproof.json`` publishes as ``main_chain`` (code read from the
    main chain, a minute's cache)."""
    cached = _anchors.get(id(relay))
    if cached is not None and time.monotonic() - cached[0] < 60.0:
        return cached[1]
    main = relay.main
    code = bytes(main.w3.eth.get_code(main.registry.address))
    anchor = MainChainAnchor(
        chain_id=main.chain_id,
        genesis_hash=main.genesis_hash,
        checkpoint_registry=main.registry.address,
        checkpoint_registry_code_hash=to_hex(keccak256(code)),
    )
    _anchors[id(relay)] = (time.monotonic(), anchor)
    return anchor


def relay_check(relay: Relay) -> tuple[bool, str]:
    """``/readyz``'s crosschain check: a fork of this chain is a failed check."""
    if relay.fork is not None:
        return False, relay.fork.detail()
    error = relay.last_error or relay.writer.last_error
    if error:
        return True, f"relaying to main chain {relay.main.chain_id}; last error: {error}"
    return True, f"relaying to main chain {relay.main.chain_id}"


def second_anchor_check(anchorer: SecondAnchorer) -> str:
    """``/readyz``'s second_anchor line: the other chain down delays the second anchors but
    takes nothing from this chain's, so it never fails the check; it says so."""
    where = f"anchoring roots on chain {anchorer.second.chain_id} too"
    error = anchorer.last_error or anchorer.writer.last_error
    return f"{where}; last error: {error}" if error else where
