"""A CDS Hooks call mapped onto the ledger (INTEROP.md §2.3, §12.3). The hook never writes:
issuing an authorization is the prescriber survey (S1) and voids the open supply (A4), which a
cancelled order-sign must not do. Order of checks: the drug filter first, then identity, then
the prescriber's scope (P5: no other patient detail for a foreign prescriber)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from application.errors import NotFound
from application.interop_queries import (
    OrderTerms,
    open_authorization,
    read_patient,
    would_authorize,
)
from application.queries import default_now, eligibility_answer
from application.views import Views
from domain.calendar import add_days
from domain.participants import ParticipantState
from domain.schedule import therapy_started_on
from entrypoints.interop.cds_cards import CardMaker
from entrypoints.interop.cds_models import CdsRequest
from entrypoints.interop.identity import (
    PATIENT_ID_PATH,
    PRESCRIBER_ID_PATH,
    patient_id_of,
    prescriber_id_of,
    reference_to,
)
from entrypoints.interop.products import (
    daily_dose_mg,
    days_supply,
    medication_is_lenalidomide,
    refills,
)

DEFAULT_DAILY_DOSE_MG = 10.0


class CdsProblem(Exception):
    """A call answered with an HTTP error in the API's envelope (§2.6)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class CdsAnswer:
    """The cards, and who was asking (for the access log's actor)."""

    cards: list[dict[str, Any]]
    prescriber_id: str | None


def _resources(bundle: Any) -> list[Mapping[str, Any]]:
    entries = bundle.get("entry") if isinstance(bundle, Mapping) else None
    if not isinstance(entries, list):
        return []
    return [
        e["resource"]
        for e in entries
        if isinstance(e, Mapping) and isinstance(e.get("resource"), Mapping)
    ]


def lenalidomide_orders(call: CdsRequest) -> list[Mapping[str, Any]]:
    """The lenalidomide MedicationRequests the hook is about (unknown entry types ignored)."""
    if call.hook == "patient-view":
        resources = _resources((call.prefetch or {}).get("medicationRequests"))
    else:
        resources = _resources(call.context.draftOrders)
    orders = [
        r
        for r in resources
        if r.get("resourceType") == "MedicationRequest" and medication_is_lenalidomide(r, resources)
    ]
    if call.hook == "order-select":
        chosen = set(call.context.selections or [])
        orders = [o for o in orders if reference_to(o) in chosen]
    return orders


def _terms(order: Mapping[str, Any], prescriber_id: str) -> tuple[OrderTerms, bool]:
    supply, assumed = days_supply(order)
    terms = OrderTerms(
        prescriber_id=prescriber_id,
        daily_dose_mg=daily_dose_mg(order) or DEFAULT_DAILY_DOSE_MG,
        days_supply=supply,
        refills=refills(order),
    )
    return terms, assumed


def answer_hook(views: Views, call: CdsRequest, canonical: str, program_url: str) -> CdsAnswer:
    """The cards for one call; raises CdsProblem (412 when the prefetch cannot identify)."""
    orders = lenalidomide_orders(call)
    prefetch = call.prefetch or {}
    patient_resource = prefetch.get("patient")
    practitioner = prefetch.get("practitioner")
    patient_id = patient_id_of(patient_resource, canonical)
    if not orders and not (call.hook == "patient-view" and patient_id):
        return CdsAnswer([], None)
    if not isinstance(patient_resource, Mapping):
        msg = "prefetch.patient is required (the server makes no FHIR queries of its own)."
        raise CdsProblem(412, "prefetch_required", msg)
    prescriber_id = None
    if isinstance(practitioner, Mapping) and reference_to(practitioner) == call.context.userId:
        prescriber_id = prescriber_id_of(practitioner, canonical)
    maker = CardMaker(call.hookInstance, canonical, program_url)
    cards: list[dict[str, Any]] = []
    if patient_id is None:
        cards.append(maker.not_enrolled(canonical + PATIENT_ID_PATH))
    if prescriber_id is None:
        cards.append(maker.prescriber_unknown(canonical + PRESCRIBER_ID_PATH))
    if cards:
        return CdsAnswer(cards, prescriber_id)
    assert patient_id is not None
    assert prescriber_id is not None
    now = default_now(views.ledger)
    try:
        read = read_patient(views, patient_id, prescriber_id)
    except NotFound:
        return CdsAnswer([maker.not_enrolled(canonical + PATIENT_ID_PATH)], prescriber_id)
    if read.patient.prescriber_id != prescriber_id:
        # Same scoping as /v1 reads: a foreign prescriber learns nothing about the patient.
        return CdsAnswer(maker.unmet(_foreign(read.requester)), prescriber_id)
    at = views.decision_time(now)
    if call.hook == "order-sign":
        cards, eligible = _order_sign(views, maker, orders, patient_id, prescriber_id, now)
    else:
        answer = eligibility_answer(read.patient, read.prescriber_of_record, at)
        cards = maker.unmet(answer["reasons"])
        eligible = answer["eligible"]
        if call.hook == "patient-view":
            started = therapy_started_on(read.patient, at)
            weekly = started is not None and at.day < add_days(
                started, 7 * at.ruleset.t4_weekly_weeks
            )
            cards += maker.due(answer["next_due"], at.day, weekly)
    open_supply = open_authorization(read.patient, now)
    if eligible or open_supply:
        number = open_supply["number"] if open_supply else None
        expires = open_supply["expires_at"].isoformat() if open_supply else None
        cards.append(maker.requirements_met(number, expires))
    return CdsAnswer(cards, prescriber_id)


def _foreign(requester: ParticipantState | None) -> list[dict[str, str]]:
    reasons = []
    if requester is None or not requester.certified:
        text = "The prescriber is not enrolled and certified in the Lenalidomide REMS."
        reasons.append({"rule": "P1", "message": text})
    text = (
        "Only the patient's prescriber of record may prescribe lenalidomide for this patient; "
        "compliance changes the prescriber of record."
    )
    reasons.append({"rule": "P5", "message": text})
    return reasons


def _order_sign(
    views: Views,
    maker: CardMaker,
    orders: list[Mapping[str, Any]],
    patient_id: str,
    prescriber_id: str,
    now: datetime,
) -> tuple[list[dict[str, Any]], bool]:
    """Every order judged on its own terms (A3, P5 on the real order); cards once per rule."""
    cards: dict[str, dict[str, Any]] = {}
    eligible = True
    for order in orders:
        terms, assumed = _terms(order, prescriber_id)
        answer = would_authorize(views, patient_id, terms, now)
        eligible = eligible and answer["eligible"]
        for card in maker.unmet(answer["reasons"]):
            cards.setdefault(card["uuid"], card)
        if assumed:
            text = (
                "The order states neither a supply duration nor a quantity and dose; it was "
                "judged as 28 days."
            )
            card = maker.card("A3", "status", text, "info", summary="supply judged as 28 days")
            cards.setdefault(card["uuid"], card)
    return list(cards.values()), eligible
