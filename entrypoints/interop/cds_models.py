"""CDS Hooks 2.0 requests, services and cards as pydantic models (no maintained Python library
exists; fields from the spec and the HL7 logical models). FHIR inside is *not* validated here:
real clients send draft-order bundles without `type` (INTEROP.md §2.2); orders are read leniently
one by one."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Hook = Literal["order-select", "order-sign", "patient-view"]


class FhirAuthorization(BaseModel):
    """Accepted and ignored in v1: the server makes no outbound calls (§2.2); never stored."""

    model_config = ConfigDict(extra="allow")
    access_token: str
    token_type: str
    expires_in: int
    scope: str
    subject: str
    patient: str | None = None


class HookContext(BaseModel):
    """The context fields the three hooks carry (each hook's own requirements checked below)."""

    model_config = ConfigDict(extra="allow")
    userId: str  # noqa: N815 - the spec's field name
    patientId: str  # noqa: N815 - the spec's field name
    encounterId: str | None = None  # noqa: N815 - the spec's field name
    draftOrders: dict[str, Any] | None = None  # noqa: N815 - the spec's field name
    selections: list[str] | None = None


class CdsRequest(BaseModel):
    """A CDS Hooks call (`POST /cds-services/{id}`)."""

    model_config = ConfigDict(extra="allow")
    hook: str
    hookInstance: str = Field(min_length=1)  # noqa: N815 - the spec's field name
    fhirServer: str | None = None  # noqa: N815 - the spec's field name
    fhirAuthorization: FhirAuthorization | None = None  # noqa: N815 - the spec's field name
    context: HookContext
    prefetch: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _hook_fields(self) -> CdsRequest:
        if self.fhirAuthorization is not None and not self.fhirServer:
            msg = "fhirServer is required when fhirAuthorization is present"
            raise ValueError(msg)
        if self.hook in ("order-sign", "order-select") and self.context.draftOrders is None:
            msg = f"context.draftOrders is required for {self.hook}"
            raise ValueError(msg)
        if self.hook == "order-select" and not self.context.selections:
            msg = "context.selections is required for order-select"
            raise ValueError(msg)
        return self


class Service(BaseModel):
    """One entry of the discovery document."""

    hook: Hook
    id: str
    title: str
    description: str
    prefetch: dict[str, str]
    usageRequirements: str | None = None  # noqa: N815 - the spec's field name


class Topic(BaseModel):
    """A coding naming the card's rule."""

    system: str
    code: str
    display: str


class Source(BaseModel):
    """Where the card's guidance comes from."""

    label: str
    url: str
    topic: Topic


class Link(BaseModel):
    """An absolute link (no SMART app exists yet, §2.4)."""

    label: str
    url: str
    type: Literal["absolute"] = "absolute"


class Card(BaseModel):
    """One card: one rule (§12.3)."""

    uuid: str
    summary: str = Field(max_length=139)
    detail: str
    indicator: Literal["info", "warning", "critical"]
    source: Source
    links: list[Link] = Field(min_length=1)
