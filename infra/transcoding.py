"""The pydantic + orjson mapper and transcoder for the event store.

Events are frozen pydantic models; their state is stored as orjson bytes. `class_version` is
written when above 1, and a stored event of an older version is upcast on read by the class's
`upcast_vN_vM(state)` static methods, one step at a time (the eventsourcing convention). Every
event is written with `"chain": 2`, the hash scheme it was hashed under (AUDIT-FORMAT.md §1);
the member is the store's, not the event's, and is dropped on read.
"""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

import orjson
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent, Transcoder
from eventsourcing.utils import get_topic, resolve_topic
from pydantic import BaseModel

from domain.chain import CHAIN_MEMBER, CHAIN_VERSION


class OrjsonTranscoder(Transcoder):
    """JSON bytes by orjson: compact, fast, and exact for ISO datetimes and UUID strings."""

    def encode(self, obj: Any) -> bytes:
        """Encode a JSON-able object."""
        return orjson.dumps(obj)

    def decode(self, data: bytes) -> Any:
        """Decode JSON bytes."""
        return orjson.loads(data)


def stored_json(mapper: Mapper[UUID], stored: bytes) -> bytes:
    """A stored state's JSON bytes: decrypted and decompressed as the mapper stored them."""
    if mapper.cipher:
        stored = mapper.cipher.decrypt(stored)
    if mapper.compressor:
        stored = mapper.compressor.decompress(stored)
    return stored


class PydanticMapper(Mapper[UUID]):
    """Maps pydantic domain events to stored events and back, upcasting old versions."""

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        """Serialise an event (its `class_version` too, when above 1)."""
        model = cast(BaseModel, domain_event)
        state = model.model_dump(mode="json", exclude={"originator_id", "originator_version"})
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        state[CHAIN_MEMBER] = CHAIN_VERSION
        stored = self.transcoder.encode(state)
        if self.compressor:
            stored = self.compressor.compress(stored)
        if self.cipher:
            stored = self.cipher.encrypt(stored)
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=get_topic(type(domain_event)),
            state=stored,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        """Deserialise a stored event, upcasting it to the current class version."""
        try:
            state: dict[str, Any] = self.transcoder.decode(stored_json(self, stored_event.state))
        except Exception as error:
            msg = (
                f"Cannot read stored event {stored_event.originator_id} "
                f"v{stored_event.originator_version} ({stored_event.topic}): {error}"
            )
            raise MapperDeserialisationError(msg) from error
        cls = resolve_topic(stored_event.topic)
        version = state.pop("class_version", 1)
        state.pop(CHAIN_MEMBER, None)
        while version < getattr(cls, "class_version", 1):
            getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
            version += 1
        state["originator_id"] = stored_event.originator_id
        state["originator_version"] = stored_event.originator_version
        return cast(DomainEventProtocol[UUID], cls.model_validate(state))
