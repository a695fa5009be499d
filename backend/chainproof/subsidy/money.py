"""Money: ``Decimal`` 万元 in the rules and the API, whole 分 (fen) in the database.

1 万元 = 10,000 元 = 1,000,000 分, so an amount to the fen has at most six decimal places in
万元. The database stores integers of fen (exact on SQLite and PostgreSQL alike; SQLite has
no exact decimal type), and nothing is ever a float on the way in. JSON answers carry
amounts as numbers: with at most nine integer digits and six decimals (15 significant
digits) the shortest float repr is the decimal text itself, so nothing is lost on the way out.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from chainproof.errors import InvalidInputError

FEN_PER_WAN: Final = 1_000_000
MAX_WAN: Final = Decimal(100_000_000)  # 1 万亿元: anything larger is a typo, not an amount
WAN_PLACES: Final = 6


def fmt(value: Decimal | int) -> str:
    """``120.5`` for Decimal("120.50"): plain notation, no exponent, no trailing zeros."""
    if isinstance(value, int):
        return str(value)
    return f"{value.normalize():f}"


def wan_to_fen(value: Decimal, *, what: str = "amount") -> int:
    """``value`` 万元 as whole fen; InvalidInputError when negative, absurd or finer than 1 分."""
    if not value.is_finite():
        raise InvalidInputError(f"{what}: {value} is not a number of 万元", field=what)
    if value < 0:
        raise InvalidInputError(f"{what}: cannot be negative, got {fmt(value)} 万元", field=what)
    if value > MAX_WAN:
        raise InvalidInputError(
            f"{what}: {fmt(value)} 万元 is over {fmt(MAX_WAN)} 万元; amounts are in 万元",
            field=what,
        )
    fen = value * FEN_PER_WAN
    if fen != fen.to_integral_value():
        raise InvalidInputError(
            f"{what}: {fmt(value)} 万元 is finer than 1 分 (at most {WAN_PLACES} decimal places)",
            field=what,
        )
    return int(fen)


def fen_to_wan(fen: int) -> Decimal:
    return Decimal(fen) / FEN_PER_WAN


def json_number(value: Decimal) -> int | float:
    """A JSON number for ``value`` (an int when whole); exact for amounts within the bounds."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)
