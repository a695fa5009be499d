"""ChainProof: blockchain evidence (存证) and traceability (溯源)."""

__version__ = "0.1.0"
