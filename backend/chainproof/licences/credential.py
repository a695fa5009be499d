"""The e-licence as a W3C Verifiable Credential (Data Model 2.0, JSON-LD), and its
presentations: issuing, disclosing chosen fields, and checking either, with no server.

Shape (``docs/licences.md`` has an example)::

    credential = {
      "@context": ["https://www.w3.org/ns/credentials/v2", CONTEXT],
      "id": "urn:uuid:<licence id>", "type": ["VerifiableCredential", "ChainProofLicence"],
      "issuer": "did:pkh:eip155:<chain id>:<issuer address>",
      "validFrom": RFC 3339, "validUntil": RFC 3339,
      "credentialSubject": {"licenceType": ..., "claimsRoot": 0x…,
                            "claims": {name: {"value", "salt", "proof"}}},
      "credentialStatus": {...},              # where the on-chain status is read
      "proof": {"type": "EthereumEip712Signature2021", "proofValue": 0x…, "eip712": {...}},
    }

Each claim is a leaf of an OpenZeppelin ``StandardMerkleTree`` (``chainproof/merkle.py``)
over ``(string name, string value, bytes32 salt)``; the salt (32 random bytes per claim)
keeps a guessable value (a date, a district) from being confirmed by hashing candidates
against the root. The issuer signs, with EIP-712, the licence's id, type, claims root and
validity dates; the root is what gets anchored. A **presentation** is the same credential
with only the chosen claims left in ``claims`` (value, salt, proof each): the signature and
the root still check, and the other values and salts are simply not in it.

:func:`check` returns every check by name, so the API, the CLI and the page say the same
thing; whether the issuer is trusted and what the chain says about status and anchoring
are the caller's inputs (``trusted_issuers``, ``status``, ``anchored``): this module reads
no network.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

from chainproof.digests import parse_hex, to_hex
from chainproof.errors import InvalidInputError
from chainproof.merkle import StandardMerkleTree, process_proof
from chainproof.merkle import leaf_hash as merkle_leaf_hash

__all__ = [
    "CLAIM_TYPES",
    "CONTEXT",
    "Check",
    "Verdict",
    "check",
    "credential_of",
    "did_pkh",
    "issue",
    "parse_did",
    "present",
]

VC_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
CONTEXT: Final = "https://chainproof.example/ns/licence/v1"
VC_TYPE: Final = "ChainProofLicence"
CLAIM_TYPES: Final = ("string", "string", "bytes32")  # name, value, salt
SIGNATURE_TYPE: Final = "EthereumEip712Signature2021"
EIP712_DOMAIN: Final = {"name": "ChainProof Licence", "version": "1"}
EIP712_TYPES: Final = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
    ],
    "Licence": [
        {"name": "id", "type": "string"},
        {"name": "licenceType", "type": "string"},
        {"name": "claimsRoot", "type": "bytes32"},
        {"name": "validFrom", "type": "uint64"},
        {"name": "validUntil", "type": "uint64"},
    ],
}
MAX_CLAIMS: Final = 64
MAX_PROOF: Final = 64  # a sorted-pair tree of MAX_CLAIMS leaves is far shallower
MAX_TEXT: Final = 1000


def did_pkh(chain_id: int, address: str) -> str:
    """The issuer's DID (``did:pkh``, CAIP-10 account id on an EVM chain)."""
    return f"did:pkh:eip155:{chain_id}:{address}"


def parse_did(did: str) -> tuple[int, str]:
    parts = did.split(":") if isinstance(did, str) else []
    if len(parts) != 5 or parts[:3] != ["did", "pkh", "eip155"] or not parts[3].isdigit():
        raise InvalidInputError(f"the issuer is not a did:pkh:eip155 DID: {did!r}")
    return int(parts[3]), parts[4]


def _time(value: Any, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(f"{what} is not an RFC 3339 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise InvalidInputError(f"{what} has no time zone: {value!r}")
    return parsed


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _typed(
    chain_id: int, licence_id: str, licence_type: str, root: bytes, start: datetime, end: datetime
) -> dict[str, Any]:
    return {
        "types": EIP712_TYPES,
        "primaryType": "Licence",
        "domain": {**EIP712_DOMAIN, "chainId": chain_id},
        "message": {
            "id": licence_id,
            "licenceType": licence_type,
            "claimsRoot": root,
            "validFrom": int(start.timestamp()),
            "validUntil": int(end.timestamp()),
        },
    }


def issue(
    *,
    issuer: LocalAccount,
    chain_id: int,
    licence_id: str,
    licence_type: str,
    claims: Mapping[str, str],
    valid_from: datetime,
    valid_until: datetime,
    status: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A signed credential holding every claim (with its salt and proof)."""
    if not 1 <= len(claims) <= MAX_CLAIMS:
        raise InvalidInputError(f"a licence has 1 to {MAX_CLAIMS} claims")
    for name, value in claims.items():
        if not isinstance(value, str) or not name or len(name) + len(value) > MAX_TEXT:
            raise InvalidInputError(f"claim {name!r}: a non-empty name and a text value")
    if valid_until <= valid_from:
        raise InvalidInputError("validUntil must be after validFrom")
    names = list(claims)
    salts = [secrets.token_bytes(32) for _ in names]
    tree = StandardMerkleTree.of(
        [(n, claims[n], s) for n, s in zip(names, salts, strict=True)], CLAIM_TYPES
    )
    root = tree.root
    typed = _typed(chain_id, licence_id, licence_type, root, valid_from, valid_until)
    signature = issuer.sign_message(encode_typed_data(full_message=typed)).signature
    did = did_pkh(chain_id, issuer.address)
    return {
        "@context": [VC_CONTEXT, CONTEXT],
        "id": licence_id,
        "type": ["VerifiableCredential", VC_TYPE],
        "issuer": did,
        "validFrom": _rfc3339(valid_from),
        "validUntil": _rfc3339(valid_until),
        "credentialSubject": {
            "licenceType": licence_type,
            "claimsRoot": to_hex(root),
            "claims": {
                n: {
                    "value": claims[n],
                    "salt": to_hex(s),
                    "proof": [to_hex(p) for p in tree.get_proof(i)],
                }
                for i, (n, s) in enumerate(zip(names, salts, strict=True))
            },
        },
        **({"credentialStatus": dict(status)} if status is not None else {}),
        "proof": {
            "type": SIGNATURE_TYPE,
            "proofPurpose": "assertionMethod",
            "verificationMethod": f"{did}#blockchainAccountId",
            "created": _rfc3339(datetime.now(UTC)),
            "proofValue": to_hex(bytes(signature)),
            "eip712": {"domain": {**EIP712_DOMAIN, "chainId": chain_id}, "primaryType": "Licence"},
        },
    }


def present(credential: Mapping[str, Any], disclose: Collection[str]) -> dict[str, Any]:
    """The credential with only the ``disclose`` claims left: the holder's presentation."""
    subject = credential["credentialSubject"]
    unknown = set(disclose) - set(subject["claims"])
    if unknown:
        raise InvalidInputError(f"the licence has no claim {sorted(unknown)[0]!r}")
    kept = {n: c for n, c in subject["claims"].items() if n in disclose}
    return {
        "@context": [VC_CONTEXT],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [{**credential, "credentialSubject": {**subject, "claims": kept}}],
    }


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class Verdict:
    valid: bool
    status: str  # "valid", "invalid", "expired", "not_yet_valid", "revoked", "suspended", …
    issuer: str | None
    disclosed: dict[str, str] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "status": self.status,
            "issuer": self.issuer,
            "disclosed": self.disclosed,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }


def check(
    document: Mapping[str, Any],
    *,
    trusted_issuers: Collection[str],
    now: datetime | None = None,
    status: Callable[[Mapping[str, Any]], str] | None = None,
    anchored: Callable[[bytes], bool] | None = None,
) -> Verdict:
    """Checks a credential or a presentation: issuer signature, trusted issuer, each
    disclosed claim's proof, validity dates, and (when given) the on-chain status and the
    anchoring of the claims root. ``trusted_issuers``: the issuer DIDs the caller pinned
    out of band; an issuer outside it is never valid, however well it signed."""
    try:
        credential = credential_of(document)
        return _check(credential, trusted_issuers, now or datetime.now(UTC), status, anchored)
    except (InvalidInputError, KeyError, TypeError, ValueError, AttributeError) as exc:
        message = exc.message if isinstance(exc, InvalidInputError) else f"malformed: {exc!r}"
        return Verdict(False, "invalid", None, checks=[Check("format", False, message)])


def credential_of(document: Mapping[str, Any]) -> Mapping[str, Any]:
    """The licence in ``document`` (a credential, or the one a presentation holds)."""
    if "VerifiablePresentation" in document.get("type", []):
        inner = document.get("verifiableCredential")
        if not isinstance(inner, Sequence) or len(inner) != 1:
            raise InvalidInputError("a presentation holds exactly one licence")
        document = inner[0]
    if VC_TYPE not in document.get("type", []) or VC_CONTEXT not in document.get("@context", []):
        raise InvalidInputError(f"not a {VC_TYPE} verifiable credential")
    return document


def _check(
    credential: Mapping[str, Any],
    trusted_issuers: Collection[str],
    now: datetime,
    status: Callable[[Mapping[str, Any]], str] | None,
    anchored: Callable[[bytes], bool] | None,
) -> Verdict:
    checks: list[Check] = []
    issuer = str(credential["issuer"])
    chain_id, address = parse_did(issuer)
    subject = credential["credentialSubject"]
    root = parse_hex(subject["claimsRoot"], size=32, what="claimsRoot")
    start = _time(credential["validFrom"], "validFrom")
    end = _time(credential["validUntil"], "validUntil")
    typed = _typed(chain_id, str(credential["id"]), str(subject["licenceType"]), root, start, end)
    signature = parse_hex(credential["proof"]["proofValue"], what="proofValue")
    try:
        signer = Account.recover_message(encode_typed_data(full_message=typed), signature=signature)
    except Exception as exc:  # any unusable signature is "not signed", never a crash
        signer = f"nobody ({type(exc).__name__})"
    signed = signer.lower() == address.lower()
    checks.append(Check("signature", signed, f"signed by {signer}"))
    trusted = issuer.lower() in {t.lower() for t in trusted_issuers}
    checks.append(Check("trusted_issuer", trusted, issuer))
    disclosed: dict[str, str] = {}
    claims_ok = True
    # Bounded work for anonymous callers (POST /api/v1/licences/verify): a tree of at most
    # MAX_CLAIMS leaves needs no proof longer than MAX_PROOF.
    if len(subject["claims"]) > MAX_CLAIMS or any(
        len(c["proof"]) > MAX_PROOF for c in subject["claims"].values()
    ):
        raise InvalidInputError(f"at most {MAX_CLAIMS} claims, with proofs of {MAX_PROOF} nodes")
    for name, claim in subject["claims"].items():
        leaf = merkle_leaf_hash(CLAIM_TYPES, (name, claim["value"], claim["salt"]))
        ok = process_proof(leaf, claim["proof"]) == root
        claims_ok &= ok
        checks.append(Check(f"claim:{name}", ok, "in the signed root" if ok else "not in it"))
        if ok:
            disclosed[name] = str(claim["value"])
    in_dates = start <= now < end
    checks.append(Check("validity", in_dates, f"{_rfc3339(start)} – {_rfc3339(end)}"))
    word = "valid"
    if anchored is not None:
        on_chain = anchored(root)
        checks.append(Check("anchored", on_chain, to_hex(root)))
        if not on_chain:
            word = "not_anchored"
    if status is not None:
        state = status(credential)
        checks.append(Check("status", state == "active", state))
        if state != "active":
            word = state
    if not (signed and trusted and claims_ok):
        word = "invalid"
    elif not in_dates and word == "valid":
        word = "expired" if now >= end else "not_yet_valid"
    valid = word == "valid" and all(c.ok for c in checks)
    return Verdict(valid, word, issuer, disclosed if valid else {}, checks)
