"""CDS Hooks (INTEROP.md §2, §7 #1-#11): discovery, one card per unmet rule at order-sign,
order-select and patient-view, from the real fixtures; the hook never writes."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.interop.support import (
    PATIENT_SYSTEM,
    PRESCRIBER_SYSTEM,
    Interop,
    fixture,
    strict_r4,
)
from tests.program import local

SIGN = "lenalidomide-rems-order-sign"
SELECT = "lenalidomide-rems-order-select"
VIEW = "lenalidomide-rems-patient-view"


def linked(
    body: dict[str, Any], patient_id: str | None, prescriber_id: str | None
) -> dict[str, Any]:
    """The request with the REMS identifiers added to the prefetched Patient and Practitioner."""
    prefetch = body["prefetch"]
    if patient_id:
        prefetch["patient"]["identifier"].append({"system": PATIENT_SYSTEM, "value": patient_id})
    if prescriber_id:
        prefetch["practitioner"]["identifier"].append(
            {"system": PRESCRIBER_SYSTEM, "value": prescriber_id}
        )
    return body


def sign_request(
    patient_id: str | None = "P1", prescriber_id: str | None = "DR1"
) -> dict[str, Any]:
    """The lenalidomide order-sign fixture (28 days, no repeats), linked to ledger IDs."""
    return linked(
        fixture("cds-hooks/lenalidomide/order-sign-request.json"), patient_id, prescriber_id
    )


def rules_of(response: Any) -> list[str]:
    """The rule of each card, in order."""
    assert response.status_code == 200, response.text
    return [c["source"]["topic"]["code"] for c in response.json()["cards"]]


def test_discovery_lists_the_three_services_with_rems_admin_prefetch(interop: Interop) -> None:
    """GET /cds-services is open and lists order-select, order-sign and patient-view with the
    prototype's prefetch templates, as the designed example shows."""
    response = interop.client.get("/cds-services")
    assert response.status_code == 200
    services = response.json()["services"]
    expected = fixture("interop-examples/cds-services-discovery.json")["services"]
    assert [(s["id"], s["hook"], s["prefetch"]) for s in services] == [
        (s["id"], s["hook"], s["prefetch"]) for s in expected
    ]
    for service in services:
        assert service["description"]
        assert service["title"]
        assert service["usageRequirements"]
    prototype = {
        s["hook"]: s["prefetch"]
        for s in fixture("cds-hooks/rems-admin/discovery-response.json")["services"]
    }
    assert all(prototype[s["hook"]] == s["prefetch"] for s in services)
    spec = fixture("cds-hooks/spec-2.0.1/discovery-response.json")["services"]
    assert {s["hook"] for s in spec} >= {s["hook"] for s in services}


def test_order_sign_for_isotretinoin_answers_no_cards(interop: Interop) -> None:
    """The prototype's own order-sign (isotretinoin) is not lenalidomide: `{"cards": []}`."""
    response = interop.hook(
        SIGN, fixture("cds-hooks/rems-admin/order-sign-request-isotretinoin.json")
    )
    assert response.status_code == 200
    assert response.json() == {"cards": []}


def test_E1_card_when_the_patient_carries_no_rems_identifier(interop: Interop) -> None:
    """A lenalidomide order for a patient the prefetch does not identify gives one E1 card."""
    assert rules_of(interop.hook(SIGN, sign_request(patient_id=None))) == ["E1"]


def test_E1_and_P1_cards_for_the_fixture_as_sent(interop: Interop) -> None:
    """The fixture as a real EHR sends it (NPI only, no REMS IDs) gets an E1 and a P1 card:
    an NPI identifies no one in the ledger."""
    body = fixture("cds-hooks/lenalidomide/order-sign-request.json")
    assert rules_of(interop.hook(SIGN, body)) == ["E1", "P1"]


def test_A1_info_card_when_every_requirement_holds(interop: Interop) -> None:
    """An enrolled, counseled adult male and the prescriber of record: one info card (A1)."""
    interop.ready_male("P2")
    response = interop.hook(SIGN, sign_request("P2"))
    cards = response.json()["cards"]
    assert [(c["source"]["topic"]["code"], c["indicator"]) for c in cards] == [("A1", "info")]


def test_A2_info_card_names_the_open_authorization(interop: Interop) -> None:
    """With an open authorization the info card names its number and expiry (A2)."""
    interop.ready_male("P2")
    number = interop.authorize("P2")["authorization_number"]
    cards = interop.hook(SIGN, sign_request("P2")).json()["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == ["A2"]
    assert number in cards[0]["summary"]
    assert cards[0]["indicator"] == "info"


def test_A3_card_for_the_90_capsule_order_with_3_repeats(interop: Interop) -> None:
    """The prototype's order (90 capsules, 3 repeats) breaks A3 on its real terms."""
    interop.ready_male("P2")
    body = sign_request("P2")
    order = fixture("fhir/lenalidomide/MedicationRequest-pat017-mr-lenalidomide.json")
    body["context"]["draftOrders"]["entry"] = [{"resource": order}]
    cards = interop.hook(SIGN, body).json()["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == ["A3"]
    assert "90 requested" in cards[0]["detail"]
    assert "No automatic refills" in cards[0]["detail"]


def test_K1_S2_T1_T2_T6_C1_C2_cards_for_an_frp_with_only_enrollment(
    interop: Interop,
) -> None:
    """The designed denied answer: K1, S2, T1, T2, T6, C1, C2 with the ledger's own messages."""
    interop.now = local("2026-03-02 10:30")
    interop.enroll_frp("P1")
    response = interop.hook(SIGN, sign_request("P1"))
    cards = response.json()["cards"]
    expected = fixture("interop-examples/cds-order-sign-response.denied.json")["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == [
        "K1",
        "S2",
        "T1",
        "T2",
        "T6",
        "C1",
        "C2",
    ]
    for ours, theirs in zip(cards, expected, strict=True):
        assert ours["summary"] == theirs["summary"]
        assert ours["indicator"] == theirs["indicator"] == "warning"
        assert ours["source"] == theirs["source"]
        assert ours["links"] == theirs["links"]
        assert ours["detail"].split("\n\n")[0] == theirs["detail"].split("\n\n")[0]
        assert ours["detail"].endswith("Source: Lenalidomide REMS Prescriber Guide.")
    assert len({c["uuid"] for c in cards}) == 7


def test_T7_card_is_critical_when_a_pregnancy_is_suspected(interop: Interop) -> None:
    """A positive test opens T7: its card is the only critical one (§12.4: T7 only)."""
    interop.ready_frp("P1")
    interop.ok(
        "prescriber:DR1",
        "record_pregnancy_test",
        patient_id="P1",
        collected_at=interop.now,
        result="positive",
        sensitivity_miu_per_ml=25,
    )
    cards = interop.hook(SIGN, sign_request("P1")).json()["cards"]
    assert [(c["source"]["topic"]["code"], c["indicator"]) for c in cards] == [("T7", "critical")]


def test_P5_card_only_for_a_prescriber_who_is_not_of_record(interop: Interop) -> None:
    """DR2 asking about DR1's patient gets one P5 card and nothing about the patient."""
    interop.enroll_frp("P1")
    cards = interop.hook(SIGN, sign_request("P1", prescriber_id="DR2")).json()["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == ["P5"]
    assert "K1" not in cards[0]["detail"]


def test_P1_and_P5_cards_for_an_unknown_prescriber_id(interop: Interop) -> None:
    """A REMS prescriber ID the ledger does not know gives P1 and P5, no patient detail."""
    interop.enroll_frp("P1")
    cards = interop.hook(SIGN, sign_request("P1", prescriber_id="DR9")).json()["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == ["P1", "P5"]


def test_order_select_judges_only_the_selected_order(interop: Interop) -> None:
    """order-select gives the cards of the selected lenalidomide order; a selection naming
    another order gives none."""
    interop.now = local("2026-03-02 10:30")
    interop.enroll_frp("P1")
    body = linked(fixture("cds-hooks/lenalidomide/order-select-request.json"), "P1", "DR1")
    assert rules_of(interop.hook(SELECT, body)) == ["K1", "S2", "T1", "T2", "T6", "C1", "C2"]
    body["context"]["selections"] = ["MedicationRequest/something-else"]
    assert interop.hook(SELECT, body).json() == {"cards": []}


def test_T5_S3_patient_view_shows_what_is_due(interop: Interop) -> None:
    """patient-view of an enrolled FRP lists the unmet rules and the due pregnancy test (T5)
    and survey (S3) from `next_due`."""
    interop.enroll_frp("P1")
    body = linked(fixture("cds-hooks/lenalidomide/patient-view-request.json"), "P1", None)
    body["prefetch"]["practitioner"]["identifier"].append(
        {"system": PRESCRIBER_SYSTEM, "value": "DR1"}
    )
    cards = interop.hook(VIEW, body).json()["cards"]
    due = [
        (c["source"]["topic"]["code"], c["indicator"]) for c in cards if c["indicator"] == "info"
    ]
    assert due == [("T5", "info"), ("S3", "info")]
    assert "K1" in [c["source"]["topic"]["code"] for c in cards]


def test_spec_patient_view_without_lenalidomide_answers_no_cards(interop: Interop) -> None:
    """The CDS Hooks spec's own patient-view (no lenalidomide, no REMS ID) gives no cards."""
    response = interop.hook(VIEW, fixture("cds-hooks/spec-2.0.1/patient-view-request.json"))
    assert response.json() == {"cards": []}


def test_missing_prefetch_patient_is_412(interop: Interop) -> None:
    """A lenalidomide order with no prefetched patient: 412 (the server queries no EHR)."""
    body = sign_request()
    body["prefetch"]["patient"] = None
    response = interop.hook(SIGN, body)
    assert response.status_code == 412
    assert response.json()["ok"] is False
    del body["prefetch"]
    assert interop.hook(SIGN, body).status_code == 412


@pytest.mark.parametrize("name", ["order-sign-context-r4.json", "order-select-context-r4.json"])
def test_library_examples_with_stu3_dosage_are_read_leniently(interop: Interop, name: str) -> None:
    """The hook library's R4 examples (STU3 `doseQuantity`, `doseAndRate` as an object, a
    NutritionOrder without `intent`) are accepted: amoxicillin gives no cards, and the same
    order coded as lenalidomide is judged (E1: the patient is not identified)."""
    context = fixture(f"cds-hooks/library/{name}")["context"]
    hook = "order-select" if "select" in name else "order-sign"
    body = {
        "hook": hook,
        "hookInstance": "3f6a",
        "context": context,
        "prefetch": {
            "patient": fixture("fhir/ig-stu2/Patient-example-patient-123.json"),
            "practitioner": fixture("fhir/ig-stu2/Practitioner-pra1234.json"),
        },
    }
    service = SELECT if hook == "order-select" else SIGN
    assert interop.hook(service, body).json() == {"cards": []}
    for entry in context["draftOrders"]["entry"]:
        if entry["resource"]["resourceType"] == "MedicationRequest":
            entry["resource"]["medicationCodeableConcept"] = {
                "coding": [
                    {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "342369"}
                ]
            }
    assert rules_of(interop.hook(service, body))[0] == "E1"


def test_hooks_record_nothing_and_log_no_phi(
    interop: Interop, caplog: pytest.LogCaptureFixture
) -> None:
    """Every hook is a read: no event is appended; the access log has no name, address or
    birth date from the prefetch."""
    interop.enroll_frp("P1")
    before = interop.log_size()
    with caplog.at_level(logging.INFO, logger="rems.api"):
        for service, body in (
            (SIGN, sign_request("P1")),
            (
                SELECT,
                linked(fixture("cds-hooks/lenalidomide/order-select-request.json"), "P1", "DR1"),
            ),
            (VIEW, fixture("cds-hooks/lenalidomide/patient-view-request.json")),
        ):
            assert interop.hook(service, body).status_code == 200
    assert interop.log_size() == before
    text = caplog.text
    assert (
        "cds lenalidomide-rems-order-sign actor=ehr:https://ehr.example.org prescriber:DR1" in text
    )
    for phi in ("Snow", "Winterfell", "1996-06-01", "Jane Q Patient", "1987-06-15"):
        assert phi not in text


def test_our_cards_follow_cds_hooks_2_and_the_published_examples_do_not(interop: Interop) -> None:
    """Our cards meet the CDS Hooks 2.0 card rules (uuid, summary < 140, indicator, source,
    no suggestions without selectionBehavior); the IG's deferred-launch example and
    rems-admin's generated cards break them, as their README records."""
    interop.enroll_frp("P1")
    ours = interop.hook(SIGN, sign_request("P1")).json()["cards"]
    assert ours
    assert all(card_problems(c) == [] for c in ours)
    spec = fixture("cds-hooks/spec-2.0.1/response-cards.json")["cards"]
    assert all(card_problems(c) == [] for c in spec)
    # The spec's own autolaunchable example omits the required indicator.
    autolaunch = fixture("cds-hooks/spec-2.0.1/response-autolaunchable.json")["cards"]
    assert [card_problems(c) for c in autolaunch] == [["indicator"]]
    for folder in ("ig-stu2", "lenalidomide"):
        for name in (
            "card-external-reference.json",
            "card-instructions.json",
            "card-smart-launch.json",
        ):
            assert card_problems(fixture(f"cds-hooks/{folder}/{name}")) == []
        deferred = fixture(f"cds-hooks/{folder}/card-deferred-launch-suggestion.as-published.json")
        assert "suggestions without selectionBehavior" in card_problems(deferred)
    generated = fixture("cds-hooks/rems-admin/order-sign-response-isotretinoin.generated.json")
    assert all(
        "suggestions without selectionBehavior" in card_problems(c)
        for c in generated["cards"]
        if c.get("suggestions")
    )
    for card in ours:
        for link in card["links"]:
            assert link["type"] == "absolute"


def card_problems(card: dict[str, Any]) -> list[str]:
    """What a card breaks of CDS Hooks 2.0's card rules."""
    problems = []
    if not isinstance(card.get("summary"), str) or len(card["summary"]) >= 140:
        problems.append("summary")
    if card.get("indicator") not in {"info", "warning", "critical"}:
        problems.append("indicator")
    if not isinstance(card.get("source"), dict) or not card["source"].get("label"):
        problems.append("source")
    if card.get("suggestions") and "selectionBehavior" not in card:
        problems.append("suggestions without selectionBehavior")
    return problems


def test_fhir_resources_inside_the_fixtures_are_valid_r4_where_the_readme_says(
    interop: Interop,
) -> None:
    """The prefetched resources of the lenalidomide requests and the IG's Task and
    DocumentReference parse as strict R4 (we read them; we write none back: not built)."""
    body = fixture("cds-hooks/lenalidomide/order-sign-request.json")
    for resource in (
        body["prefetch"]["patient"],
        body["prefetch"]["practitioner"],
        body["prefetch"]["request"],
    ):
        strict_r4(resource)
    for name in (
        "Task-medication-rems-task-smart-launch-1.json",
        "DocumentReference-example-rems-docref-1.json",
    ):
        strict_r4(fixture(f"fhir/ig-stu2/{name}"))
