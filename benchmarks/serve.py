"""``python -m benchmarks.serve --ports P1,P2,...``: the API in one server process per port.

Each process is ``uvicorn chainproof.api.app:create_app --factory`` listening on its own
port; the load generator spreads its connections over the ports, as a load balancer in
front of the processes would. Two things that ``uvicorn --workers N`` gets in the way of:

- its one shared socket is created as ``socket.socket(family=...)``, whose ``proto`` is 0,
  and asyncio sets ``TCP_NODELAY`` only on accepted sockets whose ``proto`` is
  ``IPPROTO_TCP``: Nagle then holds back the second segment of every response until the
  client's delayed ACK (40 ms on Linux). Measured: ``GET /healthz`` p50 went from 5 ms to
  45 ms with two workers;
- with one shared socket, whichever worker wakes first accepts, and the load generator's
  eight keep-alive connections stay where they landed: in measured runs most of them landed
  on one worker and two workers answered verify barely faster than one (``SO_REUSEPORT``
  hashes connections over the sockets instead, and eight connections hash unevenly too).

Each process runs the app's whole lifespan, as ``--workers`` would: one of them wins the
batcher lock (or none, when another server on the same data directory holds it).
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import socket
import time
from types import FrameType

import uvicorn


def _serve(host: str, port: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(
        "chainproof.api.app:create_app",
        factory=True,
        log_level="warning",
        access_log=False,
    )
    uvicorn.Server(config).run(sockets=[sock])


def main() -> None:
    p = argparse.ArgumentParser(prog="benchmarks.serve")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--ports", required=True, help="comma-separated: one process per port")
    args = p.parse_args()
    ctx = multiprocessing.get_context("spawn")
    workers = [
        ctx.Process(target=_serve, args=(args.host, int(port)), name=f"chainproof-{port}")
        for port in args.ports.split(",")
    ]
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for w in workers:
        w.start()
    try:
        while not stopping and all(w.is_alive() for w in workers):
            time.sleep(0.2)
    finally:
        for w in workers:
            if w.is_alive():
                w.terminate()  # uvicorn shuts down gracefully on SIGTERM
        for w in workers:
            w.join(15)
            if w.is_alive():
                w.kill()
                w.join()


if __name__ == "__main__":
    main()
