"""FastAPI dependencies as typed aliases: settings, session, chain, caller.

Everything comes from the :class:`Runtime` the app's lifespan puts on ``app.state``, so two
apps in one process (tests) never share an engine, a chain or a batcher, and nothing here
reads a module-level global.

Authentication: ``Authorization: Bearer <key>``. No header is an anonymous caller (allowed
wherever verification is public); a header that is present but unusable (another scheme,
an unknown or revoked key) is always 401, so a client never silently loses the metadata
its key would show. :func:`require_role` turns a route into "this role or admin".

People signed in on the pages are callers too: with no ``Authorization`` header, a live
session cookie (``accounts/``) makes the caller its person's org and role. A
state-changing request the cookie authenticates must carry the session's CSRF token and
come from this site (``accounts/cookies.py``), or it is 403; an expired or revoked cookie
is simply anonymous.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session
from web3 import Web3

from chainproof import identity
from chainproof.accounts import cookies
from chainproof.accounts.service import SignedIn, find_session
from chainproof.api.errors import NotAuthenticatedError
from chainproof.chain.context import ChainContext
from chainproof.config import Settings
from chainproof.errors import AuthError, ChainError
from chainproof.evidence.verify import Viewer
from chainproof.runtime import Runtime, UnavailableChain
from chainproof.store.models import MAX_ID, Role

# --- the runtime ---------------------------------------------------------------------------


def rpc_web3(chain: ChainContext) -> Web3:
    """A ``Web3`` on the server's node, even when the server runs degraded."""
    if isinstance(chain, UnavailableChain):
        if chain.standby is None:
            raise ChainError(f"the server has no chain node to ask: {chain.reason}")
        return chain.standby.web3()
    return chain.w3


def published_rpc_url(settings: Settings, chain: ChainContext) -> str | None:
    """The one JSON-RPC URL this server tells third parties (``Settings.published_rpc_url``)."""
    node = chain.standby if isinstance(chain, UnavailableChain) else chain.node
    return settings.published_rpc_url(node.rpc_url if node is not None else None)


def get_runtime(request: Request) -> Runtime:
    return cast(Runtime, request.app.state.runtime)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """One session per request on this app's engine."""
    with runtime.sessions() as session:
        yield session


def get_chain(runtime: RuntimeDep) -> ChainContext:
    return runtime.chain


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
ChainDep = Annotated[ChainContext, Depends(get_chain)]


# --- who is asking -------------------------------------------------------------------------

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An API key, `Authorization: Bearer cpk_…` (`chainproof keys create`).",
)


@dataclass(frozen=True)
class Caller:
    """The API key or the signed-in person behind a request, or nobody (both ``None``)."""

    key_id: int | None = None
    member_id: int | None = None
    role: Role | None = None
    user_id: int | None = None  # a person's session (a cookie), not a key

    @property
    def authenticated(self) -> bool:
        return self.key_id is not None or self.user_id is not None

    @property
    def viewer(self) -> Viewer:
        return Viewer(
            member_id=self.member_id,
            is_admin=self.role is Role.ADMIN,
            is_reviewer=self.role in (Role.REVIEWER, Role.ADMIN),
            is_auditor=self.role is Role.AUDITOR,
        )


ANONYMOUS_CALLER = Caller()


_UNKNOWN = object()


def signed_in(request: Request, session: Session, settings: Settings) -> SignedIn | None:
    """The live session of the request's cookie (looked up once per request)."""
    known = getattr(request.state, "signed_in", _UNKNOWN)
    if known is _UNKNOWN:
        token = cookies.session_token(request, settings)
        known = find_session(session=session, token=token) if token else None
        request.state.signed_in = known
    return cast(SignedIn | None, known)


def check_csrf(request: Request, signed: SignedIn, form_token: str | None = None) -> None:
    """403 unless a state-changing request comes from this site with the session's token."""
    if request.method in cookies.SAFE_METHODS:
        return
    settings = cast(Runtime, request.app.state.runtime).settings
    given = form_token if form_token is not None else request.headers.get(cookies.CSRF_HEADER)
    if not cookies.same_site_request(request, settings) or not cookies.token_matches(
        signed.row.csrf_token, given
    ):
        raise AuthError(
            "refused: a signed-in request that changes something must come from this site's "
            "own pages with their CSRF token (X-CSRF-Token)"
        )


def get_caller(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Caller:
    if credentials is None:
        if request.headers.get("authorization"):
            raise NotAuthenticatedError(
                "the Authorization header must be `Bearer <API key>`", presented=True
            )
        signed = signed_in(request, session, settings)
        if signed is None:
            return ANONYMOUS_CALLER
        check_csrf(request, signed)
        return Caller(member_id=signed.member.id, role=signed.role, user_id=signed.user.id)
    key = identity.authenticate(session=session, key=credentials.credentials)
    if key is None:
        # One message for unknown, malformed and revoked keys: no oracle for key guessing.
        raise NotAuthenticatedError("the API key is not valid (unknown or revoked)", presented=True)
    assert key.id is not None  # a stored row
    return Caller(key_id=key.id, member_id=key.member_id, role=Role(key.role))


CallerDep = Annotated[Caller, Depends(get_caller)]


def get_viewer(caller: CallerDep) -> Viewer:
    return caller.viewer


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


def require_role(*roles: Role) -> Callable[[Caller], Caller]:
    """A dependency admitting callers whose key has one of ``roles``; admin is always in."""
    wanted = " or ".join(r.value for r in roles) or "admin"

    def dependency(caller: CallerDep) -> Caller:
        if not caller.authenticated:
            raise NotAuthenticatedError(
                f"this needs an API key ({wanted}): send `Authorization: Bearer <key>`"
            )
        if caller.role is Role.ADMIN or caller.role in roles:
            return caller
        role = caller.role.value if caller.role is not None else "no"
        raise AuthError(f"a {role} key cannot do this: it needs a {wanted} key")

    dependency.__name__ = f"require_{'_or_'.join(r.value for r in roles) or 'admin'}"
    return dependency


SubmitterDep = Annotated[Caller, Depends(require_role(Role.SUBMITTER))]
AdminDep = Annotated[Caller, Depends(require_role(Role.ADMIN))]
ReviewerDep = Annotated[Caller, Depends(require_role(Role.REVIEWER))]
AuditorDep = Annotated[Caller, Depends(require_role(Role.AUDITOR))]
# Member orgs' keys: the applicant units and the reviewers (subsidy, invoices, trace).
MemberDep = Annotated[Caller, Depends(require_role(Role.SUBMITTER, Role.REVIEWER))]
# An org's own records, and the auditor who reads every org's (licences, recordings).
RecordReaderDep = Annotated[Caller, Depends(require_role(Role.SUBMITTER, Role.AUDITOR))]
# The same and reviewers (business types; data sets, where what a key sees is decided per
# resource: 404 for what it may not read).
ReaderDep = Annotated[Caller, Depends(require_role(Role.SUBMITTER, Role.REVIEWER, Role.AUDITOR))]

# A row id in a path (a key, a person, a batch).
RowId = Annotated[int, Path(ge=1, le=MAX_ID, examples=[3])]
