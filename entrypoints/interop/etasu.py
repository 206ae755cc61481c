"""The ledger's answer as the IG's `$rems-etasu` output (INTEROP.md §3.3, §12.4): Parameters with
one GuidanceResponse whose contained Parameters hold one GuidanceResponse per requirement (named
by rule ID), then the case number (the open authorization) and the patient's REMS facts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.values import RiskCategory
from entrypoints.interop.fhir_build import GuidanceStatus, checked, operation_outcome
from entrypoints.interop.identity import PATIENT_ID_PATH
from entrypoints.interop.requirements import NCI_CODES, NCI_SYSTEM, listed_rules, rule_text

CATEGORY_DISPLAY = {
    RiskCategory.ADULT_FEMALE_REPRODUCTIVE_POTENTIAL: "Adult female of reproductive potential",
    RiskCategory.ADULT_FEMALE_NOT_REPRODUCTIVE_POTENTIAL: "Adult female not of reproductive "
    "potential",
    RiskCategory.FEMALE_CHILD_REPRODUCTIVE_POTENTIAL: "Female child of reproductive potential",
    RiskCategory.FEMALE_CHILD_NOT_REPRODUCTIVE_POTENTIAL: "Female child not of reproductive "
    "potential",
    RiskCategory.ADULT_MALE: "Adult male",
    RiskCategory.MALE_CHILD: "Male child",
}
NEXT_DUE_PARAMETERS = (
    ("pregnancy_test", "next_pregnancy_test"),
    ("patient_survey", "next_patient_survey"),
    ("cbc", "next_cbc"),
)


@dataclass(frozen=True)
class EtasuContext:
    """Who the answer is about and for."""

    canonical: str
    patient_id: str
    patient_resource_id: str | None
    pharmacy: bool
    open_authorization: dict[str, Any] | None


def module_uri(canonical: str, ruleset_version: str) -> str:
    """The rule-set version an answer was judged under (replayable)."""
    return f"{canonical}/ruleset/{ruleset_version}"


def _subject(ctx: EtasuContext) -> dict[str, Any]:
    subject: dict[str, Any] = {}
    if ctx.patient_resource_id:
        subject["reference"] = f"Patient/{ctx.patient_resource_id}"
    subject["identifier"] = {"system": ctx.canonical + PATIENT_ID_PATH, "value": ctx.patient_id}
    return subject


def _requirement(
    rule: str, status: GuidanceStatus, note: str, common: dict[str, Any], canonical: str
) -> dict[str, Any]:
    rule_system = f"{canonical}/CodeSystem/rule"
    codings: list[dict[str, str]] = [{"system": rule_system, "code": rule}]
    codings += [{"system": NCI_SYSTEM, "code": c, "display": d} for c, d in NCI_CODES.get(rule, ())]
    return {
        "name": rule,
        "resource": {
            "resourceType": "GuidanceResponse",
            "identifier": [{"system": rule_system, "value": rule}],
            **common,
            "status": status,
            "reasonCode": [{"coding": codings, "text": rule_text(rule)}],
            "note": [{"text": note}],
        },
    }


def etasu_output(answer: dict[str, Any], ctx: EtasuContext) -> dict[str, Any]:
    """Parameters `rems-etasu` for an enrolled patient (`answer`: the eligibility shape)."""
    category = RiskCategory(answer["risk_category"])
    messages: dict[str, list[str]] = {}
    for reason in answer["reasons"]:
        messages.setdefault(reason["rule"], []).append(reason["message"])
    module = module_uri(ctx.canonical, answer["ruleset_version"])
    subject = _subject(ctx)
    head = {"moduleUri": module}
    tail = {"subject": subject, "occurrenceDateTime": answer["as_of"]}
    parameters: list[dict[str, Any]] = []
    for rule in listed_rules(category, answer["initial"], list(messages), ctx.pharmacy):
        unmet = rule in messages or (rule == "D1" and ctx.open_authorization is None)
        note = " ".join(messages.get(rule, [])) or (
            "No open authorization: the prescriber must obtain one before a dispense."
            if unmet
            else f"{rule} met."
        )
        status: GuidanceStatus = "data-required" if unmet else "success"
        parameters.append(_requirement(rule, status, note, {**head, **tail}, ctx.canonical))
    overall: GuidanceStatus = (
        "success"
        if all(p["resource"]["status"] == "success" for p in parameters)
        else "data-required"
    )
    if ctx.open_authorization:
        parameters.append({"name": "case_number", "valueString": ctx.open_authorization["number"]})
        expires: datetime = ctx.open_authorization["expires_at"]
        parameters.append({"name": "authorization_expires", "valueDateTime": expires.isoformat()})
    parameters += [
        {"name": "rems_patient_id", "valueIdentifier": subject["identifier"]},
        {
            "name": "risk_category",
            "valueCoding": {
                "system": f"{ctx.canonical}/CodeSystem/risk-category",
                "code": category.value,
                "display": CATEGORY_DISPLAY[category],
            },
        },
        {"name": "initial", "valueBoolean": answer["initial"]},
    ]
    for key, name in NEXT_DUE_PARAMETERS:
        if answer["next_due"].get(key):
            parameters.append({"name": name, "valueDate": answer["next_due"][key]})
    guidance = {
        "resourceType": "GuidanceResponse",
        "contained": [
            {"resourceType": "Parameters", "id": "etasuOutputParameters", "parameter": parameters}
        ],
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"}],
        **head,
        "status": overall,
        **tail,
        "outputParameters": {"reference": "#etasuOutputParameters"},
    }
    return checked(
        {"resourceType": "Parameters", "parameter": [{"name": "rems-etasu", "resource": guidance}]}
    )


def etasu_failure(
    canonical: str, ruleset_version: str, as_of: str, code: str, text: str, expression: str
) -> dict[str, Any]:
    """Parameters `rems-etasu` with status `failure` (no enrolled patient matched, or not
    lenalidomide): no subject, a contained OperationOutcome (§3.4, §12.4)."""
    outcome = operation_outcome(
        "not-found" if code == "not-found" else "not-supported", text, expression, resource_id=code
    )
    guidance = {
        "resourceType": "GuidanceResponse",
        "contained": [outcome],
        "moduleUri": module_uri(canonical, ruleset_version),
        "status": "failure",
        "occurrenceDateTime": as_of,
        "evaluationMessage": [{"reference": f"#{code}"}],
    }
    return checked(
        {"resourceType": "Parameters", "parameter": [{"name": "rems-etasu", "resource": guidance}]}
    )
