"""The base of every contract client: one deployed contract, its custom errors decoded,
its transactions signed, sent and waited for through the key's :class:`TxSender`.

``EvidenceRegistryClient`` (``chain/registry.py``) and ``TraceRegistryClient``
(``chain/trace_registry.py``) add their contract's calls on top; the chain writer signs any
client's calls through :meth:`ContractClient.sign_call`. Raw web3 errors stop here: a revert
becomes the contract's custom error (:class:`~chainproof.errors.ContractRevertError`, with
its arguments), empty return data a :class:`~chainproof.errors.ChainMismatchError`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

from eth_abi import decode as abi_decode
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import (
    BadFunctionCallOutput,
    ContractCustomError,
    ContractLogicError,
    ContractPanicError,
)

from chainproof.chain.abi import selector
from chainproof.chain.sender import MinedTx, SignedTx, TxSender
from chainproof.errors import ChainError, ChainMismatchError, ContractRevertError, TransactionError

T = TypeVar("T")


def _revert_data(data: Any) -> str | None:
    """The revert payload, wherever the node put it: Anvil gives a hex string, Ganache a
    (message, {"result": hex, ...}) tuple."""
    if isinstance(data, str):
        return data if data.startswith("0x") and len(data) >= 10 else None
    if isinstance(data, dict):
        for key in ("result", "data"):
            found = _revert_data(data.get(key))
            if found:
                return found
    if isinstance(data, list | tuple):
        for item in data:
            found = _revert_data(item)
            if found:
                return found
    return None


def _abi_value(abi_type: str, value: Any) -> Any:
    if abi_type == "address":
        return Web3.to_checksum_address(value)
    if isinstance(value, bytes):
        return HexBytes(value).to_0x_hex()
    return value


class ErrorDecoder:
    """Maps 4-byte selectors of an ABI's custom errors to names and argument decoders."""

    def __init__(self, abi: Sequence[dict[str, Any]]) -> None:
        self._errors: dict[bytes, tuple[str, list[str], list[str]]] = {}
        for item in abi:
            if item.get("type") != "error":
                continue
            types = [i["type"] for i in item.get("inputs", [])]
            names = [i.get("name") or f"arg{n}" for n, i in enumerate(item.get("inputs", []))]
            self._errors[selector(item)] = (item["name"], types, names)

    def decode(self, data: bytes | str) -> ContractRevertError | None:
        raw = bytes(HexBytes(data))
        entry = self._errors.get(raw[:4])
        if entry is None:
            return None
        name, types, names = entry
        values = abi_decode(types, raw[4:])
        args = {n: _abi_value(t, v) for n, t, v in zip(names, types, values, strict=True)}
        return ContractRevertError(name, args)


class ContractClient:
    """Calls and transactions of one deployed contract."""

    contract_name: ClassVar[str] = "contract"  # for messages: "no <name> answers at ..."

    def __init__(self, w3: Web3, address: str, abi: list[dict[str, Any]]) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(address)
        self.contract: Contract = w3.eth.contract(address=self.address, abi=abi)
        self.errors = ErrorDecoder(abi)

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()`` (a view call, an estimate), its revert decoded into the contract's custom
        error (:class:`ContractRevertError`), no code at the address into
        :class:`ChainMismatchError`: raw web3 errors stop here."""
        try:
            return fn()
        except ContractCustomError as exc:
            data = _revert_data(exc.data)
            decoded = self.errors.decode(data) if data else None
            raise (decoded or TransactionError(f"contract reverted: {exc}")) from exc
        except BadFunctionCallOutput as exc:
            # Empty return data: no contract at the address on this chain (reset, other net).
            raise ChainMismatchError(
                f"no {self.contract_name} answers at {self.address} on this chain: {exc}",
                address=self.address,
            ) from exc
        except ContractPanicError as exc:
            raise TransactionError(f"contract panicked: {exc}") from exc
        except ContractLogicError as exc:
            data = _revert_data(exc.data)
            decoded = self.errors.decode(data) if data else None
            raise (decoded or TransactionError(f"contract reverted: {exc}")) from exc
        except Exception as exc:
            # eth-tester (the embedded chain) raises its own TransactionFailed whose message
            # is "execution reverted: b'<raw revert data>'": recover the bytes from the repr.
            if type(exc).__name__ != "TransactionFailed":
                raise
            decoded = self._decode_tester_message(str(exc))
            raise (decoded or TransactionError(f"contract reverted: {exc}")) from exc

    def _decode_tester_message(self, message: str) -> ContractRevertError | None:
        # String operations, not a regex: ".*" searched from every position was quadratic
        # on a long message (scripts/redos_check.py).
        _, found, rest = message.partition("execution reverted: ")
        rest = rest.rstrip()
        if not (found and len(rest) >= 3 and rest[:2] in ("b'", 'b"') and rest[-1] == rest[1]):
            return None
        try:
            raw = ast.literal_eval(rest)
        except (ValueError, SyntaxError):
            return None
        return self.errors.decode(raw) if isinstance(raw, bytes) and len(raw) >= 4 else None

    def sign_call(
        self,
        sender: TxSender,
        fn: ContractFunction | ContractConstructor,
        *,
        gas: int | None = None,
        gas_cap: int | None = None,
        nonce: int | None = None,
        fees: dict[str, int] | None = None,
    ) -> SignedTx:
        """Estimates gas (which surfaces a revert as its custom error) and signs the call,
        with the next nonce, or ``nonce`` and ``fees`` given (a replacement)."""
        if gas is None:
            est = self.call(lambda: fn.estimate_gas({"from": sender.account.address}))
            gas = int(est * 1.25) + 10_000
        if gas_cap is not None:
            # Real chains cap gas per transaction (EIP-7825): never ask for more.
            gas = min(gas, gas_cap)
        params: dict[str, Any] = {
            "from": sender.account.address,
            "gas": gas,
            **(fees or sender.fee_fields()),
        }
        params["nonce"] = 0  # placeholder: sign() reserves the real nonce under its lock
        tx = dict(fn.build_transaction(params))  # type: ignore[arg-type]
        tx.pop("nonce", None)
        return sender.sign(tx, nonce=nonce)

    def transact(
        self, sender: TxSender, fn: ContractFunction, *, gas: int | None = None
    ) -> MinedTx:
        """Signs, sends and waits; a mined revert is explained by its custom error."""
        with sender.sending():
            signed = self.sign_call(sender, fn, gas=gas)
            sender.send_raw(signed)
        mined = sender.wait_sent(signed)
        if mined.status != 1:
            raise self.explain_failure(fn, sender.account.address, mined)
        return mined

    def explain_failure(self, fn: ContractFunction, sender: str, mined: MinedTx) -> ChainError:
        """A mined-but-reverted tx carries no reason: replay it as a call at its block."""
        try:
            self.call(lambda: fn.call({"from": sender}, block_identifier=mined.block_number - 1))
        except ContractRevertError as exc:
            return exc
        except ChainError as exc:
            return exc
        return TransactionError(f"transaction {mined.tx_hash} reverted (status 0)")
