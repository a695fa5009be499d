"""The chain the settings name, opened the one way the server, the worker and the commands
open it: the node, the operator's key, the registry's admin, fees and endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chainproof.chain.context import ChainContext, open_chain
from chainproof.chain.endpoints import pool_options

if TYPE_CHECKING:
    from chainproof.config import Settings


def open_configured_chain(
    settings: Settings, *, port: int | None = None, deploy_if_missing: bool = True
) -> ChainContext:
    """``open_chain`` with every chain setting of ``settings``. ``port``: for a node started
    here (the server's ``CHAINPROOF_CHAIN_PORT``); ``deploy_if_missing=False`` for commands
    that must find the registry rather than make one."""
    return open_chain(
        chain=settings.chain,
        data_dir=settings.data_dir,
        operator_key=settings.operator_key.get_secret_value(),
        port=port,
        deploy_if_missing=deploy_if_missing,
        registry_admin=settings.registry_admin,
        require_offline_admin=settings.env == "production",
        tx_type=settings.tx_type,
        gas_price=settings.gas_price,
        pool_options=pool_options(settings),
    )
