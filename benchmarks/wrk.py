"""Load from ``wrk`` (a C HTTP load generator, Debian package ``wrk``) when it is installed.

The Python load generator (``load.py``: threads on ``http.client`` connections) spends more
CPU per request than the endpoint it measures and shares the machine's two cores with the
server, so its figures for the fast endpoints said more about the client than the server.
wrk drives the same keep-alive connections from one epoll loop per thread for a fraction of
that CPU. One wrk thread per server port (``setup`` points each thread at its port, as the
Python generator deals its connections out), the bodies and the answer check in a Lua
script: every answer must be 200 and contain ``expect``, or the run fails.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

# Lua: the bodies, one thread per port, each thread walks the bodies from its own offset;
# done() prints one JSON line (wrk reports microseconds).
_SCRIPT: Final = """
local ports = {%(ports)s}
local method, path, expect = %(method)s, %(path)s, %(expect)s
local headers = {%(headers)s}
local threads, started = {}, 0
function setup(thread)
  started = started + 1
  thread.addr = wrk.lookup("%(host)s", tostring(ports[(started - 1) %% #ports + 1]))[1]
  thread:set("offset", started * 7919)
  table.insert(threads, thread)
end
function init(args)
  bad, wrong, i = 0, "", offset or 0
end
function request()
  i = i + 1
  local body = nil
  if #bodies > 0 then body = bodies[(i * 31) %% #bodies + 1] end
  return wrk.format(method, path, headers, body)
end
function response(status, headers, body)
  if status ~= 200 or (expect ~= "" and not string.find(body, expect, 1, true)) then
    bad = bad + 1
    if wrong == "" then wrong = tostring(status) .. " " .. string.sub(body, 1, 300) end
  end
end
function done(summary, latency, requests)
  local bad_total, first = 0, ""
  for _, t in ipairs(threads) do
    bad_total = bad_total + t:get("bad")
    if first == "" then first = t:get("wrong") end
  end
  local e = summary.errors
  io.write("WRK-RESULT " .. string.format(
    '{"requests": %%d, "duration_us": %%d, "bad": %%d, "socket_errors": %%d, '
    .. '"p50_us": %%d, "p99_us": %%d}', summary.requests, summary.duration, bad_total,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50),
    latency:percentile(99)) .. "\\n")
  io.write("WRK-FIRST-WRONG " .. first .. "\\n")
end
"""


@dataclass
class WrkResult:
    count: int
    elapsed: float  # seconds
    p50: float  # seconds
    p99: float
    bad: int  # answers that were not 200 or lacked ``expect``
    socket_errors: int
    first_wrong: str

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0


def version() -> str | None:
    """``wrk 4.1.0`` when wrk is on the PATH, else None."""
    exe = shutil.which("wrk")
    if exe is None:
        return None
    # `wrk -v` prints its banner and exits 1 (no URL given).
    out = subprocess.run([exe, "-v"], capture_output=True, text=True, check=False).stdout
    words = out.split()
    return " ".join(words[:2]) if len(words) >= 2 and words[0] == "wrk" else "wrk"


def _lua(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string literal for our bytes


def run(
    *,
    host: str,
    ports: list[int],
    method: str,
    path: str,
    bodies: list[bytes] | None = None,
    headers: dict[str, str] | None = None,
    clients: int,
    seconds: float,
    expect: str = "",
) -> WrkResult:
    """``clients`` connections over ``ports`` (one wrk thread per port) for ``seconds``."""
    exe = shutil.which("wrk")
    if exe is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    if clients < len(ports):
        raise ValueError("at least one connection per port")
    script = _SCRIPT % {
        "ports": ", ".join(str(p) for p in ports),
        "method": _lua(method),
        "path": _lua(path),
        "expect": _lua(expect),
        "headers": ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in (headers or {}).items()),
        "host": host,
    }
    with tempfile.TemporaryDirectory(prefix="chainproof-wrk-") as tmp:
        lua = Path(tmp) / "load.lua"
        lines = ["bodies = {"]
        lines += [f"  {_lua(b.decode())}," for b in bodies or []]
        lines.append("}")
        lua.write_text("\n".join(lines) + "\n" + script)
        argv = [
            exe,
            *("-t", str(len(ports)), "-c", str(clients), "-d", f"{max(1, round(seconds))}s"),
            *("--timeout", "10s", "-s", str(lua)),
            f"http://{host}:{ports[0]}{path}",
        ]
        done = subprocess.run(
            argv, capture_output=True, text=True, check=False, timeout=seconds + 60
        )
    found = [ln for ln in done.stdout.splitlines() if ln.startswith("WRK-RESULT ")]
    if done.returncode != 0 or not found:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    data = json.loads(found[0].removeprefix("WRK-RESULT "))
    wrong = next(
        (
            ln.removeprefix("WRK-FIRST-WRONG ")
            for ln in done.stdout.splitlines()
            if ln.startswith("WRK-FIRST-WRONG ")
        ),
        "",
    )
    return WrkResult(
        count=int(data["requests"]),
        elapsed=int(data["duration_us"]) / 1e6,
        p50=int(data["p50_us"]) / 1e6,
        p99=int(data["p99_us"]) / 1e6,
        bad=int(data["bad"]),
        socket_errors=int(data["socket_errors"]),
        first_wrong=wrong,
    )
