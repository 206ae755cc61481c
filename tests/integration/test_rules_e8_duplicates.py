"""E8, one person, one enrollment (RULES.md, added rule and second round): the flag at
enrollment, the denials it causes, compliance's review and its place in the work queue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from application.queries import eligibility
from application.views import Views
from consumers.envelope import envelope, payload_of, topic_for
from consumers.pseudonyms import Pseudonyms
from consumers.rebuild import rebuild_event
from domain.duplicates import folded_name, person_index_id
from domain.patient_events import project_patient
from domain.rules.duplicates import e8_reasons
from tests.program import Program, rules

PERSON = {"name": "José  Ñúñez-O'Brien", "date_of_birth": "1980-02-03"}


def enroll_twice(program: Program, second_name: str = "jose nunez obrien") -> dict[str, Any]:
    """OLD1 enrolled (an adult male, counseled), then the same person as NEW1."""
    assert program.enroll("OLD1", sex="male", **PERSON)["ok"]
    program.counsel("OLD1")
    program.advance(days=1)
    result = program.enroll(
        "NEW1", sex="male", name=second_name, date_of_birth=PERSON["date_of_birth"]
    )
    program.counsel("NEW1")
    return result


def review(program: Program, finding: str, **fields: Any) -> dict[str, Any]:
    """Compliance's review of NEW1 against OLD1."""
    body = {
        "patient_id": "NEW1",
        "other_patient_id": "OLD1",
        "finding": finding,
        "evidence": "checked the photo ID and insurance record",
    }
    return program.run("review_possible_duplicate", **{**body, **fields})


def test_E8_folding_ignores_case_accents_spaces_and_punctuation() -> None:
    """Folded names compare equal across case, accents, spacing and punctuation only."""
    assert folded_name("José  Ñúñez-O'Brien") == folded_name("JOSE NUNEZ OBRIEN")
    assert folded_name("Jose Nunez") != folded_name("Josef Nunez")


def test_E8_a_second_enrollment_of_the_same_person_succeeds_flagged_without_naming_the_other(
    program: Program,
) -> None:
    """The enrollment is `ok` with `possible_duplicate: true` and the review message, and the
    result never names the earlier patient."""
    result = enroll_twice(program)
    assert result["ok"] is True
    assert result["possible_duplicate"] is True
    assert result["message"] == "possible duplicate, under compliance review"
    assert "OLD1" not in str(result)


def test_E8_a_different_birth_date_or_name_is_not_flagged(program: Program) -> None:
    """Matching is exact after folding: another birth date or another name is no duplicate."""
    assert program.enroll("OLD1", sex="male", **PERSON)["ok"]
    other_day = program.enroll("NEW1", sex="male", name=PERSON["name"], date_of_birth="1980-02-04")
    other_name = program.enroll("NEW2", sex="male", name="Jose Nunez", date_of_birth="1980-02-03")
    assert "possible_duplicate" not in other_day
    assert "possible_duplicate" not in other_name


def test_E8_denies_authorization_of_the_flagged_record_only(program: Program) -> None:
    """Until reviewed, NEW1's authorization is denied with E8; OLD1 is still authorized."""
    enroll_twice(program)
    denied = program.authorize("NEW1")
    assert rules(denied) == ["E8"]
    assert "OLD1" not in str(denied)
    assert program.authorize("OLD1")["ok"]
    assert [r["rule"] for r in eligibility(program.ledger, "NEW1")["reasons"]] == ["E8"]


def test_E8_denies_confirmation_and_dispense_once_the_pair_is_found_the_same_person(
    program: Program,
) -> None:
    """A pair first found distinct may be reviewed again; found the same person, the newer
    record's open authorization is no longer confirmed (D1 with E8), nor its confirmation
    dispensed."""
    enroll_twice(program)
    review(program, "distinct_people")
    first = program.authorize("NEW1")["authorization_number"]
    confirmation = program.confirm(first, "NEW1")["confirmation_number"]
    second = program.authorize("NEW1")["authorization_number"]
    assert review(program, "same_person")["ok"]
    assert rules(program.confirm(second, "NEW1")) == ["D1", "E8"]
    assert "E8" in rules(program.dispense(confirmation))


def test_E8_distinct_people_clears_the_pair(program: Program) -> None:
    """`distinct_people` clears E8: NEW1 is then authorized and confirmed."""
    enroll_twice(program)
    result = review(program, "distinct_people")
    assert result["ok"], result
    assert result["blocks"] is False
    number = program.authorize("NEW1")["authorization_number"]
    assert program.confirm(number, "NEW1")["ok"]


def test_E8_same_person_keeps_E8_on_the_newer_record_for_good(program: Program) -> None:
    """`same_person` keeps NEW1 denied E8 for good (a later review is denied E8) and records
    on OLD1 that a duplicate existed, while OLD1 stays authorized."""
    enroll_twice(program)
    result = review(program, "same_person")
    assert result["ok"], result
    assert result["blocks"] is True
    assert rules(program.authorize("NEW1")) == ["E8"]
    assert rules(review(program, "distinct_people")) == ["E8"]
    old = program.ledger.patient_state("OLD1")
    assert old is not None
    assert old.duplicates_noted == ("NEW1",)
    assert program.authorize("OLD1")["ok"]


def test_E8_a_pair_never_flagged_is_not_found(program: Program) -> None:
    """Reviewing a pair that was never flagged (or the pair the wrong way round) is
    `not_found` and records nothing."""
    enroll_twice(program)
    before = program.ledger.recorder.max_notification_id()
    assert (
        review(program, "distinct_people", patient_id="OLD1", other_patient_id="NEW1")["error"][
            "code"
        ]
        == "not_found"
    )
    assert program.ledger.recorder.max_notification_id() == before


def test_E8_review_records_who_what_and_the_evidence(program: Program) -> None:
    """The review event carries the actor, the finding and the evidence."""
    enroll_twice(program)
    review(program, "distinct_people")
    history = program.ledger.stored_events(program.ledger.patient_state("NEW1").id)  # type: ignore[union-attr]
    reviewed = [e for e in history if e.type_name == "PossibleDuplicateReviewed"]
    assert len(reviewed) == 1
    event = reviewed[0]
    assert event.actor == "batch"
    assert event.model_dump()["finding"] == "distinct_people"
    assert "photo ID" in event.model_dump()["evidence"]


def test_E8_an_open_flag_is_in_the_work_queue_until_reviewed(program: Program) -> None:
    """`rems due` lists an E8 review for NEW1 while it is open, and not after the review."""
    enroll_twice(program)
    with Views(program.ledger) as views:
        queue = views.due(program.now)
        entry = next(e for e in queue["patients"] if e["patient_id"] == "NEW1")
        assert [i["rule"] for i in entry["items"]] == ["E8"]
        assert queue["counts_by_rule"]["E8"] == 1
        program.advance(hours=1)
        review(program, "distinct_people")
        later = views.due(program.now + timedelta(days=1))
        assert all(i["rule"] != "E8" for e in later["patients"] for i in e["items"]), later


def test_E8_the_identity_index_is_never_published_and_flags_carry_no_other_id(
    program: Program,
) -> None:
    """The index events route to no topic, its aggregate ID is a hash (no name or birth date),
    and the published flag withholds the other patient's ID and the evidence."""
    enroll_twice(program)
    review(program, "same_person")
    index = program.ledger.stored_events(person_index_id(PERSON["name"], _dob()))
    assert index
    assert all(topic_for(e) is None for e in index)
    published = [
        payload_of(e)
        for e in program.ledger.stored_events(program.ledger.patient_state("NEW1").id)  # type: ignore[union-attr]
        if "Duplicate" in e.type_name
    ]
    assert published
    for payload in published:
        assert "other_patient_id" not in payload
        assert "evidence" not in payload


def test_E8_a_read_model_rebuilt_from_the_topics_still_blocks_the_flagged_record(
    program: Program,
) -> None:
    """Rebuilt from its published envelopes alone, the flagged record is denied E8 there too."""
    enroll_twice(program)
    new = program.ledger.patient_state("NEW1")
    assert new is not None
    events = program.ledger.stored_events(new.id)
    keys = Pseudonyms(b"k" * 32)
    rebuilt = [rebuild_event(envelope(e, n, keys)) for n, e in enumerate(events, 1)]
    assert [e.type_name for e in rebuilt] == [e.type_name for e in events]
    state = project_patient(None, rebuilt)  # type: ignore[arg-type]
    assert state is not None
    assert [r.rule for r in e8_reasons(state)] == ["E8"]


@pytest.mark.parametrize("finding", ["distinct_people", "same_person"])
def test_E8_review_is_compliance_only_over_http(finding: str, sqlite_url: str) -> None:
    """A prescriber may not review a possible duplicate (403); compliance may."""
    from tests.api_client import COMPLIANCE, DR1, Http
    from tests.conftest import make_ledger

    http = Http(make_ledger(sqlite_url))
    try:
        http.participants()
        body = {"name": "Ann Lee", "date_of_birth": "1970-01-01", "sex": "male"}
        from tests.api_client import frp_form

        for pid in ("OLD1", "NEW1"):
            form = {**frp_form(pid), **body}
            form.pop("menstruation")
            http.ok(DR1, "enroll_patient", **form)
            http.advance(minutes=5)
        fields: dict[str, Any] = {"patient_id": "NEW1", "other_patient_id": "OLD1",
                                  "finding": finding,
                  "evidence": "reviewed"}  # fmt: skip
        assert http.post(DR1, "review_possible_duplicate", **fields).status_code == 403
        assert http.post(COMPLIANCE, "review_possible_duplicate", **fields).status_code == 200
    finally:
        http.close()


def _dob() -> Any:
    from datetime import date

    return date.fromisoformat(PERSON["date_of_birth"])
