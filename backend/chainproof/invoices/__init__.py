"""Provable invoice uniqueness (issue #21): an append-only sparse Merkle map of claims."""
