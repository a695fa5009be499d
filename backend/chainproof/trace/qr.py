"""The QR code of an item: its GS1 Digital Link on the configured resolver (any GS1
scanner understands it; the resolver sends phones to ``/t/{code}``), or the scan page URL
for a platform-issued code."""

from __future__ import annotations

import io

import segno

from chainproof.trace import codes


def qr_target(code: codes.Code, *, resolver: str, public_url: str) -> str:
    return code.digital_link(resolver) or f"{public_url.rstrip('/')}/t/{code.code}"


def qr_png(text: str, *, scale: int = 8) -> bytes:
    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


def qr_svg(text: str, *, scale: int = 8) -> str:
    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buf, kind="svg", scale=scale, border=4)
    return buf.getvalue().decode()
