"""`$rems-etasu` from request to answer (INTEROP.md §3.3): find the patient by number or REMS
identifier only, apply the caller's scope (a foreign patient gets the unknown patient's answer),
and shape the ledger's eligibility answer. Reads only."""

from __future__ import annotations

from typing import Any

from application.errors import InvalidCommand, NotFound
from application.interop_queries import answer_for, open_authorization, patient_of_number
from application.queries import default_now, parse_as_of
from application.views import Views
from domain.patient_state import PatientState
from domain.rules.context import DecisionTime
from entrypoints.http.tokens import Principal, Role
from entrypoints.interop.etasu import EtasuContext, etasu_failure, etasu_output
from entrypoints.interop.etasu_input import EtasuRequest, FhirProblem
from entrypoints.interop.identity import patient_id_of
from entrypoints.interop.products import medication_is_lenalidomide

NOT_FOUND_TEXT = (
    "No patient enrolled in the Lenalidomide REMS matches the request, or the patient is not "
    "under your care."
)
NOT_LENALIDOMIDE_TEXT = "This REMS administrator answers for lenalidomide only."
AS_OF_ROLES = frozenset({Role.COMPLIANCE, Role.AUDITOR})


class _NotFound(Exception):
    """No patient the caller may see matches (answered as `failure`, never an HTTP error)."""


def _in_scope(principal: Principal, patient: PatientState, by_number: str | None) -> bool:
    if principal.role in AS_OF_ROLES:
        return True
    if principal.role is Role.PRESCRIBER:
        return patient.prescriber_id == principal.subject
    # A pharmacy reads a patient whose number it presents or for whom it holds a confirmation.
    if by_number is not None:
        return True
    return any(c.pharmacy_id == principal.subject for c in patient.confirmations)


def _patient_id(request: EtasuRequest, canonical: str, views: Views) -> tuple[str, str | None]:
    by_identifier = patient_id_of(request.patient, canonical) if request.patient else None
    if request.number is None:
        if by_identifier is None:
            raise _NotFound
        return by_identifier, None
    by_number = patient_of_number(views.ledger, request.number)
    if by_number is None:
        raise _NotFound
    if by_identifier is not None and by_identifier != by_number:
        text = "The patient and the case number name different patients."
        raise FhirProblem(400, "invalid", text, request.number_at)
    return by_number, request.number


def rems_etasu(
    views: Views, principal: Principal, request: EtasuRequest, canonical: str
) -> dict[str, Any]:
    """The operation's output Parameters; raises FhirProblem for 400/403 answers."""
    as_of = None
    if request.as_of is not None:
        if principal.role not in AS_OF_ROLES:
            raise FhirProblem(403, "forbidden", "as-of is for compliance staff and auditors.")
        try:
            as_of = parse_as_of(request.as_of, views.ledger)
        except InvalidCommand as error:
            raise FhirProblem(
                400, "invalid", error.message, "Parameters.parameter('as-of')"
            ) from None
    now = as_of or default_now(views.ledger)
    at = DecisionTime.in_force(now, views.ledger.settings.timezone)

    def failure(code: str, text: str, expression: str) -> dict[str, Any]:
        return etasu_failure(canonical, at.ruleset.version, now.isoformat(), code, text, expression)

    if request.medication is not None and not medication_is_lenalidomide(request.medication):
        return failure("not-supported", NOT_LENALIDOMIDE_TEXT, "Parameters.parameter('medication')")
    try:
        patient_id, by_number = _patient_id(request, canonical, views)
        answer, patient = answer_for(views, patient_id, as_of)
        if not _in_scope(principal, patient, by_number):
            raise _NotFound
    except (_NotFound, NotFound):
        return failure("not-found", NOT_FOUND_TEXT, "Parameters.parameter[0]")
    context = EtasuContext(
        canonical=canonical,
        patient_id=patient_id,
        patient_resource_id=_resource_id(request),
        pharmacy=principal.role is Role.PHARMACY,
        open_authorization=open_authorization(patient, now),
    )
    return etasu_output(answer, context)


def _resource_id(request: EtasuRequest) -> str | None:
    rid = request.patient.get("id") if request.patient else None
    return rid if isinstance(rid, str) else None
