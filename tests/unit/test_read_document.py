"""Stored JSON documents are read by orjson where it answers what ``json.loads`` answers,
and by the standard library elsewhere: the two agree on every document."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lad_adapters.sql.database import read_document

scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=2**60)
           | st.integers(max_value=-(2**60)) | st.floats(allow_nan=False) | st.text()
           | st.decimals(allow_nan=False, allow_infinity=False).map(str))
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                         max_leaves=20)


def same(a: object, b: object) -> bool:
    """Equal value for value and type for type (so 1 is not 1.0, and -0.0 is not 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        assert isinstance(b, float)
        return (a == b and math.copysign(1, a) == math.copysign(1, b)) or (a != a and b != b)
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


@given(documents, st.booleans())
def test_a_document_reads_as_the_standard_library_reads_it(document: object,
                                                          as_text: bool) -> None:
    written = json.dumps(document, ensure_ascii=False)
    stored = written if as_text else written.encode()
    assert same(read_document(stored), json.loads(written))


@pytest.mark.parametrize("text", [
    '{"a": 123456789012345678901234}', '{"a": -9223372036854775809}', '[NaN, Infinity]',
    '{"a": 1e400}', '"\\ud800"', '{"a": 0.1000000000000000055511151231257827}',
    '{"a": 1, "a": 2}', '[-0, -0.0, 1E5, 1e-400]', '{"n": 18446744073709551615}'])
def test_what_orjson_reads_differently_is_read_by_the_standard_library(text: str) -> None:
    assert same(read_document(text), json.loads(text))

