"""Who may call what: the authorization rule of every route, in one table.

Each route of the app (API and pages), by ``(METHOD, path template)``, has a :class:`Rule`:
the roles that may call it (``anonymous`` for a caller without a key) and whether the
owner of the resource it names matters. ``tests/security/test_authz_matrix.py`` walks the
app's route table and calls every route as every principal (anonymous, a submitter of org
A, a submitter of org B, a reviewer, an admin) on A's and B's resources, and checks the
answer against :func:`decide`. A route missing from :data:`RULES` fails that test, and so
does a rule for a route that no longer exists: a new endpoint cannot ship without someone
deciding who may call it.

The table describes the rules the routes enforce (``api/deps.py``'s ``require_role`` and
the services' owner checks); it does not enforce them itself.

How owners matter (:class:`Owner`):

* ``IGNORED``: whose resource it is changes nothing (public chain data, admin tools);
* ``REQUIRED``: only the owner's org (or an admin) may act; others get 403;
* ``METADATA``: everyone allowed may read it, but only the owner's org and admins see its
  private metadata (for evidence: digest, member, chain data, label, file name, dates,
  revocation reason; strangers get its status only);
* ``HIDDEN``: everyone allowed may read it, and nobody sees private metadata there (the
  pages: keys are never sent to them, so they render as for an anonymous visitor);
* ``FILTERED``: a listing; each caller sees only its own org's resources in it.

``sees_all`` names the roles that count as owners of every resource (admins everywhere;
reviewers too for subsidy applications, which they review). ``sees_reviewed`` names the
roles that count as owners of a resource that belongs to a subsidy application (evidence
that is one of its documents, its manifest or a step of its trail): reviewers see those
records as their member does, and no other member's (docs/security.md, "Who sees what").
How a caller who is not the owner is refused is the rule's ``foreign`` outcome: 403, or
404 where the resource's very existence is not the caller's business (subsidy
applications, ``subsidy/access.py``; another org's evidence receipt, revocation and PDF).

Paths the matrix skips on purpose (:data:`UNCHECKED_PATHS`): the static files and the
OpenAPI documentation, which are public by nature and name no resource.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from chainproof.store.models import Role

__all__ = [
    "ANONYMOUS",
    "PRINCIPAL_ROLES",
    "RULES",
    "UNCHECKED_PATHS",
    "Decision",
    "Outcome",
    "Owner",
    "Rule",
    "decide",
    "route_keys",
    "rule_for",
]

ANONYMOUS: Final = "anonymous"
PRINCIPAL_ROLES: Final = (ANONYMOUS, Role.SUBMITTER.value, Role.REVIEWER.value, Role.ADMIN.value)

RouteKey = tuple[
    str, str
]  # (METHOD, path template), e.g. ("GET", "/api/v1/evidence/{evidence_id}")


class Owner(StrEnum):
    IGNORED = "ignored"
    REQUIRED = "required"
    METADATA = "metadata"
    HIDDEN = "hidden"
    FILTERED = "filtered"


class Outcome(StrEnum):
    ALLOWED = "allowed"
    UNAUTHENTICATED = "unauthenticated"  # 401: a key is needed and none was sent
    FORBIDDEN = "forbidden"  # 403: the key's role or org may not do this
    NOT_FOUND = "not_found"  # 404: the resource is not the caller's to know about


@dataclass(frozen=True)
class Rule:
    """Roles allowed (``anonymous`` = no key needed) and how the resource's owner matters."""

    roles: frozenset[str]
    owner: Owner = Owner.IGNORED
    why: str = ""
    sees_all: frozenset[str] = frozenset({Role.ADMIN.value})
    foreign: Outcome = Outcome.FORBIDDEN
    sees_reviewed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    # METADATA, HIDDEN: whether the answer carries the resource's private metadata;
    # FILTERED: whether the resource is in the listing. None: nothing private to check.
    sees_private: bool | None = None


EVERYONE: Final = frozenset(PRINCIPAL_ROLES)
KEYHOLDERS: Final = frozenset({Role.SUBMITTER.value, Role.REVIEWER.value, Role.ADMIN.value})
SUBMITTERS: Final = frozenset({Role.SUBMITTER.value, Role.ADMIN.value})
REVIEWERS: Final = frozenset({Role.REVIEWER.value, Role.ADMIN.value})
ADMINS: Final = frozenset({Role.ADMIN.value})
AUDITORS: Final = frozenset({Role.ADMIN.value, Role.AUDITOR.value})  # reads the operator's logs
ADMIN: Final = Role.ADMIN.value

UNCHECKED_PATHS: Final = frozenset(
    {"/static", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"}
)

_PUBLIC_CHAIN = "public chain data: anyone may read it"
_EVIDENCE_PRIVATE = (
    "its member, admins and reviewers of its subsidy application; 404 to anyone else, as a "
    "missing id (the salt in it would let the holder probe the digest)"
)
_PAGE = "a public page; keys are never sent to pages, so no private metadata is rendered"
_APP = "/api/v1/subsidy/applications/{application_id}"
# Pages for people of a role (web/account_pages.py: page_role): keys are not sent to pages,
# so with a key (as the matrix calls) every caller is redirected to sign in; a signed-in
# person of another role gets a 403 page (tests/security/test_signin.py).
_GATED = "a page for people signed in as "


_LIC = "/api/v1/licences/{licence_id}"
_REC = "/api/v1/recordings/{recording_id}"


def _owned(
    why: str, roles: frozenset[str] = SUBMITTERS, sees_all: frozenset[str] = frozenset({ADMIN})
) -> Rule:
    """A route for the org that owns what it names (and ``sees_all``): to anyone else that
    does not exist (404, as a missing id)."""
    return Rule(roles, Owner.REQUIRED, why, sees_all=sees_all, foreign=Outcome.NOT_FOUND)


# Owned so: a licence by its issuer org (licences/service.py), a recording by its org, a
# subsidy application by its applicant unit.
_licence = _recording = _unit = _owned


_DATASET_READ: Final = _owned(
    "its owner org, the orgs granted access, admins and auditors (datasets/service.py)",
    KEYHOLDERS,
)


def _evidence_private(what: str) -> Rule:
    """A route that shows an evidence record's receipt, or more (the salt in it would let the
    holder probe the digest): only for those who may see the record."""
    return Rule(
        EVERYONE,
        Owner.REQUIRED,
        f"{what} for {_EVIDENCE_PRIVATE}",
        foreign=Outcome.NOT_FOUND,
        sees_reviewed=REVIEWERS,
    )


def _visible(why: str) -> Rule:
    """A subsidy application route for its applicant unit and every reviewer (404 else)."""
    return Rule(KEYHOLDERS, Owner.REQUIRED, why, sees_all=REVIEWERS, foreign=Outcome.NOT_FOUND)


_EPCIS_DISCOVERY: Final = (
    "/epcis",
    "/epcis/",
    "/epcis/capture",
    "/epcis/capture/{captureID}",
    "/epcis/events",
    "/epcis/queries",
)

RULES: Final[dict[RouteKey, Rule]] = {
    # --- evidence -------------------------------------------------------------------------
    ("POST", "/api/v1/evidence"): Rule(SUBMITTERS, why="anchoring is for members' submitters"),
    ("POST", "/api/v1/evidence/digests"): Rule(SUBMITTERS, why="as POST /api/v1/evidence"),
    ("GET", "/api/v1/evidence/{evidence_id}"): Rule(
        EVERYONE,
        Owner.METADATA,
        "id and status are public; digest, member, anchor, label and dates are private",
        sees_reviewed=REVIEWERS,
    ),
    ("GET", "/api/v1/evidence/{evidence_id}/receipt"): _evidence_private(
        "the receipt (digest, salt, label) is"
    ),
    # Issue 19: the offline bundle and the court's facts hold the receipt and more.
    ("GET", "/api/v1/evidence/{evidence_id}/bundle"): _evidence_private(
        "the bundle holds the receipt:"
    ),
    ("GET", "/api/v1/evidence/{evidence_id}/court"): _evidence_private(
        "the certificate's facts (file name, key, signature) are"
    ),
    ("POST", "/tsa"): Rule(
        frozenset({ANONYMOUS, *SUBMITTERS}),
        why="an RFC 3161 time stamp, queued as the key's org's evidence (the platform's when "
        "anonymous, CHAINPROOF_TSA_ANONYMOUS); a reviewer key has no org evidence to add",
    ),
    ("GET", "/tsa/ca.pem"): Rule(EVERYONE, why="the root tokens are verified with: public"),
    ("GET", "/tsa/tsa.pem"): Rule(EVERYONE, why="the TSA's certificate: public"),
    ("POST", "/api/v1/evidence/{evidence_id}/revoke"): _owned(
        "only the submitting org or an admin may revoke; another org's record is not found"
    ),
    ("GET", "/api/v1/operations/{operation_id}"): _owned(
        "a chain operation is its org's business: anyone else finds no such operation",
        KEYHOLDERS,
    ),
    # --- business types and data resources (issue 25) -------------------------------------
    ("POST", "/api/v1/business-types"): Rule(ADMINS, why="admins define business types"),
    ("GET", "/api/v1/business-types"): Rule(
        KEYHOLDERS, why="a type's schema is what its evidence must carry: any key reads it"
    ),
    ("GET", "/api/v1/business-types/{code}"): Rule(KEYHOLDERS, why="as the list"),
    ("POST", "/api/v1/datasets"): Rule(SUBMITTERS, why="a member registers its own data sets"),
    ("GET", "/api/v1/datasets"): Rule(
        KEYHOLDERS, why="those the caller's org owns or was granted (admins, auditors: all)"
    ),
    ("GET", "/api/v1/datasets/{resource_id}"): _DATASET_READ,
    ("GET", "/api/v1/datasets/{resource_id}/manifest"): _DATASET_READ,
    ("GET", "/api/v1/datasets/{resource_id}/proof"): _DATASET_READ,
    ("POST", "/api/v1/datasets/{resource_id}/grants"): _owned("only its owner org grants access"),
    ("DELETE", "/api/v1/datasets/{resource_id}/grants/{org}"): _owned(
        "only its owner org withdraws access"
    ),
    # --- live recordings (recordings/service.py: owned) -----------------------------------
    ("POST", "/api/v1/recordings"): Rule(SUBMITTERS, why="recorders are members' submitters"),
    ("GET", "/api/v1/recordings"): Rule(SUBMITTERS, why="the caller's org's recordings only"),
    ("GET", _REC): _recording("its segments, digests and anchors"),
    ("POST", _REC + "/segments"): _recording("only its org extends it"),
    ("POST", _REC + "/close"): _recording("only its org closes it"),
    # --- e-licences (licences/service.py: owned; licence_issuer is an org's role) ----------
    ("POST", "/api/v1/licences/issuers"): Rule(ADMINS, why="the operator names issuers"),
    ("POST", "/api/v1/licences/types"): Rule(SUBMITTERS, why="an issuer org's (403 else)"),
    ("POST", "/api/v1/licences"): Rule(SUBMITTERS, why="an issuer org's (403 else)"),
    ("GET", "/api/v1/licences"): Rule(SUBMITTERS, why="the caller's org's licences only"),
    ("GET", _LIC): _licence("the credential holds every claim and salt"),
    ("POST", _LIC + "/status"): _licence("only the issuer changes a licence's status"),
    ("POST", _LIC + "/renew"): _licence("only the issuer renews"),
    ("POST", "/api/v1/licences/verify"): Rule(EVERYONE, why="anyone checks what they are shown"),
    ("POST", "/api/v1/crosschain/revocations"): Rule(
        EVERYONE, why="as a cross-chain message: its proof is checked against this chain alone"
    ),
    ("POST", "/api/v1/crosschain/messages"): Rule(
        EVERYONE, why="anyone may carry one: its proof is checked against this chain alone"
    ),
    ("POST", _LIC + "/presentation"): _licence("the claims are its holder's and issuer's"),
    ("GET", _LIC + "/public"): Rule(
        EVERYONE, why="no claim in it; what a verifier of a holder's presentation needs"
    ),
    # --- verification ---------------------------------------------------------------------
    ("POST", "/api/v1/verify"): Rule(
        EVERYONE,
        Owner.METADATA,
        "anchored or not is public; by whom and when only for those who may see the record",
        sees_reviewed=REVIEWERS,
    ),
    ("POST", "/api/v1/receipts/verify"): Rule(
        EVERYONE,
        why="checks a receipt the caller holds; names its member to whoever presents it",
    ),
    # --- chain and probes -----------------------------------------------------------------
    ("GET", "/api/v1/chain"): Rule(EVERYONE, why=_PUBLIC_CHAIN),
    ("GET", "/api/v1/batches/{batch_id}"): Rule(EVERYONE, why=_PUBLIC_CHAIN),
    ("GET", "/.well-known/chainproof.json"): Rule(
        EVERYONE, why="the trust anchor third parties pin: public by design"
    ),
    ("GET", "/healthz"): Rule(EVERYONE, why="liveness probe"),
    ("GET", "/readyz"): Rule(EVERYONE, why="readiness probe"),
    # /metrics names the signer, queue depths and chain lag: internals, not public data.
    # CHAINPROOF_METRICS_PUBLIC opens it to anyone (a private scrape network only); the
    # matrix runs with the default, where only an admin key reads it.
    ("GET", "/metrics"): Rule(ADMINS, why="operator internals: admin key, or METRICS_PUBLIC"),
    # --- admin ----------------------------------------------------------------------------
    ("POST", "/api/v1/members"): Rule(ADMINS, why="member admission is the operator's"),
    ("GET", "/api/v1/members"): Rule(ADMINS, why="the member list is the operator's"),
    ("POST", "/api/v1/keys"): Rule(ADMINS, why="keys are issued by the operator"),
    ("GET", "/api/v1/keys"): Rule(ADMINS, why="the key list is the operator's"),
    ("DELETE", "/api/v1/keys/{key_id}"): Rule(ADMINS, why="any key, whose ever it is"),
    ("GET", "/api/v1/chain/network"): Rule(
        AUDITORS,
        why="endpoint URLs and the signer's balance are the operator's (counts: /api/v1/chain)",
    ),
    ("POST", "/api/v1/channels"): Rule(ADMINS, why="channels are the operator's to make"),
    ("GET", "/api/v1/channels"): Rule(AUDITORS, why="who shares with whom"),
    ("POST", "/api/v1/channels/{name}/members"): Rule(ADMINS, why="with a reason, audited"),
    ("GET", "/api/v1/audit"): Rule(
        AUDITORS, why="the audit log: admins and the read-only auditor role"
    ),
    ("POST", "/api/v1/users"): Rule(ADMINS, why="people are invited by the operator"),
    ("GET", "/api/v1/users"): Rule(ADMINS, why="the people list is the operator's"),
    ("DELETE", "/api/v1/users/{user_id}/sessions"): Rule(ADMINS, why="anyone's, a lost laptop"),
    # --- subsidy (issue 4; subsidy/access.py) ---------------------------------------------
    ("POST", "/api/v1/subsidy/assess"): Rule(EVERYONE, why="the guide's arithmetic, public"),
    ("GET", "/api/v1/subsidy/catalog"): Rule(EVERYONE, why="the guide as data, public"),
    ("GET", "/api/v1/subsidy/rounds"): Rule(EVERYONE, why="rounds and deadlines, public"),
    ("POST", "/api/v1/subsidy/rounds"): Rule(ADMINS, why="rounds are the operator's"),
    ("PATCH", "/api/v1/subsidy/rounds/{code}"): Rule(ADMINS, why="rounds are the operator's"),
    ("POST", "/api/v1/subsidy/applications"): Rule(SUBMITTERS, why="a unit applies for itself"),
    ("GET", "/api/v1/subsidy/applications"): Rule(
        KEYHOLDERS,
        Owner.FILTERED,
        "a unit lists its own; reviewers and admins list all",
        sees_all=REVIEWERS,
    ),
    ("GET", _APP): _visible("the unit and reviewers read it"),
    ("PATCH", _APP): _unit("only the unit changes its draft"),
    ("POST", _APP + "/documents"): _unit("only the unit attaches documents"),
    ("DELETE", _APP + "/documents/{document_id}"): _unit("only the unit detaches documents"),
    ("GET", _APP + "/manifest"): _visible("the unit and reviewers read the manifest"),
    ("POST", _APP + "/submit"): _unit("only the unit submits"),
    ("POST", _APP + "/transitions"): _visible(
        "the unit makes its moves, reviewers theirs (the lifecycle says which: 409 else)"
    ),
    ("GET", _APP + "/transitions"): _visible("the unit and reviewers read the trail"),
    ("POST", _APP + "/integrity-check"): Rule(REVIEWERS, why="reviewers check files"),
    ("GET", _APP + "/report"): Rule(REVIEWERS, why="the reviewer's report"),
    ("POST", _APP + "/acceptance/documents"): _unit("only the unit uploads acceptance files"),
    ("GET", _APP + "/acceptance"): _visible("the unit and reviewers read the acceptance check"),
    ("POST", _APP + "/acceptance/submit"): _unit("only the unit submits for acceptance"),
    # --- draws (issue 21) ---------------------------------------------------------------
    ("POST", "/api/v1/draws"): Rule(REVIEWERS, why="an organiser's draw: reviewer or admin"),
    ("GET", "/api/v1/draws/{draw_id}"): Rule(
        EVERYONE, why="a draw is public: anyone recomputes it"
    ),
    ("POST", "/api/v1/subsidy/spot-audits"): Rule(REVIEWERS, why="reviewers draw from their queue"),
    ("POST", "/api/v1/draws/{draw_id}/reveal"): Rule(REVIEWERS, why="the organiser's own secret"),
    ("GET", "/draws/{draw_id}"): Rule(EVERYONE, why=_PAGE + " (recomputes the draw)"),
    ("GET", _APP + "/invoice-proofs"): _visible("the unit and reviewers read the proofs"),
    ("GET", "/api/v1/invoices/consistency"): Rule(
        REVIEWERS, why="the claims between two roots: reviewers compare roots"
    ),
    ("POST", "/api/v1/tenders"): Rule(ADMINS, why="the platform organises for the centre"),
    ("GET", "/api/v1/tenders/{reference}"): Rule(EVERYONE, why="a tender is public, from chain"),
    ("POST", "/api/v1/tenders/{reference}/commitments"): Rule(
        EVERYONE, why="the bidder's EIP-712 signature, checked on chain, is the credential"
    ),
    ("POST", "/api/v1/tenders/{reference}/reveals"): Rule(
        EVERYONE, why="a reveal only opens what was committed; the contract checks it"
    ),
    ("POST", "/api/v1/tenders/{reference}/award"): Rule(ADMINS, why="the organiser's award"),
    ("GET", "/api/v1/tenders/{reference}/operations/{operation_id}"): Rule(
        EVERYONE, why="a bidder (no key) polls its relay; the random id is the capability"
    ),
    ("GET", "/tenders/{reference}"): Rule(EVERYONE, why=_PAGE + " (checks the chain's logs)"),
    # --- trace (issue #5) -------------------------------------------------------------------
    # Writes need a submitter key; the trace service then checks the org's trace role and
    # locations (trace/roles.py), prefixes and custody (trace/ownership.py) or, for recalls
    # and lifts, regulator / the lot's owner.
    ("POST", "/api/v1/trace/hash"): Rule(EVERYONE, why="hashes a document, stores nothing"),
    ("POST", "/api/v1/trace/capture"): Rule(SUBMITTERS, why="writers are member orgs by role"),
    ("GET", "/api/v1/trace/events"): Rule(KEYHOLDERS, why="event queries are for members"),
    ("POST", "/api/v1/trace/items"): Rule(SUBMITTERS, why="producers register their items"),
    ("GET", "/api/v1/trace/items/{code:path}"): Rule(EVERYONE, why="what a public scan shows"),
    ("GET", "/api/v1/trace/qr/{code:path}"): Rule(EVERYONE, why="the code printed on the item"),
    ("GET", "/api/v1/trace/lineage/{code:path}"): Rule(KEYHOLDERS, why="supply-chain graph"),
    ("POST", "/api/v1/trace/recalls"): Rule(SUBMITTERS, why="regulator or the lot's owner"),
    ("POST", "/api/v1/trace/recalls/lift"): Rule(SUBMITTERS, why="regulator or the lot's owner"),
    ("GET", "/api/v1/trace/recalls/{recall_id}"): Rule(KEYHOLDERS, why="recall reports"),
    ("POST", "/api/v1/trace/orgs"): Rule(ADMINS, why="trace roles are the operator's to give"),
    ("POST", "/api/v1/trace/orgs/{member_id}/prefixes"): Rule(
        ADMINS, why="company prefixes decide who owns items"
    ),
    ("GET", "/api/v1/trace/orgs/{member_id}"): Rule(
        ADMINS, why="prefix admission is the operator's"
    ),
    ("POST", "/api/v1/trace/publish"): Rule(ADMINS, why="sends operator transactions"),
    # --- the EPCIS 2.0 REST binding (issue 24) ----------------------------------------------
    # Discovery is public; the repository answers each org its own events and jobs (an
    # admin's: all); one org's event or job is 404 to another, as a missing one.
    **{("OPTIONS", p): Rule(EVERYONE, why="EPCIS discovery") for p in _EPCIS_DISCOVERY},
    ("GET", "/epcis/"): Rule(KEYHOLDERS, why="the repository's resources"),
    ("GET", "/epcis/openapi.json"): Rule(EVERYONE, why="GS1's published OpenAPI"),
    ("POST", "/epcis/capture"): Rule(SUBMITTERS, why="capture is for members' submitters"),
    ("POST", "/epcis/events"): Rule(SUBMITTERS, why="capture is for members' submitters"),
    ("GET", "/epcis/capture"): Rule(KEYHOLDERS, Owner.FILTERED, why="each org's jobs"),
    ("GET", "/epcis/capture/{captureID}"): _owned("its org's job", KEYHOLDERS),
    ("GET", "/epcis/events"): Rule(KEYHOLDERS, Owner.FILTERED, why="each org's events"),
    ("POST", "/epcis/queries"): Rule(KEYHOLDERS, why="an org names its own queries"),
    ("GET", "/epcis/queries"): Rule(
        KEYHOLDERS, Owner.FILTERED, why="each org's queries", sees_all=frozenset()
    ),
    **{
        # Names are per org: an admin's are its own.
        (method, path): _owned("its org's query", KEYHOLDERS, sees_all=frozenset())
        for method, path in (
            ("GET", "/epcis/queries/{queryName}"),
            ("DELETE", "/epcis/queries/{queryName}"),
            ("GET", "/epcis/queries/{queryName}/events"),
            ("POST", "/epcis/queries/{queryName}/subscriptions"),
            ("GET", "/epcis/queries/{queryName}/subscriptions"),
            ("GET", "/epcis/queries/{queryName}/subscriptions/{subscriptionID}"),
            ("DELETE", "/epcis/queries/{queryName}/subscriptions/{subscriptionID}"),
        )
    },
    ("GET", "/epcis/events/{eventID:path}"): _owned("its org's event", KEYHOLDERS),
    **{
        ("GET", p): Rule(KEYHOLDERS, Owner.FILTERED, why="each org's events")
        for r in ("eventTypes", "epcs", "bizSteps", "bizLocations", "readPoints", "dispositions")
        for p in (f"/epcis/{r}", f"/epcis/{r}/{{value:path}}/events")
    },
    ("GET", "/t/{code:path}"): Rule(EVERYONE, why=_PAGE + " (the public scan page)"),
    ("GET", "/l/{licence_id}"): Rule(EVERYONE, why=_PAGE + " (checks a licence in the browser)"),
    ("GET", "/licences"): Rule(EVERYONE, why=_GATED + "submitters (issued and held licences)"),
    ("GET", "/licences/{licence_id}/licence.pdf"): Rule(
        EVERYONE,
        Owner.REQUIRED,
        "every field of the licence: for its issuer org, its holder org and admins",
        foreign=Outcome.NOT_FOUND,
    ),
    # --- pages ----------------------------------------------------------------------------
    ("GET", "/"): Rule(EVERYONE, why=_PAGE),
    ("GET", "/verify"): Rule(EVERYONE, why=_PAGE),
    ("GET", "/receipt"): Rule(EVERYONE, why=_PAGE + " (verifies in the browser, asks a node)"),
    ("GET", "/anchor"): Rule(EVERYONE, why=_GATED + "submitters"),
    ("GET", "/evidence/{evidence_id}"): Rule(EVERYONE, Owner.HIDDEN, _PAGE),
    ("GET", "/evidence/{evidence_id}/certificate"): Rule(EVERYONE, Owner.HIDDEN, _PAGE),
    ("GET", "/evidence/{evidence_id}/certificate.pdf"): _evidence_private(
        "the certificate's facts are private: rendered"
    ),
    ("GET", "/explorer"): Rule(EVERYONE, why=_PAGE),
    ("GET", "/explorer/block/{number}"): Rule(EVERYONE, why=_PAGE),
    ("GET", "/explorer/tx/{tx_hash}"): Rule(EVERYONE, why=_PAGE),
    ("GET", "/explorer/root/{root}"): Rule(EVERYONE, why=_PAGE),
    ("GET", "/explorer/digest/{digest}"): Rule(EVERYONE, why=_PAGE),
    ("GET", "/explorer/address/{address}"): Rule(EVERYONE, why=_PAGE),
    ("GET", "/admin"): Rule(EVERYONE, why=_GATED + "admins"),
    ("GET", "/admin/network"): Rule(EVERYONE, why=_GATED + "admins and auditors"),
    ("GET", "/admin/audit"): Rule(EVERYONE, why=_GATED + "admins and auditors"),
    # people's sign-in (web/account_pages.py): forms; a key means nothing to them
    ("GET", "/signin"): Rule(EVERYONE, why="the sign-in form"),
    ("POST", "/signin"): Rule(EVERYONE, why="anonymous by nature: rate-limited, locks out"),
    ("POST", "/signout"): Rule(EVERYONE, why="ends the cookie's session (its CSRF token)"),
    ("GET", "/invite"): Rule(EVERYONE, why="the invitation token is the credential"),
    ("POST", "/invite"): Rule(EVERYONE, why="the invitation token is the credential"),
    ("GET", "/account"): Rule(EVERYONE, why="the signed-in person's; a redirect otherwise"),
    ("POST", "/account/password"): Rule(EVERYONE, why="the session's person (CSRF token)"),
    ("POST", "/account/totp"): Rule(EVERYONE, why="the session's person (CSRF token)"),
    ("POST", "/account/totp/confirm"): Rule(EVERYONE, why="the session's person (CSRF token)"),
    # subsidy pages (web/subsidy_pages.py): frames only; the script fetches as the person
    ("GET", "/recordings/{recording_id}/certificate"): Rule(
        EVERYONE, why=_GATED + "submitters; another org's recording is the 404 page"
    ),
    ("GET", "/recordings/{recording_id}"): Rule(
        EVERYONE, why=_GATED + "submitters; another org's recording is the 404 page"
    ),
    ("GET", "/applications"): Rule(EVERYONE, why=_GATED + "submitters"),
    ("GET", "/review"): Rule(EVERYONE, why=_GATED + "reviewers"),
    ("GET", "/applications/{application_id}"): Rule(EVERYONE, Owner.HIDDEN, _PAGE),
    ("GET", "/applications/{application_id}/check"): Rule(EVERYONE, Owner.HIDDEN, _PAGE),
    ("GET", "/applications/{application_id}/report"): Rule(EVERYONE, Owner.HIDDEN, _PAGE),
}


def rule_for(method: str, path: str) -> Rule | None:
    """The rule of ``METHOD path`` (a path template, as the route declares it)."""
    return RULES.get((method.upper(), path))


def route_keys(app: FastAPI) -> list[RouteKey]:
    """Every ``(METHOD, path template)`` the app serves, but :data:`UNCHECKED_PATHS`.

    ``HEAD`` is left out: Starlette answers it from the ``GET`` route, with its rule.
    """
    keys: set[RouteKey] = set()
    for route in iter_route_contexts(app.routes):
        path = route.path
        if path is None or path in UNCHECKED_PATHS:
            continue
        methods: Iterable[str] = route.methods or {"*"}  # a mount answers every method
        keys.update((m, path) for m in methods if m != "HEAD")
    return sorted(keys, key=lambda k: (k[1], k[0]))


def decide(rule: Rule, *, role: str, owns: bool | None, reviewed: bool = False) -> Decision:
    """What a caller with ``role`` gets from a route with ``rule``.

    ``owns`` says whether the caller's org owns the resource the request names (``None``
    when it names none); ``reviewed``, whether that resource belongs to a subsidy
    application. The rule's ``sees_all`` roles count as owners of everything, its
    ``sees_reviewed`` roles as owners of what belongs to an application.
    """
    if role not in rule.roles:
        if role == ANONYMOUS:
            return Decision(Outcome.UNAUTHENTICATED)
        return Decision(Outcome.FORBIDDEN)
    is_owner = role in rule.sees_all or bool(owns) or (reviewed and role in rule.sees_reviewed)
    if owns is None:
        return Decision(Outcome.ALLOWED)
    if rule.owner is Owner.REQUIRED and not is_owner:
        return Decision(rule.foreign)
    if rule.owner in (Owner.METADATA, Owner.FILTERED):
        return Decision(Outcome.ALLOWED, sees_private=is_owner)
    if rule.owner is Owner.HIDDEN:
        return Decision(Outcome.ALLOWED, sees_private=False)
    return Decision(Outcome.ALLOWED)
