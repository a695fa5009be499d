"""An RFC 3161 time-stamp authority: a ``TimeStampReq`` in, a ``TimeStampResp`` out.

Tokens are CMS ``SignedData`` over a ``TSTInfo`` (RFC 3161 §2.4.2), signed with the TSA key
and identifying its certificate by an ``ESSCertIDv2`` (RFC 5816) in the signed attributes.
Every structure is asn1crypto's and every signature cryptography's: nothing here encodes
ASN.1 by hand. ``openssl ts -verify -queryfile Q -in R -CAfile ca.pem`` accepts the answers.

A query is answered with ``rejection`` and the RFC's failure bit, never with an exception:
``badDataFormat`` for bytes that are not a ``TimeStampReq``, ``badAlg`` for an imprint
algorithm not listed in :data:`IMPRINT_ALGORITHMS`, ``badRequest`` for an imprint of the
wrong length or a version other than 1, ``unacceptedPolicy`` for a policy other than ours,
``unacceptedExtension`` for any extension (we support none).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15

from chainproof.timestamping.pki import Identity

# Imprint algorithms by OID: name, digest size. SM3 has an OID (GM/T 0006), so it is in.
IMPRINT_ALGORITHMS: Final[dict[str, tuple[str, int]]] = {
    "2.16.840.1.101.3.4.2.1": ("sha256", 32),
    "2.16.840.1.101.3.4.2.2": ("sha384", 48),
    "2.16.840.1.101.3.4.2.3": ("sha512", 64),
    "1.2.156.10197.1.401": ("sm3", 32),
}
# A TimeStampReq is a few hundred bytes; anything past this is not one (and is not read).
MAX_QUERY_BYTES: Final = 4096
# The example arc (X.660, 2.999): a development policy. Production configures its own.
DEV_POLICY_OID: Final = "2.999.3161.1"
QUERY_MEDIA_TYPE: Final = "application/timestamp-query"
REPLY_MEDIA_TYPE: Final = "application/timestamp-reply"


@dataclass(frozen=True)
class Issued:
    """A granted token and what the anchoring queue needs of it."""

    reply: bytes  # the whole TimeStampResp, DER
    token: bytes  # its TimeStampToken (ContentInfo), DER: what a receipt carries
    tst_info: bytes  # the signed TSTInfo, DER
    serial: int
    gen_time: dt.datetime
    algorithm: str  # the imprint's
    imprint: bytes


@dataclass(frozen=True)
class Rejected:
    reply: bytes
    failure: str
    reason: str


class TimeStampReply(tsp.TimeStampResp):
    """RFC 3161 §2.4.2's ``TimeStampResp``: asn1crypto's declares the token mandatory, but
    a rejection carries none (``timeStampToken TimeStampToken OPTIONAL``)."""

    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


class _Reject(Exception):
    def __init__(self, failure: str, reason: str) -> None:
        super().__init__(reason)
        self.failure = failure
        self.reason = reason


class TimeStampAuthority:
    """Answers queries with tokens signed by ``identity`` (EC or RSA key)."""

    def __init__(
        self,
        identity: Identity,
        *,
        policy: str = DEV_POLICY_OID,
        accuracy_ms: int = 1000,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.identity = identity
        self.policy = policy
        self.accuracy_ms = accuracy_ms
        self.clock = clock
        self._cert = asn1_x509.Certificate.load(
            identity.cert.public_bytes(serialization.Encoding.DER)
        )
        self._chain = [
            asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
            for c in identity.chain
        ]

    def respond(self, query: bytes) -> Issued | Rejected:
        try:
            req = self._parse(query)
        except _Reject as refused:
            return Rejected(_rejection(refused.failure, refused.reason), *_args(refused))
        return self._grant(req)

    # --- the query ---------------------------------------------------------------------

    def _parse(self, query: bytes) -> tsp.TimeStampReq:
        if len(query) > MAX_QUERY_BYTES:
            raise _Reject("bad_data_format", f"a query is at most {MAX_QUERY_BYTES} bytes")
        try:
            req = tsp.TimeStampReq.load(query, strict=True)
            req.native  # noqa: B018  (asn1crypto parses lazily: make it parse all of it now)
        except (ValueError, TypeError, OverflowError) as exc:
            raise _Reject("bad_data_format", f"not a DER TimeStampReq: {exc}") from None
        if req["version"].native != "v1":
            raise _Reject("bad_request", "only version 1 queries exist")
        imprint = req["message_imprint"]
        oid = imprint["hash_algorithm"]["algorithm"].dotted
        known = IMPRINT_ALGORITHMS.get(oid)
        if known is None:
            names = ", ".join(name for name, _ in IMPRINT_ALGORITHMS.values())
            raise _Reject("bad_alg", f"imprint algorithm {oid} is not one of {names}")
        if imprint["hash_algorithm"]["parameters"].native is not None:
            raise _Reject("bad_alg", "the imprint algorithm takes no parameters")
        if len(imprint["hashed_message"].native) != known[1]:
            raise _Reject(
                "bad_request",
                f"a {known[0]} imprint is {known[1]} bytes, "
                f"not {len(imprint['hashed_message'].native)}",
            )
        policy = req["req_policy"]
        if policy.native is not None and policy.dotted != self.policy:
            raise _Reject("unaccepted_policy", f"policy {policy.dotted} is not {self.policy}")
        if req["extensions"].native:
            raise _Reject("unaccepted_extension", "this TSA supports no request extensions")
        return req

    # --- the token ---------------------------------------------------------------------

    def _grant(self, req: tsp.TimeStampReq) -> Issued:
        now = self.clock().astimezone(dt.UTC)
        serial = secrets.randbits(127) + 1  # RFC 3161: unique, up to 160 bits; never 0
        imprint = req["message_imprint"]
        seconds, millis = divmod(self.accuracy_ms, 1000)
        accuracy: dict[str, int] = {}
        if seconds:
            accuracy["seconds"] = seconds
        if millis:
            accuracy["millis"] = millis
        info: dict[str, Any] = {
            "version": "v1",
            "policy": self.policy,
            "message_imprint": imprint,
            "serial_number": serial,
            "gen_time": now,
            "accuracy": accuracy or None,
            "ordering": False,
            "tsa": asn1_x509.GeneralName(name="directory_name", value=self._cert.subject),
        }
        if req["nonce"].native is not None:
            info["nonce"] = req["nonce"].native
        tst_info = tsp.TSTInfo(info).dump()
        token = self._sign(tst_info, now, with_certs=bool(req["cert_req"].native))
        reply = tsp.TimeStampResp(
            {"status": tsp.PKIStatusInfo({"status": "granted"}), "time_stamp_token": token}
        ).dump()
        name, _ = IMPRINT_ALGORITHMS[imprint["hash_algorithm"]["algorithm"].dotted]
        return Issued(
            reply=reply,
            token=token.dump(),
            tst_info=tst_info,
            serial=serial,
            gen_time=now,
            algorithm=name,
            imprint=bytes(imprint["hashed_message"].native),
        )

    def _sign(self, tst_info: bytes, now: dt.datetime, *, with_certs: bool) -> cms.ContentInfo:
        cert_hash = hashlib.sha256(self._cert.dump()).digest()
        signed_attrs = cms.CMSAttributes(
            [
                _attr("content_type", "tst_info"),
                _attr("signing_time", cms.Time({"utc_time": core.UTCTime(now)})),
                _attr("message_digest", hashlib.sha256(tst_info).digest()),
                _attr(
                    "signing_certificate_v2",
                    tsp.SigningCertificateV2(
                        {
                            "certs": [
                                tsp.ESSCertIDv2(
                                    {
                                        "hash_algorithm": {"algorithm": "sha256"},
                                        "cert_hash": cert_hash,
                                        "issuer_serial": {
                                            "issuer": [
                                                asn1_x509.GeneralName(
                                                    name="directory_name",
                                                    value=self._cert.issuer,
                                                )
                                            ],
                                            "serial_number": self._cert.serial_number,
                                        },
                                    }
                                )
                            ]
                        }
                    ),
                ),
            ]
        )
        signature, algorithm = _signature(self.identity, signed_attrs.dump())
        digest_algorithm = algos.DigestAlgorithm({"algorithm": "sha256"})
        signer = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    name="issuer_and_serial_number",
                    value=cms.IssuerAndSerialNumber(
                        {"issuer": self._cert.issuer, "serial_number": self._cert.serial_number}
                    ),
                ),
                "digest_algorithm": digest_algorithm,
                "signed_attrs": signed_attrs,
                "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": algorithm}),
                "signature": signature,
            }
        )
        signed_data: dict[str, Any] = {
            "version": "v3",
            "digest_algorithms": [digest_algorithm],
            "encap_content_info": {
                "content_type": "tst_info",
                "content": cms.ParsableOctetString(tst_info),
            },
            "signer_infos": [signer],
        }
        if with_certs:  # RFC 3161 §2.4.1: certReq asks for the TSA's certificate
            signed_data["certificates"] = [self._cert, *self._chain]
        return cms.ContentInfo({"content_type": "signed_data", "content": signed_data})


def _attr(kind: str, value: Any) -> cms.CMSAttribute:
    return cms.CMSAttribute({"type": kind, "values": [value]})


def _signature(identity: Identity, data: bytes) -> tuple[bytes, str]:
    key = identity.key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256())), "sha256_ecdsa"
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, PKCS1v15(), hashes.SHA256()), "sha256_rsa"
    raise TypeError(f"a TSA key must be EC or RSA, not {type(key).__name__}")


def _rejection(failure: str, reason: str) -> bytes:
    status = tsp.PKIStatusInfo(
        {
            "status": "rejection",
            "status_string": [reason[:200]],
            "fail_info": tsp.PKIFailureInfo({failure}),
        }
    )
    return TimeStampReply({"status": status}).dump()


def _args(refused: _Reject) -> tuple[str, str]:
    return refused.failure, refused.reason


def granted_reply(token: bytes) -> bytes:
    """A granted TimeStampResp around a stored token: a ``.tsr`` file for stock tools."""
    return tsp.TimeStampResp(
        {
            "status": tsp.PKIStatusInfo({"status": "granted"}),
            "time_stamp_token": cms.ContentInfo.load(token),
        }
    ).dump()


_OIDS: Final = {name: oid for oid, (name, _) in IMPRINT_ALGORITHMS.items()}


def make_query(algorithm: str, imprint: bytes, *, cert_req: bool = True) -> bytes:
    """A DER TimeStampReq for ``imprint`` (what ``openssl ts -query`` writes), with a nonce."""
    return tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": _OIDS[algorithm]},
                "hashed_message": imprint,
            },
            "nonce": secrets.randbits(63),
            "cert_req": cert_req,
        }
    ).dump()
