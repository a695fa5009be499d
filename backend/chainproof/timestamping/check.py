"""Checking an RFC 3161 token offline, against a pinned root: what ``openssl ts -verify``
does, for the offline bundle verifier (``bundle/verify.py``), which cannot shell out.

asn1crypto reads the structures and cryptography checks the signatures; no ASN.1 is
encoded here. Checked: the CMS signature over the signed attributes by the TSA certificate;
the ``messageDigest`` attribute against the encapsulated ``TSTInfo``; the ``ESSCertIDv2`` (or
``ESSCertID``) naming that certificate; the certificate's critical ``id-kp-timeStamping``
extended key usage and validity at ``genTime``; its chain to the pinned root.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Final

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from chainproof.timestamping.authority import IMPRINT_ALGORITHMS

_HASHES: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
MAX_CHAIN: Final = 4


class TokenError(ValueError):
    """The token is not a valid time stamp from a TSA under the pinned root."""


@dataclass(frozen=True)
class CheckedToken:
    serial: int
    gen_time: dt.datetime
    algorithm: str  # the imprint's
    imprint: bytes
    tst_info: bytes  # DER, as signed
    tsa: str  # the TSA certificate's subject, as text
    policy: str
    accuracy_ms: int | None


def token_of_reply(reply: bytes) -> bytes:
    """The TimeStampToken inside a granted TimeStampResp (a ``.tsr`` file)."""
    from chainproof.timestamping.authority import TimeStampReply

    try:
        parsed = TimeStampReply.load(reply)
        status = parsed["status"]["status"].native
        token = parsed["time_stamp_token"]
    except (ValueError, TypeError) as exc:
        raise TokenError(f"not a TimeStampResp: {exc}") from None
    if status not in ("granted", "granted_with_mods") or token.native is None:
        raise TokenError(f"the time-stamp reply is {status}, with no token")
    return bytes(token.dump())


def check_token(
    token: bytes,
    roots: list[x509.Certificate],
    untrusted: list[x509.Certificate] | None = None,
) -> CheckedToken:
    """Checks ``token`` (a DER TimeStampToken) against the pinned ``roots``; ``untrusted``
    certificates (the TSA's, for a token issued without certReq) may complete the chain."""
    try:
        info = cms.ContentInfo.load(token)
        signed = info["content"]
        if info["content_type"].native != "signed_data":
            raise TokenError("the token is not CMS SignedData")
        encap = signed["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise TokenError("the token does not hold a TSTInfo")
        tst_der = bytes(encap["content"].contents)
        tst = tsp.TSTInfo.load(tst_der)
        tst.native  # noqa: B018  (parse all of it now, inside the try)
        signers = signed["signer_infos"]
        if len(signers) != 1:
            raise TokenError(f"a token has one signer, this one {len(signers)}")
        signer = signers[0]
        embedded = [
            x509.load_der_x509_certificate(c.chosen.dump())
            for c in (signed["certificates"] or [])
            if c.name == "certificate"
        ] + list(untrusted or ())
    except TokenError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise TokenError(f"the token cannot be read: {exc}") from None
    cert = _signer_cert(signer, embedded, roots)
    _check_signature(signer, cert, tst_der)
    gen_time = tst["gen_time"].native
    _check_tsa_cert(cert, gen_time)
    _check_chain(cert, embedded, roots)
    imprint = tst["message_imprint"]
    oid = imprint["hash_algorithm"]["algorithm"].dotted
    accuracy = tst["accuracy"]
    accuracy_ms = None
    if accuracy.native is not None:
        accuracy_ms = (accuracy["seconds"].native or 0) * 1000 + (accuracy["millis"].native or 0)
    return CheckedToken(
        serial=int(tst["serial_number"].native),
        gen_time=gen_time,
        algorithm=IMPRINT_ALGORITHMS.get(oid, (oid, 0))[0],
        imprint=bytes(imprint["hashed_message"].native),
        tst_info=tst_der,
        tsa=cert.subject.rfc4514_string(),
        policy=tst["policy"].dotted,
        accuracy_ms=accuracy_ms,
    )


def _signer_cert(
    signer: cms.SignerInfo, embedded: list[x509.Certificate], roots: list[x509.Certificate]
) -> x509.Certificate:
    sid = signer["sid"]
    if sid.name != "issuer_and_serial_number":
        raise TokenError("the token names its signer by key id, not issuer and serial")
    issuer = asn1_x509.Name.load(sid.chosen["issuer"].dump())
    serial = sid.chosen["serial_number"].native
    for cert in [*embedded, *roots]:
        if cert.serial_number == serial and (
            asn1_x509.Name.load(cert.issuer.public_bytes()) == issuer
        ):
            return cert
    raise TokenError(
        "the TSA certificate is neither in the token nor pinned (a query without certReq "
        "needs the TSA's certificate beside the root)"
    )


def _check_signature(signer: cms.SignerInfo, cert: x509.Certificate, tst_der: bytes) -> None:
    digest_name = signer["digest_algorithm"]["algorithm"].native
    hash_type = _HASHES.get(digest_name)
    if hash_type is None:
        raise TokenError(f"unsupported signature digest {digest_name}")
    attrs = signer["signed_attrs"]
    values = {a["type"].native: a["values"][0] for a in attrs}
    if values.get("content_type") is None or values["content_type"].native != "tst_info":
        raise TokenError("the signed content type is not TSTInfo")
    digest = values.get("message_digest")
    if digest is None or digest.native != hashlib.new(digest_name, tst_der).digest():
        raise TokenError("the TSTInfo does not match the signed message digest (tampered)")
    cert_der = cert.public_bytes(Encoding.DER)
    v2, v1 = values.get("signing_certificate_v2"), values.get("signing_certificate")
    if v2 is not None:
        ess = v2["certs"][0]
        algo = ess["hash_algorithm"]["algorithm"].native
        if ess["cert_hash"].native != hashlib.new(algo, cert_der).digest():
            raise TokenError("the ESSCertIDv2 names another certificate than the signer's")
    elif v1 is not None:
        if v1["certs"][0]["cert_hash"].native != hashlib.sha1(cert_der).digest():
            raise TokenError("the ESSCertID names another certificate than the signer's")
    else:
        raise TokenError("the token does not name its signing certificate (ESSCertID)")
    signed = attrs.untag().dump(force=True)
    signature = bytes(signer["signature"].native)
    key = cert.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed, ec.ECDSA(hash_type()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, PKCS1v15(), hash_type())
        else:
            raise TokenError(f"unsupported TSA key {type(key).__name__}")
    except InvalidSignature:
        raise TokenError("the token's signature does not verify (tampered)") from None


def _check_tsa_cert(cert: x509.Certificate, at: dt.datetime) -> None:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        raise TokenError("the signer's certificate is not a TSA's (no key usage)") from None
    if not eku.critical or ExtendedKeyUsageOID.TIME_STAMPING not in eku.value:
        raise TokenError("the signer's certificate is not a TSA's (no critical timeStamping)")
    if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        raise TokenError(f"the TSA certificate was not valid at {at.isoformat()}")


def _check_chain(
    cert: x509.Certificate, embedded: list[x509.Certificate], roots: list[x509.Certificate]
) -> None:
    current = cert
    for _ in range(MAX_CHAIN):
        for root in roots:
            if _issued_by(current, root):
                return
        parents = [c for c in embedded if c != current and _issued_by(current, c)]
        if not parents:
            break
        current = parents[0]
    raise TokenError("the TSA certificate does not chain to the pinned root")


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def load_roots(pem: bytes) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise TokenError(f"the root is not a PEM certificate: {exc}") from None
