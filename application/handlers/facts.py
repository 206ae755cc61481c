"""Facts the prescriber, patient or compliance staff report: counseling, contraception, tests,
surveys, pregnancy and menstrual events, discontinuation, CBCs, capsule returns."""

from __future__ import annotations

from datetime import date

from application.commands import (
    DiscontinueTherapy,
    RecordCapsuleReturn,
    RecordCbc,
    RecordContraception,
    RecordCounseling,
    RecordMenstrualAbnormality,
    RecordPatientSurvey,
    RecordPregnancyTest,
    ReportPregnancy,
    ResolvePregnancyReport,
)
from application.errors import InvalidCommand, NotFound
from application.unit import Outcome, Unit
from domain.calendar import day_of, start_of_day
from domain.patient_events import (
    CapsulesReturned,
    CbcRecorded,
    ContraceptionRecorded,
    CounselingRecorded,
    MenstrualAbnormalityRecorded,
    PatientSurveyCompleted,
    PregnancyReported,
    PregnancyReportResolved,
    PregnancyTestRecorded,
    TherapyDiscontinued,
)
from domain.patient_state import PatientState
from domain.pregnancy_cases import current_case, missing_reports
from domain.rules.pregnancy_tests import is_sensitive
from domain.rules.surveys import k1_missing
from domain.values import PregnancyTestResult, Sex


def _female_only(patient: PatientState, what: str) -> None:
    if patient.sex is not Sex.FEMALE:
        msg = (
            f"patient_id: {what} is recorded for female patients only; "
            f"{patient.patient_id} is male."
        )
        raise InvalidCommand(msg, field="patient_id")


def record_counseling(unit: Unit, cmd: RecordCounseling) -> Outcome:
    """Counseling on some or all of K1's topics; a partial record is accepted and reported."""
    patient = unit.enrolled_patient(cmd.patient_id)
    if unit.prescriber(cmd.prescriber_id) is None:
        msg = f"Prescriber {cmd.prescriber_id} is not registered."
        raise NotFound(msg)
    topics = tuple(dict.fromkeys(cmd.topics))
    event = unit.record(
        CounselingRecorded,
        patient,
        occurred_at=cmd.at,
        prescriber_id=cmd.prescriber_id,
        topics=topics,
    )
    missing = k1_missing(event.apply(patient))
    return Outcome(
        {
            "patient_id": cmd.patient_id,
            "counseling_complete": not missing,
            "missing_topics": [t.value for t in missing],
        }
    )


def record_contraception(unit: Unit, cmd: RecordContraception) -> Outcome:
    """The patient's whole current regimen, replacing the previous record (C1-C4)."""
    patient = unit.enrolled_patient(cmd.patient_id)
    if not cmd.abstinence and not cmd.methods:
        msg = "methods: give the methods in use, or abstinence: true."
        raise InvalidCommand(msg, field="methods")
    unit.record(
        ContraceptionRecorded,
        patient,
        occurred_at=cmd.at,
        abstinence=cmd.abstinence,
        methods=tuple(dict.fromkeys(cmd.methods)),
        started_on=cmd.started_on,
        hormonal_contraindicated=cmd.hormonal_contraindicated,
    )
    return Outcome({"patient_id": cmd.patient_id})


def record_pregnancy_test(unit: Unit, cmd: RecordPregnancyTest) -> Outcome:
    """A pregnancy test; a positive one stops therapy at once (T7)."""
    patient = unit.enrolled_patient(cmd.patient_id)
    _female_only(patient, "a pregnancy test")
    positive = cmd.result is PregnancyTestResult.POSITIVE
    event = unit.record(
        PregnancyTestRecorded,
        patient,
        occurred_at=cmd.collected_at,
        result=cmd.result,
        sensitivity_miu_per_ml=cmd.sensitivity_miu_per_ml,
        suspected_on=day_of(cmd.collected_at, unit.at.tz) if positive else None,
    )
    after = event.apply(patient)
    counts = is_sensitive(after.tests[-1], unit.at.ruleset)
    payload: dict[str, object] = {"patient_id": cmd.patient_id, "counts": counts}
    if not counts:
        threshold = f"{unit.at.ruleset.min_sensitivity_miu_per_ml:g}"
        payload["note"] = (
            f"T3: less sensitive than {threshold} mIU/mL; recorded, but it does not count."
        )
    if positive:
        payload["note"] = (
            "T7: therapy is stopped; report the suspected exposure to FDA MedWatch and to the "
            "REMS at once (M2)."
        )
        case = current_case(after)
        payload["missing_reports"] = missing_reports(case) if case else []
    return Outcome(payload)


def record_patient_survey(unit: Unit, cmd: RecordPatientSurvey) -> Outcome:
    """A patient survey (S2, S3; E7: available once the form is received)."""
    patient = unit.enrolled_patient(cmd.patient_id)
    unit.record(
        PatientSurveyCompleted,
        patient,
        occurred_at=cmd.at,
        compliant=cmd.compliant,
        concerns=cmd.concerns,
    )
    return Outcome({"patient_id": cmd.patient_id, "compliant": cmd.compliant})


def report_pregnancy(unit: Unit, cmd: ReportPregnancy) -> Outcome:
    """A suspected pregnancy (T7 for female patients; tracked for M2 for a male's partner)."""
    patient = unit.enrolled_patient(cmd.patient_id)
    event = unit.record(
        PregnancyReported,
        patient,
        occurred_at=start_of_day(cmd.suspected_on, unit.at.tz),
        suspected_on=cmd.suspected_on,
        reported_to_medwatch=cmd.reported_to_medwatch,
        reported_to_rems=cmd.reported_to_rems,
    )
    after = event.apply(patient)
    case = "opened" if len(after.pregnancy_reports) > len(patient.pregnancy_reports) else "updated"
    return Outcome(
        {
            "patient_id": cmd.patient_id,
            "blocks": patient.sex is Sex.FEMALE and after.pregnancy_open,
            "case": case,
            "missing_reports": _missing_reports_of(after, cmd.suspected_on),
        }
    )


def _missing_reports_of(patient: PatientState, suspected_on: date) -> list[str]:
    """The M2 reports still missing on the case this report joined or opened."""
    if patient.open_pregnancy_reports:
        return missing_reports(patient.open_pregnancy_reports[-1])
    same = [r for r in patient.pregnancy_reports if r.suspected_on == suspected_on]
    return missing_reports(same[-1])


def resolve_pregnancy_report(unit: Unit, cmd: ResolvePregnancyReport) -> Outcome:
    """Compliance closes the open pregnancy (the only way to clear T7)."""
    patient = unit.enrolled_patient(cmd.patient_id)
    if not patient.pregnancy_open:
        msg = f"Patient {cmd.patient_id} has no open pregnancy report or positive test."
        raise NotFound(msg)
    unit.record(
        PregnancyReportResolved,
        patient,
        resolution=cmd.resolution,
        evidence=cmd.evidence,
        resolved_on=cmd.resolved_on,
    )
    return Outcome({"patient_id": cmd.patient_id, "resolution": cmd.resolution.value})


def record_menstrual_abnormality(unit: Unit, cmd: RecordMenstrualAbnormality) -> Outcome:
    """A missed period or abnormal bleeding: therapy stops until a negative test (T8)."""
    patient = unit.enrolled_patient(cmd.patient_id)
    _female_only(patient, "a menstrual abnormality")
    unit.record(
        MenstrualAbnormalityRecorded,
        patient,
        occurred_at=start_of_day(cmd.noted_on, unit.at.tz),
        noted_on=cmd.noted_on,
    )
    return Outcome({"patient_id": cmd.patient_id})


def discontinue_therapy(unit: Unit, cmd: DiscontinueTherapy) -> Outcome:
    """The last dose (X1's four weeks start)."""
    patient = unit.enrolled_patient(cmd.patient_id)
    unit.record(
        TherapyDiscontinued,
        patient,
        occurred_at=start_of_day(cmd.last_dose_on, unit.at.tz),
        last_dose_on=cmd.last_dose_on,
        reason=cmd.reason,
    )
    return Outcome({"patient_id": cmd.patient_id})


def record_cbc(unit: Unit, cmd: RecordCbc) -> Outcome:
    """A complete blood count (M1)."""
    patient = unit.enrolled_patient(cmd.patient_id)
    unit.record(CbcRecorded, patient, occurred_at=cmd.collected_at)
    return Outcome({"patient_id": cmd.patient_id})


def record_capsule_return(unit: Unit, cmd: RecordCapsuleReturn) -> Outcome:
    """Unused capsules returned for disposal (X1)."""
    patient = unit.enrolled_patient(cmd.patient_id)
    unit.record(
        CapsulesReturned,
        patient,
        occurred_at=cmd.at,
        capsules=cmd.capsules,
        returned_to=cmd.returned_to,
    )
    return Outcome({"patient_id": cmd.patient_id})
