"""``/api/v1/subsidy``: the guide's figures (assess a plan, the catalogue)."""

from __future__ import annotations

from fastapi import APIRouter

from chainproof.api.routes.subsidy.common import PREFIX
from chainproof.api.schemas import error_responses
from chainproof.subsidy import checks
from chainproof.subsidy.schemas import (
    AssessIn,
    AssessOut,
    CatalogOut,
)

router = APIRouter(prefix=PREFIX, tags=["subsidy"])


# --- the guide -------------------------------------------------------------------------------


@router.post(
    "/assess",
    summary="Apply the guide's rules to amounts",
    description=(
        "Cash subsidy tier by self-funded investment, the acceptance minimum (3 ×), the "
        "cloud-resource cap by headcount, 附件4-1 packages against it, and one training "
        "class. Each answer is null where its input was absent or nothing applies; every "
        "`reasons` line cites the guide. Public."
    ),
    response_model=AssessOut,
    responses=error_responses(422),
)
def assess(body: AssessIn) -> AssessOut:
    return checks.assess(body)


@router.get(
    "/catalog",
    summary="The guide as data",
    description="Scopes and their fields, document kinds, 附件4-1 and the tier tables. Public.",
    response_model=CatalogOut,
)
def catalog() -> CatalogOut:
    return CatalogOut.current()
