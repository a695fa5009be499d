"""Measurement 5: upload + hash throughput of one large file, through the API and the
CLI, against ``sha256sum`` on the same file (warm in the page cache for all three), with
the server's peak RSS growth during the upload."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.results import Result
from benchmarks.stack import Server
from chainproof.client import ChainProofClient

MIB = 1024**2


def _make_file(path: Path, size: int) -> None:
    chunk = os.urandom(8 * MIB)
    with path.open("wb") as f:
        for _ in range(size // len(chunk)):
            f.write(chunk)
        f.write(chunk[: size % len(chunk)])


def _sha256sum(path: Path) -> tuple[float, str]:
    exe = shutil.which("sha256sum")
    if exe is None:
        raise RuntimeError("sha256sum (coreutils) is not installed")
    t0 = time.perf_counter()
    out = subprocess.run([exe, str(path)], check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - t0, "0x" + out.split()[0]


def measure(server: Server, workdir: Path, *, quick: bool) -> list[Result]:
    size = 64 * MIB if quick else 1024 * MIB
    path = workdir / "big.bin"
    _make_file(path, size)
    try:
        _sha256sum(path)  # warm the page cache, so no run pays for the disk
        base_s, expected = _sha256sum(path)
        base = size / MIB / base_s

        rss_before = server.rss_kib()
        server.reset_peak_rss()
        with ChainProofClient(server.url, api_key=server.api_key, timeout=600) as client:
            t0 = time.perf_counter()
            [item] = client.anchor_files([path])
            api_s = time.perf_counter() - t0
        peak_mib = server.peak_rss_kib() / 1024
        if item["digest"] != expected:
            raise RuntimeError(f"the server hashed {item['digest']}, sha256sum {expected}")

        t0 = time.perf_counter()
        cli = subprocess.run(
            [
                sys.executable,
                *("-m", "chainproof.cli", "anchor", str(path)),
                *("--server", server.url, "--api-key", server.api_key, "--json"),
            ],
            capture_output=True,
            text=True,
        )
        cli_s = time.perf_counter() - t0
        if cli.returncode != 0 or expected not in cli.stdout:
            raise RuntimeError(f"the CLI upload failed ({cli.returncode}): {cli.stderr[-2000:]}")
    finally:
        path.unlink(missing_ok=True)
    label = f"{size // MIB:,} MiB"
    return [
        Result(
            measurement="hashing",
            name=f"API upload+hash, {label}",
            value=size / MIB / api_s,
            unit="MiB/s",
            baseline=base,
            baseline_name="sha256sum",
            better="higher",
            target=0.9 * base,
            target_text=">= 90% of sha256sum",
        ),
        Result(
            measurement="hashing",
            name=f"CLI upload+hash, {label}",
            value=size / MIB / cli_s,
            unit="MiB/s",
            baseline=base,
            baseline_name="sha256sum",
            better="higher",
            target=0.9 * base,
            target_text=">= 90% of sha256sum",
            notes="includes the CLI's start-up",
        ),
        Result(
            measurement="hashing",
            name="server peak RSS during the API upload",
            value=peak_mib,
            unit="MiB",
            baseline=rss_before / 1024,
            baseline_name="server RSS before",
            better="lower",
            target=rss_before / 1024 + 64,
            target_text="growth <= 64 MiB",
            notes=f"growth {peak_mib - rss_before / 1024:+.1f} MiB",
        ),
    ]
