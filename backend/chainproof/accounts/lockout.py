"""Lock-out after repeated failed sign-ins, per account and per client address.

Counted with the ``limits`` moving windows the rate limits use (``api/ratelimit.py``), in
the same storage (``CHAINPROOF_RATE_LIMIT_STORAGE``: per process, or Redis shared by the
replicas). The account is counted by its normalised email whether or not an account has
it, so a locked answer says nothing about which emails exist. A success clears the
account's count (not the address's).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chainproof.api.ratelimit import RateLimiter

ACCOUNT = "signin_account"
ADDRESS = "signin_address"


@dataclass(frozen=True)
class Locked:
    """Why sign-in is refused, and for how long."""

    scope: str  # ACCOUNT or ADDRESS
    wait_s: int

    @property
    def until(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.wait_s)


def _account(email: str) -> str:
    return "email:" + hashlib.sha256(email.encode()).hexdigest()[:32]


class Lockout:
    def __init__(self, *, per_account: str, per_address: str, storage_uri: str) -> None:
        self.limiter = RateLimiter(
            {ACCOUNT: per_account, ADDRESS: per_address}, storage_uri=storage_uri
        )

    def locked(self, *, email: str, address: str) -> Locked | None:
        if not self.limiter.within(ADDRESS, address):
            return Locked(ADDRESS, self.limiter.wait(ADDRESS, address))
        if not self.limiter.within(ACCOUNT, _account(email)):
            return Locked(ACCOUNT, self.limiter.wait(ACCOUNT, _account(email)))
        return None

    def failed(self, *, email: str, address: str) -> None:
        self.limiter.hit(ADDRESS, address)
        self.limiter.hit(ACCOUNT, _account(email))

    def succeeded(self, *, email: str) -> None:
        self.limiter.clear(ACCOUNT, _account(email))
