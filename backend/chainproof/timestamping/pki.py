"""The keys and certificates of the time-stamp authority and of the certificate signer.

One root CA issues two end-entity certificates: the TSA's (extended key usage
``id-kp-timeStamping``, critical, as RFC 3161 §2.3 requires) and the document signer's (PAdES
certificates, ``web/signed_certificate.py``). A verifier trusts the root alone
(``GET /tsa/ca.pem``, ``ca.pem`` in an offline bundle).

Where they come from, by the files in the PKI directory (``CHAINPROOF_PKI_DIR``, default
``<data dir>/pki``):

* ``tsa.p12`` / ``signer.p12``: PKCS#12 files holding the key, the certificate and the chain
  up to the root (password ``CHAINPROOF_PKI_PASSWORD``), or
* ``tsa.pem`` + ``tsa.key`` / ``signer.pem`` + ``signer.key`` (PEM; the key unencrypted or
  encrypted with that password), and ``ca.pem`` (the root);
* none of them, outside production: a development CA and both certificates are made on first
  use and kept there, so tokens issued yesterday still verify against the same root today.

In production nothing is made: a missing file is a :class:`~chainproof.errors.ConfigError`.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from chainproof import file_locks
from chainproof.errors import ConfigError

DEV_ORG: Final = "ChainProof (development)"
CA_YEARS: Final = 20
LEAF_YEARS: Final = 10
# id-kp-documentSigning (RFC 9336): what the certificate signer's key is for.
DOCUMENT_SIGNING: Final = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")

_lock = threading.Lock()


@dataclass(frozen=True)
class Identity:
    """A key, its certificate and the chain above it (root last)."""

    key: PrivateKeyTypes
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]


@dataclass(frozen=True)
class Pki:
    """The root and the two identities it certifies."""

    ca: x509.Certificate
    tsa: Identity
    signer: Identity

    def ca_pem(self) -> bytes:
        return self.ca.public_bytes(serialization.Encoding.PEM)

    def tsa_pem(self) -> bytes:
        return self.tsa.cert.public_bytes(serialization.Encoding.PEM)


def load_pki(directory: Path, *, password: str | None, create: bool) -> Pki:
    """The PKI in ``directory``; made there first when it holds none and ``create`` is set."""
    with _lock:
        if create and not _has_any(directory):
            # Two processes starting on one data dir must not make two roots.
            with file_locks.exclusive(directory / ".lock"):
                if not _has_any(directory):
                    _create_dev_pki(directory)
        ca = _read_ca(directory)
        tsa = _read_identity(directory, "tsa", password, ca)
        signer = _read_identity(directory, "signer", password, ca)
    _check_tsa(tsa.cert)
    return Pki(ca=ca, tsa=tsa, signer=signer)


def _has_any(directory: Path) -> bool:
    # ca.pem is written last when a development PKI is made: a half-made one is made again.
    return any((directory / n).exists() for n in ("ca.pem", "tsa.p12"))


def _read_ca(directory: Path) -> x509.Certificate:
    path = directory / "ca.pem"
    if path.exists():
        return x509.load_pem_x509_certificate(path.read_bytes())
    # A PKCS#12 file carries the chain: its last certificate is the root.
    p12 = directory / "tsa.p12"
    if p12.exists():
        bundle = pkcs12.load_pkcs12(p12.read_bytes(), None)
        if bundle.additional_certs:
            return bundle.additional_certs[-1].certificate
    raise ConfigError(f"no root certificate in {directory} (ca.pem, or the chain in tsa.p12)")


def _read_identity(
    directory: Path, name: str, password: str | None, ca: x509.Certificate
) -> Identity:
    secret = password.encode() if password else None
    p12 = directory / f"{name}.p12"
    if p12.exists():
        try:
            bundle = pkcs12.load_pkcs12(p12.read_bytes(), secret)
        except ValueError as exc:
            raise ConfigError(f"cannot read {p12}: {exc}") from None
        if bundle.key is None or bundle.cert is None:
            raise ConfigError(f"{p12} holds no key and certificate")
        chain = tuple(c.certificate for c in bundle.additional_certs) or (ca,)
        return Identity(bundle.key, bundle.cert.certificate, chain)
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    if not (cert_path.exists() and key_path.exists()):
        raise ConfigError(
            f"no {name} identity in {directory}: put {name}.p12, or {name}.pem and {name}.key"
        )
    certs = x509.load_pem_x509_certificates(cert_path.read_bytes())
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), secret)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"cannot read {key_path}: {exc}") from None
    return Identity(key, certs[0], tuple(certs[1:]) or (ca,))


def _check_tsa(cert: x509.Certificate) -> None:
    """RFC 3161 §2.3: the TSA's certificate has exactly one, critical, timeStamping EKU."""
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        raise ConfigError("the TSA certificate has no extended key usage") from None
    if not eku.critical or list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        raise ConfigError("the TSA certificate's extended key usage must be timeStamping, critical")


# --- the development PKI ---------------------------------------------------------------------


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_ORG),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, years: int
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # clocks differ a little
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365 * years))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def _usage(*, sign: bool, commit: bool, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=commit,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _create_dev_pki(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("ChainProof Development Root CA")
    ca = (
        _builder(ca_name, ca_name, ca_key, CA_YEARS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(sign=False, commit=False, cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    leaves = {
        "tsa": ("ChainProof Development TSA", ExtendedKeyUsageOID.TIME_STAMPING),
        "signer": ("ChainProof Development Certificate Signer", DOCUMENT_SIGNING),
    }
    for name, (common, purpose) in leaves.items():
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            _builder(_name(common), ca_name, key, LEAF_YEARS)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(sign=True, commit=True, cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([purpose]), critical=True)
            .add_extension(aki, critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        _write(directory / f"{name}.key", _key_pem(key), private=True)
        _write(directory / f"{name}.pem", cert.public_bytes(serialization.Encoding.PEM))
    # The root's key is not kept: nothing more is issued under a development root.
    _write(directory / "ca.pem", ca.public_bytes(serialization.Encoding.PEM))


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)
