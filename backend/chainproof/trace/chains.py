"""Per-item hash chains: ``link_n = sha256(link_{n-1} ‖ event_digest_n)``, ``link_0 = 0³²``.

The head is the last link; it covers every event of the item in order, so a history with
one event left out (or reordered) ends in another head. The browser recomputes the same
links with Web Crypto (``static/trace.js``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

GENESIS = "0x" + "00" * 32


def next_link(prev: str, digest: bytes) -> str:
    return "0x" + hashlib.sha256(bytes.fromhex(prev[2:]) + digest).hexdigest()


def head_of(digests: Iterable[bytes]) -> str:
    link = GENESIS
    for d in digests:
        link = next_link(link, d)
    return link
