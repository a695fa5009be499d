"""``GET /api/v1/evidence/{id}/bundle``: the offline proof bundle (``bundle/``, issue 19)."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Path, Request, Response

from chainproof.api.deps import (
    ChainDep,
    RuntimeDep,
    SessionDep,
    SettingsDep,
    ViewerDep,
    published_rpc_url,
)
from chainproof.api.schemas import EX_EVIDENCE_ID, error_responses
from chainproof.chain.trust_anchor import server_trust_anchor
from chainproof.crosschain.bundle_files import crosschain_nodes, with_crosschain_pins
from chainproof.evidence.bundles import evidence_bundle
from chainproof.timestamping.service import tsa_of

router = APIRouter(prefix="/api/v1")

ZIP: Final = "application/zip"


@router.get(
    "/evidence/{evidence_id}/bundle",
    tags=["receipts"],
    summary="Download the offline proof bundle",
    description=(
        "One zip that verifies with no network (`chainproof verify-bundle FILE --trust "
        "ANCHOR`): the receipt with its RFC 3161 token, the block header (RLP), a "
        "Merkle-Patricia proof of the anchoring transaction's receipt against the header's "
        "receiptsRoot, the token as `tsa.tsr`, the TSA's root and certificate, the trust "
        "anchor and, when the batch committed to an earlier block, that block's header "
        "(two-sided time); a checkpointed sub-chain receipt, the main-chain block and "
        "transaction that posted its checkpoint; a dual-anchored one, each other anchor's "
        "header and receipt proof (docs/crosschain.md). For those who may read the "
        "receipt; 404 for anyone else, 409 while not anchored, 503 while the node is not "
        "the deployment's chain."
    ),
    response_class=Response,
    responses={
        200: {
            "content": {ZIP: {"example": "(zip bytes: receipt.json, header.rlp, …)"}},
            "description": "The bundle.",
        },
        **error_responses(401, 404, 409, 422, 503),
    },
    openapi_extra={"security": [{}]},  # a key is optional: what it may see decides
)
def read_bundle(
    evidence_id: Annotated[str, Path(examples=[EX_EVIDENCE_ID])],
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    settings: SettingsDep,
    chain: ChainDep,
    runtime: RuntimeDep,
) -> Response:
    anchor = server_trust_anchor(
        chain, data_dir=settings.data_dir, public_rpc_url=published_rpc_url(settings, chain)
    )
    anchor = with_crosschain_pins(anchor, runtime)
    main_w3, other_nodes = crosschain_nodes(runtime)
    data = evidence_bundle(
        session=session,
        evidence_id=evidence_id,
        viewer=viewer,
        chain=chain,
        tsa=tsa_of(request.app.state, settings),
        anchor=anchor,
        main_w3=main_w3,
        other_nodes=other_nodes,
    )
    name = f"chainproof-bundle-{evidence_id}.zip"
    return Response(
        data, media_type=ZIP, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
