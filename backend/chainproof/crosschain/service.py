"""Cross-chain in a running deployment: the relay beside the chain writer, the trust
anchor's ``main_chain``, and the ``/readyz`` check (``CHAINPROOF_MAIN_CHAIN``).

Where the operator key owns the main chain's ChainRegistry (development: dev key 0 is admin
on both chains), the worker deploys the registry when none is known and registers its own
chain there (signer: the operator key, threshold 1). In production the registry's admin is
another key: the sub-chain is registered by the main chain's operator, and this deployment
only relays.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import structlog
from eth_account import Account

from chainproof.chain.chain_registry import (
    CHAIN_REGISTRY,
    chain_registry_artifact,
    deploy_chain_registry,
)
from chainproof.chain.deployments import genesis_hash, load_record, save_record
from chainproof.crosschain.relay import Relay, open_main_chain
from chainproof.digests import keccak256, to_hex
from chainproof.trust import MainChainAnchor

if TYPE_CHECKING:
    from chainproof.runtime import Runtime

log = structlog.get_logger("chainproof.crosschain")


def start_relay(runtime: Runtime) -> Relay | None:
    """The relay of this deployment's chain into ``CHAINPROOF_MAIN_CHAIN``, started; None
    when no main chain is set, or (logged as an error) when it cannot be reached at start:
    anchoring on this chain goes on without it."""
    if not runtime.settings.main_chain:
        return None
    try:
        return _start_relay(runtime)
    except Exception as exc:
        log.error(
            "no checkpoint relay: the main chain cannot be used",
            error=f"{type(exc).__name__}: {exc}",
        )
        return None


def _start_relay(runtime: Runtime) -> Relay:
    settings, chain = runtime.settings, runtime.chain
    assert settings.main_chain is not None
    operator = Account.from_key(settings.operator_key.get_secret_value())
    registry = settings.main_chain_registry
    if registry is None:
        from web3 import Web3

        w3 = Web3(Web3.HTTPProvider(settings.main_chain, request_kwargs={"timeout": 10}))
        record = load_record(settings.data_dir, int(w3.eth.chain_id), CHAIN_REGISTRY)
        if record is None or record.genesis_hash != genesis_hash(w3):
            artifact = chain_registry_artifact()
            deployed = deploy_chain_registry(w3, operator, artifact)
            save_record(settings.data_dir, deployed, standard_input=artifact.standard_input)
            log.warning("deployed a ChainRegistry on the main chain", address=deployed.address)
            record = deployed
        registry = record.address
    main = open_main_chain(settings.main_chain, registry, operator)
    sub_id = chain.chain_id
    if (
        not main.registry.chain_of(sub_id).known
        and main.registry.call(lambda: main.registry.contract.functions.owner().call())
        == operator.address
    ):
        main.registry.register(
            main.sender,
            chain_id=sub_id,
            genesis_hash=chain.deployment.genesis_hash,
            name=f"chain {sub_id}",
            registries=[chain.deployment.address],
            signers=[operator.address],
            threshold=1,
        )
        log.info("registered this chain on the main chain", chain_id=sub_id, registry=registry)
    relay = Relay(
        engine=runtime.engine,
        sub_w3=chain.w3,
        main=main,
        signers=[operator],
        every_blocks=settings.checkpoint_blocks,
        every_seconds=settings.checkpoint_seconds,
    )
    relay.start(poll=min(1.0, settings.checkpoint_seconds))
    return relay


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
