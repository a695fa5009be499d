"""The JSON-RPC node a CLI verifier checks against.

A verifier reaches the node with a raw ``eth_chainId`` before any check: without it an
unreachable node would only show up as a failed check, and "invalid" (exit 1) must mean the
document, never the network (exit 2). Its calls are not retried: a verifier reports a dead
node, it does not wait on it. Light: web3 is imported only when a node is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from chainproof.cli.console import fail

if TYPE_CHECKING:
    from web3 import Web3

RPC_TIMEOUT: Final = 10.0


def web3_at(url: str) -> Web3:
    """A Web3 on the node at ``url``; each call fails within :data:`RPC_TIMEOUT`."""
    from web3 import Web3

    return Web3(
        Web3.HTTPProvider(
            url, request_kwargs={"timeout": RPC_TIMEOUT}, exception_retry_configuration=None
        )
    )


def reach(url: str, *, name_error: bool = False) -> tuple[int, Web3]:
    """(chain id, Web3) of the node at ``url`` once it answered ``eth_chainId``; exit 2
    with one red line when it did not (``name_error``: the line names the error's type)."""
    from chainproof.chain.nodes import display_url, rpc_chain_id

    try:
        chain_id = rpc_chain_id(url, timeout=RPC_TIMEOUT)
    except Exception as exc:  # httpx errors, bad URL, a JSON-RPC error answer
        why = f"{type(exc).__name__}: {exc}" if name_error else str(exc)
        fail(f"cannot reach the JSON-RPC node at {display_url(url)}: {why}")
    return chain_id, web3_at(url)
