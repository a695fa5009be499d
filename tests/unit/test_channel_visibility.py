"""A Hypothesis state machine over orgs, channels and records (issue 25): whatever channels
are made and however their members change, an org sees a record's private fields exactly
when it submitted it or its channel holds the org now, and for anyone else a channel's
record is the 404 of an id nobody has. The model is a dict; the system is the service and
the one visibility function every read route uses."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule
from sqlmodel import Session

from chainproof import identity
from chainproof.audit.log import Who
from chainproof.channels import service as channels
from chainproof.digests import hash_bytes
from chainproof.errors import NotFoundError
from chainproof.evidence import intake
from chainproof.evidence.service import evidence_public
from chainproof.evidence.verify import Viewer, may_see_private
from chainproof.store import db

ORGS = ("甲", "乙", "丙")
ADMIN = Who(actor="test")


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    database = f"sqlite:///{tmp_path_factory.mktemp('channels') / 'cp.db'}"
    db.upgrade(database)
    with db.open_session(database) as session:
        for org in ORGS:
            identity.create_member(session=session, name=org)
    return database


class Channels(RuleBasedStateMachine):
    url: str = ""
    channel_names = Bundle("channels")

    @initialize()
    def start(self) -> None:
        self.session = Session(db.get_engine(self.url))
        self.ids = {o: identity.get_member(session=self.session, name=o).id for o in ORGS}
        self.members: dict[str, set[str]] = {}
        self.records: list[tuple[str, str, str | None]] = []  # public id, owner, channel
        self.count = getattr(type(self), "_made", 0)

    def teardown(self) -> None:
        self.session.close()

    def _fresh(self) -> str:
        type(self)._made = getattr(type(self), "_made", 0) + 1  # type: ignore[attr-defined]
        return f"c{type(self)._made}"  # type: ignore[attr-defined]

    @rule(target=channel_names, orgs=st.sets(st.sampled_from(ORGS), min_size=1))
    def create(self, orgs: set[str]) -> str:
        name = self._fresh()
        channels.create(self.session, ADMIN, name=name, members=sorted(orgs))
        self.members[name] = set(orgs)
        return name

    @rule(name=channel_names, org=st.sampled_from(ORGS), add=st.booleans())
    def change(self, name: str, org: str, add: bool) -> None:
        channel = channels.get(self.session, name)
        channels.change(
            self.session,
            ADMIN,
            channel,
            add=[org] if add else [],
            remove=[] if add else [org],
            reason="test",
        )
        (self.members[name].add if add else self.members[name].discard)(org)

    @rule(owner=st.sampled_from(ORGS), name=st.one_of(st.none(), channel_names))
    def submit(self, owner: str, name: str | None) -> None:
        channel_id = None
        if name is not None:
            try:
                channel_id = channels.for_submitter(self.session, name, self.ids[owner])
            except NotFoundError:
                assert owner not in self.members[name]
                return
            assert owner in self.members[name]
        digest = hash_bytes(f"{len(self.records)}-{owner}-{name}".encode(), "sha256")
        [accepted] = intake.submit_digests(
            session=self.session,
            algorithm="sha256",
            digests=[digest],
            member_id=self.ids[owner],
            channel_id=channel_id,
        )
        self.records.append((accepted.public_id, owner, name))

    @invariant()
    def only_owners_and_members_see(self) -> None:
        for public_id, owner, name in self.records[-6:]:
            for org in ORGS:
                viewer = Viewer(member_id=self.ids[org])
                expected = org == owner or (name is not None and org in self.members[name])
                answer: dict[str, Any] | None
                try:
                    answer = evidence_public(
                        session=self.session, evidence_id=public_id, viewer=viewer
                    )
                except NotFoundError:
                    answer = None
                if expected:
                    assert answer is not None and "digest" in answer, (org, owner, name)
                elif name is not None:
                    assert answer is None, (org, owner, name)  # a channel's record: 404
                else:
                    assert answer is not None and set(answer) == {"id", "status"}
            auditor = Viewer(is_auditor=True)
            assert evidence_public(session=self.session, evidence_id=public_id, viewer=auditor)


def test_channel_visibility_state_machine(url: str) -> None:
    Channels.url = url
    runner: Any = Channels.TestCase
    runner.settings = settings(
        max_examples=25,
        stateful_step_count=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    runner().runTest()


def test_may_see_private_is_the_one_rule(url: str) -> None:
    """A record in no channel: the owner and admins only (the rule before channels)."""
    with db.open_session(url) as session:
        assert not may_see_private(
            session, Viewer(member_id=999), evidence_id=1, member_id=1, digest="0x", channel_id=None
        )
        assert may_see_private(
            session, Viewer(is_admin=True), evidence_id=1, member_id=1, digest="0x"
        )
