"""Accepting documents with their before-the-chain record: the head is read first, then the
documents are accepted, then the records written (``records.py``, ``freshness.py``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Engine

from chainproof.chain.context import ChainContext
from chainproof.evidence.freshness import recent_head
from chainproof.evidence.intake import Accepted
from chainproof.evidence.records import keep_records


def receive(
    *,
    engine: Engine,
    chain: ChainContext,
    submit: Callable[[], list[Accepted]],
    channel: str,
    api_key_id: int | None,
    names: Sequence[str | None] | None = None,
    sizes: Sequence[int | None] | None = None,
    types: Sequence[str | None] | None = None,
) -> list[Accepted]:
    """Runs ``submit`` (the intake) between reading the chain's head and recording it: the
    head is known before any of the documents is accepted."""
    head = recent_head(chain)
    accepted = submit()
    keep_records(
        engine,
        [a.id for a in accepted],
        channel=channel,
        api_key_id=api_key_id,
        head=head,
        names=names,
        sizes=sizes,
        types=types,
    )
    return accepted
