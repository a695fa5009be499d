"""Concurrent HTTP clients for the load measurements: threads on keep-alive connections.

``http.client`` rather than httpx: the load generator shares the machine's two cores with
the server, and the leanest client leaves the most of them to the thing measured.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# One request: (method, path, body, headers).
Request = tuple[str, str, bytes | None, dict[str, str]]


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)  # seconds, per request
    statuses: dict[int, int] = field(default_factory=dict)
    bodies: list[bytes] = field(default_factory=list)  # only when keep_bodies
    elapsed: float = 0.0

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0


def run_load(
    connect: Callable[[], http.client.HTTPConnection],
    make_request: Callable[[int, int], Request],
    *,
    clients: int,
    per_client: int | None = None,
    duration: float | None = None,
    keep_bodies: bool = False,
) -> LoadResult:
    """``clients`` threads each send ``make_request(client, i)`` for i = 0, 1, ... until
    ``per_client`` requests or ``duration`` seconds (whichever is given first runs out)."""
    if per_client is None and duration is None:
        raise ValueError("give per_client or duration")
    result = LoadResult()
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + 1)
    deadline: list[float] = [0.0]

    def worker(client: int) -> None:
        conn = connect()
        lat: list[float] = []
        statuses: dict[int, int] = {}
        bodies: list[bytes] = []
        start_gate.wait()
        i = 0
        while (per_client is None or i < per_client) and (
            duration is None or time.perf_counter() < deadline[0]
        ):
            method, path, body, headers = make_request(client, i)
            t0 = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            lat.append(time.perf_counter() - t0)
            statuses[resp.status] = statuses.get(resp.status, 0) + 1
            if keep_bodies:
                bodies.append(data)
            i += 1
        conn.close()
        with lock:
            result.latencies.extend(lat)
            result.bodies.extend(bodies)
            for k, v in statuses.items():
                result.statuses[k] = result.statuses.get(k, 0) + v

    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + (duration or 0.0)
    t_start = time.perf_counter()
    start_gate.wait()
    for t in threads:
        t.join()
    result.elapsed = time.perf_counter() - t_start
    return result
