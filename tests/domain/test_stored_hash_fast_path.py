"""`rems verify` hashes a stored state from its bytes (audit/stored_hash.py) exactly as the
domain hashes the decoded state, for any stored JSON: compact, spaced, escaped, with floats or
long integers (AUDIT-FORMAT.md §1; issue 13)."""

from __future__ import annotations

import contextlib
import json
from typing import Any
from uuid import UUID

import orjson
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from audit.stored_hash import hash_of_stored, jcs_ready
from domain.chain import ChainError, stored_event_hash
from tests.domain.test_jcs_fast_path import VALUES

AGGREGATE = UUID("0f5b8a3e-54a1-5d0c-9d7e-6a1c2f0e7b41")
TOPIC = "domain.patient_events:CbcRecorded"


def domain_hash(state: dict[str, Any], version: int = 3) -> str | type[Exception]:
    """What the domain's hash gives for the decoded state, or the error it raises."""
    try:
        return stored_event_hash(AGGREGATE, version, state, TOPIC)
    except ChainError as error:
        return type(error)


def fast_hash(data: bytes, version: int = 3) -> str | type[Exception]:
    """What the verifier's hash gives for the stored bytes, or the error it raises."""
    try:
        return hash_of_stored(AGGREGATE, version, orjson.loads(data), TOPIC)
    except ChainError as error:
        return type(error)


def stored_forms(state: dict[str, Any]) -> list[bytes]:
    """The bytes a store may hold for a state: as the mapper writes it, and spaced out."""
    forms = [json.dumps(state, indent=1, ensure_ascii=False).encode()]
    with contextlib.suppress(orjson.JSONEncodeError):  # beyond 64-bit integers: spaced only
        forms.append(orjson.dumps(state))
    return forms


@settings(max_examples=300)
@given(st.dictionaries(st.text(), VALUES, max_size=6))
def test_verify_hash_from_bytes_equals_the_domain_hash_on_any_state(body: dict[str, Any]) -> None:
    """Any v2 state, floats, big integers, quotes, backslashes and non-ASCII included."""
    state = {**body, "chain": 2}
    try:
        forms = stored_forms(state)
    except UnicodeEncodeError:
        assume(False)  # a lone surrogate cannot be stored as UTF-8 JSON
    for data in forms:
        assert fast_hash(data) == domain_hash(orjson.loads(data))


@pytest.mark.parametrize(
    ("data", "ready"),
    [
        (b'{"a":"x.5:1.5","b":1,"c":true,"d":false,"e":null,"chain":2}', "same"),
        ('{"a":"é \U0001f600","n":"é","chain":2}'.encode(), "same"),
        (b'{"a":"\\"1.5","chain":2}', "same"),
        (b'{"a":25.0,"b":[1,2],"chain":2}', {"a": 25, "b": [1, 2], "chain": 2}),
        (
            b'{"a":[25.0 ,-0.0],"b":{"c":10.00},"chain":2}',
            {"a": [25, 0], "b": {"c": 10}, "chain": 2},
        ),
        (b'{"a":0.5,"chain":2}', None),
        (b'{"a":[1,2e3],"b":1.0e3,"chain":2}', {"a": [1, 2000], "b": 1000, "chain": 2}),
        (b'{"a":{"b":[9007199254740993.0]},"chain":2}', None),
        (b'{"a":9007199254740993,"chain":2}', None),
        (b'{"a":-9007199254740991,"chain":2}', "same"),
        ('{"é":1,"chain":2}'.encode(), None),
        (b'{"\\ue000":1,"\\ud83d\\ude00":2,"chain":2}', None),
    ],
    ids=[
        "strings-hold-dots",
        "non-ascii-strings",
        "escaped-quote",
        "integral-float",
        "integral-floats-nested",
        "other-float",
        "exponents",
        "long-float",
        "long-integer",
        "safe-integer",
        "non-ascii-name",
        "escaped-non-ascii-names",
    ],
)
def test_the_plain_proof_reads_the_decoded_state(data: bytes, ready: object) -> None:
    """Strings of any kind are plain; integral floats are taken as their integers; other
    floats, long integers and non-ASCII member names (escaped or not: orjson sorts them by
    code point, JCS by UTF-16) send the state to the domain's own walk."""
    state = orjson.loads(data)
    expected = state if ready == "same" else ready
    found = jcs_ready(state)
    assert found == expected
    if ready == "same":
        assert found is state
    assert fast_hash(data) == domain_hash(orjson.loads(data))


@settings(max_examples=300)
@given(st.dictionaries(st.text(), VALUES, max_size=6))
def test_verify_hash_from_escaped_bytes_equals_the_domain_hash(body: dict[str, Any]) -> None:
    """The same state stored with every non-ASCII character escaped (`\\uXXXX`, surrogate
    pairs for astral ones), which orjson reads back as the same names and strings."""
    state = {**body, "chain": 2}
    try:
        data = json.dumps(state).encode()
        decoded = orjson.loads(data)
    except (UnicodeEncodeError, orjson.JSONDecodeError):
        assume(False)  # a lone surrogate cannot be read back
    assert fast_hash(data) == domain_hash(decoded)


def test_v1_rows_and_odd_versions_keep_the_domain_hash() -> None:
    """A state without `chain` (v1) and a version beyond JCS's integers take the domain path."""
    v1 = b'{"a":1,"previous_hash":"00"}'
    assert fast_hash(v1) == domain_hash(orjson.loads(v1))
    v2 = b'{"a":1,"chain":2}'
    assert fast_hash(v2, version=2**60) == domain_hash(orjson.loads(v2), version=2**60)
