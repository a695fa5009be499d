"""The audit side chain (审计侧链): what the platform itself did, hash-chained and anchored.

``models`` (the entry table), ``log`` (appending, reading, checking). The mechanism is
``hashchain.py``'s, shared with the subsidy lifecycle trail; docs/audit.md describes it.
"""
