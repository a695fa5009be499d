"""E-licences (电子证照): ``/api/v1/licences``.

An admin gives an org the licence_issuer role; its submitters define licence types, issue
licences (W3C VCs signed with the org's custodial key, roots anchored as evidence) and change
their status. Anyone verifies a credential or a holder's presentation. Another org's licence
is the 404 of a licence nobody issued.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from segno import DataOverflowError

from chainproof.api.deps import (
    AdminDep,
    ChainDep,
    RecordReaderDep,
    SessionDep,
    SettingsDep,
    SubmitterDep,
    published_rpc_url,
    rpc_web3,
)
from chainproof.api.schemas import error_responses, public_id_path
from chainproof.chain.trust_anchor import server_trust_anchor
from chainproof.channels import service as channels
from chainproof.errors import ChainError, InvalidInputError
from chainproof.licences import holders, service
from chainproof.licences.credential import did_pkh
from chainproof.receipts import verify_receipt
from chainproof.store.models import LABEL_LEN
from chainproof.trace.qr import qr_svg
from chainproof.trust import TrustAnchor

router = APIRouter(prefix="/api/v1", tags=["licences"])

EX_LICENCE_ID: Final = "0193b3c4-5d6e-7f80-9a1b-2c3d4e5f6a7c"
LicenceId = Annotated[str, public_id_path("licence", EX_LICENCE_ID)]


def _ex(example: dict[str, Any], *, forbid: bool = True) -> ConfigDict:
    extra: dict[str, Any] = {"examples": [example]}
    return (
        ConfigDict(extra="forbid", json_schema_extra=extra)
        if forbid
        else ConfigDict(json_schema_extra=extra)
    )


class IssuerIn(BaseModel):
    model_config = _ex({"org": "广西北部湾电子证照服务有限公司"})
    org: str = Field(min_length=1, max_length=LABEL_LEN)


class IssuerOut(BaseModel):
    model_config = _ex({"org": "广西北部湾电子证照服务有限公司", "issuer": "did:pkh:eip155:1:0x0"})
    org: str
    issuer: str = Field(description="The org's did:pkh (its custodial chain key's).")


class TypeIn(BaseModel):
    model_config = _ex(
        {
            "code": "营业执照",
            "name": "营业执照（电子）",
            "fields": ["名称", "统一社会信用代码", "法定代表人", "住所", "经营范围"],
            "validity_days": 365,
        }
    )
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=LABEL_LEN)
    fields: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=service.MAX_FIELDS
    )
    validity_days: int = Field(ge=1, le=36600)


class TypeOut(BaseModel):
    model_config = _ex(
        {"code": "营业执照", "name": "营业执照（电子）", "fields": ["名称"], "validity_days": 365}
    )
    code: str
    name: str
    fields: list[str]
    validity_days: int


class IssueIn(BaseModel):
    model_config = _ex(
        {
            "type": "营业执照",
            "holder": "91450103MA5KXXXX1X",
            "claims": {"名称": "南宁市青秀区示范餐饮有限公司"},
        }
    )
    type: str = Field(min_length=1, max_length=64)
    holder: str = Field(min_length=1, max_length=LABEL_LEN)
    claims: dict[str, Annotated[str, Field(max_length=900)]] = Field(max_length=service.MAX_FIELDS)
    valid_from: datetime | None = None
    holder_org: str | None = Field(
        default=None,
        min_length=1,
        max_length=LABEL_LEN,
        description="The holder's org on this platform: its people see, print and present it.",
    )
    channel: str | None = Field(
        None, max_length=100, description="A channel (通道) of the issuer whose members read it."
    )


_LICENCE_EXAMPLE: Final[dict[str, Any]] = {
    "id": EX_LICENCE_ID,
    "holder": "91450103MA5KXXXX1X",
    "status": "active",
    "valid_from": "2026-12-07T00:00:00+00:00",
    "valid_until": "2027-12-07T00:00:00+00:00",
    "superseded_by": None,
    "root_evidence_id": None,
    "anchored": False,
    "status_anchored": False,
    "credential": {"type": ["VerifiableCredential", "ChainProofLicence"]},
    "history": [{"seq": 0, "action": "issue", "reason_hash": "0x…", "record_digest": "0x…"}],
}


class LicenceOut(BaseModel):
    model_config = _ex(_LICENCE_EXAMPLE, forbid=False)
    id: str
    holder: str
    holder_org: str | None = None
    status: str
    valid_from: str
    valid_until: str
    superseded_by: str | None
    root_evidence_id: str | None
    anchored: bool
    status_anchored: bool = Field(
        description="The latest status record is on chain (a status change needs it there)."
    )
    credential: dict[str, Any] = Field(description="The W3C VC with every claim (the holder's).")
    history: list[dict[str, Any]]


class LicenceListOut(BaseModel):
    model_config = _ex(
        {"items": [{"id": EX_LICENCE_ID, "status": "active", "valid_until": "2027-12-07"}]},
        forbid=False,
    )
    items: list[dict[str, Any]]


class StatusIn(BaseModel):
    model_config = _ex({"action": "revoke", "reason": "吊销：以欺骗手段取得许可"})
    action: Literal["suspend", "reinstate", "revoke"]
    reason: str = Field(min_length=1, max_length=service.MAX_REASON)


class RenewIn(BaseModel):
    model_config = _ex({"valid_from": "2027-12-07T00:00:00+08:00"})
    valid_from: datetime | None = None


class VerifyIn(BaseModel):
    model_config = _ex(
        {"document": {"type": ["VerifiablePresentation"], "verifiableCredential": [{}]}}
    )
    document: dict[str, Any] = Field(description="A credential or a presentation.")


class VerdictOut(BaseModel):
    model_config = _ex(
        {
            "valid": True,
            "status": "valid",
            "issuer": "did:pkh:eip155:31337:0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A",
            "disclosed": {"名称": "南宁市青秀区示范餐饮有限公司"},
            "checks": [{"name": "signature", "ok": True, "detail": "signed by 0x19E7…"}],
        },
        forbid=False,
    )
    valid: bool
    status: str
    issuer: str | None
    disclosed: dict[str, str]
    checks: list[dict[str, Any]]


@router.post(
    "/licences/issuers",
    summary="Give an org the licence_issuer role",
    response_model=IssuerOut,
    responses=error_responses(401, 403, 404, 422),
)
def designate(
    body: IssuerIn, caller: AdminDep, session: SessionDep, chain: ChainDep, settings: SettingsDep
) -> Any:
    member = service.designate(
        session=session, org=body.org, secret=settings.secret_key.get_secret_value()
    )
    return {"org": member.name, "issuer": did_pkh(chain.chain_id, member.chain_address or "")}


@router.post(
    "/licences/types",
    status_code=201,
    summary="Define a licence type (an issuer org)",
    response_model=TypeOut,
    responses=error_responses(401, 403, 409, 422),
)
def create_type(body: TypeIn, caller: SubmitterDep, session: SessionDep) -> Any:
    row = service.create_type(
        session=session,
        member_id=caller.member_id,
        code=body.code,
        name=body.name,
        fields=body.fields,
        validity_days=body.validity_days,
    )
    return {
        "code": row.code,
        "name": row.name,
        "fields": row.fields,
        "validity_days": row.validity_days,
    }


@router.post(
    "/licences",
    status_code=201,
    summary="Issue a licence (an issuer org)",
    response_model=LicenceOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
def issue(
    body: IssueIn, caller: SubmitterDep, session: SessionDep, chain: ChainDep, settings: SettingsDep
) -> Any:
    row = service.issue(
        session=session,
        chain_id=chain.chain_id,
        secret=settings.secret_key.get_secret_value(),
        member_id=caller.member_id,
        type_code=body.type,
        holder=body.holder,
        claims=body.claims,
        valid_from=body.valid_from,
        holder_org=body.holder_org,
        channel_id=channels.named(session, body.channel, caller.member_id),
    )
    return service.public(session, row)


@router.get(
    "/licences",
    summary="The caller's org's licences of a holder",
    response_model=LicenceListOut,
    responses=error_responses(401, 403, 422),
)
def by_holder(
    caller: SubmitterDep,
    session: SessionDep,
    holder: Annotated[str, Query(min_length=1, max_length=LABEL_LEN)],
) -> Any:
    return {"items": service.by_holder(session=session, viewer=caller.viewer, holder=holder)}


@router.get(
    "/licences/{licence_id}",
    summary="A licence: credential, status, history (its issuer org)",
    response_model=LicenceOut,
    responses=error_responses(401, 403, 404, 422),
)
def read(licence_id: LicenceId, caller: RecordReaderDep, session: SessionDep) -> Any:
    # Its issuer org, admins, auditors and its channel's members (issue 25); else 404.
    row = service.readable(session=session, licence_id=licence_id, viewer=caller.viewer)
    return service.public(session, row)


@router.post(
    "/licences/{licence_id}/status",
    summary="Suspend, reinstate or revoke (its issuer org)",
    response_model=LicenceOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
def change_status(
    licence_id: LicenceId,
    body: StatusIn,
    caller: SubmitterDep,
    session: SessionDep,
    chain: ChainDep,
) -> Any:
    row = service.owned(session=session, licence_id=licence_id, viewer=caller.viewer)
    row = service.change_status(
        session=session, chain=chain, licence=row, action=body.action, reason=body.reason
    )
    return service.public(session, row)


@router.post(
    "/licences/{licence_id}/renew",
    status_code=201,
    summary="Renew: a new licence supersedes this one (its issuer org)",
    response_model=LicenceOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
def renew(
    licence_id: LicenceId,
    body: RenewIn,
    caller: SubmitterDep,
    session: SessionDep,
    chain: ChainDep,
    settings: SettingsDep,
) -> Any:
    row = service.owned(session=session, licence_id=licence_id, viewer=caller.viewer)
    new = service.renew(
        session=session,
        chain=chain,
        secret=settings.secret_key.get_secret_value(),
        licence=row,
        valid_from=body.valid_from,
    )
    return service.public(session, new)


@router.post(
    "/licences/verify",
    summary="Verify a licence or a presentation (public)",
    response_model=VerdictOut,
    responses=error_responses(413, 422, 429),
)
def verify(body: VerifyIn, session: SessionDep, chain: ChainDep, settings: SettingsDep) -> Any:
    try:
        trust: TrustAnchor | None = server_trust_anchor(
            chain, data_dir=settings.data_dir, public_rpc_url=published_rpc_url(settings, chain)
        )
    except ChainError:
        trust = None  # degraded: no receipt verifies, so nothing is valid
    w3 = rpc_web3(chain)
    return service.verify(
        session=session,
        chain_id=chain.chain_id,
        document=body.document,
        verify_receipt=lambda receipt: verify_receipt(receipt, w3, trust=trust),
    )


class PublicOut(BaseModel):
    model_config = _ex({"id": EX_LICENCE_ID, "credential": {"credentialSubject": {}}}, forbid=False)
    id: str
    credential: dict[str, Any] = Field(
        description="The credential without its claims, with the receipts of its status."
    )


@router.get(
    "/licences/{licence_id}/public",
    summary="A licence's public part: signature, root, dates, status receipts (public)",
    description=(
        "What a verifier needs besides the claims a holder shows it (the page `/l/{id}` "
        "reads it): the credential with no claim at all, and in `credentialStatus` the "
        "receipts of its claims root and of its latest status record. Nothing here is to be "
        "believed: the signature, the root and the status are checked against the chain."
    ),
    response_model=PublicOut,
    responses=error_responses(404, 422, 429),
)
def public(licence_id: LicenceId, session: SessionDep) -> Any:
    return service.public_status(session=session, licence_id=licence_id)


class PresentationIn(BaseModel):
    model_config = _ex({"fields": ["名称", "经营范围"]})
    fields: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        max_length=service.MAX_FIELDS
    )


class PresentationOut(BaseModel):
    model_config = _ex({"url": "https://chainproof.example/l/0193…#v1.eyJ…", "qr_svg": "<svg …"})
    url: str = Field(description="The licence page with the chosen fields in its fragment.")
    qr_svg: str


@router.post(
    "/licences/{licence_id}/presentation",
    summary="A link and QR code showing chosen fields (its holder or issuer org)",
    description=(
        "The chosen fields (value, salt, proof) go in the link's fragment, which browsers "
        "never send to a server: the page `/l/{id}` checks them on the scanner's device. "
        "No field: the link shows the licence's validity and status only."
    ),
    response_model=PresentationOut,
    responses=error_responses(401, 403, 404, 422),
)
def presentation(
    licence_id: LicenceId,
    body: PresentationIn,
    caller: SubmitterDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Any:
    row = holders.held_or_issued(session=session, licence_id=licence_id, viewer=caller.viewer)
    url = holders.presentation_link(licence=row, disclose=body.fields, base_url=settings.public_url)
    try:
        return {"url": url, "qr_svg": qr_svg(url, scale=4)}
    except DataOverflowError:
        raise InvalidInputError(
            "these fields do not fit one QR code: choose fewer, or hand over the credential "
            "file (the page /l/{id} reads it too)"
        ) from None
