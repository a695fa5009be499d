"""The link a holder shows (a QR code): ``{base}/l/{id}#v1.<claims>``.

The fragment (after ``#``) carries the disclosed claims, each ``[value, salt, proof]``, as
base64url of compact UTF-8 JSON. Browsers never send a fragment to the server: the page
``/l/{id}`` reads it on the verifier's device and asks the server only for the licence's
public part (no claim in it), so the server that answers never learns which claims were
shown, let alone the others. Pure: no server.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Mapping
from typing import Any, Final

FRAGMENT_VERSION: Final = "v1."


def claims_fragment(claims: Mapping[str, Mapping[str, Any]], disclose: Collection[str]) -> str:
    """``v1.<base64url>`` of the chosen claims (names as in ``credentialSubject.claims``)."""
    compact = {
        name: [c["value"], c["salt"], list(c["proof"])]
        for name, c in claims.items()
        if name in disclose
    }
    raw = json.dumps(compact, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return FRAGMENT_VERSION + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def presentation_url(
    base_url: str,
    licence_id: str,
    claims: Mapping[str, Mapping[str, Any]],
    disclose: Collection[str],
) -> str:
    """The page's URL showing ``disclose`` of the licence's ``claims``."""
    return f"{base_url.rstrip('/')}/l/{licence_id}#{claims_fragment(claims, disclose)}"
