"""A pydantic ``ValidationError`` told as one :class:`InvalidInputError`: ``invalid <what>:
<where>: <why>; …``, the first five problems spelled out and the rest counted, the whole
list kept in ``details["errors"]``. Light (pydantic and the error tree): the verifier reads
receipts and trust anchors with it."""

from __future__ import annotations

from typing import Final

from pydantic import ValidationError

from chainproof.errors import InvalidInputError

__all__ = ["invalid_input"]

_SHOWN: Final = 5


def invalid_input(exc: ValidationError, what: str, root: str) -> InvalidInputError:
    """``exc`` on a ``what`` (``"receipt"``); ``root`` names a problem of the whole."""
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    parts = [
        f"{'.'.join(str(p) for p in e['loc']) or root}: {e['msg'].removeprefix('Value error, ')}"
        for e in errors
    ]
    more = len(parts) - _SHOWN
    shown = "; ".join(parts[:_SHOWN]) + (f"; and {more} more" if more > 0 else "")
    return InvalidInputError(f"invalid {what}: {shown}", errors=errors)
