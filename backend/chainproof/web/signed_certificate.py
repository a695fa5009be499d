"""The certificate PDF, signed: PAdES (B-T, extended to the B-LTA form), made with pyHanko.

The PDF (``web/certificate.py``'s, with the court's sections from ``web/court_facts.py``)
is signed by the document-signing certificate under the same root as the TSA
(``timestamping/pki.py``), and the signature carries an RFC 3161 signature time stamp from
our own TSA, asked in process. ``pyhanko sign validate --trust ca.pem FILE.pdf`` accepts it;
a byte changed in the signed range, or a page appended without a signature, is reported.

The signature is extended with a DSS (the certificate chain, and revocation data where the
CA publishes some) and a document time stamp over it, the B-LTA form, so it can be
re-stamped before its algorithms age. The development CA publishes no CRL or OCSP: its DSS
holds the chain alone, which pyHanko accepts (soft-fail), a strict B-LT profile would not.
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
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from chainproof.errors import ChainProofError
from chainproof.timestamping.authority import TimeStampAuthority, TimeStampReply
from chainproof.timestamping.pki import Pki

FIELD_NAME: Final = "ChainProofSignature"
DOC_TIMESTAMP_FIELD: Final = "ChainProofDocumentTimeStamp"
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
    """``pdf`` with a PAdES signature (invisible field), our TSA's signature time stamp, the
    DSS and a document time stamp."""
    der = serialization.Encoding.DER
    roots = [asn1_x509.Certificate.load(pki.ca.public_bytes(der))]
    # The chain goes into the DSS as it is: no fetching (the server asks nobody), and a
    # root that publishes no revocation data (the development one) is no failure.
    context = ValidationContext(
        trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail"
    )
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=REASON,
        name="ChainProof",
        embed_validation_info=True,
        validation_context=context,
        use_pades_lta=True,  # a document time stamp over the DSS: B-LTA
        timestamp_field_name=DOC_TIMESTAMP_FIELD,
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
