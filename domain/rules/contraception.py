"""Contraception for females of reproductive potential (C1, C2, C3, C4).

Readings (RULES.md): unacceptable methods never count and C3 is listed when C1 fails with one
offered; under C4 any two distinct non-hormonal, non-IUD effective methods satisfy C1 and
hormonal or IUD methods listed anyway do not count; `started_on` is the start of continuous use,
at least 28 days before each FRP authorization.
"""

from __future__ import annotations

from domain.calendar import add_days
from domain.patient_state import Contraception, PatientState
from domain.reasons import Reason
from domain.rules.context import DecisionTime
from domain.values import ADDITIONAL_EFFECTIVE, HIGHLY_EFFECTIVE, HORMONAL_OR_IUD, UNACCEPTABLE


def _c1_met(regimen: Contraception) -> bool:
    if regimen.abstinence:
        return True
    acceptable = set(regimen.methods) - UNACCEPTABLE
    if regimen.hormonal_contraindicated:
        return len(acceptable - HORMONAL_OR_IUD) >= 2
    return bool(acceptable & HIGHLY_EFFECTIVE) and bool(acceptable & ADDITIONAL_EFFECTIVE)


def contraception_reasons(patient: PatientState, at: DecisionTime) -> list[Reason]:
    """C1-C4 for an FRP authorization."""
    regimen = patient.contraception
    latest_start = add_days(at.day, -at.ruleset.c2_days)
    if regimen is None:
        return [
            Reason(
                rule="C1",
                message="No contraception is recorded: record abstinence, or one highly "
                "effective and one additional effective method used together.",
            ),
            Reason(
                rule="C2",
                message=f"Contraception must have started at least {at.ruleset.c2_days} days "
                f"before therapy (on or before {latest_start.isoformat()}).",
            ),
        ]
    reasons: list[Reason] = []
    if not _c1_met(regimen):
        if regimen.hormonal_contraindicated:
            reasons.append(
                Reason(
                    rule="C1",
                    message="The recorded methods are not two effective methods used together.",
                )
            )
            reasons.append(
                Reason(
                    rule="C4",
                    message="Hormonal or IUD contraception is contraindicated: two other "
                    "effective methods are needed (tubal ligation, partner's vasectomy, male "
                    "condom, diaphragm, cervical cap); hormonal or IUD methods do not count.",
                )
            )
        else:
            reasons.append(
                Reason(
                    rule="C1",
                    message="Use complete abstinence, or at least one highly effective method "
                    "(IUD, hormonal, tubal ligation, partner's vasectomy) and one additional "
                    "method (male condom, diaphragm, cervical cap) together.",
                )
            )
        offered = sorted(m.value for m in set(regimen.methods) & UNACCEPTABLE)
        if offered:
            reasons.append(
                Reason(
                    rule="C3",
                    message=f"Not acceptable as a method: {', '.join(offered)}.",
                )
            )
    if regimen.started_on > latest_start:
        reasons.append(
            Reason(
                rule="C2",
                message=f"Contraception started on {regimen.started_on.isoformat()}; it must "
                f"have started at least {at.ruleset.c2_days} days before therapy (on or before "
                f"{latest_start.isoformat()}).",
            )
        )
    return reasons
