"""A dual-anchored receipt verified under an explicit policy: ``any`` (one anchor, verified
against its pinned chain, is enough) or ``all`` (every anchor must verify).

Light (the CLI verifier imports it): each anchor is checked by :func:`verify_receipt` as if
it were the receipt's only one (``Receipt.anchored_at``), against the trust anchor's pin of
that chain (the first chain's own, or its ``other_chains`` entry) and a node of that chain.
An anchor on a chain the trust anchor does not pin, or with no reachable node, does not
count. A revocation seen on any chain makes the receipt revoked whatever the policy: another
chain's "valid" never outvotes it (a revocation is made on the first chain only, so with
that chain down, ``any`` cannot see one: docs/crosschain.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from web3 import Web3

from chainproof.receipts import Receipt, ReceiptVerdict, verify_receipt
from chainproof.trust import TrustAnchor

Policy = Literal["any", "all"]
POLICIES: tuple[Policy, ...] = ("any", "all")


@dataclass(frozen=True)
class AnchorCheck:
    """One anchor's outcome: its chain, and the verdict (None: not checked, ``note`` why)."""

    chain_id: int
    block_number: int
    verdict: ReceiptVerdict | None
    note: str | None = None

    @property
    def valid(self) -> bool:
        return self.verdict is not None and self.verdict.valid

    @property
    def unreachable(self) -> bool:
        """Not checked for want of a node (the network, not the receipt)."""
        return self.verdict is None

    def describe(self) -> str:
        if self.verdict is None:
            return self.note or "not checked"
        if self.verdict.valid:
            return "valid"
        return f"{self.verdict.status}: {self.verdict.reason}"


@dataclass(frozen=True)
class PolicyVerdict:
    policy: Policy
    anchors: list[AnchorCheck]

    @property
    def revoked(self) -> bool:
        return any(a.verdict is not None and a.verdict.status == "revoked" for a in self.anchors)

    @property
    def valid(self) -> bool:
        if self.revoked:
            return False
        ok = [a.valid for a in self.anchors]
        return any(ok) if self.policy == "any" else all(ok)

    @property
    def status(self) -> str:
        """``valid``, ``revoked``, ``invalid`` (an anchor failed its checks, and the policy
        needed it) or ``unreachable`` (only missing nodes stand between it and valid)."""
        if self.valid:
            return "valid"
        if self.revoked:
            return "revoked"
        needed = [a for a in self.anchors if not a.valid]
        if self.policy == "any":
            needed = needed if not any(a.valid for a in self.anchors) else []
        if needed and all(a.unreachable for a in needed):
            return "unreachable"
        return "invalid"

    @property
    def reason(self) -> str | None:
        if self.valid:
            return None
        shown = "; ".join(f"chain {a.chain_id}: {a.describe()}" for a in self.anchors)
        return f"policy {self.policy}: {shown}"


def anchors_of(receipt: Receipt) -> list[Receipt]:
    """The receipt once per anchor: its own first, then each of ``other_anchors``."""
    first = receipt.model_copy(update={"other_anchors": None})
    return [first, *(receipt.anchored_at(o) for o in receipt.other_anchors or [])]


def verify_with_policy(
    receipt: Receipt,
    nodes: Mapping[int, Web3],
    *,
    trust: TrustAnchor,
    policy: Policy,
) -> PolicyVerdict:
    """Checks every anchor of ``receipt`` on ``nodes`` (chain id → node; a chain missing
    here is down) against ``trust``, and combines them under ``policy``."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, not {policy!r}")
    checks = []
    for i, located in enumerate(anchors_of(receipt)):
        pin = trust if i == 0 else trust.for_other_chain(located.chain_id)
        if i > 0 and located.chain_id == trust.chain_id:
            pin = None  # an "other" anchor on the first chain adds nothing: not counted
        cid, block = located.chain_id, located.block_number
        if pin is None:
            note = f"the trust anchor pins no chain {cid} for this anchor"
            checks.append(AnchorCheck(cid, block, ReceiptVerdict(False, note, [], pinned=False)))
            continue
        w3 = nodes.get(cid)
        if w3 is None:
            checks.append(AnchorCheck(cid, block, None, f"no reachable node of chain {cid}"))
            continue
        checks.append(AnchorCheck(cid, block, verify_receipt(located, w3, trust=pin)))
    return PolicyVerdict(policy=policy, anchors=checks)
