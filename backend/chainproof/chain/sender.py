"""Signs transactions locally and sends them, one nonce counter per key.

ChainProof never relies on node-managed accounts: every node kind (embedded, Anvil, Ganache,
an external consortium node) gets the same signed raw transactions. web3's signing middleware
is not thread-safe (RECIPES.md: "nonce too low" from concurrent ``transact()``), so nonces
come from a counter behind a lock, seeded from the node's pending count.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TimeExhausted, Web3RPCError

from chainproof.errors import ChainError, TransactionError

TxType = Literal["auto", "legacy", "eip1559"]
DEFAULT_POLL = 0.01  # the default 0.1 s poll dominates on a local chain
RESEND_CHECK_S = 1.0  # how often a waiting sender checks that the node still has its tx


@dataclass(frozen=True)
class SignedTx:
    raw: str  # 0x hex of the signed transaction, kept in the outbox for exact re-sends
    tx_hash: str
    nonce: int
    sender: str


@dataclass(frozen=True)
class MinedTx:
    tx_hash: str
    block_number: int
    block_hash: str
    gas_used: int
    status: int
    logs: list[Any]


class TxSender:
    """Builds, signs and sends transactions for one account."""

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        *,
        timeout: float = 120.0,
        tx_type: TxType = "auto",
        gas_price: int | None = None,
    ) -> None:
        self.w3 = w3
        self.account = account
        self.timeout = timeout
        # "auto": legacy (type 0) on a chain without a base fee or with a zero one (free-gas
        # consortium networks: Besu with min-gas-price 0, FISCO BCOS), EIP-1559 otherwise;
        # "legacy" / "eip1559": what the operator configured. ``gas_price``: the legacy
        # price in wei (None: the node's eth_gasPrice, 0 on a free-gas network).
        self.tx_type = tx_type
        self.gas_price = gas_price
        self._lock = threading.Lock()
        # Held from reserving a nonce until that transaction is broadcast, so two callers
        # (the batcher, a revoke in a request thread) never send nonce N+1 before N.
        self._sending = threading.RLock()
        self._next_nonce: int | None = None

    @property
    def address(self) -> str:
        return str(self.account.address)

    @contextmanager
    def sending(self) -> Iterator[None]:
        """Hold while signing and broadcasting, to keep nonces in broadcast order."""
        with self._sending:
            yield

    def reserve_nonce(self) -> int:
        """The next nonce for this key; the node's pending count wins if it is ahead."""
        with self._lock:
            pending = self.w3.eth.get_transaction_count(self.account.address, "pending")
            nonce = pending if self._next_nonce is None else max(pending, self._next_nonce)
            self._next_nonce = nonce + 1
            return nonce

    def reset_nonce(self) -> None:
        with self._lock:
            self._next_nonce = None

    def sign(self, tx: dict[str, Any], *, nonce: int | None = None) -> SignedTx:
        tx = dict(tx)
        tx.setdefault("chainId", self.w3.eth.chain_id)
        tx["from"] = self.account.address
        tx["nonce"] = self.reserve_nonce() if nonce is None else nonce
        if "gasPrice" not in tx and "maxFeePerGas" not in tx:
            tx.update(self.fee_fields())
        tx.pop("from")
        signed = self.account.sign_transaction(tx)
        return SignedTx(
            raw=HexBytes(signed.raw_transaction).to_0x_hex(),
            tx_hash=HexBytes(signed.hash).to_0x_hex(),
            nonce=int(tx["nonce"]),
            sender=self.address,
        )

    def fee_fields(self) -> dict[str, int]:
        """EIP-1559 fees with headroom for two base-fee rises; a legacy (type 0) price when
        configured, or when the chain has no base fee or a zero one."""
        if self.tx_type == "legacy":
            return self._legacy_price()
        base = self.w3.eth.get_block("latest").get("baseFeePerGas")
        if base is None or (base == 0 and self.tx_type == "auto"):
            return self._legacy_price()
        priority = 1_000_000_000 if base > 0 else 0
        return {"maxFeePerGas": int(base) * 2 + priority, "maxPriorityFeePerGas": priority}

    def _legacy_price(self) -> dict[str, int]:
        price = self.gas_price if self.gas_price is not None else int(self.w3.eth.gas_price)
        return {"gasPrice": price}

    def replacement_fees(self, tx_hash: str) -> dict[str, int] | None:
        """Fees for replacing the pending ``tx_hash`` at its nonce: the current ones, at least
        a quarter above its own (nodes want 10 % more). None when it is gone from the pool,
        or was priced at zero: on a free-gas network a higher price buys nothing (and a key
        without ether could not pay it), so the caller broadcasts it again instead."""
        try:
            old = dict(self.w3.eth.get_transaction(tx_hash))  # type: ignore[arg-type]
        except Exception:  # TransactionNotFound, or the node is down
            return None
        current = self.fee_fields()
        if "maxFeePerGas" in current and old.get("maxFeePerGas") is not None:
            return {
                "maxFeePerGas": max(current["maxFeePerGas"], _above(old["maxFeePerGas"])),
                "maxPriorityFeePerGas": max(
                    current["maxPriorityFeePerGas"], _above(old.get("maxPriorityFeePerGas"))
                ),
            }
        old_price = int(str(old.get("gasPrice") or 0))
        if old_price == 0 and current.get("gasPrice", 0) == 0:
            return None
        return {"gasPrice": max(current.get("gasPrice", 0), _above(old_price))}

    def send_raw(self, signed: SignedTx) -> str:
        """Sends a signed transaction; re-sending one the node already has is not an error."""
        try:
            return HexBytes(self.w3.eth.send_raw_transaction(HexBytes(signed.raw))).to_0x_hex()
        except (Web3RPCError, ValueError) as exc:  # eth-tester raises ValidationError(ValueError)
            text = str(exc).lower()
            if "already known" in text or "known transaction" in text:
                return signed.tx_hash
            if (
                "nonce too low" in text
                or "nonce is too low" in text
                or ("invalid transaction nonce" in text)
            ):
                # Either this very tx was mined already (a resend after a crash) or another
                # tx took the nonce: the receipt tells which.
                if self.find_receipt(signed.tx_hash) is not None:
                    return signed.tx_hash
                self.reset_nonce()
            raise TransactionError(f"the node refused transaction {signed.tx_hash}: {exc}") from exc

    def find_receipt(self, tx_hash: str) -> MinedTx | None:
        try:
            r = self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except Exception:  # TransactionNotFound, or a node that answers null differently
            return None
        if r is None:
            return None
        return _mined(r)

    def wait_sent(self, signed: SignedTx, *, timeout: float | None = None) -> MinedTx:
        """Waits for ``signed`` to be mined, broadcasting it again whenever the node no longer
        knows it. A node restarted from its state file forgets its pending transactions: a
        sender that only waited would wait out its timeout, and every later nonce of the key
        (the batcher's next anchor) would sit behind the gap it left."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            try:
                return self.wait(signed.tx_hash, timeout=RESEND_CHECK_S)
            except (ChainError, OSError) as exc:  # not mined yet, or the node is down
                if time.monotonic() >= deadline:
                    if isinstance(exc, ChainError):
                        raise
                    raise ChainError(f"transaction {signed.tx_hash}: node unreachable") from exc
                if isinstance(exc, OSError):
                    time.sleep(RESEND_CHECK_S)  # refused at once: do not spin
            if not self.node_knows(signed.tx_hash):
                # The node is still down, or the nonce went elsewhere: the next look tells.
                with contextlib.suppress(TransactionError, OSError, Web3RPCError):
                    self.send_raw(signed)

    def node_knows(self, tx_hash: str) -> bool:
        """Whether the node holds ``tx_hash``, pending or mined (False when it is down)."""
        try:
            return self.w3.eth.get_transaction(tx_hash) is not None  # type: ignore[arg-type]
        except Exception:  # TransactionNotFound, or the node is down
            return False

    def wait(self, tx_hash: str, *, timeout: float | None = None) -> MinedTx:
        try:
            r = self.w3.eth.wait_for_transaction_receipt(
                tx_hash,  # type: ignore[arg-type]
                timeout=self.timeout if timeout is None else timeout,
                poll_latency=DEFAULT_POLL,
            )
        except TimeExhausted as exc:
            raise ChainError(f"transaction {tx_hash} was not mined in time") from exc
        return _mined(r)


def _above(value: Any) -> int:
    return int(int(value or 0) * 5 // 4) + 1


def _mined(r: Any) -> MinedTx:
    return MinedTx(
        tx_hash=HexBytes(r["transactionHash"]).to_0x_hex(),
        block_number=int(r["blockNumber"]),
        block_hash=HexBytes(r["blockHash"]).to_0x_hex(),
        gas_used=int(r["gasUsed"]),
        status=int(r["status"]),
        logs=list(r["logs"]),
    )
