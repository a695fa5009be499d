"""One TLS client context per process for the short HTTP calls made one at a time (a node's
readiness probe, a trust anchor fetch). Without it httpx builds a context per call and loads
the CA bundle each time: about 10 ms of CPU, which a node's readiness poll paid hundreds of
times a run. An ``ssl.SSLContext`` is safe to share between threads."""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def client_context() -> ssl.SSLContext:
    """httpx's default verifying context (certifi's CA bundle, SSL_CERT_FILE/DIR honoured)."""
    return httpx.create_ssl_context()
