"""The HAPI FHIR R4 validator for the conformance test (INTEROP.md §6, layer 3): its jars
resolved from Maven Central through Maven once (like the Kafka broker's) and cached in
`~/.cache/rems/fhir-validator/<version>/libs` (or `$REMS_FHIR_VALIDATOR_CACHE`), and a
single-file Java program that validates JSON files offline against the core R4 definitions."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

POM: Final = Path(__file__).resolve().parent / "pom.xml"
PROGRAM: Final = Path(__file__).resolve().parent / "Validate.java"
VERSION: Final = "8.6.1"
CACHE_ENV: Final = "REMS_FHIR_VALIDATOR_CACHE"
_MARKER = ".complete"


class ValidatorUnavailable(RuntimeError):
    """Maven or Java is missing, or the jars could not be resolved."""


@dataclass(frozen=True)
class Report:
    """What the validator said: its exit status and one line per message."""

    ok: bool
    lines: list[str]

    def errors(self) -> list[str]:
        """The ERROR and FATAL lines."""
        return [line for line in self.lines if line.startswith(("ERROR", "FATAL"))]


def ensure_libs() -> Path:
    """The validator's runtime jars (resolved once per pom content; serialised by a lock)."""
    root = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "rems" / "fhir-validator")
    base = root / VERSION
    libs, marker = base / "libs", base / _MARKER
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()
    if marker.exists() and marker.read_text() == digest and libs.is_dir():
        return libs
    if shutil.which("mvn") is None or shutil.which("java") is None:
        msg = "mvn and java are needed to fetch and run the HAPI FHIR validator"
        raise ValidatorUnavailable(msg)
    base.mkdir(parents=True, exist_ok=True)
    with (base / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and marker.read_text() == digest and libs.is_dir():
            return libs
        staging = Path(tempfile.mkdtemp(prefix="libs.", dir=base))
        done = subprocess.run(
            [
                "mvn",
                "-q",
                "-B",
                "-f",
                str(POM),
                "dependency:copy-dependencies",
                f"-Dvalidator.libs.dir={staging}",
            ],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        if done.returncode != 0 or not any(staging.glob("hapi-fhir-validation-*.jar")):
            shutil.rmtree(staging, ignore_errors=True)
            msg = (
                f"Maven could not resolve the validator: {done.stdout[-2000:]}{done.stderr[-2000:]}"
            )
            raise ValidatorUnavailable(msg)
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
        marker.write_text(digest)
    return libs


def validate(files: list[Path], libs: Path | None = None) -> Report:
    """Run the validator once over the JSON files."""
    classpath = f"{libs or ensure_libs()}/*"
    done = subprocess.run(
        ["java", "-Xss8m", "-cp", classpath, str(PROGRAM), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if not lines or not lines[-1].startswith("errors="):
        msg = f"the validator did not run: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        raise ValidatorUnavailable(msg)
    return Report(ok=done.returncode == 0, lines=lines[:-1])
