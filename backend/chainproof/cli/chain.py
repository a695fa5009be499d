"""`chainproof chain ...` (placeholder until implemented)."""

import typer

app = typer.Typer(help="chain commands.", no_args_is_help=True)
