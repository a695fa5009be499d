"""Deployment records: which contract lives where, on which chain.

A record is written per chain (keyed by chain id) under ``<data_dir>/deployments/``. The next
start reuses it after checking that the chain is still the one it names: same genesis block
and the expected runtime code at the address. A reset Anvil (new genesis) or a different
network is reported as :class:`~chainproof.errors.ChainMismatchError` and nothing runs as if
the earlier anchors still existed (docs/architecture.md, promise 6).

An upgrade (EvidenceRegistry v1 to v2 on the same chain, ``contracts deploy --upgrade``)
deploys the new registry beside the old one: the new record becomes the current one, and the
old one moves to the chain's list of *honoured* registries, whose receipts still verify
(:func:`honoured_registries`, published as the trust anchor's ``past_registries``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hexbytes import HexBytes
from web3 import Web3

from chainproof.chain.compiler import (
    ContractArtifact,
    compile_standard_input,
    runtime_matches,
)
from chainproof.chain.registry import EvidenceRegistryClient
from chainproof.chain.sender import TxSender
from chainproof.errors import (
    ChainMismatchError,
    CompilerError,
    ConflictError,
    TransactionError,
)

log = structlog.get_logger(__name__)

REGISTRY = "EvidenceRegistry"
REGISTRY_V1 = "EvidenceRegistryV1"  # contracts/v1/: the version-1 sources, kept
# How long a transfer of the registry's DEFAULT_ADMIN_ROLE waits between its two steps.
DEFAULT_ADMIN_DELAY = 2 * 24 * 3600


@dataclass(frozen=True)
class Deployment:
    contract: str
    chain_id: int
    genesis_hash: str
    address: str
    tx_hash: str
    block_number: int
    bytecode_hash: str  # keccak-256 of the runtime code read back from the chain
    deployer: str
    deployed_at: str
    version: int = 1  # the registry's interface version (records before v2 have none: 1)
    # The build it was deployed from (records before issue 17 have none), as hardhat-deploy
    # keeps it: the ABI, the exact compiler version, and the SHA-256 of the self-contained
    # standard JSON input, stored once beside the records (deployments/solc-inputs/).
    abi: list[dict[str, Any]] | None = field(default=None, compare=False, repr=False)
    compiler_version: str | None = None
    compiler_input: str | None = None


class OnDeployment:
    """Anything that talks to one deployed contract: its chain id and address, from the
    record (a chain context, a trace registry)."""

    deployment: Deployment

    @property
    def chain_id(self) -> int:
        return self.deployment.chain_id

    @property
    def contract(self) -> str:
        return self.deployment.address


@dataclass(frozen=True)
class HonouredRegistry:
    """A registry on the current chain whose receipts are still honoured (an older version
    kept after an upgrade). ``code_hash``: keccak-256 of its runtime code."""

    address: str
    code_hash: str
    version: int


def genesis_hash(w3: Web3) -> str:
    return HexBytes(w3.eth.get_block(0)["hash"]).to_0x_hex()


def record_path(data_dir: Path, chain_id: int, contract: str = REGISTRY) -> Path:
    return data_dir / "deployments" / f"{contract}-{chain_id}.json"


def load_record(data_dir: Path, chain_id: int, contract: str = REGISTRY) -> Deployment | None:
    path = record_path(data_dir, chain_id, contract)
    if not path.is_file():
        return None
    return Deployment(**json.loads(path.read_text()))


def input_hash(standard_input: dict[str, Any]) -> str:
    """SHA-256 of a standard JSON input in canonical form: its name beside the records."""
    return hashlib.sha256(json.dumps(standard_input, sort_keys=True).encode()).hexdigest()


def input_path(data_dir: Path, digest: str) -> Path:
    return data_dir / "deployments" / "solc-inputs" / f"{digest}.json"


def save_input(data_dir: Path, standard_input: dict[str, Any]) -> str:
    """Stores a deployment's compiler input once (deduplicated by hash); returns the hash."""
    digest = input_hash(standard_input)
    path = input_path(data_dir, digest)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(standard_input, sort_keys=True))
        os.replace(tmp, path)
    return digest


def load_input(data_dir: Path, deployment: Deployment) -> dict[str, Any] | None:
    """The recorded compiler input of ``deployment``, checked against its hash; None for a
    record without one. A missing or altered file is an error, not a silent None."""
    if deployment.compiler_input is None:
        return None
    path = input_path(data_dir, deployment.compiler_input)
    try:
        text = path.read_text()
    except OSError as exc:
        raise CompilerError(f"the recorded compiler input {path} is missing: {exc}") from None
    standard_input: dict[str, Any] = json.loads(text)
    if input_hash(standard_input) != deployment.compiler_input:
        raise CompilerError(f"the recorded compiler input {path} does not match its hash")
    return standard_input


def recorded_artifact(
    data_dir: Path, deployment: Deployment, *, root: Path | None = None
) -> ContractArtifact | None:
    """The contract compiled again from its deployment's recorded input and compiler
    version (None for a record without them). Raises CompilerError when this machine's
    compiler is another version."""
    standard_input = load_input(data_dir, deployment)
    if standard_input is None or deployment.compiler_version is None:
        return None
    result = compile_standard_input(standard_input, version=deployment.compiler_version, root=root)
    name = _artifact_name(deployment, result.contracts)
    return result.contracts[name]


def _artifact_name(deployment: Deployment, contracts: dict[str, ContractArtifact]) -> str:
    """The contract of the build that was deployed: records name the registry whatever its
    source name (v1 lives in contracts/v1/ as EvidenceRegistryV1); the ABI tells them apart."""
    if deployment.contract in contracts and (
        deployment.abi is None or contracts[deployment.contract].abi == deployment.abi
    ):
        return deployment.contract
    for name, artifact in contracts.items():
        if deployment.abi is not None and artifact.abi == deployment.abi:
            return name
    raise CompilerError(f"the recorded input has no contract {deployment.contract}")


def save_record(
    data_dir: Path, deployment: Deployment, *, standard_input: dict[str, Any] | None = None
) -> Path:
    """Writes the record; ``standard_input`` (the deployed artifact's) is stored beside it
    first, so a record never names an input that is not there."""
    stored = save_input(data_dir, standard_input) if standard_input is not None else None
    if stored is not None and stored != deployment.compiler_input:
        raise CompilerError("the compiler input is not the one the deployment names")
    path = record_path(data_dir, deployment.chain_id, deployment.contract)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(deployment), indent=2) + "\n")
    os.replace(tmp, path)  # atomic: a crash never leaves half a record
    return path


def find_record(data_dir: Path, chain_id: int, address: str) -> Deployment | None:
    """The record (current, honoured or retired) of the contract at ``address`` on chain
    ``chain_id``, whichever contract it is; None when this data directory has none."""
    folder = data_dir / "deployments"
    candidates: list[Deployment] = []
    for path in sorted(folder.glob(f"*-{chain_id}*.json")) if folder.is_dir() else []:
        data = json.loads(path.read_text())
        candidates += [Deployment(**d) for d in (data if isinstance(data, list) else [data])]
    for record in candidates:
        if record.chain_id == chain_id and record.address.lower() == address.lower():
            return record
    return None


def artifact_version(artifact: ContractArtifact) -> int:
    """2 for an EvidenceRegistry ABI with ``version()``, else 1."""
    return 2 if any(e.get("name") == "version" for e in artifact.abi) else 1


def honoured_path(data_dir: Path, chain_id: int) -> Path:
    return data_dir / "deployments" / f"{REGISTRY}-{chain_id}.honoured.json"


def load_honoured(data_dir: Path, chain_id: int) -> list[Deployment]:
    """The chain's past registries still honoured, oldest first."""
    path = honoured_path(data_dir, chain_id)
    if not path.is_file():
        return []
    return [Deployment(**d) for d in json.loads(path.read_text())]


def honour(data_dir: Path, deployment: Deployment) -> Path:
    """Adds ``deployment`` to its chain's honoured registries (once)."""
    kept = [
        d for d in load_honoured(data_dir, deployment.chain_id) if d.address != deployment.address
    ]
    path = honoured_path(data_dir, deployment.chain_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([asdict(d) for d in [*kept, deployment]], indent=2) + "\n")
    os.replace(tmp, path)
    return path


def honoured_registries(
    *, data_dir: Path, chain_id: int, genesis_hash: str
) -> list[HonouredRegistry]:
    """Past registries on this chain (same chain id and genesis) whose receipts are still
    honoured: the trust anchor's ``past_registries``. Empty for a chain never upgraded."""
    return [
        HonouredRegistry(address=d.address, code_hash=d.bytecode_hash, version=d.version)
        for d in load_honoured(data_dir, chain_id)
        if d.genesis_hash.lower() == genesis_hash.lower()
    ]


SOURCES_CURRENT = "current"  # the code is the contract as compiled from contracts/ today
SOURCES_CHANGED = "sources changed since deployment"  # ours, built from the recorded input


def check_deployment(
    w3: Web3, deployment: Deployment, artifact: ContractArtifact, *, data_dir: Path | None = None
) -> str:
    """Raises ChainMismatchError unless ``deployment`` is live on the chain ``w3`` talks to;
    returns :data:`SOURCES_CURRENT` or :data:`SOURCES_CHANGED`.

    The code is compared with ``artifact`` (today's sources) first. When it differs, the
    deployment's recorded build decides (``data_dir`` holds it): the recorded input
    compiled again gives this code, or (a record from before inputs were kept, and the
    version-1 registry whose sources moved to contracts/v1/) the code is byte for byte the
    code read back at deployment (its recorded hash). Either way the contract is ours and
    only the sources moved on (an OpenZeppelin or solc upgrade): not a chain mismatch.
    Anything else is not our contract."""
    chain_id = w3.eth.chain_id
    if chain_id != deployment.chain_id:
        raise ChainMismatchError(
            f"the node is chain {chain_id}, but the deployment record is for chain "
            f"{deployment.chain_id}",
            expected_chain_id=deployment.chain_id,
            found_chain_id=chain_id,
        )
    found_genesis = genesis_hash(w3)
    if found_genesis != deployment.genesis_hash:
        raise ChainMismatchError(
            f"chain {chain_id} has genesis {found_genesis}, but {deployment.contract} was "
            f"deployed on a chain with genesis {deployment.genesis_hash}: the chain was reset "
            "or replaced, so anchors recorded earlier are not on it. Point ChainProof at the "
            "original chain, or deploy anew with `chainproof contracts deploy --new` "
            "(see docs/operations.md, 'Chain reset').",
            expected_genesis=deployment.genesis_hash,
            found_genesis=found_genesis,
        )
    code = bytes(w3.eth.get_code(Web3.to_checksum_address(deployment.address)))
    if not code:
        raise ChainMismatchError(
            f"no contract code at {deployment.address} on chain {chain_id}: the chain lost "
            "the deployment (a node restarted without its state?). Restore the node's state, "
            "or deploy anew with `chainproof contracts deploy --new` (docs/operations.md).",
            address=deployment.address,
        )
    if runtime_matches(artifact, code):
        return SOURCES_CURRENT
    if data_dir is not None:
        try:
            recorded = recorded_artifact(data_dir, deployment)
        except CompilerError as exc:
            log.warning("recorded_build_not_reproduced", address=deployment.address, error=str(exc))
            recorded = None
        if recorded is not None and runtime_matches(recorded, code):
            return SOURCES_CHANGED
    if HexBytes(keccak(code)).to_0x_hex() == deployment.bytecode_hash:
        return SOURCES_CHANGED
    raise ChainMismatchError(
        f"the code at {deployment.address} is not our {deployment.contract} (version "
        f"{deployment.version}): neither today's sources nor the build recorded at its "
        "deployment give it, and it is not the code read back then. Deploy anew with "
        "`chainproof contracts deploy --new`.",
        address=deployment.address,
    )


def deploy_registry(
    w3: Web3,
    deployer: LocalAccount,
    artifact: ContractArtifact,
    *,
    admin: str | None = None,
    admin_delay: int = DEFAULT_ADMIN_DELAY,
) -> Deployment:
    """Deploys an EvidenceRegistry (v2, or v1 from ``contracts/v1/``) and makes the
    deployer a member, so the operator key can anchor straight away.

    v2: ``admin`` (default: the deployer, for development only: transfer it to an offline
    key, docs/operations.md) gets ``DEFAULT_ADMIN_ROLE`` behind a two-step transfer of
    ``admin_delay`` seconds; the deployer (the operator) gets ``MEMBER_ADMIN_ROLE`` only.
    v1: ``admin`` (default: the deployer) gets ``DEFAULT_ADMIN_ROLE``."""
    sender = TxSender(w3, deployer)
    admin_address = Web3.to_checksum_address(admin or deployer.address)
    version = artifact_version(artifact)
    args = registry_args(
        artifact, deployer=deployer.address, admin=admin_address, delay=admin_delay
    )
    # Records are per registry (REGISTRY), whatever the version's source name.
    deployment = deploy_contract(w3, sender, artifact, args, record_as=REGISTRY, version=version)
    if version >= 2 or admin_address == deployer.address:
        client = EvidenceRegistryClient(w3, deployment.address, artifact.abi)
        client.grant_member(sender, deployer.address)
    return deployment


def registry_args(
    artifact: ContractArtifact, *, deployer: str, admin: str, delay: int = DEFAULT_ADMIN_DELAY
) -> tuple[Any, ...]:
    """The EvidenceRegistry constructor's arguments: v2 (``delay``, ``admin``, ``deployer``
    as member admin), v1 (``admin``). Every registry deployment builds them here, the main
    one (:func:`deploy_registry`) and a virtual channel's (``channels/registry_ops.py``)."""
    if artifact_version(artifact) >= 2:
        return (delay, Web3.to_checksum_address(admin), Web3.to_checksum_address(deployer))
    return (Web3.to_checksum_address(admin),)


def deployment_record(
    w3: Web3,
    artifact: ContractArtifact,
    *,
    address: str,
    tx_hash: str,
    block_number: int,
    deployer: str,
    record_as: str | None = None,
    version: int = 1,
) -> Deployment:
    """The record of ``artifact`` deployed at ``address`` by ``tx_hash``: the code read back
    from the chain (asserted present) and hashed, the build it came from."""
    address = Web3.to_checksum_address(address)
    code = bytes(w3.eth.get_code(address))
    assert code, "deployment left no code"  # the chain must hold what we just deployed
    return Deployment(
        contract=record_as or artifact.name,
        chain_id=int(w3.eth.chain_id),
        genesis_hash=genesis_hash(w3),
        address=address,
        tx_hash=tx_hash,
        block_number=block_number,
        bytecode_hash=HexBytes(keccak(code)).to_0x_hex(),
        deployer=deployer,
        deployed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        version=version,
        abi=artifact.abi,
        compiler_version=artifact.compiler_version or None,
        compiler_input=input_hash(artifact.standard_input) if artifact.standard_input else None,
    )


def deploy_contract(
    w3: Web3,
    sender: TxSender,
    artifact: ContractArtifact,
    args: Sequence[Any],
    *,
    record_as: str | None = None,
    version: int = 1,
) -> Deployment:
    """Deploys ``artifact`` with constructor ``args`` from ``sender``'s key, checks the chain
    holds code at the new address, and returns its record (named ``record_as``, default the
    artifact's name): the one deploy path of every contract (both registries, later ones).

    Signed and sent under the sender's lock with its next nonce and fees, like any other
    transaction of that key, so a deploy never races the batcher for a nonce."""
    deployer = sender.account
    ctor = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode).constructor(*args)
    gas = int(ctor.estimate_gas({"from": deployer.address}) * 1.2)
    tx = dict(ctor.build_transaction({"from": deployer.address, "gas": gas}))
    for key in ("nonce", "maxFeePerGas", "maxPriorityFeePerGas", "gasPrice"):
        tx.pop(key, None)  # the sender's own, at signing
    with sender.sending():
        signed = sender.sign(tx)
        sender.send_raw(signed)
    mined = sender.wait_sent(signed)
    receipt = w3.eth.get_transaction_receipt(signed.tx_hash)  # type: ignore[arg-type]
    if mined.status != 1 or not receipt["contractAddress"]:
        raise TransactionError(f"deploying {artifact.name} failed in tx {mined.tx_hash}")
    return deployment_record(
        w3,
        artifact,
        address=receipt["contractAddress"],
        tx_hash=mined.tx_hash,
        block_number=mined.block_number,
        deployer=str(deployer.address),
        record_as=record_as,
        version=version,
    )


def ensure_registry(
    w3: Web3,
    *,
    deployer: LocalAccount,
    artifact: ContractArtifact,
    data_dir: Path,
    deploy_if_missing: bool = True,
    admin: str | None = None,
) -> tuple[Deployment, bool]:
    """The live registry for this chain: the recorded one (checked) or a new deployment.

    Returns (deployment, created). A record whose chain is gone raises ChainMismatchError;
    it is never silently replaced, because that would orphan every receipt issued so far.
    """
    chain_id = int(w3.eth.chain_id)
    record = load_record(data_dir, chain_id)
    if record is not None:
        check_deployment(w3, record, artifact, data_dir=data_dir)
        return record, False
    if not deploy_if_missing:
        raise ChainMismatchError(
            f"no {REGISTRY} deployment is recorded for chain {chain_id} under {data_dir}",
            chain_id=chain_id,
        )
    deployment = deploy_registry(w3, deployer, artifact, admin=admin)
    save_record(data_dir, deployment, standard_input=artifact.standard_input)
    return deployment, True


def upgrade_registry(
    w3: Web3,
    *,
    deployer: LocalAccount,
    artifact: ContractArtifact,
    data_dir: Path,
    admin: str | None = None,
) -> tuple[Deployment, Deployment]:
    """Deploys ``artifact`` (v2) beside the chain's current registry and switches to it.

    The current record must be live on this chain and of an older version; it moves to the
    honoured registries (its receipts still verify) and the new deployment becomes the
    current record, so anchoring goes to it from the next start. Returns (old, new).
    """
    chain_id = int(w3.eth.chain_id)
    old = load_record(data_dir, chain_id)
    if old is None:
        raise ChainMismatchError(
            f"no {REGISTRY} deployment is recorded for chain {chain_id} under {data_dir}: "
            "nothing to upgrade (`chainproof contracts deploy` deploys the current version)",
            chain_id=chain_id,
        )
    check_deployment(w3, old, artifact, data_dir=data_dir)
    new_version = artifact_version(artifact)
    if old.version >= new_version:
        raise ConflictError(
            f"{REGISTRY} at {old.address} is version {old.version} already: nothing to upgrade"
        )
    new = deploy_registry(w3, deployer, artifact, admin=admin)
    honour(data_dir, old)  # first: a crash after it leaves the old record current and honoured
    save_record(data_dir, new, standard_input=artifact.standard_input)
    return old, new


def retire_record(data_dir: Path, chain_id: int) -> Path | None:
    """Moves the current record aside (kept for the audit trail) so a new deploy can start."""
    path = record_path(data_dir, chain_id)
    if not path.is_file():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    retired = path.with_name(f"{path.stem}.retired-{stamp}.json")
    os.replace(path, retired)
    return retired
