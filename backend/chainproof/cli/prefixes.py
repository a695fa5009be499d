"""``chainproof prefixes``: the GS1 company prefixes (and platform-code namespaces) admitted to
an org. Capturing events through ``/epcis`` needs every EPC's company prefix admitted to the
capturing org; registering items needs it too (``docs/epcis.md``, ``docs/trace.md``).

The same admission as ``chainproof trace prefix add`` (one prefix at a time), by the name
issue 24 gives it; an admin key does it over the API.
"""

from __future__ import annotations

from typing import Annotated

import typer

from chainproof.cli.trace import DEFAULT_URL, KeyOpt, UrlOpt, _call, _member_id

app = typer.Typer(
    help="GS1 company prefixes admitted to trace orgs (admin): who may capture which EPCs.",
    no_args_is_help=True,
)
OrgOpt = Annotated[str, typer.Option("--org", help="The member: its id or its name.")]


@app.command("add")
def add(
    prefixes: Annotated[
        list[str],
        typer.Argument(help="GS1 company prefixes (4-12 digits) or namespaces (CP + 1-4)."),
    ],
    org: OrgOpt,
    url: UrlOpt = DEFAULT_URL,
    key: KeyOpt = None,
) -> None:
    """Admit each PREFIX to ORG (idempotent; one another org holds is refused)."""
    base = url.rstrip("/")
    member_id = _member_id(base, key, org)
    body = None
    for prefix in prefixes:
        body = _call(
            "POST", f"{base}/api/v1/trace/orgs/{member_id}/prefixes", key, json={"prefix": prefix}
        )
    assert body is not None
    typer.echo(f"member {body['member_id']} ({body['role']}): {', '.join(body['prefixes'])}")


@app.command("list")
def list_(org: OrgOpt, url: UrlOpt = DEFAULT_URL, key: KeyOpt = None) -> None:
    """The prefixes admitted to ORG, one a line."""
    base = url.rstrip("/")
    member_id = _member_id(base, key, org)
    body = _call("GET", f"{base}/api/v1/trace/orgs/{member_id}", key)
    for prefix in body["prefixes"]:
        typer.echo(prefix)
