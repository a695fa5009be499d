"""Schemathesis strategies the security suite's fuzzing needs (fixtures: ``tests/apps.py``;
helpers that start real processes: ``_procs.py``)."""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st

from chainproof.timestamping.authority import IMPRINT_ALGORITHMS, make_query

# Issue 19: POST /tsa takes DER time-stamp queries, a media type schemathesis cannot make
# on its own: fuzz it with well-formed queries (each algorithm, random imprints) and bytes.
_SIZES = {name: size for name, size in IMPRINT_ALGORITHMS.values()}
_QUERIES = st.builds(
    lambda name, data, cert: make_query(name, data[: _SIZES[name]], cert_req=cert),
    st.sampled_from(sorted(_SIZES)),
    st.binary(min_size=64, max_size=64),
    st.booleans(),
)
schemathesis.openapi.media_type(
    "application/timestamp-query", st.one_of(_QUERIES, st.binary(max_size=5000))
)
