"""Webhook subscriptions to named EPCIS queries: each new matching event delivered, signed,
at least once, retried with back-off, from state kept in the database (a restart loses
nothing: the outbox and each subscription's cursor are rows).

- **Enqueue**: for each subscription, the events after its cursor that its query matches
  become one delivery (an ``EPCISQueryDocument``), and the cursor moves past them, in one
  transaction whose cursor update only succeeds from the cursor it read (two runners never
  enqueue the same events).
- **Send**: a due delivery is claimed (its ``next_at`` moved a lease ahead, conditionally),
  POSTed with ``GS1-Signature: sha256=<HMAC-SHA256 of the body with the signatureToken>``,
  and marked delivered on a 2xx; otherwise retried after 2^attempts seconds (at most 5
  minutes). A runner killed mid-send leaves it claimed: the lease lapses, it is sent again.
- **Destinations** are ``http(s)`` URLs whose host resolves only to public addresses; loopback,
  private, link-local, reserved and multicast addresses are refused unless
  ``CHAINPROOF_EPCIS_WEBHOOK_ALLOW_PRIVATE`` is set, at subscription and again at each send
  (a name that resolves elsewhere later is caught then).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import structlog
from sqlalchemy import Engine, Text, cast, func, update
from sqlmodel import Session, col, select

from chainproof import tls
from chainproof.errors import InvalidInputError
from chainproof.store.models import utcnow
from chainproof.trace import epcis, epcis_schedule, epcis_store
from chainproof.trace.epcis_models import EpcisDelivery, EpcisEvent, EpcisSubscription

LEASE: Final = 30.0  # seconds a delivery being sent is its sender's (a setting overrides)
# A scheduled subscription keeps its schedule and its next run with the named query's
# parameters it copied (``@`` keys: no query parameter starts so).
SCHEDULE: Final = "@schedule"
SCHEDULE_AS_GIVEN: Final = "@scheduleAsGiven"
NEXT_RUN: Final = "@nextRun"
_NEVER: Final = datetime(9999, 1, 1, tzinfo=UTC)
MAX_BACKOFF: Final = 300.0
log = structlog.get_logger("chainproof.epcis.webhooks")


def check_destination(url: str, *, allow_private: bool) -> None:
    """InvalidInputError unless ``url`` is an http(s) URL to public addresses only."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise InvalidInputError("dest must be an http(s) URL")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError:
        raise InvalidInputError(f"dest host {parts.hostname!r} does not resolve") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise InvalidInputError(
                f"dest {parts.hostname!r} resolves to {address}, which is not a public address "
                "(an operator allows private destinations with "
                "CHAINPROOF_EPCIS_WEBHOOK_ALLOW_PRIVATE)"
            )


def subscribe(
    *,
    session: Session,
    member_id: int | None,
    query_name: str,
    query: dict[str, Any],
    body: Any,
    allow_private: bool,
) -> EpcisSubscription:
    if not isinstance(body, dict):
        raise InvalidInputError("the body must be a subscription object")
    scheduled = "schedule" in body
    if scheduled == (body.get("stream") is True):
        raise InvalidInputError(
            'a subscription is either "stream": true or has a "schedule", not both nor neither'
        )
    if scheduled:
        now = utcnow()
        schedule = epcis_schedule.parse(body["schedule"], now=now)
        first = epcis_schedule.next_run(schedule, now)
        assert first is not None  # parse refuses a schedule that never runs
        query = {
            **query,
            SCHEDULE: schedule,
            SCHEDULE_AS_GIVEN: body["schedule"],
            NEXT_RUN: first.isoformat(),
        }
    dest = body.get("dest")
    if not isinstance(dest, str):
        raise InvalidInputError("dest is required")
    check_destination(dest, allow_private=allow_private)
    token = body.get("signatureToken")
    if token is not None and (not isinstance(token, str) or not 1 <= len(token) <= 500):
        raise InvalidInputError("signatureToken must be 1-500 characters")
    newest = int(session.exec(select(func.max(EpcisEvent.id))).one() or 0)
    cursor = newest  # new events only, unless initialRecordTime reaches back
    initial = body.get("initialRecordTime")
    if initial is not None:
        if not isinstance(initial, str):
            raise InvalidInputError("initialRecordTime must be a date-time")
        since = epcis.parse_time(initial, "initialRecordTime")
        # One index seek (record_time, then capture order), not a scan of older events.
        earliest = session.exec(
            select(EpcisEvent.id)
            .where(col(EpcisEvent.record_time) >= since)
            .order_by(col(EpcisEvent.record_time), col(EpcisEvent.id))
            .limit(1)
        ).first()
        cursor = newest if earliest is None else int(earliest) - 1
    row = EpcisSubscription(
        subscription_id=uuid.uuid4().hex,
        member_id=member_id,
        query_name=query_name,
        query=query,
        dest=dest,
        signature_token=token,
        report_if_empty=bool(body.get("reportIfEmpty", False)),
        cursor=cursor,
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def as_json(row: EpcisSubscription) -> dict[str, Any]:
    """As GS1 shows a subscription: never the secret."""
    out = {
        "subscriptionID": row.subscription_id,
        "queryName": row.query_name,
        "dest": row.dest,
        "stream": SCHEDULE not in row.query,
        "reportIfEmpty": row.report_if_empty,
        "createdAt": row.created_at.isoformat().replace("+00:00", "Z"),
    }
    if SCHEDULE in row.query:
        out["schedule"] = row.query[SCHEDULE_AS_GIVEN]
    return out


def parameters(query: dict[str, Any]) -> dict[str, Any]:
    """The named query's parameters of a subscription (without its schedule's state)."""
    return {k: v for k, v in query.items() if not k.startswith("@")}


def signature(token: str | None, body: bytes) -> str | None:
    if not token:
        return None
    return "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def enqueue(engine: Engine, parse: Any, document: Any) -> int:
    """New deliveries for every subscription with new matching events; their number."""
    made = 0
    now = utcnow()
    with Session(engine) as session:
        subs = list(session.exec(select(EpcisSubscription)).all())
    for sub in subs:
        schedule = sub.query.get(SCHEDULE)
        if schedule is not None and now < datetime.fromisoformat(sub.query[NEXT_RUN]):
            continue  # a scheduled subscription runs at its times only
        with Session(engine) as session:
            rows, read_to = epcis_store.find_events(
                session=session,
                member_id=sub.member_id,
                is_admin=False,
                query=parse(parameters(sub.query)),
                per_page=epcis_store.MAX_PER_PAGE,
                after=sub.cursor,
                report_read=True,
            )
            # The cursor moves past the events a delivery carries, and past events a
            # filter inside their bodies read and refused (not read again each round).
            cursor = read_to
            values: dict[str, Any] = {}
            if cursor is not None:
                values["cursor"] = cursor
            if schedule is not None:
                later = epcis_schedule.next_run(schedule, now)
                values["query"] = {**sub.query, NEXT_RUN: (later or _NEVER).isoformat()}
            if not values:
                continue
            taken = [
                col(EpcisSubscription.subscription_id) == sub.subscription_id,
                col(EpcisSubscription.cursor) == sub.cursor,
            ]
            if schedule is not None:  # a run is taken once: by the update that moves it on
                taken.append(cast(col(EpcisSubscription.query), Text) == json.dumps(sub.query))
            moved = session.execute(update(EpcisSubscription).where(*taken).values(**values))
            if getattr(moved, "rowcount", 0) != 1:
                session.rollback()  # another runner took these events
                continue
            if rows or (schedule is not None and sub.report_if_empty):
                doc = document(rows, sub.query_name)
                doc["epcisBody"]["queryResults"]["subscriptionID"] = sub.subscription_id
                session.add(
                    EpcisDelivery(subscription_id=sub.subscription_id, body=json.dumps(doc))
                )
                made += 1
            session.commit()
    return made


def send_due(
    engine: Engine, *, allow_private: bool, client: httpx.Client, lease: float = LEASE
) -> int:
    """Sends the due deliveries; the number delivered."""
    now = utcnow()
    with Session(engine) as session:
        due = list(
            session.exec(
                select(EpcisDelivery.id)
                .where(col(EpcisDelivery.delivered_at).is_(None), col(EpcisDelivery.next_at) <= now)
                .order_by(col(EpcisDelivery.id))
                .limit(50)
            ).all()
        )
    sent = 0
    for delivery_id in due:
        with Session(engine) as session:
            claimed = session.execute(
                update(EpcisDelivery)
                .where(
                    col(EpcisDelivery.id) == delivery_id,
                    col(EpcisDelivery.delivered_at).is_(None),
                    col(EpcisDelivery.next_at) <= now,
                )
                .values(next_at=utcnow() + timedelta(seconds=lease))
            )
            session.commit()
            if getattr(claimed, "rowcount", 0) != 1:
                continue
            delivery = session.get(EpcisDelivery, delivery_id)
            sub = session.get(EpcisSubscription, delivery.subscription_id) if delivery else None
            if delivery is None or sub is None:
                continue
            body = delivery.body.encode()
            headers = {"Content-Type": "application/json"}
            signed = signature(sub.signature_token, body)
            if signed:
                headers["GS1-Signature"] = signed
            error = None
            try:
                check_destination(sub.dest, allow_private=allow_private)
                response = client.post(sub.dest, content=body, headers=headers)
                if not 200 <= response.status_code < 300:
                    error = f"answered {response.status_code}"
            except (httpx.HTTPError, InvalidInputError) as exc:
                error = str(exc)[:300] or type(exc).__name__
            delivery.attempts += 1
            if error is None:
                delivery.delivered_at = utcnow()
                sent += 1
            else:
                backoff = min(2.0**delivery.attempts, MAX_BACKOFF)
                delivery.next_at = utcnow() + timedelta(seconds=backoff)
                delivery.last_error = error
                log.info("webhook delivery failed; retrying", delivery=delivery_id, error=error)
            session.add(delivery)
            session.commit()
    return sent


class WebhookRunner:
    """One thread per process: enqueue and send every ``interval`` seconds until stopped."""

    def __init__(
        self,
        engine: Engine,
        *,
        parse: Any,
        document: Any,
        allow_private: bool,
        interval: float,
        lease: float = LEASE,
    ) -> None:
        self.engine = engine
        self.lease = lease
        self.parse = parse
        self.document = document
        self.allow_private = allow_private
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="epcis-webhooks", daemon=True)

    def start(self) -> WebhookRunner:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def _run(self) -> None:
        with httpx.Client(
            timeout=10, follow_redirects=False, verify=tls.client_context()
        ) as client:
            while not self._stop.wait(self.interval):
                try:
                    enqueue(self.engine, self.parse, self.document)
                    send_due(
                        self.engine,
                        allow_private=self.allow_private,
                        client=client,
                        lease=self.lease,
                    )
                except Exception:  # the database away, a bug: log, and try again next round
                    log.exception("webhook round failed")
