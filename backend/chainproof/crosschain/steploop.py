"""The background loop the relay and the second anchorer share: call ``step()`` until stopped,
keep the last error for /readyz, and release the relay key's leader lock at stop."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, ClassVar

import structlog

from chainproof.errors import ChainError

if TYPE_CHECKING:
    from chainproof.chain.writer import ChainWriter
    from chainproof.store.leader import KeyLock

log = structlog.get_logger(__name__)


class StepLoop:
    """Subclasses set ``what`` (said in errors and logs), ``thread_name`` and ``writer``, and
    define ``step()``; ``paused()`` names a reason to skip a round (the other chain down)."""

    what: ClassVar[str]
    thread_name: ClassVar[str]
    writer: ChainWriter

    def __init__(self) -> None:
        self.last_error: str | None = None
        # The relay key's leader lock (``service``), released when the loop stops.
        self.lock: KeyLock | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> bool:
        """One round; True when it did something (the loop goes again without waiting)."""
        raise NotImplementedError

    def paused(self) -> str | None:
        return None

    def drain(self, timeout: float = 60.0) -> None:
        """Plans and sends until nothing is due or live (tests, one-shot runs)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.step() and self.writer.live_count() == 0:
                return
        raise ChainError(f"{self.what} did not drain within {timeout}s")

    def start(self, poll: float = 1.0) -> None:
        def run() -> None:
            while not self._stop.is_set():
                try:
                    reason = self.paused()
                    worked = self.step() if reason is None else False
                    self.last_error = reason
                    if worked:
                        continue
                except Exception as exc:  # the rows are safe in the database: retry
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.warning(f"{self.what} step failed", error=self.last_error)
                self._stop.wait(poll)

        self._thread = threading.Thread(target=run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.lock is not None:
            self.lock.release()
            self.lock = None
