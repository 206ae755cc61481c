"""Patient journeys of the demo simulation: enrollment, monthly cycles, and the usual mishaps."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from simulation.command_bodies import (
    authorization_body,
    confirmation_body,
    pregnancy_test_body,
    survey_body,
)
from simulation.model import PROFILES, TOPICS, Journey, Simulation

HORIZON_DAYS = 182
METHODS = [
    ["iud", "male_condom"],
    ["hormonal_pill", "diaphragm"],
    ["implant", "male_condom"],
    ["tubal_ligation", "cervical_cap"],
]


def _rules(result: dict[str, Any]) -> set[str]:
    if result.get("ok"):
        return set()
    return {r["rule"] for r in result["error"].get("reasons", [])}


def _enroll(
    sim: Simulation, patient_id: str, category: str, prescriber: str, day0: date, dob: date
) -> dict[str, Any]:
    sex, _, facts = PROFILES[category]
    form: dict[str, Any] = {
        "command": "enroll_patient",
        "patient_id": patient_id,
        "prescriber_id": prescriber,
        "name": f"Patient {patient_id}",
        "address": "10 Any Street",
        "phone": "555-0142",
        "date_of_birth": dob.isoformat(),
        "sex": sex,
        "diagnosis_icd10": "D46.C" if sim.rng.random() < 0.15 else "C90.00",
        "language": sim.rng.choice(["english", "spanish", "chinese", "french"]),
        "patient_signed": True,
        "prescriber_signed": True,
        "all_statements_marked": True,
        **facts,
    }
    if dob > date(day0.year - 18, day0.month, min(day0.day, 28)):
        form["patient_signed"] = False
        form["guardian"] = {"name": "Guardian", "signed": True, "signed_on": day0.isoformat()}
    return form


def patient_journey(
    sim: Simulation,
    patient_id: str,
    category: str,
    twist: str,
    cycles: int = 8,
    horizon_days: int = HORIZON_DAYS,
) -> Journey:
    """One patient's six months (or `cycles` 28-day cycles within `horizon_days` of the
    start, for longer programs): enroll, counsel, test, survey, then a prescription a month."""
    rng = sim.rng
    sex, age, _ = PROFILES[category]
    frp = category.endswith("_reproductive_potential") and "not_" not in category
    female = sex == "female"
    prescriber, pharmacy = rng.choice(sim.prescribers), rng.choice(sim.pharmacies)
    day0 = sim.start + timedelta(days=rng.randrange(0, 21))
    dob = date(day0.year - age - 1, rng.randint(1, 12), rng.randint(1, 28))
    t = sim.moment(day0, 9, rng.randrange(0, 50))
    form = _enroll(sim, patient_id, category, prescriber, day0, dob)
    enrolled = yield t, form
    if not enrolled.get("ok"):
        return
    mds = form["diagnosis_icd10"] == "D46.C"
    t += timedelta(minutes=10)
    topics = TOPICS if twist != "partial_counseling" else TOPICS[:5]
    yield (
        t,
        {
            "command": "record_counseling",
            "patient_id": patient_id,
            "prescriber_id": prescriber,
            "topics": topics,
        },
    )
    if frp:
        started = day0 - timedelta(days=rng.randrange(35, 120))
        regimen: dict[str, Any] = (
            {"abstinence": True} if rng.random() < 0.1 else {"methods": rng.choice(METHODS)}
        )
        yield (
            t + timedelta(minutes=5),
            {
                "command": "record_contraception",
                "patient_id": patient_id,
                "started_on": started.isoformat(),
                **regimen,
            },
        )
        yield t + timedelta(minutes=6), pregnancy_test_body(patient_id, t)
    if female:
        yield t + timedelta(minutes=20), survey_body(patient_id)
    first = day0 + timedelta(days=12 if frp else 1)
    for cycle in range(cycles):
        day = first + timedelta(days=28 * cycle)
        if day > sim.start + timedelta(days=horizon_days):
            return
        morning = sim.moment(day, 8)
        if twist == "partial_counseling" and cycle == 0:
            denied = yield sim.moment(day, 9, 30), authorization_body(patient_id, prescriber)
            if "K1" in _rules(denied):
                yield (
                    sim.moment(day, 9, 40),
                    {
                        "command": "record_counseling",
                        "patient_id": patient_id,
                        "prescriber_id": prescriber,
                        "topics": TOPICS,
                    },
                )
        if frp and twist == "abnormality" and cycle == 2:
            yield (
                morning - timedelta(days=3),
                {
                    "command": "record_menstrual_abnormality",
                    "patient_id": patient_id,
                    "noted_on": (day - timedelta(days=3)).isoformat(),
                },
            )
            yield morning - timedelta(days=2), authorization_body(patient_id, prescriber)
        if frp:
            positive = twist == "pregnancy" and cycle == 3
            yield (
                morning + timedelta(minutes=30),
                pregnancy_test_body(patient_id, morning, positive),
            )
            if positive:
                yield from _pregnancy(sim, patient_id, prescriber, day)
                return
        monthly = category != "adult_female_not_reproductive_potential" or cycle % 6 == 0
        if cycle > 0 and monthly and not (twist == "forgets_survey" and cycle == 2):
            yield morning + timedelta(minutes=45), survey_body(patient_id)
        channel = "telephone" if twist == "telephone" and cycle == 1 else "electronic"
        result = yield sim.moment(day, 10), authorization_body(patient_id, prescriber, channel)
        for attempt in range(2):
            missing = _rules(result)
            if not missing:
                break
            fix = sim.moment(day, 11 + attempt)
            if missing & {"S2", "S3"}:
                yield fix, survey_body(patient_id)
            if frp and missing & {"T2", "T6", "T8"}:
                yield fix + timedelta(minutes=5), pregnancy_test_body(patient_id, fix)
            result = yield fix + timedelta(minutes=15), authorization_body(patient_id, prescriber)
        if not result.get("ok"):
            continue
        number = result["authorization_number"]
        confirmation = yield sim.moment(day, 14), confirmation_body(pharmacy, patient_id, number)
        if {"P2", "P3"} & _rules(confirmation):
            pharmacy = "PH01"
            confirmation = yield (
                sim.moment(day, 14, 30),
                confirmation_body(pharmacy, patient_id, number),
            )
        if not confirmation.get("ok"):
            continue
        yield (
            sim.moment(day, 15),
            {
                "command": "record_dispense",
                "pharmacy_id": pharmacy,
                "confirmation_number": confirmation["confirmation_number"],
                "medication_guide_provided": True,
                "counseled": True,
                "capsules": 28,
            },
        )
        if mds:
            yield (
                sim.moment(day + timedelta(days=7), 9),
                {
                    "command": "record_cbc",
                    "patient_id": patient_id,
                    "collected_at": sim.moment(day + timedelta(days=7), 8).isoformat(),
                },
            )
        if twist == "discontinues" and cycle == 3:
            last = day + timedelta(days=20)
            yield from _stop_therapy(sim, patient_id, last, "disease progression", "pharmacy", 8)
            return


def _pregnancy(sim: Simulation, patient_id: str, prescriber: str, day: date) -> Journey:
    """A positive test: report it, a denied request (T7), therapy stopped, capsules back."""
    yield (
        sim.moment(day, 11),
        {
            "command": "report_pregnancy",
            "patient_id": patient_id,
            "suspected_on": day.isoformat(),
            "reported_to_medwatch": True,
            "reported_to_rems": True,
        },
    )
    yield sim.moment(day, 12), authorization_body(patient_id, prescriber)
    yield from _stop_therapy(sim, patient_id, day, "pregnancy", "rems", 10)


def _stop_therapy(
    sim: Simulation, patient_id: str, last_dose: date, reason: str, returned_to: str, left: int
) -> Journey:
    """The last dose (X1 follows) and, a few days later, the unused capsules returned."""
    yield (
        sim.moment(last_dose, 13),
        {
            "command": "discontinue_therapy",
            "patient_id": patient_id,
            "last_dose_on": last_dose.isoformat(),
            "reason": reason,
        },
    )
    yield (
        sim.moment(last_dose + timedelta(days=3), 10),
        {
            "command": "record_capsule_return",
            "patient_id": patient_id,
            "capsules": left,
            "returned_to": returned_to,
        },
    )


def lapsed_journey(sim: Simulation, patient_id: str) -> Journey:
    """A man treated once more than a year ago: E6 denies, he re-enrolls, therapy resumes."""
    prescriber, pharmacy = sim.prescribers[0], sim.pharmacies[0]
    long_ago = sim.start - timedelta(days=390)
    form = _enroll(sim, patient_id, "adult_male", prescriber, long_ago, date(1960, 2, 2))
    yield sim.moment(long_ago, 9), form
    yield (
        sim.moment(long_ago, 9, 10),
        {
            "command": "record_counseling",
            "patient_id": patient_id,
            "prescriber_id": prescriber,
            "topics": TOPICS,
        },
    )
    auth = yield sim.moment(long_ago, 10), authorization_body(patient_id, prescriber)
    conf = yield (
        sim.moment(long_ago, 11),
        confirmation_body(pharmacy, patient_id, auth["authorization_number"]),
    )
    yield (
        sim.moment(long_ago, 12),
        {
            "command": "record_dispense",
            "pharmacy_id": pharmacy,
            "confirmation_number": conf["confirmation_number"],
            "medication_guide_provided": True,
            "counseled": True,
            "capsules": 28,
        },
    )
    back = sim.start + timedelta(days=5)
    yield sim.moment(back, 9), authorization_body(patient_id, prescriber)
    yield sim.moment(back, 10), form
    yield (
        sim.moment(back, 10, 10),
        {
            "command": "record_counseling",
            "patient_id": patient_id,
            "prescriber_id": prescriber,
            "topics": TOPICS,
        },
    )
    yield sim.moment(back, 11), authorization_body(patient_id, prescriber)
