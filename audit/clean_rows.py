"""The common row of `rems verify`, checked in one tight pass over its raw columns (issue 13).

Almost every row of an intact ledger is a v2 event whose state is plain JSON (see
`audit/stored_hash.py`), whose hash matches, which chains on the row before it and which its
class accepts. `CleanRows.take` proves exactly that for one raw row, with no object beyond the
decoded state, and records it as the verifier's own check would (sequence, head, numbers). The
moment any part of the proof fails, or the row is anything else (v1, upcast, not plain, out
of sequence), it declines and the verifier checks the row the long way, which finds and words
every problem; a declined row has changed nothing. So the findings cannot differ from the long
way's: only rows on which it finds nothing are taken here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson
from pydantic_core import SchemaValidator

from application.aggregate_rows import state_bytes
from audit.event_check import ledger_event_class
from audit.sequence_track import Track
from audit.stored_hash import jcs_ready
from audit.verify_spill import CLAIM, ISSUED
from domain.base import LedgerEvent
from domain.chain import CHAIN_MEMBER, CHAIN_VERSION, GENESIS, JCS_SAFE_INTEGER
from domain.decision_events import AuthorizationIssued, DispenseConfirmed
from domain.registry import NumberClaimed
from infra.transcoding import stored_json

if TYPE_CHECKING:
    from audit.verify import Verifier

_SORTED = orjson.OPT_SORT_KEYS

_Kind = tuple[Callable[[dict[str, Any]], object], int, str]
"""A topic's event class's validation (its `model_validate`), what it issues (-1 nothing,
CLAIM, ISSUED) and the number's kind."""


def _kind_of(topic: object) -> _Kind | None:
    cls = ledger_event_class(topic)
    if cls is None or not isinstance(topic, str) or not topic.isascii():
        return None
    if getattr(cls, "class_version", 1) != 1:
        return None  # upcast first: the long way
    if issubclass(cls, NumberClaimed):
        return _validation(cls), CLAIM, ""
    if issubclass(cls, AuthorizationIssued):
        return _validation(cls), ISSUED, "authorization"
    if issubclass(cls, DispenseConfirmed):
        return _validation(cls), ISSUED, "confirmation"
    return _validation(cls), -1, ""


def _validation(cls: type[LedgerEvent]) -> Callable[[dict[str, Any]], object]:
    """`cls.model_validate`, as the core validator it calls with every option unset (once the
    class's deferred schema is built)."""
    if not cls.__pydantic_complete__:
        cls.model_rebuild()
    validator = cls.__pydantic_validator__
    if isinstance(validator, SchemaValidator):
        return validator.validate_python
    return cls.model_validate  # pragma: no cover - a schema that could not be built


class CleanRows:
    """Takes the rows the verifier would find nothing wrong with."""

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier
        self._mapper = verifier.ledger.mapper
        self._transcoded = bool(self._mapper.cipher or self._mapper.compressor)
        self._kinds: dict[object, _Kind | None] = {}

    def take(self, raw: tuple[Any, ...], aid: UUID, aid_text: str) -> bool:
        """Check and record one raw row `(position, originator_id, version, topic, state)`
        of aggregate `aid` (`aid_text`: its canonical text); False, having changed nothing,
        when it is not a clean row."""
        position, _, version, topic, stored = raw
        if type(version) is not int or not 1 <= version <= JCS_SAFE_INTEGER:
            return False
        try:
            kind = self._kinds[topic]
        except KeyError:
            kind = self._kinds[topic] = _kind_of(topic)
        except TypeError:  # an unhashable column value: the long way says what it is
            return False
        if kind is None:
            return False
        state = self._state(stored)
        if state is None:
            return False
        stored_hash, previous = state.get("hash"), state.get("previous_hash")
        if type(stored_hash) is not str or type(previous) is not str:
            return False
        v = self.verifier
        track = v.track
        if track is None:
            if version != 1 or previous != GENESIS:
                return False
        elif version != track.version + 1 or track.hash is None or previous != track.hash:
            return False
        if not _hash_matches(state, aid_text, version, topic, stored_hash):
            return False
        state["originator_id"] = aid
        validate, side, number_kind = kind
        try:
            validate(state)
        # Any failure is the long way's `invalid_event` to word.
        except Exception:
            return False
        numbered: tuple[object, ...] = ()
        if side == CLAIM:
            numbered = (state.get("kind"), state.get("number"), state.get("patient_id"))
        elif side == ISSUED:
            numbered = (number_kind, state.get(f"{number_kind}_number"), "")
        if None in numbered:
            return False
        v.events += 1
        if position > v.position:
            v.position = position
        if track is None:
            v.track = Track(version, stored_hash, position)
        else:
            track.version, track.hash, track.position = version, stored_hash, position
        at = v.digest_position
        if at is not None and position <= at and (v.head is None or version > v.head[0]):
            v.head = (version, stored_hash)
        if numbered:
            label, number, patient = (str(x) for x in numbered)
            v.spill.number_row(label, number, side, aid_text, version, position, patient)
        return True

    def _state(self, stored: object) -> dict[str, Any] | None:
        """The decoded state of a v2 row with nothing to upcast; None for any other row."""
        data = stored if type(stored) is bytes else state_bytes(stored)
        if type(data) is not bytes:
            return None
        try:
            state = orjson.loads(stored_json(self._mapper, data) if self._transcoded else data)
        # Damaged bytes: the long way reports them unreadable.
        except Exception:
            return None
        if type(state) is not dict or "class_version" in state or "topic" in state:
            return None
        chain = state.get(CHAIN_MEMBER)
        if type(chain) is not int or chain != CHAIN_VERSION:
            return None
        return state


def _hash_matches(
    state: dict[str, Any], aid_text: str, version: int, topic: str, stored_hash: str
) -> bool:
    """Whether `stored_hash` is the hash of `state` (AUDIT-FORMAT.md §1) by the plain proof
    (`audit/stored_hash.py`), False when the proof does not hold. `state` is left as the event
    class validates it: without `chain`, with `originator_version`, its other members as read."""
    hashed = jcs_ready(state)
    if hashed is None:
        return False
    del hashed["hash"]
    hashed["originator_id"] = aid_text
    hashed["originator_version"] = version
    hashed["topic"] = topic
    digest = hashlib.sha256(orjson.dumps(hashed, option=_SORTED)).hexdigest()
    if hashed is state:
        del state["topic"]
        state["hash"] = stored_hash
    else:
        state["originator_version"] = version
    del state[CHAIN_MEMBER]
    return digest == stored_hash
