"""Rule IDs of RULES.md with their kind and text, so every reason can cite its rule."""

from __future__ import annotations

from enum import StrEnum

from domain.base import Frozen


class RuleKind(StrEnum):
    """How a rule acts: it denies, it is tracked in work queues, or it changes status."""

    BLOCK = "block"
    TRACK = "track"
    STATE = "state"


class Rule(Frozen):
    """One rule of the catalogue."""

    id: str
    kind: RuleKind
    text: str


_B, _T, _S = RuleKind.BLOCK, RuleKind.TRACK, RuleKind.STATE

RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            id="P1",
            kind=_B,
            text="Only an enrolled and certified prescriber can enroll "
            "patients and obtain authorization numbers.",
        ),
        Rule(
            id="P2",
            kind=_B,
            text="Only a certified pharmacy can obtain a confirmation number and dispense.",
        ),
        Rule(
            id="P3",
            kind=_B,
            text="A suspended or revoked certification is treated as "
            "uncertified from that moment on.",
        ),
        Rule(
            id="P4",
            kind=_T,
            text="Prescriber record holds name, identification number, full address, fax number.",
        ),
        Rule(
            id="P5",
            kind=_B,
            text="Only the patient's prescriber of record requests authorizations.",
        ),
        Rule(
            id="E1",
            kind=_B,
            text="The Patient-Physician Agreement Form is signed by the "
            "patient (or the person signing for them) and the prescriber, every statement "
            "marked.",
        ),
        Rule(
            id="E2",
            kind=_B,
            text="A patient under 18: a legal guardian reads, marks, signs and dates the form.",
        ),
        Rule(
            id="E3",
            kind=_B,
            text="An incompetent adult: an authorized representative signs; "
            "without power of attorney a prescriber letter on letterhead is on file.",
        ),
        Rule(
            id="E4",
            kind=_B,
            text="Female patients: the prescriber states the facts that decide "
            "reproductive potential, including menopause of at least 24 months.",
        ),
        Rule(
            id="E5",
            kind=_T,
            text="Patient record holds name, address, phone, date of birth, "
            "ID, ICD-10 diagnosis and one of the 16 languages.",
        ),
        Rule(
            id="E6",
            kind=_S,
            text="No dispense for 12 consecutive months: the enrollment lapses "
            "and the patient must enroll again.",
        ),
        Rule(
            id="E8",
            kind=_B,
            text="One person, one enrollment: an enrollment with the same name (folded) and "
            "date of birth as a patient enrolled under another ID is a possible duplicate; "
            "its authorizations and confirmations are denied until compliance reviews it.",
        ),
        Rule(
            id="E7",
            kind=_S,
            text="Once the form is received, female patients and the "
            "prescriber can take their surveys; males take no initial survey.",
        ),
        Rule(
            id="R1",
            kind=_B,
            text="Reproductive potential is decided by menstrual status, "
            "menopause of 24 months, hysterectomy or bilateral oophorectomy; FNRP wins.",
        ),
        Rule(
            id="R2",
            kind=_B,
            text="Six risk categories (child = under 18); the category is "
            "carried on every authorization.",
        ),
        Rule(
            id="R3",
            kind=_S,
            text="A change of facts changes the risk category from the moment it is recorded.",
        ),
        Rule(
            id="T1",
            kind=_B,
            text="Initial prescription: a negative pregnancy test 10 to 14 "
            "days before it is written.",
        ),
        Rule(
            id="T2",
            kind=_B,
            text="Initial prescription: a second negative test within 24 hours "
            "before it is written, also with abstinence.",
        ),
        Rule(
            id="T3",
            kind=_B,
            text="A pregnancy test counts only if sensitive to at least 50 mIU/mL.",
        ),
        Rule(id="T4", kind=_T, text="Weekly pregnancy testing during the first 4 weeks of use."),
        Rule(
            id="T5",
            kind=_T,
            text="Then every 4 weeks (regular menses or amenorrhea) or every "
            "2 weeks (irregular menses).",
        ),
        Rule(
            id="T6",
            kind=_B,
            text="For an authorization, the last negative test is at most 7 days old.",
        ),
        Rule(
            id="T7",
            kind=_S,
            text="A positive test or suspected pregnancy stops therapy until "
            "cleared; it is reported to MedWatch and the REMS.",
        ),
        Rule(
            id="T8",
            kind=_S,
            text="A missed period or abnormal bleeding stops therapy until a negative test.",
        ),
        Rule(
            id="C1",
            kind=_B,
            text="FRP: complete abstinence, or one highly effective and one "
            "additional effective method at the same time.",
        ),
        Rule(
            id="C2",
            kind=_B,
            text="The methods started at least 4 weeks before therapy and "
            "continue during it and 4 weeks after.",
        ),
        Rule(
            id="C3",
            kind=_B,
            text="Unacceptable as either method: mini-pill, IUD Progesterone "
            "T, female condom, rhythm, breastfeeding, fertility awareness, withdrawal, cervical "
            "shield.",
        ),
        Rule(
            id="C4",
            kind=_B,
            text="If hormonal or IUD contraception is contraindicated, two "
            "other effective methods at the same time satisfy C1.",
        ),
        Rule(
            id="C5",
            kind=_T,
            text="Male patients: condoms with every contact with an FRP, and "
            "no sperm donation, during therapy and 4 weeks after.",
        ),
        Rule(
            id="K1",
            kind=_B,
            text="Before the first authorization the prescriber has recorded "
            "comprehensive counseling on all nine topics.",
        ),
        Rule(id="K2", kind=_T, text="FRP: no breastfeeding during therapy."),
        Rule(
            id="S1",
            kind=_B,
            text="The prescriber completes a survey for the patient before every prescription.",
        ),
        Rule(
            id="S2",
            kind=_B,
            text="Female patients complete an initial survey before the first prescription.",
        ),
        Rule(
            id="S3",
            kind=_B,
            text="Before each subsequent prescription the patient's survey is "
            "current: monthly, or every 6 months for adult FNRP.",
        ),
        Rule(
            id="A1",
            kind=_B,
            text="An authorization number is issued only when every block "
            "rule holds; a denial lists every unmet rule.",
        ),
        Rule(
            id="A2",
            kind=_B,
            text="Valid 7 days from the last pregnancy test for FRP; 30 days from issue otherwise.",
        ),
        Rule(
            id="A3",
            kind=_B,
            text="At most 28 days supply; no automatic refills; no telephone prescriptions.",
        ),
        Rule(
            id="A4",
            kind=_B,
            text="A new authorization for every prescription; each is used "
            "for one dispense at most.",
        ),
        Rule(
            id="D1",
            kind=_B,
            text="A certified pharmacy obtains a confirmation number before "
            "dispensing, for a valid, unused authorization of an unblocked patient.",
        ),
        Rule(id="D2", kind=_T, text="Dispensed together with the Medication Guide."),
        Rule(id="D3", kind=_T, text="The pharmacy counsels the patient before delivery."),
        Rule(
            id="M1",
            kind=_T,
            text="del 5q MDS: CBC weekly for the first 8 weeks, then at least monthly.",
        ),
        Rule(
            id="M2",
            kind=_T,
            text="Suspected pregnancy is reported to FDA MedWatch and to the REMS immediately.",
        ),
        Rule(
            id="X1",
            kind=_T,
            text="After the last dose: return unused capsules; no blood "
            "donation and contraception for 4 weeks.",
        ),
    )
}
