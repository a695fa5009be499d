"""Identifiers of traced things: GS1 Digital Link URIs, platform codes, salted chain keys.

An item or lot is named by one canonical URI, the form the CBV 2.0 event hash uses too:

* with a GTIN: ``https://id.gs1.org/01/{GTIN-14}/21/{serial}`` (item) or
  ``https://id.gs1.org/01/{GTIN-14}/10/{lot}`` (lot). EPC URNs (``urn:epc:id:sgtin:…``,
  ``urn:epc:class:lgtin:…``) and Digital Links on any resolver domain normalise to it;
  the check digit of every GTIN and GLN is validated (``biip``);
* without a GTIN, a platform-issued code: ``urn:chainproof:item:{CODE}`` /
  ``urn:chainproof:lot:{CODE}``, CODE being ``CP`` + 12 Crockford base-32 characters.

The code printed in a QR is the Digital Link on the configured resolver
(``Settings.gs1_resolver``) or, for platform codes, the scan page URL; ``/t/{code}`` accepts
either the platform code or the Digital Link path (``01/…/21/…``).

On chain, a thing is a *salted key*: ``keccak256(salt ‖ canonical URI)`` with 32 random
bytes of salt per thing, because serial numbers are guessable and the chain is public.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, unquote

from biip import ParseError
from biip.gln import Gln
from biip.gtin import Gtin
from epcis_event_hash_generator.dl_normaliser import normaliser
from eth_utils import keccak

from chainproof.errors import InvalidInputError

Kind = Literal["item", "lot"]
CANONICAL_DOMAIN = "https://id.gs1.org"
PLATFORM_PREFIX = "urn:chainproof:"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PLATFORM_CODE = re.compile(r"^CP[0-9A-HJKMNP-TV-Z]{12}$")
_DL = re.compile(r"^/?01/(?P<gtin>\d{14})/(?P<ai>21|10)/(?P<value>[^/?#]{1,20})$")
_GLN = re.compile(r"^https://id\.gs1\.org/414/(?P<gln>\d{13})(/254/.+)?$")
_PGLN = re.compile(r"^https://id\.gs1\.org/417/(?P<gln>\d{13})$")


@dataclass(frozen=True)
class Code:
    """A parsed identifier: ``uri`` is canonical, ``code`` is what ``/t/{code}`` takes."""

    kind: Kind
    uri: str
    code: str
    gtin: str | None = None
    serial: str | None = None
    lot: str | None = None

    def digital_link(self, resolver: str) -> str | None:
        """The Digital Link on ``resolver`` (what a QR code carries), None for platform codes."""
        if self.gtin is None:
            return None
        return resolver.rstrip("/") + "/" + self.code


def new_platform_code(namespace: str = "CP") -> str:
    """A random platform code in ``namespace`` (``CP`` and up to 4 more characters)."""
    return namespace + "".join(secrets.choice(_CROCKFORD) for _ in range(14 - len(namespace)))


def check_gtin(gtin: str) -> str:
    """The GTIN as 14 digits; InvalidInputError naming the fault (check digit, length)."""
    if not gtin.isdigit() or len(gtin) not in (8, 12, 13, 14):
        raise InvalidInputError(f"GTIN {gtin!r} must be 8, 12, 13 or 14 digits")
    try:
        return Gtin.parse(gtin).as_gtin_14()
    except ParseError as exc:
        raise InvalidInputError(f"GTIN {gtin!r} is not valid: {exc}") from None


def check_gln(gln: str) -> str:
    try:
        return Gln.parse(gln).value
    except ParseError as exc:
        raise InvalidInputError(f"GLN {gln!r} is not valid: {exc}") from None


def _check_value(name: str, value: str) -> str:
    # GS1 AI 21 and AI 10: up to 20 characters of the GS1 "AI encodable character set 82".
    if not 1 <= len(value) <= 20 or not re.fullmatch(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]+", value):
        raise InvalidInputError(f"{name} {value!r} must be 1-20 GS1 AI characters")
    return value


def item_code(gtin: str, serial: str) -> Code:
    g = check_gtin(gtin)
    s = _check_value("serial", serial)
    path = f"01/{g}/21/{quote(s, safe='')}"
    return Code("item", f"{CANONICAL_DOMAIN}/{path}", path, gtin=g, serial=s)


def lot_code(gtin: str, lot: str) -> Code:
    g = check_gtin(gtin)
    lv = _check_value("lot", lot)
    path = f"01/{g}/10/{quote(lv, safe='')}"
    return Code("lot", f"{CANONICAL_DOMAIN}/{path}", path, gtin=g, lot=lv)


def platform_code(kind: Kind, code: str | None = None) -> Code:
    c = code or new_platform_code()
    if not _PLATFORM_CODE.match(c):
        raise InvalidInputError(f"platform code {c!r} must be CP + 12 Crockford base-32 characters")
    return Code(kind, f"{PLATFORM_PREFIX}{kind}:{c}", c)


def parse_code(text: str) -> Code:
    """Any accepted spelling (scan path, Digital Link on any domain, EPC URN, platform code
    or URN) → the canonical :class:`Code`; InvalidInputError when it is none of them."""
    t = text.strip()
    if _PLATFORM_CODE.match(t.upper()):
        return platform_code("item", t.upper())
    if t.startswith(PLATFORM_PREFIX):
        rest = t[len(PLATFORM_PREFIX) :]
        kind, _, c = rest.partition(":")
        if kind in ("item", "lot"):
            return platform_code(kind, c)  # type: ignore[arg-type]
        raise InvalidInputError(f"unknown platform URN {t!r}")
    m = _DL.match(t)
    if m:
        return _from_dl(m)
    if t.startswith(("urn:epc:", "http://", "https://")):
        canonical = normaliser(t)
        if canonical and canonical.startswith(CANONICAL_DOMAIN + "/01/"):
            m = _DL.match(canonical[len(CANONICAL_DOMAIN) :])
            if m:
                return _from_dl(m)
    raise InvalidInputError(
        f"{t!r} is not an item or lot code: expected a GS1 Digital Link "
        "(…/01/{GTIN}/21/{serial} or …/10/{lot}), an EPC URN or a platform code (CP…)"
    )


def _from_dl(m: re.Match[str]) -> Code:
    value = unquote(m["value"])
    if m["ai"] == "21":
        return item_code(m["gtin"], value)
    return lot_code(m["gtin"], value)


def epc_code(uri: str) -> Code | None:
    """The code of an EPC or class in an event, None for identifiers that are not items or
    lots we trace (SSCCs, GRAIs, …: they are kept in the event, not chained)."""
    try:
        return parse_code(uri)
    except InvalidInputError:
        return None


def location_gln(uri: str) -> str | None:
    """The GLN of a readPoint/bizLocation (SGLN URN or Digital Link 414), None otherwise."""
    canonical = normaliser(uri) if uri.startswith(("urn:epc:", "http")) else None
    if not canonical:
        return None
    m = _GLN.match(canonical) or _PGLN.match(canonical)
    return m["gln"] if m else None


def random_salt() -> bytes:
    return secrets.token_bytes(32)


def chain_key(salt: bytes, uri: str) -> bytes:
    """``keccak256(salt ‖ uri)``: the key of a thing on chain (see the module docstring)."""
    return keccak(salt + uri.encode())
