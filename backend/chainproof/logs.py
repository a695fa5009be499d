"""Logging for every process (``serve``, ``worker``, the CLI, an app built in a test).

structlog, unconfigured, renders exceptions with rich's traceback *with local variables*:
30,000-60,000 lines for one error inside a request, printed on the event loop, and the
locals include the request's headers, so the caller's ``Authorization: Bearer`` key ends up
in the log. :func:`configure_logging` replaces that with:

- plain tracebacks (``format_exc_info``: the stdlib format, no locals), in one JSON line
  when not on a terminal and readable on a terminal;
- a redaction step: a value whose key names a secret (``*key``, ``*secret``, ``token``,
  ``authorization``, ``password``) is replaced by ``"[redacted]"``, and bearer tokens and
  ChainProof API keys (``cpk_...``) are masked inside any string, tracebacks included.

stdlib records (uvicorn, httpx, web3) go through the same redaction as a logging filter.
uvicorn's own loggers (``uvicorn.error``, ``uvicorn.access``) are routed into structlog
(:class:`ToStructlog`): an access line is the event ``"GET /path 200"`` with ``access:
true``, ``client``, ``method``, ``path`` and ``status`` fields and the request's
``request_id`` (``api/observe.py``), in the same JSON lines as everything else.
``chainproof serve`` runs uvicorn with ``log_config=None`` so uvicorn does not put its own
handlers back.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any, Final

import structlog
from structlog.typing import EventDict, WrappedLogger

__all__ = ["REDACTED", "ToStructlog", "configure_logging", "redact_text", "route_uvicorn_logs"]

REDACTED: Final = "[redacted]"

# Key names whose values are secrets wherever they appear in an event.
_SECRET_NAME = re.compile(
    r"(^|_)(key|secret|token|password|passwd|authorization|private_key|api_key|secret_key)$",
    re.IGNORECASE,
)
# Names that end in "key" but hold no secret.
_NOT_SECRET = frozenset({"key_id", "prefix", "public_key", "route_key", "cache_key"})
# Inside free text: "Bearer <token>", "Basic <token>", and our tokens by their prefix.
_IN_TEXT = (
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\bcpk_[A-Za-z0-9_-]{8,}"),
    # People's invitation tokens (in /invite?token=… of access logs) and session ids.
    re.compile(r"\bcp[is]_[A-Za-z0-9_-]{8,}"),
)


def redact_text(text: str) -> str:
    """``text`` with bearer tokens and API keys masked."""
    for pattern in _IN_TEXT:
        text = pattern.sub(lambda m: _mask(m.group(0)), text)
    return text


def _mask(found: str) -> str:
    scheme, _, _token = found.partition(" ")
    if found.lower().startswith(("bearer ", "basic ")):
        return f"{scheme} {REDACTED}"
    return REDACTED


def _is_secret_name(name: object) -> bool:
    return isinstance(name, str) and name not in _NOT_SECRET and bool(_SECRET_NAME.search(name))


def _redact_value(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if depth < 4 and isinstance(value, Mapping):
        return {
            k: REDACTED if _is_secret_name(k) else _redact_value(v, depth + 1)
            for k, v in value.items()
        }
    if depth < 4 and isinstance(value, list | tuple):
        return type(value)(_redact_value(v, depth + 1) for v in value)
    return value


def redact_event(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """structlog processor: secrets out of every field (runs after tracebacks are text)."""
    for name in list(event):
        if _is_secret_name(name):
            event[name] = REDACTED
        else:
            event[name] = _redact_value(event[name])
    return event


class RedactingFilter(logging.Filter):
    """The same masking for stdlib records (uvicorn's access and error logs, httpx, web3)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a broken record: the handler reports it, nothing to redact
        cleaned = redact_text(message)
        if cleaned != message:
            # Only then is the record rewritten: formatters such as uvicorn's access log
            # read record.args themselves.
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


_configured = False


def configure_logging(*, json: bool | None = None, level: int = logging.INFO) -> None:
    """Configures structlog and the stdlib root logger once per process (idempotent).

    ``json`` defaults to "stderr is not a terminal": JSON lines for a collector, readable
    lines for a person. Neither renders local variables.
    """
    global _configured
    if _configured:
        return
    _configured = True
    as_json = not sys.stderr.isatty() if json is None else json
    renderer: Any
    if as_json:
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # Tracebacks become plain text here (no locals), then get redacted like the rest.
        structlog.processors.format_exc_info,
        redact_event,
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # The stream is looked up per logger, not once: tests swap sys.stderr.
        logger_factory=lambda *_args: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )
    _install_stdlib_filter()
    route_uvicorn_logs()


class ToStructlog(logging.Handler):
    """Hands stdlib records (uvicorn's) to structlog, so they get its context and format."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields: dict[str, Any] = {}
            args = record.args
            if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
                client, method, path, http_version, status = args
                # The request line for a person, the same parts as fields for a machine.
                event = f"{method} {path} {status}"
                fields = {
                    "access": True,
                    "client": client,
                    "method": method,
                    "path": path,
                    "http_version": http_version,
                    "status": status,
                }
            else:
                event = record.getMessage()
            if record.exc_info:
                fields["exc_info"] = record.exc_info
            structlog.get_logger(record.name).log(record.levelno, event, **fields)
        except Exception:  # a logging handler never raises into the caller
            self.handleError(record)


def route_uvicorn_logs() -> None:
    """uvicorn's loggers write through structlog only (idempotent)."""
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if isinstance(h, ToStructlog)] or [
            ToStructlog()
        ]
        logger.propagate = False
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)


def _install_stdlib_filter() -> None:
    """Adds the redaction filter to the root logger's handlers and to new ones."""
    redacting = RedactingFilter()
    root = logging.getLogger()
    for handler in root.handlers:
        handler.addFilter(redacting)
    # Loggers that do not propagate (uvicorn's) get it on their own handlers when they are
    # configured later; a filter on the logger itself covers records logged through it.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "web3", "httpx"):
        logging.getLogger(name).addFilter(redacting)
