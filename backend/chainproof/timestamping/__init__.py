"""Evidence that stock tools accept: the RFC 3161 time-stamp authority (``authority``), the
keys and certificates behind it and behind signed certificates (``pki``), and the link from
each token to the anchoring queue (``stamps``).

``pki`` and ``authority`` are pure (cryptography + asn1crypto): no FastAPI, no SQL.
"""
