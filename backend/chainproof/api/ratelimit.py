"""Rate limits on the expensive writes: anchoring and API key creation.

Each limited route has a budget such as ``"60/minute"``: that many requests in any moving
window of that length, per caller, then ``429 too_many_requests`` in the error envelope with
``Retry-After`` (seconds, also in the body as ``retry_after``) until the oldest request in
the window ages out. A moving window behaves like a token bucket whose size is the budget
and which refills at budget/period, except that it never lets more than the budget through
in any window, so a burst cannot be followed by a second burst at the boundary.

The caller is its API key when it sends one (hashed: the key itself is never kept, not even
in memory), otherwise its client address. Counting happens in an ASGI middleware, before
authentication, body parsing or any database work, so a flood of anonymous or bad-key
requests is turned away as cheaply as a well-behaved one.

The counting is the maintained ``limits`` library (the core of slowapi and Flask-Limiter):
its in-memory storage by default, per process. Several API replicas each count on their
own (the effective budget is multiplied by the replica count) unless ``storage_uri`` names
a shared store ``limits`` supports (``redis://...``).

Wiring (``api/app.py``, after the body limit, so that it runs first)::

    app.add_middleware(RateLimitMiddleware, rules=default_rules(
        anchor=settings.rate_limit_anchor, keys=settings.rate_limit_keys))
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from chainproof.api.errors import error_body
from chainproof.errors import ConfigError

__all__ = [
    "DEFAULT_ANCHOR_LIMIT",
    "DEFAULT_KEYS_LIMIT",
    "RateLimitMiddleware",
    "RateLimiter",
    "RateRule",
    "caller_of",
    "default_rules",
]

DEFAULT_ANCHOR_LIMIT: Final = "120/minute"  # a busy client uploads in bulk (10,000 per call)
DEFAULT_KEYS_LIMIT: Final = "10/minute"


@dataclass(frozen=True)
class RateRule:
    """``method path`` (exact path) shares the budget ``limit`` under the name ``scope``."""

    scope: str
    method: str
    path: str
    limit: str


def default_rules(
    *, anchor: str = DEFAULT_ANCHOR_LIMIT, keys: str = DEFAULT_KEYS_LIMIT
) -> list[RateRule]:
    """Anchoring (files and digests share one budget) and key creation."""
    return [
        RateRule("anchor", "POST", "/api/v1/evidence", anchor),
        RateRule("anchor", "POST", "/api/v1/evidence/digests", anchor),
        RateRule("keys", "POST", "/api/v1/keys", keys),
    ]


def _parse(limit: str) -> RateLimitItem:
    try:
        return parse(limit)
    except ValueError as exc:
        raise ConfigError(
            f"invalid rate limit {limit!r}: write it as N/second, N/minute or N/hour"
        ) from exc


class RateLimiter:
    """Moving-window budgets per (scope, caller); thread-safe (``limits`` locks its storage)."""

    def __init__(self, budgets: Mapping[str, str], *, storage_uri: str = "memory://") -> None:
        self.items = {scope: _parse(limit) for scope, limit in budgets.items()}
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def hit(self, scope: str, caller: str) -> int | None:
        """Counts one request; ``None`` when it is within budget, else seconds to wait."""
        item = self.items[scope]
        if self._limiter.hit(item, scope, caller):
            return None
        stats = self._limiter.get_window_stats(item, scope, caller)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def reset(self) -> None:
        self._limiter.storage.reset()


def caller_of(scope: Scope) -> str:
    """A stable name for who sent the request: its bearer key (hashed) or its address."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            token = value.split(b" ", 1)[-1].strip()
            if token:
                return "key:" + hashlib.sha256(token).hexdigest()[:32]
    client = scope.get("client")
    return f"ip:{client[0]}" if client else "ip:unknown"


class RateLimitMiddleware:
    """Answers 429 (error envelope + ``Retry-After``) to a caller over a route's budget."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        rules: Iterable[RateRule] | None = None,
        storage_uri: str = "memory://",
        enabled: bool = True,
    ) -> None:
        self.app = app
        chosen = list(default_rules() if rules is None else rules)
        budgets: dict[str, str] = {}
        for rule in chosen:
            if budgets.setdefault(rule.scope, rule.limit) != rule.limit:
                raise ConfigError(f"rate-limit scope {rule.scope!r} has two different limits")
        self.routes = {(r.method.upper(), r.path): r.scope for r in chosen}
        self.limiter = RateLimiter(budgets, storage_uri=storage_uri)
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.enabled or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        name = self.routes.get((scope.get("method", "GET"), path))
        if name is None:
            await self.app(scope, receive, send)
            return
        wait = self.limiter.hit(name, caller_of(scope))
        if wait is None:
            await self.app(scope, receive, send)
            return
        item = self.limiter.items[name]
        message = (
            f"too many requests: at most {item.amount} per {item.get_expiry()} s for "
            f"{name}; retry in {wait} s"
        )
        response = JSONResponse(
            error_body("too_many_requests", message, retry_after=wait),
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
        await response(scope, receive, send)
