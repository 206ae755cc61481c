"""The Patient-Physician Agreement Form (E1, E2, E3, E4).

Readings (RULES.md): for a minor the guardian's signature stands for the patient's; for an
incompetent adult the representative's does, and without power of attorney the prescriber's
letter must be complete and name the same representative (name, address, relationship). E2 uses
the age at enrollment. Females need `menstruation`, and a months field when it is `menopause`.
"""

from __future__ import annotations

from datetime import date

from domain.calendar import age_on
from domain.forms import ReproductiveFacts, Signatures
from domain.reasons import Reason, merge
from domain.ruleset import RuleSet
from domain.values import Menstruation, Sex


def form_reasons(
    signatures: Signatures,
    sex: Sex,
    facts: ReproductiveFacts | None,
    date_of_birth: date,
    on: date,
    ruleset: RuleSet,
) -> list[Reason]:
    """Every unmet form rule, naming the missing items."""
    minor = age_on(date_of_birth, on) < ruleset.adult_age
    reasons: list[Reason] = []
    if not signatures.prescriber_signed:
        reasons.append(Reason(rule="E1", message="The prescriber has not signed the form."))
    if not signatures.all_statements_marked:
        reasons.append(Reason(rule="E1", message="Not every statement box is marked."))
    if minor:
        reasons += _guardian_reasons(signatures, ruleset.adult_age)
    elif not signatures.competent:
        reasons += _representative_reasons(signatures)
    elif not signatures.patient_signed:
        reasons.append(Reason(rule="E1", message="The patient has not signed the form."))
    if sex is Sex.FEMALE:
        reasons += reproductive_reasons(facts)
    return merge(reasons)


def _guardian_reasons(signatures: Signatures, adult_age: int) -> list[Reason]:
    guardian = signatures.guardian
    if guardian is None:
        return [
            Reason(
                rule="E2",
                message=f"The patient is under {adult_age}: a legal guardian must read, mark, "
                "sign and date the form (guardian missing).",
            )
        ]
    missing = []
    if not guardian.name:
        missing.append("name")
    if not guardian.signed:
        missing.append("signature")
    if guardian.signed_on is None:
        missing.append("date")
    if not signatures.all_statements_marked:
        missing.append("statement marks")
    if missing:
        return [
            Reason(
                rule="E2",
                message=f"The guardian's {', '.join(missing)} missing on the form.",
            )
        ]
    return []


def _representative_reasons(signatures: Signatures) -> list[Reason]:
    rep = signatures.authorized_representative
    if rep is None:
        return [
            Reason(
                rule="E3",
                message="The patient is not competent: an authorized representative must sign "
                "(representative missing).",
            )
        ]
    missing = [
        f"representative's {label}"
        for label, text in (
            ("name", rep.name),
            ("address", rep.address),
            ("relationship", rep.relationship),
        )
        if not text
    ]
    if not rep.signed:
        missing.append("representative's signature")
    if rep.signed_on is None:
        missing.append("representative's signing date")
    if not rep.power_of_attorney:
        missing += _letter_gaps(signatures, rep.name, rep.address, rep.relationship)
    if missing:
        return [Reason(rule="E3", message=f"Missing for the representative: {', '.join(missing)}.")]
    return []


def _letter_gaps(
    signatures: Signatures, name: str | None, address: str | None, relationship: str | None
) -> list[str]:
    letter = signatures.prescriber_letter
    if letter is None:
        return ["prescriber letter on letterhead (no power of attorney)"]
    gaps = []
    if not letter.on_letterhead:
        gaps.append("letter on the prescriber's letterhead")
    if letter.signed_on is None:
        gaps.append("letter's signing date")
    if not letter.incapacity_statement:
        gaps.append("statement of incapacity")
    if not letter.medical_condition:
        gaps.append("medical condition causing the incapacity")
    # A blank on either side never matches: an empty name on both is not "the same person".
    if not letter.representative_name or letter.representative_name != name:
        gaps.append("letter naming the same representative")
    if not letter.representative_address or letter.representative_address != address:
        gaps.append("representative's address in the letter")
    if not letter.relationship or letter.relationship != relationship:
        gaps.append("representative's relationship in the letter")
    if not letter.accepts_responsibility:
        gaps.append("statement that the representative accepts responsibility")
    return gaps


def reproductive_reasons(facts: ReproductiveFacts | None) -> list[Reason]:
    """E4: the facts that decide a female patient's reproductive potential are stated."""
    if facts is None:
        return [
            Reason(
                rule="E4",
                message="For a female patient the prescriber must state the menstrual status "
                "(menstruation) and any menopause, hysterectomy or bilateral oophorectomy.",
            )
        ]
    if facts.menstruation is Menstruation.MENOPAUSE and (
        facts.natural_menopause_months is None
        and facts.surgical_or_chemical_menopause_months is None
    ):
        return [
            Reason(
                rule="E4",
                message="Menopause is stated: give natural_menopause_months or "
                "surgical_or_chemical_menopause_months.",
            )
        ]
    return []
