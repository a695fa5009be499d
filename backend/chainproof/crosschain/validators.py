"""Several validators sign a checkpoint (threshold signatures, gathered off chain).

Each registered signer of a sub-chain runs a :class:`ValidatorSigner` next to its own
sub-chain node (``chainproof crosschain signer``, a small HTTP endpoint, or ``chainproof
crosschain sign`` once): asked to sign ``(sub chain, from, to, root)``, it recomputes the
range's root from **its own node**'s block hashes and refuses (409) when it differs, reads
the registered genesis and signer epoch from ChainRegistry on the main chain, and only then
returns its EIP-712 signature. So a relay cannot get a signature for a history the
validator's node does not have.

The relay (:func:`collect_signatures`) asks every endpoint in
``CHAINPROOF_CHECKPOINT_SIGNERS`` (and signs with its local keys, if any), keeps the
signatures that recover to a current signer, and sends the checkpoint once it holds
``threshold`` distinct ones (in the ascending address order ChainRegistry requires). An
offline or refusing validator is skipped; below the threshold nothing is sent and the
writer tries again later (``ChainError``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final, cast

import httpx
import structlog
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3

from chainproof.chain.chain_registry import ChainRegistryClient
from chainproof.crosschain.ranges import checkpoint_typed_data, range_tree
from chainproof.errors import ChainError, ConflictError, InvalidInputError

log = structlog.get_logger("chainproof.crosschain")

SIGN_PATH: Final = "/sign"
MAX_REQUEST_BYTES: Final = 4096
MAX_SIGN_RANGE: Final = 4096  # ChainRegistry.MAX_RANGE
ASK_TIMEOUT_S: Final = 10.0


@dataclass(frozen=True)
class SignRequest:
    sub_chain_id: int
    from_block: int
    to_block: int
    root: str

    @classmethod
    def from_json(cls, body: bytes) -> SignRequest:
        try:
            data = json.loads(body)
            req = cls(
                int(data["sub_chain_id"]),
                int(data["from_block"]),
                int(data["to_block"]),
                "0x" + HexBytes(str(data["root"])).hex(),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInputError(f"not a sign request: {exc}") from None
        if not 0 <= req.from_block <= req.to_block or req.to_block - req.from_block >= (
            MAX_SIGN_RANGE
        ):
            raise InvalidInputError("the range is empty, reversed or over 4096 blocks")
        if len(req.root) != 66:
            raise InvalidInputError("root must be 32 bytes")
        return req

    def body(self) -> dict[str, Any]:
        return {
            "sub_chain_id": self.sub_chain_id,
            "from_block": self.from_block,
            "to_block": self.to_block,
            "root": self.root,
        }


class ValidatorSigner:
    """One validator's key, its own sub-chain node, and the main chain's ChainRegistry."""

    def __init__(self, *, key: LocalAccount, sub_w3: Web3, registry: ChainRegistryClient):
        self.key = key
        self.sub_w3 = sub_w3
        self.registry = registry

    def sign(self, req: SignRequest) -> str:
        """The signature over ``req``; ConflictError when this validator's node disagrees
        or this key is not a current signer, InvalidInputError for a malformed request."""
        if int(self.sub_w3.eth.chain_id) != req.sub_chain_id:
            raise ConflictError(f"this validator's node is not chain {req.sub_chain_id}")
        record = self.registry.chain_of(req.sub_chain_id)
        if not record.known or record.retired:
            raise ConflictError(f"chain {req.sub_chain_id} is not registered (or retired)")
        if self.key.address not in self.registry.signers_of(req.sub_chain_id, record.epoch):
            raise ConflictError(f"{self.key.address} is not a current signer")
        genesis = HexBytes(self.sub_w3.eth.get_block(0)["hash"]).to_0x_hex()
        if genesis.lower() != record.genesis_hash.lower():
            raise ConflictError("this validator's node has another genesis than registered")
        if int(self.sub_w3.eth.block_number) < req.to_block:
            raise ConflictError(f"this validator's node has no block {req.to_block} yet")
        with self.sub_w3.batch_requests() as batch:
            for h in range(req.from_block, req.to_block + 1):
                batch.add(self.sub_w3.eth.get_block(h))
            blocks = batch.execute()
        hashes = [HexBytes(cast(Mapping[str, Any], b)["hash"]).to_0x_hex() for b in blocks]
        mine = HexBytes(range_tree(req.from_block, hashes).root).to_0x_hex()
        if mine.lower() != req.root.lower():
            raise ConflictError(
                f"blocks {req.from_block}..{req.to_block} on this validator's node have root "
                f"{mine}, not {req.root}: refused"
            )
        typed = checkpoint_typed_data(
            main_chain_id=int(self.registry.w3.eth.chain_id),
            registry=self.registry.address,
            sub_chain_id=req.sub_chain_id,
            genesis_hash=record.genesis_hash,
            from_block=req.from_block,
            to_block=req.to_block,
            root=req.root,
            epoch=record.epoch,
        )
        signed = Account.sign_message(encode_typed_data(full_message=typed), self.key.key)
        return HexBytes(signed.signature).to_0x_hex()


def serve(signer: ValidatorSigner, host: str, port: int) -> ThreadingHTTPServer:
    """``POST /sign`` with a :class:`SignRequest` JSON body: 200 ``{signer, signature}``,
    409 refused (the reason), 400 malformed, 413 over 4 KiB. Started in a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != SIGN_PATH:
                return self._answer(404, {"error": "not found"})
            size = int(self.headers.get("Content-Length") or 0)
            if size > MAX_REQUEST_BYTES:
                return self._answer(413, {"error": "request too large"})
            try:
                req = SignRequest.from_json(self.rfile.read(size))
                signature = signer.sign(req)
            except InvalidInputError as exc:
                return self._answer(400, {"error": exc.message})
            except ConflictError as exc:
                return self._answer(409, {"error": exc.message})
            except Exception as exc:  # its node or the main chain away: not a refusal
                return self._answer(503, {"error": f"{type(exc).__name__}"})
            self._answer(200, {"signer": signer.key.address, "signature": signature})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return None  # structlog elsewhere; no request log lines

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="chainproof-signer", daemon=True).start()
    return server


def collect_signatures(
    typed: dict[str, Any],
    req: SignRequest,
    *,
    local: Sequence[LocalAccount],
    endpoints: Sequence[str],
    signers: Sequence[str],
    threshold: int,
) -> list[str]:
    """At least ``threshold`` signatures of distinct current ``signers`` over ``typed``, in
    ascending signer order; ChainError when fewer could be had (who refused, who was away)."""
    message = encode_typed_data(full_message=typed)
    current = {Web3.to_checksum_address(s) for s in signers}
    got: dict[str, str] = {}
    for key in local:
        if key.address in current:
            got[key.address] = HexBytes(
                Account.sign_message(message, key.key).signature
            ).to_0x_hex()
    missing: list[str] = []
    for url in endpoints:
        if len(got) >= threshold:
            break
        try:
            answer = httpx.post(url.rstrip("/") + SIGN_PATH, json=req.body(), timeout=ASK_TIMEOUT_S)
        except httpx.HTTPError as exc:
            missing.append(f"{url}: {type(exc).__name__}")
            continue
        if answer.status_code != 200:
            missing.append(f"{url}: {answer.status_code} {answer.text[:200]}")
            continue
        try:
            signature = str(answer.json()["signature"])
            who = Account.recover_message(message, signature=HexBytes(signature))
        except Exception as exc:  # a garbled answer is a missing signature, not a crash
            missing.append(f"{url}: bad answer ({type(exc).__name__})")
            continue
        if who not in current:
            missing.append(f"{url}: signed by {who}, not a current signer")
            continue
        got[who] = signature
    if len(got) < threshold:
        log.warning("checkpoint lacks signatures", have=len(got), need=threshold, missing=missing)
        raise ChainError(
            f"{len(got)} of {threshold} checkpoint signatures; missing: {'; '.join(missing)}"
        )
    ordered = sorted(got, key=lambda a: int(a, 16))[:threshold]
    return [got[a] for a in ordered]
