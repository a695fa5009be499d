"""Settings, read once from the environment (``CHAINPROOF_*``) and ``.env``.

Everything tunable lives here, so tests override one object (``get_settings.cache_clear()`` or
FastAPI's ``dependency_overrides``) instead of patching modules.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chainproof.errors import ConfigError

# The first key of the well-known development mnemonic ("test test ... junk") that Anvil,
# Hardhat and our Ganache launcher fund at genesis. Public knowledge: fine on a local dev
# chain, refused anywhere else (see ``_refuse_unsafe_defaults``).
DEV_OPERATOR_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_SECRET_KEY = "dev-only-secret-change-me"

ChainSpec = str  # "embedded" | "anvil" | "ganache" | an http(s):// JSON-RPC URL


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHAINPROOF_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("data")
    database_url: str | None = None
    chain: ChainSpec = "anvil"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    chain_port: int | None = Field(default=None, ge=1, le=65535)  # managed node; None: free
    public_rpc_url: str | None = None  # where third parties verify; defaults to the node's URL
    solc: Path | None = None  # a native solc binary; otherwise py-solc-x's, otherwise solcjs
    project_root: Path | None = None  # where contracts/ and node_modules/ live (autodetected)

    # SecretStr keeps keys out of reprs and logs; read them with .get_secret_value().
    operator_key: SecretStr = SecretStr(DEV_OPERATOR_KEY)
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)

    batch_size: int = Field(default=1000, ge=1, le=100_000)
    batch_interval_ms: int = Field(default=500, ge=10)
    confirmations: int = Field(default=1, ge=1)
    gas_cap: int = Field(default=16_777_216, ge=100_000)  # EIP-7825 per-transaction cap
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1)
    hash_algorithm: Literal["sha256", "sm3", "keccak256"] = "sha256"

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.env == "production":
            if self.operator_key.get_secret_value() == DEV_OPERATOR_KEY:
                raise ConfigError(
                    "CHAINPROOF_OPERATOR_KEY is the public development key; "
                    "set a real key before running with CHAINPROOF_ENV=production"
                )
            if self.secret_key.get_secret_value() == DEV_SECRET_KEY:
                raise ConfigError(
                    "CHAINPROOF_SECRET_KEY is the development default; "
                    "set a long random value before running with CHAINPROOF_ENV=production"
                )
        return self

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
