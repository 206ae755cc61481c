"""`rems keys` (AUDIT-FORMAT.md §4): the signing key is created mode 0600 and never
overwritten, rotation retires it (its record stays), and `keys init` also creates the
encryption key file when REMS_ENCRYPTION_KEY_FILE names one that does not exist."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import orjson
import pytest

from entrypoints.cli.main import main


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """REMS_SIGNING_KEY_FILE and REMS_ENCRYPTION_KEY_FILE in a fresh folder."""
    monkeypatch.setenv("REMS_DATABASE_URL", f"sqlite:///{tmp_path / 'rems.db'}")
    monkeypatch.setenv("REMS_SIGNING_KEY_FILE", str(tmp_path / "keys" / "sign.pem"))
    monkeypatch.setenv("REMS_ENCRYPTION_KEY_FILE", str(tmp_path / "keys" / "secret.key"))
    return tmp_path / "keys"


def mode(path: Path) -> int:
    """The file's permission bits."""
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_both_keys_owner_only_and_refuses_to_overwrite(
    keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The signing key and the 32-byte base64 encryption key are 0600; a second init is
    exit 2 and leaves the key untouched."""
    assert main(["keys", "init"]) == 0
    record = orjson.loads(capsys.readouterr().out)
    assert record["format"] == "rems-key-v2"
    assert record["status"] == "current"
    assert mode(keys / "sign.pem") == 0o600
    secret = (keys / "secret.key").read_bytes()
    assert mode(keys / "secret.key") == 0o600
    assert secret.endswith(b"\n")
    assert len(base64.b64decode(secret.strip(), validate=True)) == 32
    before = (keys / "sign.pem").read_bytes()
    assert main(["keys", "init"]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert (keys / "sign.pem").read_bytes() == before
    assert (keys / "secret.key").read_bytes() == secret


def test_rotation_retires_the_key_and_keeps_its_record(
    keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After --rotate, `keys public --all` lists the old key as retired and the new one as
    current; `keys public` prints the new one."""
    assert main(["keys", "init"]) == 0
    old = orjson.loads(capsys.readouterr().out)
    assert main(["keys", "init", "--rotate"]) == 0
    new = orjson.loads(capsys.readouterr().out)
    assert mode(keys / "sign.pem") == 0o600
    assert main(["keys", "public", "--all", "--json"]) == 0
    records = orjson.loads(capsys.readouterr().out)
    assert records == [{**old, "status": "retired"}, new]
    assert main(["keys", "public", "--json"]) == 0
    assert orjson.loads(capsys.readouterr().out) == new


def test_rotate_or_public_without_a_key_is_exit_2(
    keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No key file yet: --rotate and `keys public` say so, exit 2, create nothing."""
    assert main(["keys", "init", "--rotate"]) == 2
    assert main(["keys", "public", "--json"]) == 2
    assert "rems keys init" in capsys.readouterr().err
    assert not (keys / "sign.pem").exists()
