"""Application rounds: creating, changing and showing them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Final

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    Field,
)

from chainproof.subsidy.schemas.common import _examples

# --- rounds ----------------------------------------------------------------------------------


ROUND_CODE: Final = re.compile(r"[0-9A-Za-z._-]{1,32}")


def _round_code(code: str) -> str:
    # Said in words: the regex pydantic would quote means nothing to an administrator.
    if not ROUND_CODE.fullmatch(code):  # fullmatch: "$" would let a trailing newline in
        raise ValueError(
            f"round code {code!r} may use only letters, digits, '.', '_' and '-' "
            "(no spaces or Chinese characters; it goes into URLs), e.g. 2024 or 2024-2"
        )
    return code


class RoundIn(BaseModel):
    model_config = _examples(
        {"code": "2024", "name": "2024年专项补贴项目", "deadline": "2024-06-30T17:00:00+08:00"},
        forbid=True,
    )

    code: Annotated[
        str,
        Field(
            min_length=1,
            max_length=32,
            description="1–32 letters, digits, '.', '_' or '-' (it goes into URLs), e.g. 2024.",
            json_schema_extra={"pattern": f"^{ROUND_CODE.pattern}$"},
        ),
        AfterValidator(_round_code),
    ]
    name: str = Field(min_length=1, max_length=200)
    deadline: AwareDatetime


class RoundPatch(BaseModel):
    model_config = _examples({"deadline": "2023-07-31T17:00:00+08:00"}, forbid=True)

    name: str | None = Field(None, min_length=1, max_length=200)
    deadline: AwareDatetime | None = None


class RoundOut(BaseModel):
    model_config = _examples(
        {
            "code": "2023",
            "name": "中国—东盟区块链创新中心2023年专项补贴项目",
            "deadline": "2023-12-31T15:59:59+00:00",
            "closed": True,
            "created_at": "2026-11-23T00:00:00+00:00",
        }
    )

    code: str
    name: str
    deadline: datetime
    closed: bool = Field(description="The deadline has passed: what is anchored now is late.")
    created_at: datetime
