"""What the scan page shows people (``chainproof.trace.scan``)."""

from __future__ import annotations

from chainproof.trace.scan import _local_time


def test_event_times_are_shown_on_the_clock_where_they_happened() -> None:
    # EPCIS may write the instant in UTC and keep the local offset apart.
    assert _local_time("2024-11-18T06:00:00.000Z", "+08:00") == "2024-11-18 14:00 (UTC+08:00)"
    assert _local_time("2024-11-18T14:00:00+08:00", "+08:00") == "2024-11-18 14:00 (UTC+08:00)"
    assert _local_time("2024-11-18T01:30:00Z", "-05:30") == "2024-11-17 20:00 (UTC-05:30)"
    assert _local_time("not a time", "+08:00") is None


def test_the_scan_pages_headof_call_matches_the_contract() -> None:
    """static/js/trace.js asks a node for headOf(itemKey) with a hard-coded selector and
    decodes (bytes32 head, uint32 count, uint64 updatedAt) by position."""
    import re
    from pathlib import Path

    from eth_utils import keccak

    import chainproof

    js = (Path(chainproof.__file__).parent / "web/static/js/trace.js").read_text()
    m = re.search(r'const HEAD_OF = "(0x[0-9a-f]{8})"', js)
    assert m is not None
    assert m.group(1) == "0x" + keccak(text="headOf(bytes32)")[:4].hex()
    sol = (Path(chainproof.__file__).parents[2] / "contracts/ITraceRegistry.sol").read_text()
    assert "function headOf(bytes32 itemKey) external view returns (Head memory);" in sol
    start = sol.index("struct Head {") + len("struct Head {")  # no regex: redos_check
    body = sol[start : sol.index("}", start)]
    fields = [line.split("//")[0].strip() for line in body.splitlines()]
    types = [field.split()[0] for field in fields if field.endswith(";")]
    assert types == ["bytes32", "uint32", "uint64"]  # three static words, in this order
