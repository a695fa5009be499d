"""Work renewed in the background, one run at a time (the verify path's caches).

The chain status (``chain/context.py``) and the registry's root states
(``evidence/roots.py``) are renewed ahead of their expiry so that no verify waits for the
node. Both need the same mechanism: start the renewal in a daemon thread when asked, unless
one is already under way. A failed renewal is only logged: nothing waits for it, and the
next reader that finds the value too old reads it itself and answers the error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

log = structlog.get_logger("chainproof.background")


class Renewal:
    """``start()`` runs ``work`` in a daemon thread named ``name``, unless a run is under way."""

    def __init__(self, work: Callable[[], object], *, name: str) -> None:
        self._work = work
        self._name = name
        self._lock = threading.Lock()
        self._running = False  # guarded by _lock

    def start(self) -> None:
        with self._lock:
            if self._running:
                return
            self._running = True
        threading.Thread(target=self._run, name=self._name, daemon=True).start()

    def _run(self) -> None:
        try:
            self._work()
        except Exception as exc:
            log.debug("background renewal failed", renewal=self._name, error=str(exc))
        finally:
            with self._lock:
                self._running = False
