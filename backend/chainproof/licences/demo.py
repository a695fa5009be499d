"""Demo licences (issue 20): 广西北部湾电子证照服务有限公司 issues a few 营业执照; one is
revoked and one renewed; the first is held by its company's org on the platform (its people
see it on ``/licences``, print it and present chosen fields). Seeded through the HTTP API
as a department would, once: a rerun finds the issuer's licences there and adds nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

import httpx
from sqlmodel import col, func, select

ISSUER_ORG: Final = "广西北部湾电子证照服务有限公司"
FIELDS: Final = ("名称", "统一社会信用代码", "法定代表人", "住所", "经营范围")
TYPE: Final = {
    "code": "营业执照",
    "name": "营业执照（电子证照）",
    "fields": list(FIELDS),
    "validity_days": 1825,
}
HOLDERS: Final = (
    (
        "南宁市青秀区示范餐饮有限公司",
        "91450103MA5KDEMO1A",
        "李伟",
        "南宁市青秀区民族大道100号",
        "餐饮服务",
    ),
    (
        "北海市银海区海产品贸易有限公司",
        "91450503MA5KDEMO2B",
        "陈静",
        "北海市银海区银滩大道8号",
        "水产品批发",
    ),
    (
        "钦州港示范物流有限公司",
        "91450700MA5KDEMO3C",
        "黄强",
        "钦州市钦州港区港口路1号",
        "道路货物运输",
    ),
)


def seed_licences(
    *, base_url: str, admin_key: str, database_url: str, say: Callable[[str], None]
) -> dict[str, str]:
    """Seeds the demo licences (unless there are some already); the ids, by what they show."""
    from chainproof.identity import create_api_key
    from chainproof.licences.models import Licence
    from chainproof.store.db import open_session

    with open_session(database_url) as session:
        holders = [h[1] for h in HOLDERS]
        seeded = select(func.count()).select_from(Licence).where(col(Licence.holder).in_(holders))
        if session.exec(seeded).one():
            return {}
        _, issuer_key = create_api_key(session=session, org=ISSUER_ORG, role="submitter")
        # The first holder is an org here too: its people see, print and present its licence.
        create_api_key(session=session, org=HOLDERS[0][0], role="submitter")
    with httpx.Client(base_url=base_url + "/api/v1", timeout=60) as http:

        def call(method: str, path: str, key: str, body: Any = None, fine: int = 0) -> Any:
            response = http.request(
                method, path, json=body, headers={"Authorization": f"Bearer {key}"}
            )
            if response.status_code >= 300 and response.status_code != fine:
                raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
            return response.json()

        call("POST", "/licences/issuers", admin_key, {"org": ISSUER_ORG})
        call("POST", "/licences/types", issuer_key, TYPE, fine=409)  # the type may exist
        ids = []
        for holder in HOLDERS:
            claims = dict(zip(FIELDS, holder, strict=True))
            body = {"type": TYPE["code"], "holder": holder[1], "claims": claims}
            if holder is HOLDERS[0]:
                body["holder_org"] = holder[0]
            ids.append(call("POST", "/licences", issuer_key, body)["id"])
        deadline = time.monotonic() + 120

        def on_chain(licence_id: str) -> bool:
            # Its root and its issue record: a status change revokes that record on chain.
            body = call("GET", f"/licences/{licence_id}", issuer_key)
            return bool(body["anchored"] and body["status_anchored"])

        while not all(on_chain(i) for i in ids):
            if time.monotonic() > deadline:
                raise RuntimeError("the demo licences were not anchored in 120 s")
            time.sleep(0.2)
        call("POST", f"/licences/{ids[2]}/status", issuer_key, {
            "action": "revoke", "reason": "演示：以欺骗手段取得许可，依法吊销"})  # fmt: skip
        renewed = call("POST", f"/licences/{ids[1]}/renew", issuer_key, {})["id"]
    say(f"licences: {ISSUER_ORG} issued {len(ids)}, revoked one, renewed one")
    return {"active": ids[0], "superseded": ids[1], "renewed": renewed, "revoked": ids[2]}
