"""Encryption at rest of custodial chain keys, with a key derived from the server secret.

Scheme: Fernet (AES-128-CBC + HMAC-SHA256, authenticated, from ``cryptography``) under a key
derived from ``CHAINPROOF_SECRET_KEY`` with HKDF-SHA256.

Why HKDF and not Scrypt: the secret key is a machine-generated server secret (production
refuses the development default), not a password a person chose, so its entropy already
resists brute force and a deliberately slow KDF would add nothing but start-up latency.
HKDF's ``info`` separates this key from any other use of the same secret (session signing,
say), so one purpose's key never equals another's. A secret short enough to guess would be
weak under either KDF: set a long random one (``python -c "import secrets;
print(secrets.token_urlsafe(32))"``).

Tokens carry a ``v1:`` prefix naming this scheme, so a later scheme (key rotation with
``MultiFernet``, another KDF) can tell old tokens from new ones.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from chainproof.errors import ConfigError

_PREFIX = "v1:"
_INFO = b"chainproof/custodial-chain-keys/v1"


@lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    if not secret:
        raise ConfigError("CHAINPROOF_SECRET_KEY is empty; set a long random value")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(plain: str, *, secret: str) -> str:
    """Encrypt ``plain`` (a private key, say) under a key derived from ``secret``."""
    token = _fernet(secret).encrypt(plain.encode("utf-8"))
    return _PREFIX + token.decode("ascii")


def decrypt_secret(token: str, *, secret: str) -> str:
    """Decrypt a token from :func:`encrypt_secret`.

    Raises :class:`ConfigError` when ``secret`` is not the one that encrypted the token (the
    usual cause: ``CHAINPROOF_SECRET_KEY`` changed) or the token is damaged. The message
    never includes the token or anything decrypted.
    """
    if not token.startswith(_PREFIX):
        raise ConfigError(
            "this stored secret is not in a format ChainProof knows (expected a 'v1:' token)"
        )
    try:
        plain = _fernet(secret).decrypt(token[len(_PREFIX) :].encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        raise ConfigError(
            "cannot decrypt a stored custodial key: CHAINPROOF_SECRET_KEY is not the one it "
            "was encrypted with (or the stored value is damaged); restore the original "
            "secret key"
        ) from None
    return plain.decode("utf-8")
