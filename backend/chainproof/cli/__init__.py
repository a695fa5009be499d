"""The ``chainproof`` command: one typer group per area, wired together here."""

from __future__ import annotations

import typer

from chainproof.cli import audit as audit_cli
from chainproof.cli import bundle as bundle_cli
from chainproof.cli import chain as chain_cli
from chainproof.cli import contracts as contracts_cli
from chainproof.cli import crosschain as crosschain_cli
from chainproof.cli import dataset as dataset_cli
from chainproof.cli import db as db_cli
from chainproof.cli import demo as demo_cli
from chainproof.cli import draw as draw_cli
from chainproof.cli import evidence as evidence_cli
from chainproof.cli import invoices as invoices_cli
from chainproof.cli import keys as keys_cli
from chainproof.cli import licence as licence_cli
from chainproof.cli import prefixes as prefixes_cli
from chainproof.cli import reanchor as reanchor_cli
from chainproof.cli import recording as recording_cli
from chainproof.cli import server as server_cli
from chainproof.cli import subsidy as subsidy_cli
from chainproof.cli import tender as tender_cli
from chainproof.cli import trace as trace_cli
from chainproof.cli import users as users_cli

app = typer.Typer(
    name="chainproof",
    help="ChainProof: blockchain evidence (存证) and traceability (溯源).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(contracts_cli.app, name="contracts")
app.add_typer(chain_cli.app, name="chain")
app.add_typer(db_cli.app, name="db")
app.add_typer(keys_cli.app, name="keys")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(users_cli.app, name="users")
subsidy_cli.app.command("verify-invoice")(invoices_cli.verify_invoice)
subsidy_cli.app.command("verify-consistency")(invoices_cli.verify_consistency)
app.add_typer(subsidy_cli.app, name="subsidy")
app.add_typer(trace_cli.app, name="trace")
app.add_typer(prefixes_cli.app, name="prefixes")
app.add_typer(licence_cli.app, name="licence")
app.add_typer(draw_cli.app, name="draw")
app.add_typer(tender_cli.app, name="tender")
app.add_typer(crosschain_cli.app, name="crosschain")
app.add_typer(dataset_cli.app, name="dataset")
server_cli.register(app)  # serve, worker, reindex, status
evidence_cli.register(app)  # anchor, verify, receipt, verify-receipt
demo_cli.register(app)  # demo
reanchor_cli.register(app)  # reanchor (after a chain reset)
bundle_cli.register(app)  # bundle, verify-bundle (offline proofs)
recording_cli.register(app)  # record, verify-recording


def main() -> None:
    from chainproof.logs import configure_logging

    configure_logging()  # before any command logs: no locals in tracebacks, secrets redacted
    app()
