"""The background job that reveals draws once their target block exists (``service.reveal_due``).

It runs beside the batcher (one process per signing key), so two processes do not reveal
the same draw at once; a reveal is a pure function of the chain and the stored secret, so a
second one would write the same values anyway.
"""

from __future__ import annotations

import threading

import structlog
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from chainproof.chain.context import ChainContext
from chainproof.draws.service import reveal_due

log = structlog.get_logger("chainproof.draws")


class Revealer:
    def __init__(
        self,
        *,
        engine: Engine,
        chain: ChainContext,
        secret_key: str,
        confirmations: int,
        interval_s: float = 1.0,
    ) -> None:
        self._sessions = sessionmaker(engine, class_=Session, expire_on_commit=False)
        self._chain = chain
        self._secret_key = secret_key
        self._confirmations = confirmations
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chainproof-draws", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def run_once(self) -> int:
        with self._sessions() as session:
            return reveal_due(
                session=session,
                w3=self._chain.w3,
                secret_key=self._secret_key,
                confirmations=self._confirmations,
            )

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.run_once()
            except Exception as exc:  # the node or database away for a moment: next round
                log.warning("draw reveal round failed", error=str(exc))

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10.0)
