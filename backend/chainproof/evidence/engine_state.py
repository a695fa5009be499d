"""What a process keeps per database engine, made once by the runtime and handed on.

SQLite's one write lock is taken in turns by the intake's group commit and the batcher
(``writes.py``), so both must hold the same :class:`~chainproof.evidence.writes.WriteTurns`;
the upload routes must all join the same group commit. The runtime builds one
:class:`EngineState` for its engine (``Runtime.engine_state``), passes ``turns`` to its
batcher and the routes reach ``group`` through ``app.state.runtime``: nothing of it sits in
a module, so two runtimes in one process (tests) share none of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from chainproof.evidence.intake import GroupCommit
from chainproof.evidence.writes import Turns, new_turns


@dataclass(frozen=True, eq=False)
class EngineState:
    """The write turns of one engine's evidence writers and its intake group commit."""

    turns: Turns
    group: GroupCommit

    @classmethod
    def of(cls, engine: Engine) -> EngineState:
        turns = new_turns(engine)
        return cls(turns=turns, group=GroupCommit(engine, turns))
