"""An inspector verifies one patient's export offline (AUDIT-FORMAT.md §6, §7) through `rems`
itself (`main`, settings from the environment) on SQLite and the real PostgreSQL: the export
carries the STH, proofs and key record; `rems verify-export` and the plain-Python verifier in
`examples/` accept it and name the event of every tampering; bad input is exit 2, no traceback.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from domain.registry import aggregate_id
from entrypoints.cli.main import main
from tests.conftest import make_ledger
from tests.program import Program

VERIFIER = Path(__file__).parents[2] / "examples" / "verify_export.py"


class Rems:
    """`rems` run in-process with the test's settings."""

    def __init__(self, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.folder, self.capsys = folder, capsys

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def json(self, *argv: str) -> Any:
        code, out, err = self(*argv)
        assert code == 0, err
        return orjson.loads(out)


@pytest.fixture
def rems(backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Rems:
    """A ledger with two patients (PAT1 filled, PAT2 enrolled) and a signing key."""
    monkeypatch.setenv("REMS_DATABASE_URL", backend_url)
    monkeypatch.setenv("REMS_CLOCK", "event")
    monkeypatch.setenv("REMS_SIGNING_KEY_FILE", str(tmp_path / "keys" / "sign.pem"))
    monkeypatch.setenv("REMS_STH_FILE", str(tmp_path / "heads.jsonl"))
    ledger = make_ledger(backend_url)
    try:
        p = Program(ledger).participants()
        p.ready_frp("PAT1")
        p.fill("PAT1")
        p.ready_male("PAT2")
    finally:
        ledger.close()
    runner = Rems(tmp_path, capsys)
    assert runner("keys", "init")[0] == 0
    code, out, _ = runner("keys", "public", "--json")
    assert code == 0
    (tmp_path / "key.json").write_text(out)
    return runner


def export(rems: Rems, patient: str = "PAT1") -> dict[str, Any]:
    """`rems export PATIENT --format json OUT`, read back."""
    out = rems.folder / f"{patient}.json"
    code, _, err = rems("export", patient, "--format", "json", str(out))
    assert code == 0, err
    record: dict[str, Any] = orjson.loads(out.read_bytes())
    return record


def check(rems: Rems, record: Any, *extra: str) -> tuple[int, dict[str, Any], int, Any]:
    """Both verifiers on an export: (`rems verify-export` exit, its JSON, example exit, JSON)."""
    path = rems.folder / "checked.json"
    path.write_bytes(record if isinstance(record, bytes) else orjson.dumps(record))
    key = str(rems.folder / "key.json")
    patient = ["--patient", extra[0]] if extra else []
    code, out, err = rems("verify-export", str(path), "--public-key", key, *patient, "--json")
    assert "Traceback" not in err
    ours = orjson.loads(out) if out else {"error": err}
    done = subprocess.run(
        [sys.executable, str(VERIFIER), str(path), key, *extra], capture_output=True, check=False
    )
    assert b"Traceback" not in done.stderr
    return code, ours, done.returncode, orjson.loads(done.stdout)


def test_an_export_carries_the_sth_proofs_key_and_head(rems: Rems) -> None:
    """The JSON export has the §6 members; the STH is published with a consistency proof."""
    first = export(rems)
    record = export(rems)
    assert {"sth", "consistency_from_published", "public_key", "events", "head", "history"} <= set(
        record
    )
    assert record["public_key"]["key_id"] == record["sth"]["key_id"]
    patient = str(aggregate_id("patient", "PAT1"))
    assert [e["originator_version"] for e in record["events"]] == list(
        range(1, len(record["events"]) + 1)
    )
    assert {e["originator_id"] for e in record["events"]} == {patient}
    assert record["head"]["version"] == record["events"][-1]["originator_version"]
    assert record["consistency_from_published"]["first"] == first["sth"]["tree_size"]
    lines = (rems.folder / "heads.jsonl").read_bytes().splitlines()
    assert [orjson.loads(line)["sth"] for line in lines] == [first["sth"], record["sth"]]


def test_both_verifiers_accept_an_untouched_export(rems: Rems) -> None:
    """`rems verify-export` and the plain-Python verifier say ok (with and without --patient)."""
    record = export(rems)
    assert check(rems, record) == (0, {"ok": True, "problems": []}, 0, {"ok": True, "problems": []})
    assert check(rems, record, "PAT1")[::2] == (0, 0)


def test_another_patients_id_is_named(rems: Rems) -> None:
    """--patient PAT2 on PAT1's export: every event is named as not PAT2's."""
    code, ours, theirs, example = check(rems, export(rems), "PAT2")
    assert (code, theirs) == (1, 1)
    assert any("not an event of patient PAT2" in p for p in ours["problems"])
    assert any("not an event of patient PAT2" in p for p in example["problems"])


def tampered(record: dict[str, Any], how: str) -> tuple[dict[str, Any], str]:
    """A copy of the export damaged one way, and the position that must be named."""
    forged = copy.deepcopy(record)
    events = forged["events"]
    if how == "flipped byte":
        events[2]["state"]["actor"] = events[2]["state"]["actor"][:-1] + "X"
        return forged, f"position {events[2]['position']}"
    if how == "dropped event":
        named = events[3]["position"]
        del events[2]
        return forged, f"position {named}"
    if how == "dropped last event":
        del events[-1]
        return forged, f"position {events[-1]['position']}"
    if how == "swapped pair":
        events[1], events[2] = events[2], events[1]
        return forged, f"position {events[1]['position']}"
    assert how == "forged signature"
    forged["sth"]["tree_size"] += 0
    forged["sth"]["timestamp"] = "2000-01-01T00:00:00Z"
    return forged, "signature"


@pytest.mark.parametrize(
    "how",
    ["flipped byte", "dropped event", "dropped last event", "swapped pair", "forged signature"],
)
def test_each_tampering_is_caught_and_named(rems: Rems, how: str) -> None:
    """A damaged export is not ok (exit 1) for both verifiers, naming the event by position."""
    forged, named = tampered(export(rems), how)
    code, ours, theirs, example = check(rems, forged)
    assert (code, theirs) == (1, 1)
    assert any(named in p for p in ours["problems"]), ours
    assert any(named in p for p in example["problems"]), example


@pytest.mark.parametrize(
    "damage",
    [
        b"not json",
        b'{"sth": {"format": "rems-sth-v2"}}',
        b"PROOF",
        b"UNKNOWN KEY",
    ],
)
def test_unreadable_exports_are_exit_2_without_a_traceback(rems: Rems, damage: bytes) -> None:
    """A malformed export, STH or proof, or an unknown key: exit 2 with a clear message."""
    record = export(rems)
    if damage == b"PROOF":
        record["events"][0]["inclusion_proof"] = ["zz"]
        damage = orjson.dumps(record)
    elif damage == b"UNKNOWN KEY":
        record["sth"]["key_id"] = "ab" * 32
        damage = orjson.dumps(record)
    code, ours, theirs, _ = check(rems, damage)
    assert (code, theirs) == (2, 2)
    assert "rems verify-export:" in ours["error"]


def test_the_html_export_says_which_tree_head_it_is_verified_against(rems: Rems) -> None:
    """The HTML record names the tree head and key, and explains the proofs in words."""
    out = rems.folder / "PAT1.html"
    assert rems("export", "PAT1", "--format", "html", str(out))[0] == 0
    html = out.read_text()
    heads = [
        orjson.loads(line)["sth"]
        for line in (rems.folder / "heads.jsonl").read_bytes().splitlines()
    ]
    assert f"verified against tree head {heads[-1]['tree_size']}, signed by key" in html
    assert heads[-1]["key_id"] in html
    assert "inclusion proof" in html


def test_sth_without_a_key_and_bad_proof_requests_are_exit_2(
    rems: Rems, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`rems prove` beyond the log, `rems consistency N M` backwards, a second `keys init`, and
    `rems sth` without a key file: exit 2 with a message, never a traceback."""
    size = rems.json("sth", "--json")["tree_size"]
    for argv in (
        ("prove", "1", "--tree-size", str(size + 1), "--json"),
        ("consistency", str(size), "1", "--json"),
        ("keys", "init"),
    ):
        code, _, err = rems(*argv)
        assert code == 2
        assert err.startswith("rems ")
    monkeypatch.delenv("REMS_SIGNING_KEY_FILE")
    code, _, err = rems("sth", "--json")
    assert code == 2
    assert "no signing key" in err
    assert rems.json("prove", "1", "--tree-size", str(size), "--json")["tree_size"] == size


def test_verify_sth_passes_then_catches_a_deleted_tail(rems: Rems, backend_url: str) -> None:
    """`rems verify --sth FILE` is ok on the intact store and exit 1 after the last event
    was deleted; a malformed STH file is exit 2."""
    head = rems.folder / "head.json"
    code, out, _ = rems("sth", "--json")
    head.write_text(out)
    assert rems("verify", "--sth", str(head), "--json")[0] == 0
    (rems.folder / "bad.json").write_text('{"format": "rems-sth-v2"}')
    code, _, err = rems("verify", "--sth", str(rems.folder / "bad.json"))
    assert code == 2
    assert "an STH has exactly" in err
    from tests.integration.test_tamper_evidence import RawStore

    ledger = make_ledger(backend_url)
    raw = RawStore(ledger)
    try:
        raw.delete(raw.positions()[-1])
    finally:
        raw.conn.close()
        ledger.close()
    code, out, _ = rems("verify", "--sth", str(head), "--json")
    assert code == 1
    assert "sth_beyond_end" in {p["kind"] for p in orjson.loads(out)["problems"]}
