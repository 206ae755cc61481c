"""The fast RFC 8785 writer of event hashes gives exactly the `rfc8785` package's bytes for any
JSON value, and the same refusal where JCS cannot write one (AUDIT-FORMAT.md §1; issue 13)."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.chain import JCS_SAFE_INTEGER, jcs_bytes

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def reference(value: Any) -> bytes | type[Exception]:
    """What the `rfc8785` package writes, or the error it raises."""
    try:
        return rfc8785.dumps(value)
    except Exception as error:
        return type(error)


def fast(value: Any) -> bytes | type[Exception]:
    """What `jcs_bytes` writes, or the error it raises."""
    try:
        return jcs_bytes(value)
    except Exception as error:
        return type(error)


@settings(max_examples=300)
@given(st.dictionaries(st.text(), VALUES, max_size=6))
def test_fast_jcs_equals_the_rfc8785_package_on_any_object(payload: dict[str, Any]) -> None:
    """Any JSON object, floats, big integers, control and non-ASCII characters included."""
    assert fast(payload) == reference(payload)


@pytest.mark.parametrize(
    "payload",
    [
        {"a": JCS_SAFE_INTEGER, "b": -JCS_SAFE_INTEGER},
        {"a": JCS_SAFE_INTEGER + 1},
        {"\ue000": 1, "\U0001f600": 2},
        {"s": "\ud800"},
        {"f": 1.0, "g": 1e21, "h": 5e-7, "i": -0.0, "j": 0.1, "k": 1e-5, "m": 2.0**60},
        {"ctl": "".join(chr(c) for c in range(32)) + '"\\\u2028\x7f'},
    ],
    ids=["safe-edges", "beyond-safe", "name-order-utf16", "lone-surrogate", "floats", "escapes"],
)
def test_fast_jcs_equals_the_rfc8785_package_at_the_edges(payload: dict[str, Any]) -> None:
    """The edges where a plain JSON writer and JCS could part: integer range, member-name
    order beyond the BMP, lone surrogates, float forms, escapes."""
    assert fast(payload) == reference(payload)


@pytest.mark.parametrize("value", [2.0**53, 2.0**53 + 2, 1e15 * 9.5, -(2.0**53)])
def test_an_integral_float_past_2_53_is_written_as_jcs_writes_it(value: float) -> None:
    """An integral float beyond the safe integers but below the exponent forms is written
    without Python's `.0`, as the `rfc8785` package writes it."""
    assert fast({"x": value}) == reference({"x": value})
