"""PHI at rest (issue 12, point 4): with `REMS_ENCRYPTION_KEY_FILE` the event store is encrypted
with eventsourcing's AES-GCM cipher, the read models keep only sealed patient rows, database
files are 0600, and hash chains and verification work as before; the key file is read strictly.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from application.ledger import Ledger
from application.views import Views
from audit.verify import verify
from infra.row_cipher import PlainRows, RowCipher, RowCipherError
from infra.secrets import (
    SecretFileError,
    create_encryption_key_file,
    keyed_pseudonym,
    pseudonym_key,
    read_encryption_key,
)
from infra.settings import CIPHER_TOPIC, ClockMode, Settings, SettingsError
from infra.views import ViewDatabase
from projections.eligibility import all_patients
from simulation.demo import run_demo
from tests.program import TZ

DEMO_PATIENTS = 24


def encrypted_settings(folder: Path, key_file: Path | None) -> Settings:
    """Event-clock settings on a SQLite file in `folder`, encrypted when a key file is given."""
    return Settings(
        database_url=f"sqlite:///{folder / 'rems.db'}",
        clock=ClockMode.EVENT,
        timezone=TZ,
        encryption_key_file=key_file,
    )


def phi_of(commands: list[dict[str, Any]]) -> set[str]:
    """Names, addresses, phones, birth dates and diagnoses the program's enrollments carried."""
    found: set[str] = set()
    for command in commands:
        if command["command"] == "enroll_patient":
            found |= {command[k] for k in ("name", "address", "phone", "date_of_birth")}
            found.add(command["diagnosis_icd10"])
            if guardian := command.get("guardian"):
                found.add(guardian["name"])
    return found


def database_files(folder: Path) -> list[Path]:
    """Every SQLite file (main, -wal, -shm, -journal) in the folder."""
    return sorted(p for p in folder.iterdir() if p.name.startswith("rems.db"))


def store_folder(ledger: Ledger) -> Path:
    """The folder of a ledger's SQLite file."""
    return Path(ledger.settings.database_url.removeprefix("sqlite:///")).parent


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    """A fresh encryption key file, mode 0600."""
    path = tmp_path / "keys" / "encryption.key"
    create_encryption_key_file(path)
    return path


@pytest.fixture(scope="module")
def program_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The encryption key of the module's simulated program."""
    path = tmp_path_factory.mktemp("keys") / "encryption.key"
    create_encryption_key_file(path)
    return path


@pytest.fixture(scope="module")
def encrypted_program(
    tmp_path_factory: pytest.TempPathFactory, program_key: Path
) -> Iterator[tuple[Ledger, set[str]]]:
    """A simulated program on an encrypted store (built once for the module), read models
    caught up; with its PHI."""
    store = tmp_path_factory.mktemp("store")
    ledger = Ledger(encrypted_settings(store, program_key))
    out = io.BytesIO()
    run_demo(ledger, patients=DEMO_PATIENTS, commands_out=out)
    commands = [json.loads(line) for line in out.getvalue().splitlines()]
    now = ledger.last_recorded_at
    assert now is not None
    with Views(ledger) as views:
        views.due(now)
    yield ledger, phi_of(commands)
    ledger.close()


def test_encrypted_store_and_read_models_hold_none_of_the_programs_phi(
    encrypted_program: tuple[Ledger, set[str]],
) -> None:
    """Scanning every database file (main, WAL, shared memory) of a simulated program finds no
    name, address, phone, birth date or diagnosis code, while the ledger still answers."""
    ledger, phi = encrypted_program
    assert len(phi) > DEMO_PATIENTS  # birth dates at least are one a patient
    files = database_files(store_folder(ledger))
    assert any(p.name.endswith("-wal") for p in files)  # the WAL is scanned while it exists
    for path in files:
        content = path.read_bytes()
        leaked = sorted(value for value in phi if value.encode() in content)
        assert not leaked, (path.name, leaked[:5])
    assert ledger.patient_state("PT-00001") is not None
    assert ledger.settings.event_store_env()["CIPHER_TOPIC"] == CIPHER_TOPIC


def test_without_a_key_the_same_program_leaves_phi_readable(tmp_path: Path) -> None:
    """The control of the scan above: without `REMS_ENCRYPTION_KEY_FILE` the enrollment's name
    is in the database file in clear (so the scan would see it)."""
    ledger = Ledger(encrypted_settings(tmp_path, None))
    try:
        out = io.BytesIO()
        run_demo(ledger, patients=6, commands_out=out)
        commands = [json.loads(line) for line in out.getvalue().splitlines()]
    finally:
        ledger.close()
    content = b"".join(p.read_bytes() for p in database_files(tmp_path))
    assert any(value.encode() in content for value in phi_of(commands))


def test_verify_passes_on_an_encrypted_store(encrypted_program: tuple[Ledger, set[str]]) -> None:
    """Hash chains are over the decrypted state (AUDIT-FORMAT.md §1): `verify` checks every
    event of an encrypted store and finds nothing wrong."""
    ledger, _ = encrypted_program
    report = verify(ledger)
    assert report.ok, report.problems[:3]
    assert report.events_checked > 100


def test_database_files_are_created_readable_by_their_owner_only(
    encrypted_program: tuple[Ledger, set[str]],
) -> None:
    """The SQLite file, its WAL and shared-memory files are mode 0600."""
    for path in database_files(store_folder(encrypted_program[0])):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_read_model_rows_cannot_be_read_without_the_key(
    encrypted_program: tuple[Ledger, set[str]], program_key: Path
) -> None:
    """The patient rows of the read model are sealed: read without the key they are refused
    rather than served as garbage; with the key they open."""
    ledger, _ = encrypted_program
    database = ViewDatabase(ledger.settings.database_url)
    try:
        with database.transaction() as cursor, pytest.raises(RowCipherError):
            all_patients(cursor, PlainRows())
        with database.transaction() as cursor:
            rows = all_patients(cursor, RowCipher(read_encryption_key(program_key)))
    finally:
        database.close()
    assert len(rows) == DEMO_PATIENTS + 1  # and the lapsed patient


def test_the_key_file_must_exist(tmp_path: Path) -> None:
    """A missing key file is a clear settings error naming `rems keys init`."""
    with pytest.raises(SecretFileError, match="rems keys init"):
        read_encryption_key(tmp_path / "absent.key")
    with pytest.raises(SettingsError, match="no such file"):
        encrypted_settings(tmp_path, tmp_path / "absent.key").event_store_env()


def test_the_key_file_must_be_private(key_file: Path) -> None:
    """A key file readable by the group or others is refused."""
    key_file.chmod(0o644)
    with pytest.raises(SecretFileError, match="chmod 600"):
        read_encryption_key(key_file)


@pytest.mark.parametrize("content", ["", "not base64!\n", "c2hvcnQ=\n", "A" * 60 + "\n"])
def test_the_key_file_must_hold_32_bytes_of_base64(tmp_path: Path, content: str) -> None:
    """Anything but 32 bytes of standard base64 is refused."""
    path = tmp_path / "bad.key"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(SecretFileError, match="32 bytes"):
        read_encryption_key(path)


def test_a_key_file_is_never_overwritten(key_file: Path) -> None:
    """Creating a key where one exists fails and leaves the file as it was."""
    before = key_file.read_bytes()
    with pytest.raises(SecretFileError, match="never overwritten"):
        create_encryption_key_file(key_file)
    assert key_file.read_bytes() == before
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert read_encryption_key(key_file) == before.decode().strip()


def test_keyed_pseudonyms_are_stable_per_key_and_differ_between_keys(
    key_file: Path, tmp_path: Path
) -> None:
    """One aggregate ID has one pseudonym under one key and another under another key, and the
    pseudonym key is not the cipher key itself."""
    aggregate = uuid4()
    key = read_encryption_key(key_file)
    other = create_encryption_key_file(tmp_path / "other.key")
    first = keyed_pseudonym(pseudonym_key(key), aggregate)
    assert first == keyed_pseudonym(pseudonym_key(key), aggregate)
    assert first != keyed_pseudonym(pseudonym_key(other), aggregate)
    assert first != aggregate
    assert pseudonym_key(key) != key.encode()


def test_the_cli_says_when_phi_is_stored_unencrypted(tmp_path: Path, key_file: Path) -> None:
    """`rems apply` without `REMS_ENCRYPTION_KEY_FILE` says once on stderr that PHI is stored
    unencrypted; with it, it says nothing of the kind."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMS_")}
    env["REMS_DATABASE_URL"] = f"sqlite:///{tmp_path / 'rems.db'}"
    run = [sys.executable, "-m", "entrypoints.cli.main", "apply", "-"]
    plain = subprocess.run(run, input=b"", env=env, capture_output=True, timeout=60, check=False)
    assert plain.returncode == 0, plain.stderr
    assert plain.stderr.decode().count("stored unencrypted") == 1
    env["REMS_DATABASE_URL"] = f"sqlite:///{tmp_path / 'secret.db'}"
    env["REMS_ENCRYPTION_KEY_FILE"] = str(key_file)
    sealed = subprocess.run(run, input=b"", env=env, capture_output=True, timeout=60, check=False)
    assert sealed.returncode == 0, sealed.stderr
    assert b"unencrypted" not in sealed.stderr


def test_commands_that_need_no_ledger_create_no_database(tmp_path: Path) -> None:
    """`rems schemas OUT` writes the schemas and leaves no `rems.db` in the working folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMS_")}
    done = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli.main", "schemas", str(tmp_path / "out")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert not list(tmp_path.glob("rems.db*"))


def test_verify_reads_the_sealed_read_models_back(
    encrypted_program: tuple[Ledger, set[str]],
) -> None:
    """The read models' contents (what `verify` compares with a rebuild) open the sealed rows."""
    ledger, _ = encrypted_program
    with Views(ledger) as views:
        contents = views.contents()
    assert len(contents["eligibility_patients"]) == DEMO_PATIENTS + 1
