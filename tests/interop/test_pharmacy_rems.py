"""The pharmacy REMS check as JSON SCRIPT messages (INTEROP.md §4, §7 #20-#24): confirmation
numbers through `request_dispense_confirmation`, dispenses through `record_dispense`, the
pharmacy taken from the token, MessageID as the idempotency key, no PHI in the log."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import orjson
import pytest

from application.unit import Unit
from tests.interop.support import FIXTURES, Interop, fixture
from tests.program import local

PH1, PH2, DR1 = "pharmacy:PH1", "pharmacy:PH2", "prescriber:DR1"


def send(interop: Interop, who: str, path: str, message: Any) -> httpx.Response:
    """POST a JSON message to /ncpdp/PATH as `role:subject`."""
    return interop.client.post(f"/ncpdp/{path}", json=message, headers=interop.auth(who))


def rems_request(interop: Interop, number: str, message_id: str = "m-1") -> dict[str, Any]:
    """The designed REMSRequest for P1 with this authorization number, sent now."""
    message: dict[str, Any] = fixture("interop-examples/ncpdp-rems-request.json")
    message["Header"]["MessageID"] = message_id
    message["Header"]["SentTime"] = interop.now.isoformat()
    message["Body"]["REMSRequest"]["Request"]["SolicitedModel"]["REMSCaseID"] = number
    return message


def rx_fill(interop: Interop, confirmation: str, message_id: str = "f-1") -> dict[str, Any]:
    """An RxFill (Dispensed) of 28 capsules, guide given and counseled."""
    return {
        "Header": {"MessageID": message_id, "SentTime": interop.now.isoformat()},
        "Body": {
            "RxFill": {
                "FillStatus": {"Dispensed": {}},
                "REMSAuthorizationNumber": confirmation,
                "MedicationDispensed": {"Quantity": {"Value": 28}},
                "MedicationGuideProvided": True,
                "Counseled": False,
            }
        },
    }


def authorized_frp(interop: Interop) -> str:
    """P1 authorized on 2026-03-13 10:45 (expires 2026-03-20 end of day); the clock at 14:00."""
    interop.now = local("2026-03-01 10:45")
    interop.ready_frp("P1")
    number: str = interop.authorize("P1")["authorization_number"]
    interop.now = local("2026-03-13 14:00")
    return number


def events_of(interop: Interop, patient_id: str, kind: str) -> int:
    """How many events of a type the patient's aggregate holds."""
    events = interop.ledger.stored_events(Unit.patient_aggregate_id(patient_id))
    return sum(1 for e in events if type(e).__name__ == kind)


def numbers_as(body: Any, **names: str) -> Any:
    """The example with its numbers replaced by this run's."""
    text = orjson.dumps(body).decode()
    for old, new in names.items():
        text = text.replace(old.replace("_", "-"), new)
    return orjson.loads(text)


def test_D1_approved_with_a_confirmation_number_and_a_retry_gets_the_first_answer(
    interop: Interop,
) -> None:
    """REMSRequest -> Approved with the RC- number as REMSAuthorizationNumber and the
    authorization's period, as the designed example; the same MessageID again returns the same
    answer and records no second DispenseConfirmed."""
    number = authorized_frp(interop)
    response = send(interop, PH1, "rems-request", rems_request(interop, number))
    assert response.status_code == 200, response.text
    answer = response.json()
    approved = answer["Body"]["REMSResponse"]["Response"]["ResponseStatus"]["Approved"]
    confirmation = approved["REMSAuthorizationNumber"]
    assert confirmation.startswith("RC-")
    expected = numbers_as(
        fixture("interop-examples/ncpdp-rems-response.approved.json"),
        RA_C970_4DD5_FCME=number,
        RC_V7DM_XY7T_W3KR=confirmation,
    )
    assert answer["Body"] == expected["Body"]
    assert answer["Header"]["RelatesToMessageID"] == "m-1"
    again = send(interop, PH1, "rems-request", rems_request(interop, number))
    repeated = again.json()
    assert repeated["Header"]["MessageID"] == answer["Header"]["MessageID"]
    assert (
        repeated["Body"]["REMSResponse"]["Response"] == answer["Body"]["REMSResponse"]["Response"]
    )
    assert repeated["Body"]["REMSResponse"]["Ledger"]["duplicate"] is True
    assert events_of(interop, "P1", "DispenseConfirmed") == 1
    event = next(
        e
        for e in interop.ledger.stored_events(Unit.patient_aggregate_id("P1"))
        if type(e).__name__ == "DispenseConfirmed"
    )
    assert event.actor == "pharmacy:PH1"


def test_D1_A2_denied_for_an_expired_authorization_as_the_example(interop: Interop) -> None:
    """A REMSRequest after the authorization expired: 200 Denied, EC, every rule (D1, A2) with
    the ledger's real text, exactly the designed example."""
    number = authorized_frp(interop)
    interop.now = local("2026-03-21 09:00")
    answer = send(interop, PH1, "rems-request", rems_request(interop, number)).json()
    expected = numbers_as(
        fixture("interop-examples/ncpdp-rems-response.denied.json"), RA_C970_4DD5_FCME=number
    )
    assert answer["Body"] == expected["Body"]
    assert events_of(interop, "P1", "DispenseDenied") == 1


def test_P2_the_pharmacy_is_the_tokens_subject_never_the_bodys(interop: Interop) -> None:
    """PH2's token with a body naming PH1 is 403 and records nothing; a prescriber's token is
    403; no token is 401."""
    number = authorized_frp(interop)
    before = interop.log_size()
    assert send(interop, PH2, "rems-request", rems_request(interop, number)).status_code == 403
    assert send(interop, DR1, "rems-request", rems_request(interop, number)).status_code == 403
    bare = interop.client.post("/ncpdp/rems-request", json=rems_request(interop, number))
    assert bare.status_code == 401
    assert interop.log_size() == before


def test_D2_D3_rx_fill_records_the_dispense_tracked_and_a_replay_is_duplicate(
    interop: Interop,
) -> None:
    """RxFill with the confirmation number records the dispense (D3 tracked: not counseled);
    the same message again records nothing more."""
    number = authorized_frp(interop)
    approved = send(interop, PH1, "rems-request", rems_request(interop, number)).json()
    confirmation = approved["Body"]["REMSResponse"]["Response"]["ResponseStatus"]["Approved"][
        "REMSAuthorizationNumber"
    ]
    interop.advance(hours=1)
    first = send(interop, PH1, "rx-fill", rx_fill(interop, confirmation)).json()
    assert first["Body"]["Status"] == {"Code": "000"}
    assert [t["rule"] for t in first["Body"]["Ledger"]["tracked"]] == ["D3"]
    again = send(interop, PH1, "rx-fill", rx_fill(interop, confirmation)).json()
    assert again["Body"]["Ledger"]["duplicate"] is True
    other_id = send(interop, PH1, "rx-fill", rx_fill(interop, confirmation, "f-2")).json()
    assert other_id["Body"]["Ledger"]["duplicate"] is True
    assert events_of(interop, "P1", "DispenseRecorded") == 1


def test_rems_initiation_reads_only_what_the_pharmacy_holds(interop: Interop) -> None:
    """REMSInitiationRequest: Open with the risk category when the pharmacy presents the
    patient's number; Closed EM for an unknown patient or without a number; nothing recorded."""
    number = authorized_frp(interop)
    before = interop.log_size()
    message: dict[str, Any] = {
        "Header": {"MessageID": "i-1"},
        "Body": {
            "REMSInitiationRequest": {
                "REMSReferenceID": "ref-1",
                "Patient": {"HumanPatient": {"Identification": {"REMSPatientID": "P1"}}},
                "Request": {"SolicitedModel": {"REMSCaseID": number}},
            }
        },
    }
    status = send(interop, PH1, "rems-initiation", message).json()["Body"][
        "REMSInitiationResponse"
    ]["Response"]["ResponseStatus"]
    assert status == {
        "Open": {
            "REMSPatientID": "P1",
            "REMSPatientRiskCategory": "adult_female_reproductive_potential",
        }
    }
    del message["Body"]["REMSInitiationRequest"]["Request"]
    closed = send(interop, PH1, "rems-initiation", message).json()
    assert (
        closed["Body"]["REMSInitiationResponse"]["Response"]["ResponseStatus"]["Closed"][
            "ReasonCode"
        ]
        == "EM"
    )
    message["Body"]["REMSInitiationRequest"]["Patient"]["HumanPatient"]["Identification"][
        "REMSPatientID"
    ] = "NOBODY"
    unknown = send(interop, PH1, "rems-initiation", message).json()
    assert (
        unknown["Body"]["REMSInitiationResponse"]["Response"]
        == closed["Body"]["REMSInitiationResponse"]["Response"]
    )
    assert interop.log_size() == before


def test_bad_messages_are_refused_and_record_nothing(interop: Interop) -> None:
    """A non-lenalidomide NDC, a missing DaysSupply, NotDispensed, and missing SentTime under
    the event clock are 422; nothing is recorded."""
    number = authorized_frp(interop)
    before = interop.log_size()
    other = rems_request(interop, number)
    other["Body"]["REMSRequest"]["MedicationPrescribed"]["Product"]["DrugCoded"]["ProductCode"][
        "Code"
    ] = "0245-0571-01"  # the prototypes' isotretinoin
    assert send(interop, PH1, "rems-request", other).status_code == 422
    missing = rems_request(interop, number)
    del missing["Body"]["REMSRequest"]["MedicationPrescribed"]["DaysSupply"]
    assert send(interop, PH1, "rems-request", missing).status_code == 422
    not_dispensed = rx_fill(interop, "RC-0000-0000-0000")
    not_dispensed["Body"]["RxFill"]["FillStatus"] = {"NotDispensed": {}}
    assert send(interop, PH1, "rx-fill", not_dispensed).status_code == 422
    untimed = rems_request(interop, number)
    del untimed["Header"]["SentTime"]
    response = send(interop, PH1, "rems-request", untimed)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"
    assert interop.log_size() == before


@pytest.mark.parametrize(
    "name",
    [
        "ncpdp/pims/REMSRequest.xml",
        "ncpdp/rems-admin/REMSResponse-approved.xml",
        "ncpdp/rems-admin/REMSResponse-denied.xml",
        "ncpdp/rems-admin/REMSInitiationResponse-closed.xml",
        "ncpdp/request-generator/NewRx.xml",
    ],
)
def test_script_xml_is_415_until_the_xml_adapter_exists(interop: Interop, name: str) -> None:
    """The prototypes' SCRIPT XML is answered 415 (JSON only in v1; §12.7) and records nothing."""
    before = interop.log_size()
    response = interop.client.post(
        "/ncpdp/rems-request",
        content=(FIXTURES / name).read_bytes(),
        headers={**interop.auth(PH1), "Content-Type": "application/xml"},
    )
    assert response.status_code == 415
    assert interop.log_size() == before


def test_pharmacy_messages_log_no_phi(interop: Interop, caplog: pytest.LogCaptureFixture) -> None:
    """The message's name and birth date never reach the access log."""
    number = authorized_frp(interop)
    with caplog.at_level(logging.INFO, logger="rems.api"):
        send(interop, PH1, "rems-request", rems_request(interop, number))
    assert "/ncpdp/rems-request 200" in caplog.text
    for phi in ("Roe", "Jane", "1990-05-01", "Jane Q Patient", "1987-06-15"):
        assert phi not in caplog.text
