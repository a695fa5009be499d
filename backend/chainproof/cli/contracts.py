"""`chainproof contracts ...` (placeholder until implemented)."""

import typer

app = typer.Typer(help="contracts commands.", no_args_is_help=True)
