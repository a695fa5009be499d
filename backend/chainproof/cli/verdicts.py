"""How the verifying commands (``verify-receipt``, ``verify-bundle``) read their trust anchor
and end: the checks listed one a line, then the verdict and its exit code.

Exit codes, the same for both (docs/receipt.md): 0 valid against the pinned trust anchor;
1 invalid (the failed check says why); 2 an input, the anchor or the node could not be read;
3 not pinned (every check passed, but without a pinned anchor a forgery would pass them too).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, NoReturn, Protocol

import typer
from rich.console import Console
from rich.markup import escape

from chainproof.cli.console import fail
from chainproof.errors import ChainProofError

if TYPE_CHECKING:
    from chainproof.trust import TrustAnchor


class Verdict(Protocol):
    """What ``ReceiptVerdict`` and ``BundleVerdict`` both give."""

    @property
    def valid(self) -> bool: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def checks(self) -> Sequence[tuple[str, bool, str]]: ...  # (name, passed, detail)
    @property
    def status(self) -> str: ...


# A verifier's required --trust: what pinned_anchor reads.
PinnedTrustOption = Annotated[
    str,
    typer.Option(
        "--trust",
        envvar="CHAINPROOF_TRUST",
        help="The trust anchor (a file, or a server URL), got out of band.",
    ),
]


def pinned_anchor(trust: str, fail: Callable[[str], NoReturn] = fail) -> TrustAnchor:
    """The trust anchor ``--trust`` names (a file or a server URL); ``fail`` (exit 2) when
    it cannot be read."""
    from chainproof.trust import TrustAnchor

    try:
        return TrustAnchor.load(trust)
    except ChainProofError as exc:
        fail(f"no trust anchor from {trust}: {exc.message}")


def load_anchor(trust: str | None, fail: Callable[[str], NoReturn] = fail) -> TrustAnchor | None:
    """The trust anchor ``--trust`` names (a file or a server URL), or None without one."""
    return None if trust is None else pinned_anchor(trust, fail)


def print_checks(out: Console, verdict: Verdict, width: int) -> None:
    for name, ok, detail in verdict.checks:
        mark = "[green]✓[/green]" if ok else "[red]✗[/red]"
        out.print(f" {mark} {name:<{width}} {escape(detail)}", soft_wrap=True, highlight=False)


def conclude(
    out: Console,
    verdict: Verdict,
    *,
    valid_line: Callable[[], str],
    node_failure: Callable[[str], str | None],
) -> None:
    """Prints the verdict and exits with its code (returns only when valid).

    ``node_failure(reason)`` names a node that failed during the checks (exit 2: the network,
    not the input), or returns None."""
    if verdict.valid:
        out.print(valid_line(), soft_wrap=True, highlight=False)
        return
    reason = verdict.reason or "a check failed"
    if verdict.status == "unpinned":
        out.print(
            f"[bold yellow]NOT PINNED[/bold yellow]: {escape(reason)}",
            soft_wrap=True,
            highlight=False,
        )
        raise typer.Exit(3)
    network = node_failure(reason)
    if network is not None:
        fail(network)
    out.print(f"[bold red]INVALID[/bold red]: {escape(reason)}", soft_wrap=True, highlight=False)
    raise typer.Exit(1)
