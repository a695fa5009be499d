"""Verifiable random draws (issue #21): commit on chain, reveal after a future block."""
