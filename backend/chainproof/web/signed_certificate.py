"""The certificate PDF, signed: PAdES baseline B-T, made with pyHanko.

The PDF (``web/certificate.py``'s, with the court's sections from ``web/court_facts.py``)
is signed by the document-signing certificate under the same root as the TSA
(``timestamping/pki.py``), and the signature carries an RFC 3161 signature time stamp from
our own TSA, asked in process. ``pyhanko sign validate --trust ca.pem FILE.pdf`` accepts it;
a byte changed in the signed range, or a page appended without a signature, is reported.

B-LTA would add a document time stamp over a DSS holding revocation data; the development
CA publishes no CRL or OCSP, so a signature here stays at B-T (docs/receipt.md).
"""

from __future__ import annotations

import io
from typing import Final

from asn1crypto import keys, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from chainproof.errors import ChainProofError
from chainproof.timestamping.authority import TimeStampAuthority, TimeStampReply
from chainproof.timestamping.pki import Pki

FIELD_NAME: Final = "ChainProofSignature"
REASON: Final = "ChainProof 存证证书 / evidence certificate"


class LocalTimeStamper(TimeStamper):
    """pyHanko's time stamper, answered by our own authority in process (no HTTP loop back
    to ourselves): the same tokens ``POST /tsa`` gives."""

    def __init__(self, authority: TimeStampAuthority) -> None:
        super().__init__(include_nonce=True)
        self.authority = authority

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        answer = self.authority.respond(req.dump())
        reply = TimeStampReply.load(answer.reply)
        if reply["status"]["status"].native != "granted":
            raise ChainProofError("our own TSA refused pyHanko's time-stamp query")
        return tsp.TimeStampResp.load(answer.reply)


def _signer(pki: Pki) -> signers.SimpleSigner:
    der = serialization.Encoding.DER
    key = pki.signer.key.private_bytes(
        der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    chain = [asn1_x509.Certificate.load(c.public_bytes(der)) for c in pki.signer.chain]
    return signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(pki.signer.cert.public_bytes(der)),
        signing_key=keys.PrivateKeyInfo.load(key),
        cert_registry=SimpleCertificateStore.from_certs(chain),
    )


def sign_certificate(pdf: bytes, *, pki: Pki, authority: TimeStampAuthority) -> bytes:
    """``pdf`` with a PAdES B-T signature (invisible field) and our TSA's time stamp."""
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=REASON,
        name="ChainProof",
    )
    out = io.BytesIO()
    signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf)),
        meta,
        signer=_signer(pki),
        timestamper=LocalTimeStamper(authority),
        output=out,
    )
    return out.getvalue()
