"""Compile ``contracts/**/*.sol`` into ABI and bytecode, with an on-disk cache.

Which compiler: a native ``solc`` when there is one (the ``solc`` argument, else
``CHAINPROOF_SOLC``, else a binary py-solc-x installed before; we never call
``solcx.install_solc``, which downloads), otherwise solcjs (the npm ``solc`` package, wasm)
through the ``bin/solc`` shim. Both are driven by the same ``solcx.compile_standard`` call
with the same standard JSON, so they produce the same bytecode for the same version.

The standard JSON uses source unit names relative to the project root
(``contracts/EvidenceRegistry.sol``, ``node_modules/@openzeppelin/...`` through the
``@openzeppelin/`` remapping), so the output, metadata hash included, does not depend on
where the checkout lives.

Cache: ``<root>/.cache/contracts/<key>.json`` (git-ignored; pass ``cache_dir`` to move it).
The key is a SHA-256 over the compiler's identity and the whole standard JSON input, which
holds every project source (path and content) and every setting. Each entry also records the
SHA-256 of every imported file the compiler read (the OpenZeppelin sources), checked on load,
so editing or upgrading ``node_modules`` misses the cache too. A hit runs no subprocess.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypedDict, cast

import solcx
import structlog
from solcx.exceptions import SolcError

from chainproof.chain.abi import INTERFACES, INTERFACES_FILE
from chainproof.config import get_settings
from chainproof.errors import CompilerError, InvalidInputError

# Ganache 7.9 runs up to shanghai (no MCOPY/TSTORE/blob opcodes), and the contracts must run
# on every node we support (embedded py-evm, Anvil, Ganache); solc 0.8.37 defaults to osaka.
EVM_VERSION = "shanghai"
OPTIMIZER_RUNS = 200
REMAPPINGS = ["@openzeppelin/=node_modules/@openzeppelin/"]
OUTPUT_SELECTION = [
    "abi",
    "evm.bytecode.object",
    "evm.deployedBytecode.object",
    "evm.deployedBytecode.immutableReferences",
    # Only to read the exact compiler version back ("compiler.version"): asking the binary
    # with --version costs another solcjs start (~0.5 s).
    "metadata",
]
_CACHE_FORMAT = 2  # 2: entries keep the self-contained standard JSON input
_NPM_HINT = "run `make install` (or `npm install`) in the project root to install solcjs"

log = structlog.get_logger(__name__)


class ImmutableRange(TypedDict):
    """Where the constructor writes one immutable into the runtime code (byte offsets)."""

    start: int
    length: int


@dataclass(frozen=True)
class ContractArtifact:
    name: str
    source: str  # source unit name, e.g. "contracts/EvidenceRegistry.sol"
    abi: list[dict[str, Any]]
    bytecode: str  # 0x hex creation code
    runtime_bytecode: str  # 0x hex deployed code, immutables left as zeros
    # AST id -> ranges of runtime_bytecode the constructor fills in (EIP712 in OpenZeppelin
    # keeps its domain separator, name and version hashes there).
    immutable_references: dict[str, list[ImmutableRange]] = field(default_factory=dict)
    # The build it came from, for deployment records (contracts verify reproduces it): the
    # exact compiler version and the self-contained standard JSON input (every source the
    # compiler read, OpenZeppelin's included, with its content).
    compiler_version: str = ""
    standard_input: dict[str, Any] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class CompileResult:
    compiler: str  # e.g. "solcjs 0.8.37+commit.f401782d (node_modules/solc)"
    version: str  # e.g. "0.8.37+commit.f401782d"
    cached: bool
    contracts: dict[str, ContractArtifact]
    warnings: tuple[str, ...] = ()  # formatted warnings about our sources (not node_modules)
    standard_input: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class _Compiler:
    binary: Path
    kind: str  # "native" or "solcjs"
    identity: str  # cheap to compute (no subprocess); goes into the cache key

    def describe(self, version: str) -> str:
        if self.kind == "solcjs":
            return f"solcjs {version} (node_modules/solc)"
        return f"native solc {version} ({self.binary}, via py-solc-x)"


def compile_contracts(
    *,
    root: Path | None = None,
    cache_dir: Path | None = None,
    force: bool = False,
    solc: Path | None = None,
) -> CompileResult:
    """Compile every ``contracts/**/*.sol`` under ``root``, or return the cached result.

    ``force`` recompiles and rewrites the cache entry. Raises :class:`CompilerError` when no
    compiler is available or the sources do not compile.
    """
    root = (root or get_settings().root).resolve()
    compiler = _select_compiler(root, solc)
    return _compile(
        compiler,
        _standard_input(_read_sources(root)),
        root=root,
        cache_dir=cache_dir or root / ".cache" / "contracts",
        force=force,
    )


def compile_standard_input(
    std_input: dict[str, Any],
    *,
    version: str,
    root: Path | None = None,
    cache_dir: Path | None = None,
    solc: Path | None = None,
) -> CompileResult:
    """Compiles a recorded, self-contained standard JSON input (a deployment's) with the
    compiler this machine has, which must be the recorded ``version``: another version may
    emit other code from the same input. Cached like :func:`compile_contracts`."""
    root = (root or get_settings().root).resolve()
    compiler = _select_compiler(root, solc)
    have = compiler.identity.removeprefix("solcjs ") if compiler.kind == "solcjs" else None
    if have is not None and have != version.split("+")[0]:
        raise CompilerError(
            f"the deployment was compiled with solc {version}, and this machine has solcjs "
            f"{have} (node_modules/solc): install that version to reproduce it"
        )
    result = _compile(
        compiler, std_input, root=root, cache_dir=cache_dir or root / ".cache" / "contracts"
    )
    if result.version != version:
        raise CompilerError(
            f"the deployment was compiled with solc {version}, and {result.compiler} is "
            "another version: install the recorded one to reproduce it"
        )
    return result


def _compile(
    compiler: _Compiler,
    std_input: dict[str, Any],
    *,
    root: Path,
    cache_dir: Path,
    force: bool = False,
) -> CompileResult:
    key = hashlib.sha256(
        json.dumps(
            {"format": _CACHE_FORMAT, "compiler": compiler.identity, "input": std_input},
            sort_keys=True,
        ).encode()
    ).hexdigest()
    entry_path = cache_dir / f"{key}.json"
    if not force and (hit := _load_entry(entry_path, root)) is not None:
        return hit
    # Our sources are those the output is selected for; the rest are imports.
    own = set(std_input["settings"]["outputSelection"])
    sources = {name: src["content"] for name, src in std_input["sources"].items() if name in own}
    output = _run(compiler, std_input, root)
    result = _parse_output(output, compiler, sources, _self_contained(std_input, output, root))
    try:
        _write_entry(entry_path, result, _dependency_hashes(root, output, std_input["sources"]))
    except OSError as exc:  # a read-only checkout still compiles, just every time
        log.warning("contract_cache_write_failed", path=str(entry_path), error=str(exc))
    return result


def _self_contained(
    std_input: dict[str, Any], output: dict[str, Any], root: Path
) -> dict[str, Any]:
    """``std_input`` with the content of every source the compiler read (the imports it
    found under ``root``, OpenZeppelin's): compiled again, anywhere, it gives the same code,
    metadata hash included, since the unit names, contents and settings are the same."""
    sources = dict(std_input["sources"])
    for name in output.get("sources", {}):
        if name not in sources:
            try:
                sources[name] = {"content": (root / name).read_text(encoding="utf-8")}
            except OSError as exc:
                raise CompilerError(f"cannot read the imported source {name}: {exc}") from None
    return {**std_input, "sources": dict(sorted(sources.items()))}


def load_artifact(
    name: str,
    *,
    root: Path | None = None,
    cache_dir: Path | None = None,
    force: bool = False,
    solc: Path | None = None,
) -> ContractArtifact:
    """The artifact of contract ``name`` (compiled through the cache)."""
    result = compile_contracts(root=root, cache_dir=cache_dir, force=force, solc=solc)
    try:
        return result.contracts[name]
    except KeyError:
        known = ", ".join(sorted(result.contracts)) or "none"
        raise CompilerError(f"no contract named {name!r} in contracts/ (found: {known})") from None


def runtime_matches(artifact: ContractArtifact, deployed_code: bytes | str) -> bool:
    """True when ``deployed_code`` is ``artifact``'s runtime code, immutables aside."""
    return runtime_mismatch(artifact, deployed_code) is None


def runtime_mismatch(artifact: ContractArtifact, deployed_code: bytes | str) -> str | None:
    """Why ``deployed_code`` is not ``artifact``'s runtime code, or None when it is.

    The ranges listed in ``immutable_references`` are zeroed in both codes first: solc
    leaves them as zeros and the constructor writes the values (chain id, domain separator,
    ...) at deployment. Everything else must match exactly, the CBOR metadata tail too: it
    holds the hash of the metadata, which covers the source text byte for byte and the
    settings, so ignoring it would accept code built from other sources. Our builds are
    deterministic (same input, same compiler), so an exact match is achievable.
    """
    compiled = bytearray(_hex_to_bytes(artifact.runtime_bytecode))
    deployed = bytearray(_hex_to_bytes(deployed_code))
    if not deployed:
        return "no code at the address (not a contract, or the wrong chain)"
    if not compiled:
        return f"{artifact.name} has no runtime code (an interface or abstract contract)"
    if len(compiled) != len(deployed):
        return f"code size differs: {len(deployed)} bytes deployed, {len(compiled)} compiled"
    for ranges in artifact.immutable_references.values():
        for r in ranges:
            end = r["start"] + r["length"]
            compiled[r["start"] : end] = bytes(r["length"])
            deployed[r["start"] : end] = bytes(r["length"])
    if compiled == deployed:
        return None
    tail = _metadata_length(bytes(compiled))
    if tail and compiled[:-tail] == deployed[:-tail]:
        return (
            "only the metadata hash differs: same code, but built from different source text "
            "(comments, whitespace) or compiler settings"
        )
    first = next(i for i, (a, b) in enumerate(zip(compiled, deployed, strict=True)) if a != b)
    return f"code differs from byte {first} on"


def _hex_to_bytes(code: bytes | str) -> bytes:
    if isinstance(code, bytes):
        return code
    text = code[2:] if code[:2].lower() == "0x" else code
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise InvalidInputError(f"not hex bytecode: {code[:20]!r}...") from exc


def _metadata_length(code: bytes) -> int:
    """Length of the CBOR metadata tail plus its 2-byte length suffix, or 0 if implausible."""
    if len(code) < 2:
        return 0
    n = int.from_bytes(code[-2:], "big") + 2
    return n if n < len(code) else 0


def _select_compiler(root: Path, solc: Path | None) -> _Compiler:
    explicit = solc or get_settings().solc
    # An empty CHAINPROOF_SOLC= (compose files write that for "unset") parses as Path(".").
    if explicit is not None and str(explicit) not in ("", "."):
        binary = explicit.expanduser().resolve()
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            raise CompilerError(
                f"solc binary {binary} does not exist or is not executable "
                "(from the solc argument or CHAINPROOF_SOLC)"
            )
        return _native(binary)
    if (installed := _solcx_binary(root)) is not None:
        return _native(installed)

    shim = root / "bin" / "solc"
    package = root / "node_modules" / "solc" / "package.json"
    if not package.is_file():
        raise CompilerError(
            f"no Solidity compiler: no native solc (set CHAINPROOF_SOLC) and no solcjs in "
            f"{root / 'node_modules'}; {_NPM_HINT}"
        )
    if not shim.is_file():
        raise CompilerError(f"the solcjs shim {shim} is missing (it ships with the checkout)")
    if shutil.which("node") is None:
        raise CompilerError("solcjs needs Node.js, and `node` is not on PATH")
    npm_version = json.loads(package.read_text())["version"]
    return _Compiler(binary=shim, kind="solcjs", identity=f"solcjs {npm_version}")


def _native(binary: Path) -> _Compiler:
    stat = binary.stat()
    return _Compiler(
        binary=binary,
        kind="native",
        identity=f"native {binary} {stat.st_size} {stat.st_mtime_ns}",
    )


def _solcx_binary(root: Path) -> Path | None:
    """A solc py-solc-x already has: the active one, else the project's pinned version
    (solcjs's, from node_modules), else the newest."""
    active = solcx.install.get_default_solc_binary()
    if active is not None:
        return Path(active)
    versions = solcx.get_installed_solc_versions()
    if not versions:
        return None
    pinned = root / "node_modules" / "solc" / "package.json"
    if pinned.is_file():
        want = json.loads(pinned.read_text())["version"]
        versions = sorted(versions, key=lambda v: str(v) != want)  # stable: newest stays next
    return Path(solcx.install.get_executable(version=versions[0]))


def _read_sources(root: Path) -> dict[str, str]:
    paths = sorted((root / "contracts").rglob("*.sol"))
    if not paths:
        raise CompilerError(f"no Solidity sources under {root / 'contracts'}")
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in paths}


def _standard_input(sources: dict[str, str]) -> dict[str, Any]:
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": {
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "evmVersion": EVM_VERSION,
            "remappings": REMAPPINGS,
            # Our files only: OpenZeppelin's contracts are compiled but not emitted.
            "outputSelection": {name: {"*": OUTPUT_SELECTION} for name in sources},
        },
    }


def _run(compiler: _Compiler, std_input: dict[str, Any], root: Path) -> dict[str, Any]:
    # node_modules may be a symlink (a second checkout, the tests): native solc's sandbox
    # checks resolved paths, so allow the real folder too.
    allow = [root, (root / "node_modules").resolve()]
    try:
        output: dict[str, Any] = solcx.compile_standard(
            std_input, solc_binary=compiler.binary, base_path=root, allow_paths=allow
        )
    except SolcError as exc:
        if exc.error_dict:
            # solcx annotates error_dict as a dict; it is the output's "errors" list.
            diagnostics = cast("list[dict[str, Any]]", exc.error_dict)
            raise CompilerError(
                "the contracts do not compile:\n" + _format_errors(diagnostics),
                compiler=str(compiler.binary),
            ) from None
        detail = (exc.stderr_data or exc.message or "").strip()
        raise CompilerError(f"{compiler.binary} failed: {detail}") from None
    except (OSError, subprocess.CalledProcessError, ValueError) as exc:
        # Cannot start the binary, --version failed, or the output is not JSON.
        raise CompilerError(f"{compiler.binary} failed: {exc}") from None
    return output


def _format_errors(errors: list[dict[str, Any]]) -> str:
    return "\n".join(
        e.get("formattedMessage") or e.get("message", "") for e in errors if _is_error(e)
    ).strip()


def _is_error(diagnostic: dict[str, Any]) -> bool:
    return diagnostic.get("severity") == "error"


def _parse_output(
    output: dict[str, Any],
    compiler: _Compiler,
    sources: dict[str, str],
    standard_input: dict[str, Any],
) -> CompileResult:
    diagnostics: list[dict[str, Any]] = output.get("errors", [])
    if any(_is_error(d) for d in diagnostics):  # solcx raises first; kept for other drivers
        raise CompilerError("the contracts do not compile:\n" + _format_errors(diagnostics))
    warnings = tuple(
        d.get("formattedMessage", d.get("message", "")).strip()
        for d in diagnostics
        if d.get("sourceLocation", {}).get("file", "") in sources
    )

    contracts: dict[str, ContractArtifact] = {}
    version = ""
    for source, by_name in sorted(output.get("contracts", {}).items()):
        for name, out in sorted(by_name.items()):
            if name in contracts:
                raise CompilerError(
                    f"contract name {name} is in both {contracts[name].source} and {source}; "
                    "names must be unique"
                )
            evm = out["evm"]
            contracts[name] = ContractArtifact(
                name=name,
                source=source,
                abi=out["abi"],
                bytecode="0x" + evm["bytecode"]["object"],
                runtime_bytecode="0x" + evm["deployedBytecode"]["object"],
                immutable_references=evm["deployedBytecode"].get("immutableReferences", {}),
            )
            version = version or json.loads(out["metadata"])["compiler"]["version"]
    if not contracts:
        raise CompilerError("the compiler returned no contracts")
    return _with_build(
        CompileResult(
            compiler=compiler.describe(version),
            version=version,
            cached=False,
            contracts=contracts,
            warnings=warnings,
            standard_input=standard_input,
        )
    )


def _with_build(result: CompileResult) -> CompileResult:
    """Each artifact told the compiler version and input it came from."""
    contracts = {
        name: replace(a, compiler_version=result.version, standard_input=result.standard_input)
        for name, a in result.contracts.items()
    }
    return replace(result, contracts=contracts)


def _dependency_hashes(
    root: Path, output: dict[str, Any], sources: dict[str, Any]
) -> dict[str, str | None]:
    """SHA-256 of every imported file the compiler read (None if not under ``root``)."""
    return {name: _file_hash(root / name) for name in output["sources"] if name not in sources}


def _file_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _load_entry(path: Path, root: Path) -> CompileResult | None:
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        if entry["format"] != _CACHE_FORMAT:
            return None
        if any(_file_hash(root / n) != h for n, h in entry["dependencies"].items()):
            return None  # node_modules changed under us
        return _with_build(
            CompileResult(
                compiler=entry["compiler"],
                version=entry["version"],
                cached=True,
                contracts={n: ContractArtifact(**a) for n, a in entry["contracts"].items()},
                warnings=tuple(entry["warnings"]),
                standard_input=entry["standard_input"],
            )
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or damaged entry: recompile and rewrite it


def _write_entry(path: Path, result: CompileResult, dependencies: dict[str, str | None]) -> None:
    entry = {
        "format": _CACHE_FORMAT,
        "compiler": result.compiler,
        "version": result.version,
        "dependencies": dependencies,
        "warnings": list(result.warnings),
        "standard_input": result.standard_input,
        "contracts": {
            name: {
                "name": a.name,
                "source": a.source,
                "abi": a.abi,
                "bytecode": a.bytecode,
                "runtime_bytecode": a.runtime_bytecode,
                "immutable_references": a.immutable_references,
            }
            for name, a in result.contracts.items()
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename: a concurrent reader sees the old entry or the new one, never half.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem[:16]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(entry, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_interfaces(path: Path = INTERFACES_FILE) -> None:
    """Writes ``chain/interfaces.json``: the ABI of the interfaces a verifier reads
    (:mod:`chainproof.chain.abi`), as this compiler gives them."""
    compiled = compile_contracts().contracts
    data = {name: compiled[name].abi for name in INTERFACES}
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_interfaces()
