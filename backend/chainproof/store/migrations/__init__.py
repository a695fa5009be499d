"""Alembic migrations of the ChainProof database (run by ``chainproof.store.db.upgrade``)."""
