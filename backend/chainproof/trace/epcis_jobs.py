"""EPCIS capture jobs: accepted at once (202), run after the answer, surviving restarts.

A job row holds the document until the job is done. A runner takes a job by setting its
lease (``lease_until``) in a committed update that only succeeds while no other runner's
lease is live; the update counts the claim (``attempts``), and that count is the runner's
token (the process that takes a job over HTTP creates it claimed: claim 1). While the job
runs, a heartbeat thread renews the lease every third of it, as long as the token is still
the job's: a job longer than its lease is never taken by another runner while its own
lives. The runner then stores the events and marks the job finished in **one** transaction
(``epcis_store.capture``), whose end is fenced by the token: a runner whose lease another
took (it stalled past its lease) commits nothing. So a process killed mid-job (its heartbeat
dies with it) leaves the job running with nothing of it stored (under ``rollback``, and
under ``proceed`` too: the events and the job's end commit together); once the lease lapses
any process that serves ``/epcis/capture`` takes it up again and runs it from the start: it
finishes exactly once.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final

import structlog
from sqlalchemy import Engine, or_, update
from sqlmodel import Session, col, select

from chainproof.errors import ChainProofError, InvalidInputError
from chainproof.store.models import utcnow
from chainproof.trace import epcis, epcis_store
from chainproof.trace.epcis_models import EpcisCapture

BEHAVIOURS: Final = ("rollback", "proceed")
Clock = Callable[[], datetime]
log = structlog.get_logger("chainproof.epcis")


def create_job(
    *,
    session: Session,
    member_id: int | None,
    document: Any,
    behaviour: str,
    hashed: list[epcis.HashedEvent] | None = None,
    lease: float | None = None,
    clock: Clock | None = None,
) -> EpcisCapture:
    """Records a capture job for ``document``; the caller's key must be able to capture.

    ``lease``: the job is created claimed by the caller (claim 1, for that long), who runs it
    next with ``run_job(..., claimed=True)``: one transaction fewer than claiming it after.
    """
    if behaviour not in BEHAVIOURS:
        raise InvalidInputError(
            f"GS1-Capture-Error-Behaviour must be one of {', '.join(BEHAVIOURS)}"
        )
    epcis_store.owned_prefixes(session, member_id)  # an org with prefixes, or AuthError now
    job = EpcisCapture(
        capture_id=uuid.uuid4().hex,
        member_id=member_id,
        behaviour=behaviour,
        document=json.dumps(document, separators=(",", ":")),
        hashes=[[h.prehash, h.event_hash] for h in hashed] if hashed is not None else None,
    )
    if lease is not None:
        job.lease_until = (clock or utcnow)() + timedelta(seconds=lease)
        job.attempts = 1
    session.add(job)
    session.commit()
    session.refresh(job)
    return job


def _claim(engine: Engine, capture_id: str, lease: float, clock: Clock) -> int | None:
    """Takes the job if no live lease holds it: the claim's token, or None."""
    now = clock()
    with Session(engine) as session:
        token = session.execute(
            update(EpcisCapture)
            .where(
                col(EpcisCapture.capture_id) == capture_id,
                col(EpcisCapture.running).is_(True),
                or_(
                    col(EpcisCapture.lease_until).is_(None),
                    col(EpcisCapture.lease_until) < now,
                ),
            )
            .values(
                lease_until=now + timedelta(seconds=lease),
                attempts=EpcisCapture.attempts + 1,
            )
            .returning(col(EpcisCapture.attempts))
        ).scalar_one_or_none()
        session.commit()
        return token


def _renew(engine: Engine, capture_id: str, token: int, lease: float, clock: Clock) -> bool:
    """Extends the lease of claim ``token``; False once the job is done or another's."""
    with Session(engine) as session:
        result = session.execute(
            epcis_store.claimed(capture_id, token).values(
                lease_until=clock() + timedelta(seconds=lease)
            )
        )
        session.commit()
        return bool(getattr(result, "rowcount", 0))


class _Heartbeat:
    """Renews a claim's lease every ``every`` seconds until stopped or lost."""

    def __init__(
        self, engine: Engine, capture_id: str, token: int, lease: float, every: float, clock: Clock
    ) -> None:
        self._args = (engine, capture_id, token, lease, clock)
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"epcis-lease-{capture_id[:8]}", daemon=True
        )

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                if not _renew(*self._args):
                    return  # finished, or taken by another runner: the fence refuses us
            except Exception:  # the database busy or gone: try again at the next beat
                log.warning("EPCIS job lease not renewed", capture_id=self._args[1])


def run_job(
    engine: Engine,
    capture_id: str,
    *,
    lease: float = 30.0,
    heartbeat: float | None = None,
    clock: Clock = utcnow,
    taken: tuple[Any, list[epcis.HashedEvent]] | None = None,
    claimed: bool = False,
) -> None:
    """Runs the job if no other runner holds it; never raises (a job's errors are its own).

    The lease is renewed every ``heartbeat`` seconds (a third of it by default) while the
    job runs. ``taken``: the document and its hashes as the process that took the job holds
    them (what the job row stores), so it does not read them back. ``claimed``: the job was
    created claimed by this caller (``create_job(lease=…)``).
    """
    token = 1 if claimed else _claim(engine, capture_id, lease, clock)
    if token is None:
        return
    with (
        _Heartbeat(engine, capture_id, token, lease, heartbeat or lease / 3, clock),
        Session(engine) as session,
    ):
        job = session.get(EpcisCapture, capture_id)
        if job is None or not job.running or job.attempts != token:
            return  # done, or claimed again in between: not ours
        try:
            epcis_store.capture(
                session=session,
                member_id=job.member_id,
                body=taken[0] if taken else json.loads(job.document),
                behaviour=job.behaviour,
                capture_id=capture_id,
                job=job,
                hashes=[[h.prehash, h.event_hash] for h in taken[1]] if taken else job.hashes,
            )
        except epcis_store.JobTakenError:
            session.rollback()  # another runner holds it now and will finish it
            log.warning("EPCIS capture job taken by another runner", capture_id=capture_id)
        except ChainProofError as exc:
            session.rollback()  # nothing of the document is kept
            try:
                epcis_store.finish_job(
                    session,
                    capture_id=capture_id,
                    token=token,
                    success=False,
                    errors=[epcis_store.problem_of(exc)],
                )
                session.commit()
            except epcis_store.JobTakenError:
                session.rollback()
        except Exception:
            session.rollback()  # a bug or the database gone: the lease lapses, it runs again
            log.exception("EPCIS capture job failed; it will run again", capture_id=capture_id)


def resume_stale(
    engine: Engine, *, lease: float = 30.0, limit: int = 20, clock: Clock = utcnow
) -> int:
    """Runs the jobs left running by a process that stopped (their lease lapsed)."""
    now = clock()
    with Session(engine) as session:
        ids = session.exec(
            select(EpcisCapture.capture_id)
            .where(
                col(EpcisCapture.running).is_(True),
                or_(col(EpcisCapture.lease_until).is_(None), col(EpcisCapture.lease_until) < now),
            )
            .order_by(col(EpcisCapture.created_at))
            .limit(limit)
        ).all()
    for capture_id in ids:
        run_job(engine, capture_id, lease=lease, clock=clock)
    return len(ids)


def get_job(
    *, session: Session, member_id: int | None, is_admin: bool, capture_id: str
) -> EpcisCapture:
    from chainproof.errors import NotFoundError

    job = session.get(EpcisCapture, capture_id)
    if job is None or not (is_admin or job.member_id == member_id):
        raise NotFoundError(f"no capture job {capture_id}")
    return job


def list_jobs(
    *, session: Session, member_id: int | None, is_admin: bool, limit: int = 100
) -> list[EpcisCapture]:
    stmt = select(EpcisCapture)
    if not is_admin:
        stmt = stmt.where(EpcisCapture.member_id == member_id)
    return list(session.exec(stmt.order_by(col(EpcisCapture.created_at).desc()).limit(limit)))


def job_json(job: EpcisCapture) -> dict[str, Any]:
    """The CaptureJob document of GS1's OpenAPI."""
    out: dict[str, Any] = {
        "captureID": job.capture_id,
        "createdAt": job.created_at.isoformat().replace("+00:00", "Z"),
        "running": job.running,
        "success": bool(job.success) if not job.running else True,
        "captureErrorBehaviour": job.behaviour,
        "errors": job.errors,
    }
    if job.finished_at is not None:
        out["finishedAt"] = job.finished_at.isoformat().replace("+00:00", "Z")
    return out
