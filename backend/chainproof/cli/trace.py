"""``chainproof trace …``: CBV 2.0 hashes offline, and capture / show / recall / lift and
``prefix add`` (admin) through a running server's API (``--server``, ``--api-key`` or
CHAINPROOF_SERVER / CHAINPROOF_API_KEY, as every other client command; ``--url``/``--key``
and CHAINPROOF_API_URL still work)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from chainproof.errors import ChainProofError

app = typer.Typer(
    help="Traceability (溯源): EPCIS 2.0 events, items, recalls.", no_args_is_help=True
)

UrlOpt = Annotated[
    str,
    typer.Option(
        "--server",
        "--url",
        envvar=["CHAINPROOF_SERVER", "CHAINPROOF_API_URL"],
        help="URL of the ChainProof server.",
    ),
]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key", "--key", envvar="CHAINPROOF_API_KEY", help="API key (Bearer; submitter)."
    ),
]
DEFAULT_URL = "http://127.0.0.1:8000"


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"{path}: {exc}") from None


WaitOpt = Annotated[
    bool, typer.Option("--wait", help="Wait until it is on chain, printing its status.")
]


def _call(method: str, url: str, key: str | None, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        r = httpx.request(method, url, headers=headers, timeout=60, **kwargs)
    except httpx.HTTPError as exc:
        typer.echo(f"error: cannot reach {url}: {exc}", err=True)
        raise typer.Exit(2) from None
    if r.status_code >= 400:
        try:
            message = r.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = r.text
        typer.echo(f"error {r.status_code}: {message}", err=True)
        raise typer.Exit(1)
    if r.headers.get("content-type", "").startswith("application/json"):
        return r.json()
    return r.text


@app.command("hash")
def hash_cmd(
    document: Annotated[Path, typer.Argument(help="An EPCIS 2.0 JSON-LD document.")],
    prehash: Annotated[bool, typer.Option(help="Print the pre-hash strings too.")] = False,
) -> None:
    """Print each event's CBV 2.0 hash (offline: no server, nothing fetched)."""
    from chainproof.trace import epcis

    try:
        hashed = epcis.hash_events(_read(document))
    except ChainProofError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    for h in hashed:
        typer.echo(h.event_hash)
        if prehash:
            typer.echo(f"  {h.prehash}")


@app.command()
def capture(
    document: Annotated[Path, typer.Argument(help="An EPCIS 2.0 JSON-LD document.")],
    url: UrlOpt = DEFAULT_URL,
    key: KeyOpt = None,
) -> None:
    """Capture a document's events (POST /api/v1/trace/capture)."""
    body = _call("POST", f"{url.rstrip('/')}/api/v1/trace/capture", key, json=_read(document))
    for e in body["events"]:
        typer.echo(f"{e['event_hash']}  {'new' if e['created'] else 'known'}")


@app.command()
def show(
    code: Annotated[str, typer.Argument(help="Platform code or Digital Link (01/…/21/…).")],
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """An item's history and its check against the on-chain head."""
    v = _call("GET", f"{url.rstrip('/')}/api/v1/trace/items/{code}", None)
    typer.echo(f"{v['product'] or ''} {v['code']}  [{v['badge']}] {v['badge_reason']}")
    for e in v["events"]:
        when = e.get("event_time_local") or e["event_time"]
        where = " · ".join(str(x) for x in (e.get("location_name"), e["location"]) if x)
        typer.echo(f"  {e['seq']:>3} {when}  {e['biz_step'] or e['type']}  {where}")
    oc = v["onchain"]
    if oc.get("available"):
        typer.echo(
            f"on chain {oc['chain_id']} {oc['contract']}: {oc['count']} events, {oc['head']}"
        )

    for r in v.get("recalls", []):
        lifted = f"; lifted {r['lifted_at']}: {r['lift_reason']}" if r.get("lifted_at") else ""
        typer.echo(f"recall of {r['lot']} at {r.get('recalled_at')}: {r['reason']}{lifted}")


scan = app.command("scan", help="Same as `show`.")(show)


@app.command()
def recall(
    lot: Annotated[str, typer.Argument(help="The lot's code (01/{GTIN}/10/{lot} or CP…).")],
    reason: Annotated[str, typer.Option(help="Why (kept off chain; its hash goes on chain).")],
    url: UrlOpt = DEFAULT_URL,
    key: KeyOpt = None,
    report: Annotated[Path | None, typer.Option(help="Write the CSV report here.")] = None,
    wait: WaitOpt = False,
) -> None:
    """Recall a lot and print (or save) the recall report; the recall goes on chain
    (TraceRegistry v2 `recall`) through the chain writer."""
    base = f"{url.rstrip('/')}/api/v1/trace"
    r = _call("POST", f"{base}/recalls", key, json={"lot": lot, "reason": reason})
    data = _call("GET", f"{base}/recalls/{r['recall_id']}", key)
    typer.echo(f"recall {r['recall_id']}: {len(data['affected_items'])} items affected")
    if report is not None:
        csv_text = _call("GET", f"{base}/recalls/{r['recall_id']}?format=csv", key)
        report.write_text(csv_text, encoding="utf-8")
        typer.echo(f"report: {report}")
    _follow(url, key, r.get("operation"), wait)


@app.command()
def lift(
    lot: Annotated[
        str, typer.Argument(help="The recalled lot's code (01/{GTIN}/10/{lot} or CP…).")
    ],
    reason: Annotated[str, typer.Option(help="Why (kept off chain; its hash goes on chain).")],
    url: UrlOpt = DEFAULT_URL,
    key: KeyOpt = None,
    wait: WaitOpt = False,
) -> None:
    """Lift a lot's recall (a regulator, or the owner when the owner recalled it); the lift
    goes on chain (TraceRegistry v2 `liftRecall`) through the chain writer."""
    base = f"{url.rstrip('/')}/api/v1/trace"
    r = _call("POST", f"{base}/recalls/lift", key, json={"lot": lot, "reason": reason})
    typer.echo(f"recall {r['recall_id']} of {r['lot']} lifted at {r['lifted_at']}")
    _follow(url, key, r.get("operation"), wait)


WAIT_SECONDS = 600.0


def _follow(url: str, key: str | None, op: dict[str, Any] | None, wait: bool) -> None:
    """Names the chain operation; with ``--wait``, prints its status as it moves until it
    is confirmed (exit 0) or failed (exit 1)."""
    if not op:
        return
    path = f"{url.rstrip('/')}/api/v1/operations/{op['id']}"
    typer.echo(f"on chain: operation {op['id']} ({op['status']})")
    if not wait:
        return
    import time

    now, status, deadline = op, op["status"], time.monotonic() + WAIT_SECONDS
    while status not in ("confirmed", "failed"):
        if time.monotonic() > deadline:
            typer.echo(f"error: operation {op['id']} still {status}", err=True)
            raise typer.Exit(1)
        time.sleep(0.5)
        now = _call("GET", path, key)
        if now["status"] != status:
            status = now["status"]
            typer.echo(f"operation {op['id']}: {status}")
    if status == "failed":
        typer.echo(f"error: operation {op['id']} failed: {now.get('error')}", err=True)
        raise typer.Exit(1)
    typer.echo(f"transaction {now['tx_hash']}")


prefix_app = typer.Typer(
    help="GS1 company prefixes and platform-code namespaces of trace orgs (admin).",
    no_args_is_help=True,
)
app.add_typer(prefix_app, name="prefix")


@prefix_app.command("add")
def prefix_add(
    prefix: Annotated[
        str,
        typer.Argument(help="GS1 company prefix (4-12 digits) or namespace (CP + 1-4 chars)."),
    ],
    org: Annotated[str, typer.Option("--org", help="The member: its id or its name.")],
    url: UrlOpt = DEFAULT_URL,
    key: KeyOpt = None,
) -> None:
    """Admit PREFIX to an org: it registers items and lots only under its own prefixes."""
    base = url.rstrip("/")
    member_id = _member_id(base, key, org)
    body = _call(
        "POST", f"{base}/api/v1/trace/orgs/{member_id}/prefixes", key, json={"prefix": prefix}
    )
    typer.echo(f"member {body['member_id']} ({body['role']}): {', '.join(body['prefixes'])}")


def _member_id(base: str, key: str | None, org: str) -> int:
    if org.isdigit():
        return int(org)
    for m in _call("GET", f"{base}/api/v1/members", key):
        if m["name"] == org.strip():
            return int(m["id"])
    typer.echo(f"error: no member named {org!r}", err=True)
    raise typer.Exit(1)
