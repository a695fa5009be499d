"""The JSON guard's string scan (``api/json_guard.py``) is the plain alternation, unrolled."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from chainproof.api.json_guard import _STRING

PLAIN = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


@given(st.lists(st.sampled_from(list(b'ab"\\\n{}[]:x')), max_size=60).map(bytes))
def test_unrolled_string_scan_blanks_the_same_strings(body: bytes) -> None:
    assert _STRING.sub(b'""', body) == PLAIN.sub(b'""', body)
