"""Hypothesis state machine: any sequence of commands keeps the ledger's invariants.

Invariants checked after every step, with simple oracles independent of the rule engine:
- no authorization is issued while an independent check of a block rule fails (certified
  prescriber of record, full counseling, supply and channel, T7, FRP test recency, C1);
- an authorization is confirmed at most once and a confirmation dispensed at most once;
- replaying the stored events in a fresh ledger gives exactly the live state.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domain.patient_state import PatientState
from domain.values import PregnancyTestResult
from tests.conftest import make_ledger
from tests.program import ALL_TOPICS, Program

PATIENTS = ("FRP1", "MALE1")


class LedgerMachine(RuleBasedStateMachine):
    """Random programs of one FRP and one male patient."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.mkdtemp(prefix="rems-hyp-")
        self.url = f"sqlite:///{self.folder}/rems.db"
        self.ledger = make_ledger(self.url)
        self.program = Program(self.ledger).participants()
        assert self.program.enroll("FRP1")["ok"]
        assert self.program.enroll("MALE1", sex="male")["ok"]
        self.authorizations: dict[str, str] = {}
        self.confirmations: dict[str, str] = {}

    def teardown(self) -> None:
        self.ledger.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # ----------------------------------------------------------------- commands
    @rule(hours=st.integers(min_value=1, max_value=24 * 20))
    def time_passes(self, hours: int) -> None:
        self.program.advance(hours=hours)

    @rule(
        hours_before=st.integers(min_value=0, max_value=24 * 16),
        positive=st.booleans(),
        sensitivity=st.sampled_from([10, 25, 50, 100]),
    )
    def pregnancy_test(self, hours_before: int, positive: bool, sensitivity: int) -> None:
        collected = self.program.now - timedelta(hours=hours_before)
        result = "positive" if positive and hours_before % 7 == 0 else "negative"
        self.program.test("FRP1", collected_at=collected, result=result, sensitivity=sensitivity)

    @rule(patient=st.sampled_from(PATIENTS), compliant=st.booleans())
    def survey(self, patient: str, compliant: bool) -> None:
        self.program.survey(patient, compliant=compliant)

    @rule(
        patient=st.sampled_from(PATIENTS), topics=st.sets(st.sampled_from(ALL_TOPICS), min_size=1)
    )
    def counseling(self, patient: str, topics: set[str]) -> None:
        self.program.counsel(patient, topics=sorted(topics))

    @rule(
        methods=st.sets(
            st.sampled_from(["iud", "hormonal_pill", "male_condom", "diaphragm", "withdrawal"]),
            min_size=1,
        ),
        days_ago=st.integers(min_value=0, max_value=60),
    )
    def contraception(self, methods: set[str], days_ago: int) -> None:
        started = self.program.today - timedelta(days=days_ago)
        self.program.contraception("FRP1", methods=sorted(methods), started_on=started)

    @rule(
        patient=st.sampled_from(PATIENTS),
        days_supply=st.sampled_from([14, 28, 29]),
        channel=st.sampled_from(["electronic", "fax", "telephone"]),
    )
    def request_authorization(self, patient: str, days_supply: int, channel: str) -> None:
        before = self.ledger.patient_state(patient)
        prescriber = self.ledger.participant_state("prescriber", "DR1")
        result = self.program.authorize(patient, days_supply=days_supply, channel=channel)
        if result["ok"]:
            assert before is not None
            assert prescriber is not None
            self._check_issued(before, prescriber.certified, days_supply, channel)
            self.authorizations[result["authorization_number"]] = patient
        else:
            assert result["error"]["code"] == "denied", result
            assert result["error"]["reasons"], "a denial names its rules"

    @precondition(lambda self: bool(self.authorizations))
    @rule(data=st.data())
    def confirm(self, data: st.DataObject) -> None:
        number = data.draw(st.sampled_from(sorted(self.authorizations)))
        patient = self.authorizations[number]
        result = self.program.confirm(number, patient)
        if result["ok"]:
            assert number not in self.confirmations.values(), "A4: one confirmation each"
            self.confirmations[result["confirmation_number"]] = number
        else:
            assert "D1" in [r["rule"] for r in result["error"]["reasons"]]

    @precondition(lambda self: bool(self.confirmations))
    @rule(data=st.data())
    def dispense(self, data: st.DataObject) -> None:
        number = data.draw(st.sampled_from(sorted(self.confirmations)))
        self.program.dispense(number)

    @rule()
    def report_pregnancy(self) -> None:
        self.program.ok(
            "report_pregnancy",
            patient_id="FRP1",
            suspected_on=self.program.today,
            reported_to_medwatch=True,
            reported_to_rems=True,
        )

    @rule()
    def resolve_pregnancy(self) -> None:
        self.program.run(
            "resolve_pregnancy_report",
            patient_id="FRP1",
            resolution="not_pregnant",
            evidence="serum hCG negative",
            resolved_on=self.program.today,
        )

    @rule()
    def menstrual_abnormality(self) -> None:
        self.program.ok(
            "record_menstrual_abnormality", patient_id="FRP1", noted_on=self.program.today
        )

    @rule(certify=st.booleans())
    def prescriber_status(self, certify: bool) -> None:
        if certify:
            self.program.ok("certify_prescriber", prescriber_id="DR1")
        else:
            self.program.ok("suspend_prescriber", prescriber_id="DR1", reason="audit")

    # ----------------------------------------------------------------- invariants
    def _check_issued(
        self, before: PatientState, certified: bool, days_supply: int, channel: str
    ) -> None:
        assert certified, "P1: issued to an uncertified prescriber"
        assert days_supply <= 28, "A3 violated: supply"
        assert channel != "telephone", "A3 violated: telephone"
        assert len(before.counseling_topics) == len(ALL_TOPICS), "K1 violated"
        if before.sex.value == "female":
            assert not before.pregnancy_open, "T7 violated"
            now = self.program.now
            recent = [
                t
                for t in before.tests
                if t.result is PregnancyTestResult.NEGATIVE
                and t.sensitivity_miu_per_ml <= 50
                and t.collected_at <= now
                and (self.program.today - t.collected_at.astimezone(now.tzinfo).date()).days <= 7
            ]
            assert recent, "T6 violated: no sensitive negative test in 7 days"
            assert before.contraception is not None, "C1 violated"

    @invariant()
    def replay_equals_live_state(self) -> None:
        fresh = make_ledger(self.url)
        try:
            for patient in PATIENTS:
                assert fresh.patient_state(patient) == self.ledger.patient_state(patient)
        finally:
            fresh.close()

    @invariant()
    def each_supply_used_once(self) -> None:
        for patient in PATIENTS:
            state: Any = self.ledger.patient_state(patient)
            numbers = [c.authorization_number for c in state.confirmations]
            assert len(numbers) == len(set(numbers)), "A4: an authorization confirmed twice"
            dispensed = [d.confirmation_number for d in state.dispenses]
            assert len(dispensed) == len(set(dispensed)), "a confirmation dispensed twice"


TestLedgerMachine = LedgerMachine.TestCase
