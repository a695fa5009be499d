"""Offline proof bundles: one zip that verifies with no network, trusting only the pinned
trust anchor and one block hash (issue 19).

``ethproofs`` (headers, receipt-trie proofs) and ``verify`` import no server dependency
(no FastAPI, no SQLModel, no web3 for the offline checks): they belong with the light
verifier. ``build`` is the server's side.
"""
