"""Password hashing: argon2id through argon2-cffi (RFC 9106's low-memory profile).

Each hash costs 64 MiB and tens of milliseconds: a semaphore lets at most two run at once,
so a burst of sign-ins queues instead of taking 64 MiB each (invariant 8). A failed sign-in
of an unknown email verifies against a dummy hash, so it costs what a wrong password costs
(no user enumeration by timing).
"""

from __future__ import annotations

import threading
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from chainproof.errors import InvalidInputError

MIN_LENGTH: Final = 12
MAX_LENGTH: Final = 256  # bounds the hashing work an anonymous request can ask for

_hasher: Final = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4 (argon2-cffi's default)
_running: Final = threading.BoundedSemaphore(2)
_DUMMY: Final = _hasher.hash("not a password: the hash unknown accounts verify against")


def check_policy(password: str) -> None:
    """Refuses a password too short to resist guessing, or too long to hash cheaply."""
    if len(password) < MIN_LENGTH:
        raise InvalidInputError(f"a password has at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise InvalidInputError(f"a password has at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    check_policy(password)
    with _running:
        return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; with no hash, the same work and False."""
    if len(password) > MAX_LENGTH:
        password = password[:MAX_LENGTH]  # never more work than the longest valid password
    with _running:
        try:
            return _hasher.verify(stored or _DUMMY, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False
