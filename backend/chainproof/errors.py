"""The one exception root of ChainProof.

Every error the project raises on purpose derives from :class:`ChainProofError`, mixed in with
the stdlib class a caller would catch anyway, in the style of web3.py::

    ChainProofError
    ├── ConfigError(ValueError)              settings that cannot work (bad URL, default secret)
    ├── CompilerError(RuntimeError)          no compiler, or the sources do not compile
    ├── ChainError(RuntimeError)             the node: unreachable, failed to start, RPC error
    │   ├── NodeStartError                   a managed node did not come up
    │   ├── ChainMismatchError               the chain is not the one we deployed/anchored on
    │   └── TransactionError                 a transaction reverted or was dropped
    │       └── ContractRevertError          a decoded custom error from one of our contracts
    ├── NotFoundError(LookupError)           no such evidence, receipt, member, ...
    ├── InvalidInputError(ValueError)        bad digest, bad receipt, bad file
    ├── ConflictError(RuntimeError)          the state does not allow it (pending receipt, ...)
    └── AuthError(PermissionError)           missing or insufficient credentials

The API maps each branch to one HTTP status (see ``api/errors.py``); routes never see raw
web3 exceptions, because ``chain/`` translates them at its boundary.
"""

from __future__ import annotations

from typing import Any


class ChainProofError(Exception):
    """Root of every ChainProof error. ``code`` is a stable machine-readable name."""

    code: str = "chainproof_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ConfigError(ChainProofError, ValueError):
    code = "config_error"


class CompilerError(ChainProofError, RuntimeError):
    code = "compiler_error"


class ChainError(ChainProofError, RuntimeError):
    code = "chain_error"


class NodeStartError(ChainError):
    code = "node_start_failed"


class ChainMismatchError(ChainError):
    code = "chain_mismatch"


class TransactionError(ChainError):
    code = "transaction_failed"


class ContractRevertError(TransactionError):
    """A revert decoded from a contract custom error: ``error_name`` and its ``args``."""

    code = "contract_revert"

    def __init__(self, error_name: str, args: dict[str, Any], message: str | None = None) -> None:
        super().__init__(message or f"contract reverted with {error_name}({args})", **args)
        self.error_name = error_name
        self.error_args = args


class NotFoundError(ChainProofError, LookupError):
    code = "not_found"


class InvalidInputError(ChainProofError, ValueError):
    code = "invalid_input"


class ConflictError(ChainProofError, RuntimeError):
    code = "conflict"


class AuthError(ChainProofError, PermissionError):
    code = "unauthorized"


class WouldBlock(Exception):
    """An answer asked for with ``may_block=False`` needs the chain or a cold read.

    Not a :class:`ChainProofError` on purpose: it is control flow between the verify route
    and the services, never an answer. The caller asks again from a worker thread, where
    waiting is allowed (``api/routes/verify.py``).
    """
