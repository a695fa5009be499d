"""Request and response bodies of ``/api/v1/subsidy``, each with an example for ``/docs``.

The services return these ``…Out`` models, so the shapes live next to the rules they show.
Money is ``Decimal`` 万元 on the way in (a JSON number or a decimal string, at most six
decimal places, i.e. to the fen) and a JSON number on the way out (``money.json_number``).

One module a concern (``common``, ``guide``, ``rounds``, ``applications``, ``review``); every
name is importable from here as before.
"""

from chainproof.subsidy.schemas.applications import (
    EX_APPLICATION_IN,
    ApplicationFields,
    ApplicationIn,
    ApplicationOut,
    ApplicationPatch,
    DocumentOut,
    ManifestOut,
    ProvenAnchorOut,
    SubmitIn,
    TrailEntryOut,
    TrailOut,
    TransitionIn,
)
from chainproof.subsidy.schemas.common import (
    EX_ANCHOR,
    EX_APPLICANT,
    EX_DIGEST,
    EX_TX,
    Comment,
    KindName,
    PackageCode,
    RequestName,
    StatusName,
    WanIn,
    WanOut,
)
from chainproof.subsidy.schemas.guide import (
    AssessIn,
    AssessOut,
    BracketOut,
    CatalogOut,
    PackageOut,
    TrainingIn,
)
from chainproof.subsidy.schemas.review import (
    AcceptanceDocIn,
    AcceptanceOut,
    ApplicationRef,
    DocumentRef,
    IntegrityOut,
    IntegrityResult,
    IntegrityRowOut,
    ManifestProofOut,
    ProvenDocumentOut,
    ReportOut,
    RuleCheckOut,
)
from chainproof.subsidy.schemas.rounds import ROUND_CODE, RoundIn, RoundOut, RoundPatch

__all__ = [
    "EX_ANCHOR",
    "EX_APPLICANT",
    "EX_APPLICATION_IN",
    "EX_DIGEST",
    "EX_TX",
    "ROUND_CODE",
    "AcceptanceDocIn",
    "AcceptanceOut",
    "ApplicationFields",
    "ApplicationIn",
    "ApplicationOut",
    "ApplicationPatch",
    "ApplicationRef",
    "AssessIn",
    "AssessOut",
    "BracketOut",
    "CatalogOut",
    "Comment",
    "DocumentOut",
    "DocumentRef",
    "IntegrityOut",
    "IntegrityResult",
    "IntegrityRowOut",
    "KindName",
    "ManifestOut",
    "ManifestProofOut",
    "PackageCode",
    "PackageOut",
    "ProvenAnchorOut",
    "ProvenDocumentOut",
    "ReportOut",
    "RequestName",
    "RoundIn",
    "RoundOut",
    "RoundPatch",
    "RuleCheckOut",
    "StatusName",
    "SubmitIn",
    "TrailEntryOut",
    "TrailOut",
    "TrainingIn",
    "TransitionIn",
    "WanIn",
    "WanOut",
]
