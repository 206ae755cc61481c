"""The REMS requirements an answer lists, with their codes and words (INTEROP.md §2.4, §3.3).

Which rules are listed for a patient follows RULES.md's readings (T1/T2/S2 for initial
prescriptions, S3 for subsequent ones, FRP-only tests and contraception); any other rule the
ledger reports is added, so nothing it said is lost. The rules themselves stay in the domain.
"""

from __future__ import annotations

from domain.catalogue import RULES
from domain.values import RiskCategory

NCI_SYSTEM = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
_ENROLL = ("C128504", "Enroll in the REMS")
_ENROLL_PATIENT = ("C128509", "Enroll Patient in the REMS")
_LAB = ("C128523", "Get Lab Test or Monitoring")
_SAFE_USE = ("C128526", "Adhere to REMS Patient Safe Use Conditions")
_SURVEY = ("C128525", "Complete Patient Questionnaire")
NCI_CODES: dict[str, tuple[tuple[str, str], ...]] = {
    "P1": (_ENROLL,),
    "P2": (_ENROLL,),
    **dict.fromkeys(("E1", "E2", "E3", "E4", "E5", "E6"), (_ENROLL_PATIENT,)),
    "K1": (("C128505", "Counsel Patient"),),
    "S2": (_SURVEY,),
    "S3": (_SURVEY,),
    **dict.fromkeys(("T1", "T2", "T3", "T6", "M1"), (_LAB,)),
    **dict.fromkeys(("C1", "C2", "C3", "C4", "T7", "T8"), (_SAFE_USE,)),
    "A3": (("C128512", "Prescribe Limited Days' Supply"), ("C128510", "Do Not Prescribe Refills")),
    "D1": (("C128516", "Obtain REMS Dispensing Authorization"),),
    "D2": (("C128506", "Provide Patient with Materials"),),
    "M2": (("C128520", "Report Adverse Events"),),
    "X1": (("C128517", "Return Unused Product"),),
}

SHORT_ACTIONS: dict[str, str] = {
    "P1": "prescriber must be enrolled and certified",
    "P2": "pharmacy must be certified",
    "P3": "certification is suspended",
    "P5": "only the prescriber of record may prescribe for this patient",
    "E1": "patient must be enrolled before lenalidomide is prescribed",
    "E2": "a legal guardian must sign the enrollment form",
    "E3": "an authorized representative must sign the enrollment form",
    "E4": "state the patient's reproductive status on the form",
    "E6": "enrollment lapsed: the patient must enroll again",
    "E8": "possible duplicate enrollment under compliance review",
    "R3": "the patient's risk category changed",
    "K1": "record the patient's comprehensive counseling",
    "S2": "patient must complete her initial survey",
    "S3": "patient survey is not current",
    "T1": "negative pregnancy test 10-14 days before is missing",
    "T2": "negative pregnancy test within 24 hours is missing",
    "T3": "pregnancy test is not sensitive enough (50 mIU/mL)",
    "T4": "weekly pregnancy test is due",
    "T5": "pregnancy test is due",
    "T6": "last negative pregnancy test is older than 7 days",
    "T7": "suspected pregnancy: therapy stopped until cleared",
    "T8": "abnormal menses: therapy stopped until a negative test",
    "C1": "no acceptable contraception recorded",
    "C2": "contraception must have started 4 weeks before therapy",
    "C3": "an unacceptable contraceptive method was given",
    "C4": "two other effective methods are needed",
    "A1": "all requirements met: complete the prescriber survey",
    "A2": "the authorization expires",
    "A3": "at most 28 days supply, no refills, no telephone",
    "A4": "a new authorization is needed for every prescription",
    "D1": "no dispense confirmation can be given",
    "M1": "complete blood count is due",
    "M2": "report the suspected pregnancy",
}

FIRST = ("P1", "P5", "E1", "E6", "K1")


def rule_text(rule: str) -> str:
    """The catalogue's text of a rule (the guide's words, abridged)."""
    known = RULES.get(rule)
    return known.text if known else f"Rule {rule} of the Lenalidomide REMS."


def short_action(rule: str) -> str:
    """What to do, in a few words, for a card's summary."""
    return SHORT_ACTIONS.get(rule, "requirement not met")


def listed_rules(
    category: RiskCategory, initial: bool, reported: list[str], pharmacy: bool
) -> list[str]:
    """The requirements judged for this patient, in the answer's order (§3.3 table)."""
    frp, female = category.is_frp, category.is_female
    rules = list(FIRST)
    rules += ["S2"] if female and initial else ["S3"] if not initial else []
    rules += ["T1", "T2"] if frp and initial else []
    rules += ["T6"] if frp else []
    rules += ["T7"] if female else []
    rules += ["T8", "C1", "C2"] if frp else []
    rules.append("A3")
    for rule in reported:
        if rule not in rules:
            rules.append(rule)
    if pharmacy and "D1" not in rules:
        rules.append("D1")
    return rules
