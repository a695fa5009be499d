"""Rate limits on the expensive routes: anchoring, API key creation, and every anonymous
route that costs more than a lookup (verify, trace hashing, explorer scans, certificate and
QR rendering, scan pages).

Each limited route has a budget such as ``"60/minute"``: that many requests in any moving
window of that length, per caller, then ``429 too_many_requests`` in the error envelope with
``Retry-After`` (seconds, also in the body as ``retry_after``) until the oldest request in
the window ages out. A moving window behaves like a token bucket whose size is the budget
and which refills at budget/period, except that it never lets more than the budget through
in any window, so a burst cannot be followed by a second burst at the boundary.

The caller is its API key when it sends one (hashed: the key itself is never kept, not even
in memory), otherwise its client address; public routes that ignore keys count the address
only. A key that turns out not to be one (a 401) counts against its address as well
(``auth_failures``), so random keys do not each get a fresh budget. Counting happens in an
ASGI middleware, before authentication, body parsing or any database work, so a flood of
anonymous or bad-key requests is turned away as cheaply as a well-behaved one.

The counting is the maintained ``limits`` library (the core of slowapi and Flask-Limiter):
its in-memory storage by default, per process. Several API replicas each count on their
own (the effective budget is multiplied by the replica count) unless ``storage_uri``
(``CHAINPROOF_RATE_LIMIT_STORAGE``) names a shared store ``limits`` supports: Redis
(``redis://host:6379``; the compose stack runs one). ``limits`` has no PostgreSQL storage.
A shared store costs one round trip to it per counted request, on the event loop.

Wiring (``api/app.py``, after the body limit, so that it runs first)::

    app.add_middleware(RateLimitMiddleware, rules=default_rules(anchor=..., keys=..., ...),
                       auth_failures=settings.rate_limit_auth_failures)
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chainproof.api.errors import error_body
from chainproof.errors import ConfigError

__all__ = [
    "AUTH_FAILURES",
    "DEFAULT_ANCHOR_LIMIT",
    "DEFAULT_AUTH_FAILURES_LIMIT",
    "DEFAULT_EXPLORER_LIMIT",
    "DEFAULT_KEYS_LIMIT",
    "DEFAULT_RENDER_LIMIT",
    "DEFAULT_SCAN_LIMIT",
    "DEFAULT_SIGNIN_LIMIT",
    "DEFAULT_TRACE_HASH_LIMIT",
    "DEFAULT_TSA_LIMIT",
    "DEFAULT_VERIFY_LIMIT",
    "RateLimitMiddleware",
    "RateLimiter",
    "RateRule",
    "address_of",
    "caller_of",
    "default_rules",
]

DEFAULT_ANCHOR_LIMIT: Final = "120/minute"  # a busy client uploads in bulk (10,000 per call)
DEFAULT_KEYS_LIMIT: Final = "10/minute"
# Anonymous routes that cost more than a lookup (F20). Per client address; generous enough
# for a person clicking through the pages and for the test suite, far below a flood.
DEFAULT_VERIFY_LIMIT: Final = "600/minute"  # verify a file, a digest or a receipt
DEFAULT_TRACE_HASH_LIMIT: Final = "60/minute"  # CBV event hashes: JSON-LD under a process lock
DEFAULT_EXPLORER_LIMIT: Final = "300/minute"  # explorer pages: node calls, log scans
DEFAULT_RENDER_LIMIT: Final = "60/minute"  # certificate PDF and page, item QR codes
DEFAULT_SCAN_LIMIT: Final = "300/minute"  # scan pages (each counts a scan: a write)
DEFAULT_SIGNIN_LIMIT: Final = "30/minute"  # people's sign-in and invitation forms
DEFAULT_TSA_LIMIT: Final = "60/minute"  # RFC 3161 tokens: a signature and a queued evidence
# Requests answered 401 (a key that is not one), per client address: past this, any request
# from that address that carries a key is 429 until the window moves on.
DEFAULT_AUTH_FAILURES_LIMIT: Final = "60/minute"
AUTH_FAILURES: Final = "auth_failures"


@dataclass(frozen=True)
class RateRule:
    """``method path`` shares the budget ``limit`` under the name ``scope``.

    ``path`` is exact, or has ``*`` segments (one path segment each) and may end in ``**``
    (one or more segments: a ``{code:path}`` parameter). ``per`` says who is counted:
    ``caller`` (its API key when it sends one, else its address) or ``address`` (always
    the client address: public routes that ignore keys, so a made-up key buys nothing).
    """

    scope: str
    method: str
    path: str
    limit: str
    per: Literal["caller", "address"] = "caller"

    def matches(self, method: str, segments: list[str]) -> bool:
        if method != self.method.upper():
            return False
        wanted = self.path.split("/")
        if wanted[-1] == "**":
            head = wanted[:-1]
            return len(segments) > len(head) and _same(head, segments[: len(head)])
        return len(wanted) == len(segments) and _same(wanted, segments)


def _same(pattern: list[str], segments: list[str]) -> bool:
    return all(p == s or (p == "*" and s != "") for p, s in zip(pattern, segments, strict=True))


def default_rules(
    *,
    anchor: str = DEFAULT_ANCHOR_LIMIT,
    keys: str = DEFAULT_KEYS_LIMIT,
    verify: str = DEFAULT_VERIFY_LIMIT,
    trace_hash: str = DEFAULT_TRACE_HASH_LIMIT,
    explorer: str = DEFAULT_EXPLORER_LIMIT,
    render: str = DEFAULT_RENDER_LIMIT,
    scan: str = DEFAULT_SCAN_LIMIT,
    signin: str = DEFAULT_SIGNIN_LIMIT,
    tsa: str = DEFAULT_TSA_LIMIT,
) -> list[RateRule]:
    """Anchoring (files and digests share one budget), key creation, and every anonymous
    route that costs more than a lookup."""
    return [
        RateRule("anchor", "POST", "/api/v1/evidence", anchor),
        RateRule("anchor", "POST", "/api/v1/evidence/digests", anchor),
        RateRule("keys", "POST", "/api/v1/keys", keys),
        # A key holder verifying in bulk gets its own budget; a made-up key is a 401.
        RateRule("verify", "POST", "/api/v1/verify", verify),
        RateRule("verify", "POST", "/api/v1/receipts/verify", verify, per="address"),
        RateRule("verify", "POST", "/api/v1/licences/verify", verify, per="address"),
        # Builds two receipts (the claims root's, the latest status record's).
        RateRule("scan", "GET", "/api/v1/licences/*/public", scan, per="address"),
        RateRule("scan", "GET", "/l/*", scan, per="address"),
        RateRule("trace_hash", "POST", "/api/v1/trace/hash", trace_hash, per="address"),
        RateRule("explorer", "GET", "/explorer", explorer, per="address"),
        RateRule("explorer", "GET", "/explorer/*/*", explorer, per="address"),
        RateRule("render", "GET", "/evidence/*/certificate.pdf", render, per="address"),
        RateRule("render", "GET", "/evidence/*/certificate", render, per="address"),
        RateRule("render", "GET", "/api/v1/trace/qr/**", render, per="address"),
        # Issue 19: a bundle reads a block and all its receipts from the node, the court's
        # facts run the verification report; each the render budget, counted apart.
        RateRule("bundle", "GET", "/api/v1/evidence/*/bundle", render, per="address"),
        RateRule("court", "GET", "/api/v1/evidence/*/court", render, per="address"),
        RateRule("scan", "GET", "/t/**", scan, per="address"),
        RateRule("scan", "GET", "/api/v1/trace/items/**", scan, per="address"),
        # People's sign-in: each costs an argon2 hash (64 MiB, tens of ms); locks out too.
        RateRule("signin", "POST", "/signin", signin, per="address"),
        RateRule("signin", "POST", "/invite", signin, per="address"),
        # Per caller: a member's key has its own budget, anonymous queries their address's.
        RateRule("tsa", "POST", "/tsa", tsa),
        # Sealed bids (issue 21): a relayed commitment or reveal is an operator transaction,
        # a tender view reads the chain's logs; a draw view builds its record's receipt.
        RateRule("anchor", "POST", "/api/v1/tenders/*/commitments", anchor, per="address"),
        RateRule("anchor", "POST", "/api/v1/tenders/*/reveals", anchor, per="address"),
        RateRule("explorer", "GET", "/api/v1/tenders/*", explorer, per="address"),
        RateRule("explorer", "GET", "/tenders/*", explorer, per="address"),
        RateRule("scan", "GET", "/api/v1/draws/*", scan, per="address"),
        RateRule("scan", "GET", "/draws/*", scan, per="address"),
        # Issue 22: a cross-chain message costs a few main-chain calls and a trie proof.
        RateRule("verify", "POST", "/api/v1/crosschain/messages", verify, per="address"),
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
        return self.wait(scope, caller)

    def within(self, scope: str, caller: str) -> bool:
        """Whether one more request would be within budget (counts nothing)."""
        return self._limiter.test(self.items[scope], scope, caller)

    def wait(self, scope: str, caller: str) -> int:
        """Seconds until the oldest request in the caller's window ages out."""
        stats = self._limiter.get_window_stats(self.items[scope], scope, caller)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def clear(self, scope: str, caller: str) -> None:
        """Forgets the caller's count in ``scope`` (a successful sign-in, accounts/lockout.py)."""
        self._limiter.clear(self.items[scope], scope, caller)

    def reset(self) -> None:
        self._limiter.storage.reset()


def _bearer(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            token = value.split(b" ", 1)[-1].strip()
            return token or None
    return None


def address_of(scope: Scope) -> str:
    """The client address (what a made-up key cannot change)."""
    client = scope.get("client")
    return f"ip:{client[0]}" if client else "ip:unknown"


def caller_of(scope: Scope) -> str:
    """A stable name for who sent the request: its bearer key (hashed) or its address."""
    token = _bearer(scope)
    if token is not None:
        return "key:" + hashlib.sha256(token).hexdigest()[:32]
    return address_of(scope)


class RateLimitMiddleware:
    """Answers 429 (error envelope + ``Retry-After``) to a caller over a route's budget.

    Every 401 (a key that is not one) also counts against the client address
    (``auth_failures``): once that budget is spent, every request from the address that
    carries a key is refused before anything looks the key up. A flood of random keys
    therefore runs out as one address would, instead of one fresh budget per key.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        rules: Iterable[RateRule] | None = None,
        auth_failures: str | None = DEFAULT_AUTH_FAILURES_LIMIT,
        storage_uri: str = "memory://",
        enabled: bool = True,
    ) -> None:
        self.app = app
        self.rules = list(default_rules() if rules is None else rules)
        budgets: dict[str, str] = {}
        for rule in self.rules:
            if budgets.setdefault(rule.scope, rule.limit) != rule.limit:
                raise ConfigError(f"rate-limit scope {rule.scope!r} has two different limits")
        if auth_failures is not None:
            budgets[AUTH_FAILURES] = auth_failures
        self.limiter = RateLimiter(budgets, storage_uri=storage_uri)
        self.enabled = enabled

    def _rule(self, scope: Scope) -> RateRule | None:
        path: str = scope.get("path", "")
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        method = scope.get("method", "GET")
        segments = path.split("/")
        for rule in self.rules:
            if rule.matches(method, segments):
                return rule
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.enabled or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        keyed = _bearer(scope) is not None
        watch_failures = keyed and AUTH_FAILURES in self.limiter.items
        if watch_failures and not self.limiter.within(AUTH_FAILURES, address_of(scope)):
            await self._refuse(
                scope,
                receive,
                send,
                AUTH_FAILURES,
                self.limiter.wait(AUTH_FAILURES, address_of(scope)),
            )
            return
        rule = self._rule(scope)
        if rule is not None:
            caller = address_of(scope) if rule.per == "address" else caller_of(scope)
            over = self.limiter.hit(rule.scope, caller)
            if over is not None:
                await self._refuse(scope, receive, send, rule.scope, over)
                return
        if not watch_failures:
            await self.app(scope, receive, send)
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                self.limiter.hit(AUTH_FAILURES, address_of(scope))
            await send(message)

        await self.app(scope, receive, counting_send)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, name: str, wait: int
    ) -> None:
        item = self.limiter.items[name]
        what = "requests with an invalid API key" if name == AUTH_FAILURES else name
        message = (
            f"too many requests: at most {item.amount} per {item.get_expiry()} s for "
            f"{what}; retry in {wait} s"
        )
        response = JSONResponse(
            error_body("too_many_requests", message, retry_after=wait),
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
        await response(scope, receive, send)
