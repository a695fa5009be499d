"""Settings, read once from the environment (``CHAINPROOF_*``) and ``.env``.

Everything tunable lives here, so tests override one object (``get_settings.cache_clear()`` or
FastAPI's ``dependency_overrides``) instead of patching modules.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from chainproof.devchain import DEV_PRIVATE_KEYS
from chainproof.errors import ConfigError
from chainproof.vocabulary import MANAGED_CHAINS, Algorithm, chain_kind

# The first key of the well-known development mnemonic ("test test ... junk") that Anvil,
# Hardhat and our Ganache launcher fund at genesis. Public knowledge: fine on a local dev
# chain, refused anywhere else (see ``Settings._unsafe_default``).
DEV_OPERATOR_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_SECRET_KEY = "dev-only-secret-change-me"
# The relay's development key: another account of the same mnemonic (funded on every dev
# chain), never the operator's, so that the relay and a deployment anchoring on the main
# chain with dev key 0 do not share a nonce there.
RELAY_DEV_KEY = DEV_PRIVATE_KEYS[8]
# Outside development a secret key shorter than this is refused: it derives the key that
# encrypts custodial chain keys at rest (store/crypto.py).
MIN_SECRET_KEY_LENGTH = 32

ChainSpec = str  # "embedded" | "anvil" | "ganache" | an http(s):// JSON-RPC URL


class Settings(BaseSettings):
    # hide_input_in_errors: a refused setting must not print the secrets it was given.
    # env_ignore_empty: compose's `${CHAINPROOF_OPERATOR_KEY:-}` sets an empty variable, which
    # must mean "unset" (the default), not a key "" (issue 15).
    model_config = SettingsConfigDict(
        env_prefix="CHAINPROOF_",
        env_file=".env",
        extra="ignore",
        hide_input_in_errors=True,
        env_ignore_empty=True,
    )

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("data")
    database_url: str | None = None
    chain: ChainSpec = "anvil"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    chain_port: int | None = Field(default=None, ge=1, le=65535)  # managed node; None: free
    # Where third parties verify: the only RPC URL ever published (published_rpc_url).
    public_rpc_url: str | None = None
    # GS1 Digital Link resolver domain printed in item QR codes (trace, issue #5).
    gs1_resolver: str = "https://id.gs1.org"
    # Base URL of the public pages, for certificate links and QR codes (/verify, /t/{code}).
    # Never taken from a request's Host header; empty: the bind address (development only).
    public_url: str = ""
    trace_publish_interval_ms: int = Field(default=1000, ge=10)  # on-chain head publisher
    # Cross-chain (issue 22): the main chain this deployment's chain is checkpointed into,
    # its ChainRegistry (unset: the data dir's record, or deployed there in development),
    # and how often a range is posted (every K blocks, or T seconds when fewer came).
    main_chain: str | None = None
    main_chain_registry: str | None = None
    chain_name: str = Field(default="", max_length=64)  # registered there (e.g. 南宁)
    checkpoint_blocks: int = Field(default=64, ge=1, le=1024)
    checkpoint_seconds: float = Field(default=60.0, gt=0)
    # The sub-chain's validators' signing endpoints (comma-separated URLs of `chainproof
    # crosschain signer`): the relay gathers threshold signatures there. Empty: it signs
    # with the operator key alone (development: the one registered signer).
    checkpoint_signers: str = ""
    # Cross-chain recalls: on a sub deployment, the main chain's deployment (base URL) its
    # relay delivers each checkpointed recall and lift to; on a main deployment, the
    # ChainRegistry on its own chain whose sub-chains' messages it accepts (unset: none).
    main_deployment: str | None = None
    chain_registry: str | None = None
    # Dual anchoring: each confirmed batch root anchored on this other chain too, by the
    # relay key, at its EvidenceRegistry (unset: the data dir's record, or deployed there in
    # development). The receipt lists both anchors (crosschain/second_anchor.py).
    second_chain: str | None = None
    second_chain_registry: str | None = None
    # The key the relay sends its main-chain transactions with: a key of its own, whose nonce
    # the relay's writer alone owns (the main chain's deployment may send with the operator
    # key there). Unset: RELAY_DEV_KEY outside production; required in production.
    relay_key: SecretStr | None = None
    solc: Path | None = None  # a native solc binary; otherwise py-solc-x's, otherwise solcjs
    project_root: Path | None = None  # where contracts/ and node_modules/ live (autodetected)

    # SecretStr keeps keys out of reprs and logs; read them with .get_secret_value().
    operator_key: SecretStr = SecretStr(DEV_OPERATOR_KEY)
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    # The address (an offline key) a new EvidenceRegistry makes its DEFAULT_ADMIN; unset,
    # the operator key is (development only: transfer it, docs/operations.md).
    registry_admin: str | None = None

    batch_size: int = Field(default=1000, ge=1, le=100_000)
    batch_interval_ms: int = Field(default=500, ge=10)
    # When an anchor is final (evidence/finality.py): "finalized" (the node's tag: QBFT,
    # post-merge), "confirmations" (N blocks: clique, FISCO BCOS), "auto" (the tag where an
    # external node has it). Unset confirmations: 1 on dev chains, 6 (clique) elsewhere.
    finality: Literal["auto", "finalized", "confirmations"] = "auto"
    confirmations: int | None = Field(default=None, ge=1)
    # Several endpoints (CHAINPROOF_CHAIN=url1,url2,...; chain/endpoints.py): an endpoint whose
    # head is more than this many blocks behind the best one is set aside.
    endpoint_max_lag: int = Field(default=3, ge=0)
    endpoint_check_interval_ms: int = Field(default=1000, ge=50)
    # Verification asks every endpoint for the anchoring block's hash and needs this many to
    # agree (0: off, the preferred endpoint's word is enough).
    verify_quorum: int = Field(default=0, ge=0, le=64)
    gas_cap: int = Field(default=16_777_216, ge=100_000)  # EIP-7825 per-transaction cap
    # Transaction type (chain/sender.py): "auto" sends legacy (type 0) where the chain has no
    # base fee or a zero one (free-gas consortium networks), EIP-1559 elsewhere.
    tx_type: Literal["auto", "legacy", "eip1559"] = "auto"
    gas_price: int | None = Field(default=None, ge=0)  # legacy price in wei; unset: the node's
    # A batch's transaction pending this long is replaced at its nonce with higher fees (at a
    # zero price, broadcast again).
    stuck_after_s: float = Field(default=60.0, gt=0)
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1)
    hash_algorithm: Algorithm = "sha256"
    # Per caller (API key, else client address), moving window: N/second|minute|hour.
    rate_limit_anchor: str = "120/minute"
    rate_limit_keys: str = "10/minute"
    # Anonymous routes that cost more than a lookup, per client address (api/ratelimit.py).
    rate_limit_verify: str = "600/minute"
    rate_limit_trace_hash: str = "60/minute"
    rate_limit_explorer: str = "300/minute"
    rate_limit_render: str = "60/minute"
    rate_limit_scan: str = "300/minute"
    rate_limit_auth_failures: str = "60/minute"  # 401 answers per client address
    # People's sign-in (accounts/): POSTs to /signin and /invite per client address, and the
    # failed sign-ins after which an account (by email) or an address is locked out a while.
    rate_limit_signin: str = "30/minute"
    signin_lockout_account: str = "5/15minutes"
    signin_lockout_address: str = "50/15minutes"
    session_hours: int = Field(default=12, ge=1, le=24 * 30)  # a session cookie's lifetime
    rate_limit_tsa: str = "60/minute"  # POST /tsa, per key or (anonymous) per address
    # Where the budgets are counted: this process's memory, or a store every replica shares
    # (redis://host:6379): with memory, N replicas grant N times each budget.
    rate_limit_storage: str = "memory://"
    # How long an EPCIS capture job is its runner's before any process may run it again (a
    # runner killed mid-job leaves it running; trace/epcis_jobs.py).
    epcis_job_lease_seconds: float = Field(default=30.0, gt=0)
    # EPCIS webhook destinations on loopback or private addresses (a test, a closed network):
    # refused unless this is set (trace/epcis_webhooks.py).
    epcis_webhook_allow_private: bool = False
    epcis_webhook_interval_seconds: float = Field(default=0.5, gt=0)
    # How long a webhook delivery being sent is its sender's (one killed mid-POST leaves it
    # claimed: it is sent again once this lapses).
    epcis_webhook_lease_seconds: float = Field(default=30.0, gt=0)
    # /metrics names queue depths, signers and chain lag: an admin key reads it, anyone only
    # when this is set (a scraper on a private network; api/routes/metrics.py).
    metrics_public: bool = False
    # `chainproof worker` has no API: "host:port" serves its /metrics there (no key asked:
    # bind it to a private network only). Unset: none.
    worker_metrics: str | None = None

    # RFC 3161 TSA and signed certificates (timestamping/pki.py): the CA, TSA and signer
    # keys and certificates (PEM or PKCS#12). None: <data dir>/pki, where a development PKI
    # is made on first use outside production.
    pki_dir: Path | None = None
    pki_password: SecretStr | None = None
    tsa_policy_oid: str = Field(default="2.999.3161.1", pattern=r"^[0-2](\.[0-9]{1,9}){1,20}$")
    tsa_accuracy_ms: int = Field(default=1000, ge=1, le=60_000)
    # Whether POST /tsa answers callers without a key (their stamps are the platform's).
    tsa_anonymous: bool = True

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        problem = self._unsafe_default()
        if problem is not None:
            field, message = problem
            # Raised here, not from a model validator: pydantic would record the whole
            # input (secrets included) in the error's ``input``, which ``errors()`` and
            # some loggers print whatever ``hide_input_in_errors`` says.
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("unsafe_default", message),
                        loc=(field,),
                        input="[hidden]",
                    )
                ],
                hide_input=True,
            )
        if not self.public_url:  # development: the bind address, never a request's Host
            host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
            self.public_url = f"http://{host}:{self.port}"

    def _unsafe_default(self) -> tuple[str, str] | None:
        """The setting that must not be used outside development, and why."""
        if self.env != "production":
            return None
        # Every key of the public development mnemonic, not only the first: each is funded
        # on every dev chain and known to everyone.
        public = {k.lower().removeprefix("0x") for k in (DEV_OPERATOR_KEY, *DEV_PRIVATE_KEYS)}
        if self.operator_key.get_secret_value().lower().removeprefix("0x") in public:
            return "operator_key", (
                "CHAINPROOF_OPERATOR_KEY is the public development key; "
                "set a real key before running with CHAINPROOF_ENV=production"
            )
        relay = self._unsafe_relay_key(public)
        if relay is not None:
            return "relay_key", relay
        if self.secret_key.get_secret_value() == DEV_SECRET_KEY:
            return "secret_key", (
                "CHAINPROOF_SECRET_KEY is the development default; "
                "set a long random value before running with CHAINPROOF_ENV=production"
            )
        if len(self.secret_key.get_secret_value()) < MIN_SECRET_KEY_LENGTH:
            return "secret_key", (
                f"CHAINPROOF_SECRET_KEY is shorter than {MIN_SECRET_KEY_LENGTH} characters; "
                "set a long random value, e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`"
            )
        if not self.public_rpc_url:
            return "public_rpc_url", (
                "CHAINPROOF_PUBLIC_RPC_URL is not set; set the JSON-RPC URL third parties "
                "verify with before running with CHAINPROOF_ENV=production (the node's own "
                "URL, which may hold a token, is never published)"
            )
        if not self.public_url:
            return "public_url", (
                "CHAINPROOF_PUBLIC_URL is not set; set the base URL of the public pages "
                "(certificate links and QR codes) before running with CHAINPROOF_ENV=production"
            )
        return None

    def _unsafe_relay_key(self, public: set[str]) -> str | None:
        if not self.main_chain and not self.second_chain:
            return None
        if self.relay_key is None:
            return (
                "CHAINPROOF_RELAY_KEY is not set; CHAINPROOF_MAIN_CHAIN and "
                "CHAINPROOF_SECOND_CHAIN need a key of the relay's own to send with before "
                "running with CHAINPROOF_ENV=production"
            )
        key = self.relay_key.get_secret_value().lower().removeprefix("0x")
        if key in public:
            return "CHAINPROOF_RELAY_KEY is a public development key; set a real key"
        if key == self.operator_key.get_secret_value().lower().removeprefix("0x"):
            return (
                "CHAINPROOF_RELAY_KEY is the operator key; give the relay a key of its own "
                "(one nonce owner per key on the main chain)"
            )
        return None

    @property
    def resolved_relay_key(self) -> str:
        """The relay's key (``RELAY_DEV_KEY`` when unset, which production refuses)."""
        return self.relay_key.get_secret_value() if self.relay_key else RELAY_DEV_KEY

    def published_rpc_url(self, node_url: str | None) -> str | None:
        """The JSON-RPC URL third parties are told to verify with.

        ``CHAINPROOF_PUBLIC_RPC_URL``; else the URL of a node ChainProof runs itself on this
        machine (``anvil``, ``ganache``: no credentials in it); never the URL of an external
        node (``CHAINPROOF_CHAIN=https://...``), which may carry a token (F21).
        """
        if self.public_rpc_url:
            return self.public_rpc_url
        return node_url if chain_kind(self.chain) in MANAGED_CHAINS else None

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'chainproof.db').resolve()}"

    @property
    def root(self) -> Path:
        """The project checkout holding ``contracts/`` and ``node_modules/``."""
        if self.project_root is not None:
            return self.project_root.resolve()
        return find_project_root()


def find_project_root(start: Path | None = None) -> Path:
    """Walk up from this file (or ``start``) to the folder that holds ``contracts/``."""
    here = (start or Path(__file__)).resolve()
    for candidate in [here, *here.parents]:
        if (candidate / "contracts").is_dir() and (candidate / "package.json").is_file():
            return candidate
    cwd = Path.cwd().resolve()
    if (cwd / "contracts").is_dir():
        return cwd
    raise ConfigError(
        "cannot find the ChainProof checkout (a folder with contracts/ and package.json); "
        "set CHAINPROOF_PROJECT_ROOT"
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
