"""A small typed client for a ChainProof server's REST API (``/api/v1``, issue #3).

It is what the ``chainproof anchor / verify / receipt`` commands talk through, and what a
script uses to notarise files from another machine::

    with ChainProofClient("http://127.0.0.1:8000", api_key=key) as cp:
        items = cp.anchor_files(["contract.pdf"])
        done = cp.wait_anchored([i["id"] for i in items], timeout=60)
        receipt = cp.receipt(items[0]["id"])

Only the documented shapes are relied on (``items``, ``status``, ``verdict``, ...); every
answer is handed back as the JSON object the server sent, so fields the server adds later
reach the caller untouched.

Uploads stream from disk (httpx reads each file part 64 KiB at a time), and are hashed on
the way out, so the client can check that the server hashed exactly the bytes it sent.
``verify_file`` never uploads anything: it hashes locally and sends the digest.

Errors, under the project's one root::

    ChainProofError
    └── ClientError(RuntimeError)       the server answered 4xx/5xx, or the exchange failed
        ├── ServerUnreachableError      nothing listens at the URL (is `chainproof serve` up?)
        └── WaitTimeoutError            wait_anchored() ran out of time; .results has the
                                        latest state of every document
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Final, Self

import httpx

from chainproof import __version__
from chainproof.digests import (
    Algorithm,
    Hasher,
    check_algorithm,
    hash_file,
    new_hasher,
    parse_digest,
    to_hex,
)
from chainproof.errors import ChainProofError
from chainproof.public_ids import parse_public_id

__all__ = [
    "DEFAULT_SERVER",
    "TERMINAL_STATUSES",
    "ChainProofClient",
    "ClientError",
    "ProgressCallback",
    "ServerUnreachableError",
    "WaitTimeoutError",
]

DEFAULT_SERVER: Final = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT: Final = 30.0
# Statuses a document never leaves once reached: waiting stops there.
TERMINAL_STATUSES: Final = frozenset({"anchored", "revoked"})
# The bulk endpoint's cap (issue #3): larger lists are sent in several requests.
MAX_DIGESTS_PER_REQUEST: Final = 10_000
# Files per multipart request: bounds open descriptors and the work lost to one failure.
MAX_FILES_PER_REQUEST: Final = 64

ProgressCallback = Callable[[int, int], None]
"""Called with ``(done, total)``: bytes for uploads, documents for waits."""

# What a status means for the user, appended to the server's message.
_HINTS: Final[dict[int, str]] = {
    401: "pass an API key with --api-key or CHAINPROOF_API_KEY "
    "(create one with `chainproof keys create --org NAME --role submitter`)",
    403: "this API key's role may not do that (anchoring needs a submitter key)",
    413: "the upload is larger than the server accepts (CHAINPROOF_MAX_UPLOAD_BYTES)",
}


class ClientError(ChainProofError, RuntimeError):
    """The server refused a request, or the exchange with it failed.

    ``status`` is the HTTP status (``None`` when no answer came), ``code`` the server's
    machine-readable error code, ``message`` the server's own words; ``str()`` adds the
    status, the code and what to do about it.
    """

    code = "client_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        hint: str | None = None,
        **details: Any,
    ) -> None:
        if code is not None:
            self.code = code
        self.status = status
        self.hint = hint
        text = message if status is None else f"{message} (HTTP {status}, {self.code})"
        text += f"; {hint}" if hint else ""
        super().__init__(text, status=status, code=self.code, **details)
        self.message = message  # the server's words, without our decoration


class ServerUnreachableError(ClientError):
    """Nothing answered at the server URL."""

    code = "server_unreachable"

    def __init__(self, base_url: str, reason: str) -> None:
        super().__init__(
            f"cannot reach the ChainProof server at {base_url} "
            f"(is `chainproof serve` running?): {reason}",
            url=base_url,
        )


class WaitTimeoutError(ClientError):
    """``wait_anchored`` gave up; ``results`` holds the last answer for every document."""

    code = "wait_timeout"

    def __init__(self, timeout: float, results: dict[str, dict[str, Any]]) -> None:
        self.results = results
        done = sum(1 for ev in results.values() if ev.get("status") in TERMINAL_STATUSES)
        super().__init__(
            f"{done} of {len(results)} documents anchored after {timeout:g}s; the rest are "
            "still queued (they stay queued: check again later)",
            hint="raise --timeout, or check the server's batcher (`chainproof status`)",
        )


class _UploadFile:
    """A file opened for a multipart part, counting and hashing what httpx reads from it.

    httpx sizes the part with ``fileno()``/``fstat`` (so the request has a Content-Length),
    seeks to 0 before it sends the part and reads it 64 KiB at a time: memory stays flat
    whatever the file size. A seek back to 0 (a re-sent body) restarts the count and hash.
    """

    def __init__(self, raw: BinaryIO, algorithm: Algorithm, on_read: Callable[[], None]) -> None:
        self._raw = raw
        self._algorithm = algorithm
        self._on_read = on_read
        self.position = 0
        self._hasher: Hasher | None = new_hasher(algorithm)

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if data:
            if self._hasher is not None:
                self._hasher.update(data)
            self.position += len(data)
            self._on_read()
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self.position = self._raw.seek(offset, whence)
        # Only a full re-read yields a digest we can compare with the server's.
        self._hasher = new_hasher(self._algorithm) if self.position == 0 else None
        self._on_read()
        return self.position

    def tell(self) -> int:
        return self._raw.tell()

    def fileno(self) -> int:
        return self._raw.fileno()

    def digest(self) -> str | None:
        """The digest of everything sent, or None if the stream was not read in one pass."""
        return to_hex(self._hasher.digest()) if self._hasher is not None else None


class ChainProofClient:
    """Talks to one ChainProof server. Thread-compatible (one httpx client), not async."""

    def __init__(
        self,
        base_url: str = DEFAULT_SERVER,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        url = base_url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ClientError(
                f"the server URL must start with http:// or https://, got {base_url!r}",
                code="invalid_url",
            )
        self.base_url = url
        self.timeout = timeout
        headers = {"Accept": "application/json", "User-Agent": f"chainproof-client/{__version__}"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key.strip()}"
        self._http = httpx.Client(
            base_url=url, headers=headers, timeout=timeout, transport=transport
        )

    # ---- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ChainProofClient {self.base_url}>"

    # ---- anchoring -----------------------------------------------------------------------

    def anchor_files(
        self,
        paths: Sequence[str | os.PathLike[str]],
        label: str | None = None,
        algorithm: Algorithm = "sha256",
        *,
        on_upload: ProgressCallback | None = None,
    ) -> list[dict[str, Any]]:
        """Uploads ``paths`` (streamed from disk) and returns one item per file, in order:
        ``{"id", "algorithm", "digest", "status", ...}``.

        The algorithm goes in the query and the form: a server that hashes with another says so
        in each item's ``algorithm``. Where the algorithms agree, the server's digest must be
        the one of the bytes sent, or :class:`ClientError` (``digest_mismatch``) is raised.
        """
        algorithm = check_algorithm(algorithm)
        files = [Path(p) for p in paths]
        if not files:
            return []
        sizes = [_file_size(f) for f in files]
        total = sum(sizes)
        sent_before = 0  # bytes of the groups already uploaded
        items: list[dict[str, Any]] = []
        for start in range(0, len(files), MAX_FILES_PER_REQUEST):
            group = files[start : start + MAX_FILES_PER_REQUEST]
            with ExitStack() as stack:
                uploads: list[_UploadFile] = []

                def report(base: int = sent_before, uploads: list[_UploadFile] = uploads) -> None:
                    if on_upload is not None:
                        on_upload(base + sum(u.position for u in uploads), total)

                for path in group:
                    raw = stack.enter_context(_open(path))
                    uploads.append(_UploadFile(raw, algorithm, report))
                parts = [
                    ("file", (path.name, upload, "application/octet-stream"))
                    for path, upload in zip(group, uploads, strict=True)
                ]
                data = {"algorithm": algorithm, **({"label": label} if label else {})}
                body = self._request(
                    "POST",
                    "/api/v1/evidence",
                    params={"algorithm": algorithm},
                    data=data,
                    files=parts,
                )
                got = _items(body, len(group))
                for path, upload, item in zip(group, uploads, got, strict=True):
                    local = upload.digest()
                    if item.get("algorithm") == algorithm and local and item.get("digest") != local:
                        raise ClientError(
                            f"the server recorded digest {item.get('digest')} for {path}, but "
                            f"the bytes sent hash to {local}: the upload was altered on the way",
                            code="digest_mismatch",
                            evidence_id=item.get("id"),
                        )
                items.extend(got)
            sent_before += sum(sizes[start : start + MAX_FILES_PER_REQUEST])
        return items

    def anchor_digests(
        self,
        algorithm: Algorithm,
        digests: Iterable[bytes | str],
        label: str | None = None,
    ) -> list[dict[str, Any]]:
        """Queues digests computed elsewhere (``0x`` hex or 32 raw bytes); one item each."""
        algorithm = check_algorithm(algorithm)
        texts = [to_hex(_digest_bytes(d, algorithm)) for d in digests]
        items: list[dict[str, Any]] = []
        for start in range(0, len(texts), MAX_DIGESTS_PER_REQUEST):
            chunk = texts[start : start + MAX_DIGESTS_PER_REQUEST]
            payload: dict[str, Any] = {"algorithm": algorithm, "digests": chunk}
            if label:
                payload["label"] = label
            body = self._request("POST", "/api/v1/evidence/digests", json=payload)
            items.extend(_items(body, len(chunk)))
        return items

    # ---- reading -------------------------------------------------------------------------

    def get_evidence(self, evidence_id: str) -> dict[str, Any]:
        """``{"id", "status"}``, and with a key that may see the record ``"algorithm"``,
        ``"digest"``, ``"member"``, ``"anchor": null | {...}`` and its metadata."""
        return self._request("GET", f"/api/v1/evidence/{_id(evidence_id)}")

    def wait_anchored(
        self,
        ids: Iterable[str],
        timeout: float,
        poll: float = 0.5,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Polls until every document is anchored (or revoked); their latest states by id.

        Raises :class:`WaitTimeoutError` (with ``results``) after ``timeout`` seconds.
        """
        wanted = list(dict.fromkeys(ids))
        results: dict[str, dict[str, Any]] = {}
        pending = list(wanted)
        deadline = time.monotonic() + timeout
        while True:
            still: list[str] = []
            for evidence_id in pending:
                state = self.get_evidence(evidence_id)
                results[evidence_id] = state
                if state.get("status") not in TERMINAL_STATUSES:
                    still.append(evidence_id)
            pending = still
            if on_progress is not None:
                on_progress(len(wanted) - len(pending), len(wanted))
            if not pending:
                return {i: results[i] for i in wanted}
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaitTimeoutError(timeout, {i: results[i] for i in wanted})
            time.sleep(min(poll, left))

    def receipt(self, evidence_id: str) -> dict[str, Any]:
        """The self-contained receipt; :class:`ClientError` with status 409 while pending."""
        return self._request("GET", f"/api/v1/evidence/{_id(evidence_id)}/receipt")

    def chain_info(self) -> dict[str, Any]:
        """``{"chain_id", "contract", "genesis_hash", "rpc_url"}``: where to verify."""
        return self._request("GET", "/api/v1/chain")

    def health(self) -> dict[str, Any]:
        return self._request("GET", "/healthz")

    def ready(self) -> dict[str, Any]:
        """``/readyz``; :class:`ClientError` (503) with the server's reason when not ready."""
        return self._request("GET", "/readyz")

    # ---- verifying -----------------------------------------------------------------------

    def verify_file(
        self, path: str | os.PathLike[str], algorithm: Algorithm = "sha256"
    ) -> dict[str, Any]:
        """Hashes ``path`` here and asks for a verdict: the file never leaves this machine."""
        algorithm = check_algorithm(algorithm)
        with _translated_os_error(Path(path)):
            digest = hash_file(path, algorithm)
        return self.verify_digest(algorithm, digest)

    def verify_digest(self, algorithm: Algorithm, digest: bytes | str) -> dict[str, Any]:
        """``{"verdict": "anchored" | "pending" | "not_found" | "revoked" |
        "chain_mismatch", "reason", ...}``."""
        algorithm = check_algorithm(algorithm)
        payload = {"algorithm": algorithm, "digest": to_hex(_digest_bytes(digest, algorithm))}
        return self._request("POST", "/api/v1/verify", json=payload)

    def verify_receipt(self, receipt: Mapping[str, Any]) -> dict[str, Any]:
        """The server's check of a receipt against its own trust anchor: ``{"valid",
        "reason", ...}``. To trust no server, use :func:`chainproof.receipts.verify_receipt`
        against any JSON-RPC node and a trust anchor pinned out of band instead."""
        return self._request("POST", "/api/v1/receipts/verify", json=dict(receipt))

    # ---- changing ------------------------------------------------------------------------

    def revoke(self, evidence_id: str, reason: str) -> dict[str, Any]:
        """Asks for an anchored document's revocation on chain (its submitter's org or an
        admin): the operation, to wait for with :meth:`wait_operation`."""
        return self._request(
            "POST", f"/api/v1/evidence/{_id(evidence_id)}/revoke", json={"reason": reason}
        )

    def operation(self, operation_id: str) -> dict[str, Any]:
        """A chain operation's status (``queued`` … ``confirmed`` or ``failed``)."""
        if not re.fullmatch(r"[0-9a-f]{32}", operation_id):
            raise ClientError(f"not an operation id: {operation_id!r}")
        return self._request("GET", f"/api/v1/operations/{operation_id}")

    def wait_operation(
        self,
        operation_id: str,
        *,
        timeout: float = 300.0,
        on_status: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Polls the operation until it is ``confirmed`` or ``failed``; ``on_status`` sees
        every answer (a progress display)."""
        deadline = time.monotonic() + timeout
        while True:
            op = self.operation(operation_id)
            if on_status is not None:
                on_status(op)
            if op.get("status") in ("confirmed", "failed"):
                return op
            if time.monotonic() > deadline:
                raise ClientError(
                    f"operation {operation_id} is still {op.get('status')} after {timeout:.0f}s"
                )
            time.sleep(0.2)

    # ---- live recordings (chainproof record) ---------------------------------------------

    def open_recording(self, nonce: str, segment_bytes: int, label: str | None) -> str:
        """Opens a recording; its id."""
        body = {"nonce": nonce, "segment_bytes": segment_bytes, "label": label}
        return str(self._request("POST", "/api/v1/recordings", json=body)["id"])

    def append_segments(self, recording_id: str, segments: list[dict[str, Any]]) -> dict[str, Any]:
        return self._request(
            "POST", f"/api/v1/recordings/{_id(recording_id)}/segments", json={"segments": segments}
        )

    def close_recording(self, recording_id: str, size: int, digest: str) -> dict[str, Any]:
        return self._request(
            "POST",
            f"/api/v1/recordings/{_id(recording_id)}/close",
            json={"size": size, "digest": digest},
        )

    def recording(self, recording_id: str) -> dict[str, Any]:
        """A recording with its segments and their anchors (its org's key only)."""
        return self._request("GET", f"/api/v1/recordings/{_id(recording_id)}")

    # ---- plumbing ------------------------------------------------------------------------

    def bundle(self, evidence_id: str) -> bytes:
        """The offline proof bundle (a zip); :class:`ClientError` with status 409 while the
        document is not anchored."""
        response = self._send(
            "GET",
            f"/api/v1/evidence/{_id(evidence_id)}/bundle",
            headers={"Accept": "application/zip, application/json"},
        )
        if response.is_success:
            return response.content
        raise _error_from(response)

    # ---- data resources (数据资源, issue 25) -----------------------------------------------

    def register_dataset(
        self, *, name: str, licence: str, files: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """Registers a data set by its manifest (``{"path", "size", "sha256"}`` each), sent
        in columns."""
        payload = {
            "name": name,
            "licence": licence,
            "paths": [f["path"] for f in files],
            "sizes": [f["size"] for f in files],
            "sha256": [f["sha256"] for f in files],
        }
        return self._request("POST", "/api/v1/datasets", json=payload)

    def dataset(self, resource_id: str) -> dict[str, Any]:
        return self._request("GET", f"/api/v1/datasets/{_id(resource_id)}")

    def dataset_manifest(self, resource_id: str) -> dict[str, Any]:
        return self._request("GET", f"/api/v1/datasets/{_id(resource_id)}/manifest")

    def dataset_proof(self, resource_id: str, path: str) -> dict[str, Any]:
        return self._request(
            "GET", f"/api/v1/datasets/{_id(resource_id)}/proof", params={"path": path}
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._send(method, path, **kwargs)
        if response.is_success:
            try:
                body = response.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise ClientError(
                    f"{method} {path} answered {response.status_code} with something that is "
                    f"not a JSON object: {response.text[:200]!r}",
                    status=response.status_code,
                    code="bad_response",
                )
            return body
        raise _error_from(response)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The answer to one request, whatever its status; transport errors as ClientError."""
        try:
            response = self._http.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ServerUnreachableError(self.base_url, _reason(exc)) from None
        except httpx.TimeoutException as exc:
            raise ClientError(
                f"the ChainProof server at {self.base_url} did not answer {method} {path} "
                f"within {self.timeout:g}s ({type(exc).__name__})",
                code="timeout",
            ) from None
        except (httpx.WriteError, httpx.RemoteProtocolError) as exc:
            # A server that refuses an upload early (413 before reading the body) closes the
            # connection while we are still sending: the answer is lost with it.
            raise ClientError(
                f"the server at {self.base_url} closed the connection during {method} {path}: "
                f"{_reason(exc)}",
                code="connection_closed",
                hint="if this was an upload, it may exceed the server's upload limit",
            ) from None
        except httpx.HTTPError as exc:
            raise ClientError(
                f"{method} {path} to {self.base_url} failed: {_reason(exc)}", code="http_error"
            ) from None
        return response


def _error_from(response: httpx.Response) -> ClientError:
    """The ``{"error": {"code", "message"}}`` envelope as a ClientError; anything else too."""
    status = response.status_code
    code, message = f"http_{status}", response.reason_phrase or "error"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            code = str(error.get("code") or code)
            message = str(error.get("message") or message)
        elif "detail" in body:  # a framework default that slipped past the error handlers
            message = str(body["detail"])
    elif response.text:
        message = f"{message}: {response.text[:200]}"
    return ClientError(message, status=status, code=code, hint=_HINTS.get(status))


def _items(body: dict[str, Any], expected: int) -> list[dict[str, Any]]:
    items = body.get("items")
    if not isinstance(items, list) or len(items) != expected:
        raise ClientError(
            f"expected {expected} items in the answer, got {body!r:.200}", code="bad_response"
        )
    return items


def _id(evidence_id: str) -> str:
    # Evidence (and data set) ids are public ids (UUIDv7) in the API; refusing anything else
    # keeps paths unforgeable (no "../" or "?" smuggled into the URL).
    public_id = parse_public_id(evidence_id) if isinstance(evidence_id, str) else None
    if public_id is None:
        raise ClientError(f"an evidence id is a public id (a UUIDv7), got {evidence_id!r}")
    return public_id


def _digest_bytes(digest: bytes | str, algorithm: Algorithm) -> bytes:
    # Through the hex form, so raw bytes get the same length check as text.
    return parse_digest(digest if isinstance(digest, str) else to_hex(digest), algorithm)


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


def _file_size(path: Path) -> int:
    with _translated_os_error(path):
        if not path.is_file():
            raise ClientError(f"{path} is not a file", code="invalid_input")
        return path.stat().st_size


def _open(path: Path) -> BinaryIO:
    with _translated_os_error(path):
        return path.open("rb")


@contextmanager
def _translated_os_error(path: Path) -> Iterator[None]:
    """``OSError`` on a local file → ClientError naming the file (no traceback for users)."""
    try:
        yield
    except OSError as exc:
        raise ClientError(
            f"cannot read {path}: {exc.strerror or exc}", code="invalid_input"
        ) from None
