"""Request shapes of the subsidy API say what is wrong in words (``subsidy/schemas.py``)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chainproof.subsidy.schemas import RoundIn

DEADLINE = "2024-06-30T17:00:00+08:00"


@pytest.mark.parametrize("code", ["2024", "2024-2", "r_1.a", "x" * 32])
def test_round_codes_that_fit_in_a_url_are_taken(code: str) -> None:
    assert RoundIn(code=code, name="n", deadline=DEADLINE).code == code  # type: ignore[arg-type]


@pytest.mark.parametrize("code", ["2024 第一批", "a/b", "", "x" * 33, "2024\n"])
def test_other_round_codes_are_refused_in_words(code: str) -> None:
    with pytest.raises(ValidationError) as info:
        RoundIn(code=code, name="n", deadline=DEADLINE)  # type: ignore[arg-type]
    message = str(info.value)
    assert "pattern" not in message
    assert "may use only letters" in message or "at least 1" in message or "at most 32" in message
