"""Pregnancy cases (T7, M2): how a positive test or a report joins or opens a case.

Reading (RULES.md, second round): a positive test opens a case exactly as `report_pregnancy`
does, its `suspected_on` the collection date and both M2 reports missing until recorded; a report
while a case is open, or naming the `suspected_on` of an earlier case, adds the reports it marks
as filed to that case instead of opening a new one. A positive test with no open case always
opens a new one, even on the date of a resolved case (the safer side: it blocks again).
"""

from __future__ import annotations

from domain.patient_state import PatientState, PregnancyReport


def with_pregnancy_case(
    reports: tuple[PregnancyReport, ...], report: PregnancyReport, join_same_date: bool
) -> tuple[PregnancyReport, ...]:
    """The pregnancy cases after a report (RULES.md, second round, M2): it joins the open case,
    or (`join_same_date`) the latest case with the same `suspected_on`, adding the reports it
    marks as filed (a filed report stays filed); otherwise it opens a new case."""
    target = next((i for i in reversed(range(len(reports))) if reports[i].resolution is None), None)
    if target is None and join_same_date:
        target = next(
            (
                i
                for i in reversed(range(len(reports)))
                if reports[i].suspected_on == report.suspected_on
            ),
            None,
        )
    if target is None:
        return (*reports, report)
    case = reports[target]
    joined = case.model_copy(
        update={
            "reported_to_medwatch": case.reported_to_medwatch or report.reported_to_medwatch,
            "reported_to_rems": case.reported_to_rems or report.reported_to_rems,
        }
    )
    return (*reports[:target], joined, *reports[target + 1 :])


def missing_reports(case: PregnancyReport) -> list[str]:
    """The M2 reports of a case not yet filed (`medwatch`, `rems`)."""
    return [
        name
        for name, done in (("medwatch", case.reported_to_medwatch), ("rems", case.reported_to_rems))
        if not done
    ]


def current_case(patient: PatientState) -> PregnancyReport | None:
    """The open case, else the latest one."""
    cases = patient.open_pregnancy_reports or patient.pregnancy_reports
    return cases[-1] if cases else None
