"""Finding the PostgreSQL server binaries, and installing them with apt-get when missing."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from devtools.postgres_server.system import is_root, tail

__all__ = ["ensure_postgres_installed"]

_DEBIAN_BIN_GLOB = "/usr/lib/postgresql/*/bin"


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    """Sort key for ``/usr/lib/postgresql/<version>/bin`` (numeric version)."""
    parts = re.findall(r"\d+", bin_dir.parent.name)
    return tuple(int(part) for part in parts)


def _find_bin_dir() -> Path | None:
    """Return the newest Debian bin directory with ``initdb``, else ``PATH``'s, else None."""
    candidates = [
        Path(path)
        for path in glob.glob(_DEBIAN_BIN_GLOB)
        if (Path(path) / "initdb").is_file() and (Path(path) / "pg_ctl").is_file()
    ]
    if candidates:
        return max(candidates, key=_version_key)
    on_path = shutil.which("initdb")
    if on_path is not None and shutil.which("pg_ctl") is not None:
        return Path(on_path).resolve().parent
    return None


def ensure_postgres_installed() -> Path:
    """Return the PostgreSQL server bin directory, installing the server if needed.

    Looks for ``/usr/lib/postgresql/<version>/bin/initdb`` (highest version
    wins), then for ``initdb`` on ``PATH``. If neither exists it runs
    ``apt-get update && apt-get install -y postgresql`` (through ``sudo -n``
    when not root) and looks again.

    Raises:
        RuntimeError: if the binaries are still missing after the install attempt.
    """
    found = _find_bin_dir()
    if found is not None:
        return found

    if shutil.which("apt-get") is None:
        raise RuntimeError(
            "PostgreSQL server binaries (initdb) not found and apt-get is unavailable; "
            "install PostgreSQL 15+ manually"
        )
    prefix: list[str] = []
    if not is_root():
        if shutil.which("sudo") is None:
            raise RuntimeError(
                "PostgreSQL server binaries (initdb) not found; run as root or install "
                "them with: apt-get update && apt-get install -y postgresql"
            )
        prefix = ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("initdb not found; installing postgresql with apt-get ...", file=sys.stderr)
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "postgresql"]):
        result = subprocess.run(
            [*prefix, *command], env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"`{' '.join(command)}` failed with exit code {result.returncode}:\n"
                f"{tail(result.stdout + result.stderr)}"
            )

    found = _find_bin_dir()
    if found is None:
        raise RuntimeError(
            "apt-get install postgresql succeeded but no initdb was found under "
            f"{_DEBIAN_BIN_GLOB} or on PATH"
        )
    return found
