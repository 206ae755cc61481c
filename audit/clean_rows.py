"""The common row of `rems verify`, checked in one tight pass over its raw columns (issue 13).

Almost every row of an intact ledger is a v2 event whose bytes are plain JSON (see
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
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson

from application.aggregate_rows import state_bytes
from audit.event_check import ledger_event_class
from audit.sequence_track import Track
from audit.stored_hash import integral_floats_as_integers, plain_json
from audit.verify_spill import CLAIM, ISSUED
from domain.base import LedgerEvent
from domain.chain import CHAIN_MEMBER, CHAIN_VERSION, GENESIS, JCS_SAFE_INTEGER
from domain.decision_events import AuthorizationIssued, DispenseConfirmed
from domain.registry import NumberClaimed
from infra.transcoding import stored_json

if TYPE_CHECKING:
    from audit.verify import Verifier

_SORTED = orjson.OPT_SORT_KEYS

_Kind = tuple[type[LedgerEvent], int, str]
"""A topic's event class, what it issues (-1 nothing, CLAIM, ISSUED) and the number's kind."""


def _kind_of(topic: object) -> _Kind | None:
    cls = ledger_event_class(topic)
    if cls is None or not isinstance(topic, str) or not topic.isascii():
        return None
    if getattr(cls, "class_version", 1) != 1:
        return None  # upcast first: the long way
    if issubclass(cls, NumberClaimed):
        return cls, CLAIM, ""
    if issubclass(cls, AuthorizationIssued):
        return cls, ISSUED, "authorization"
    if issubclass(cls, DispenseConfirmed):
        return cls, ISSUED, "confirmation"
    return cls, -1, ""


class CleanRows:
    """Takes the rows the verifier would find nothing wrong with."""

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier
        self._mapper = verifier.ledger.mapper
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
        decoded = self._state(stored)
        if decoded is None:
            return False
        state, hashed = decoded
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
        payload = dict(hashed)
        del payload["hash"]
        payload["originator_id"] = aid_text
        payload["originator_version"] = version
        payload["topic"] = topic
        if hashlib.sha256(orjson.dumps(payload, option=_SORTED)).hexdigest() != stored_hash:
            return False
        del state[CHAIN_MEMBER]
        state["originator_id"] = aid
        state["originator_version"] = version
        cls, side, number_kind = kind
        try:
            cls.model_validate(state)
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

    def _state(self, stored: object) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The decoded state of a v2 row with plain bytes and nothing to upcast, and the
        state its hash is taken over (the same, or with integral floats read as integers,
        as JCS writes them); None for any other row."""
        data = state_bytes(stored)
        if type(data) is not bytes:
            return None
        try:
            data = stored_json(self._mapper, data)
            state = orjson.loads(data)
        # Damaged bytes: the long way reports them unreadable.
        except Exception:
            return None
        if type(state) is not dict or "class_version" in state:
            return None
        chain = state.get(CHAIN_MEMBER)
        if type(chain) is not int or chain != CHAIN_VERSION:
            return None
        if plain_json(data):
            return state, state
        as_integers = integral_floats_as_integers(data)
        if as_integers is None:
            return None
        return state, orjson.loads(as_integers)
