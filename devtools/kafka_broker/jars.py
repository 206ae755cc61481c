"""The broker's jars: resolved from Maven Central through Maven and cached per Kafka version.

``pom.xml`` (beside this module) names the Kafka release; ``ensure_kafka_jars()`` copies its
runtime classpath into ``~/.cache/rems/kafka/<version>/libs`` (or
``$REMS_KAFKA_CACHE/<version>/libs``) once, and reuses it while the pom is unchanged.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Final

from devtools.kafka_broker.errors import KafkaBrokerError

__all__ = ["CACHE_ENV", "MVN_TIMEOUT_S", "POM_PATH", "ensure_kafka_jars", "kafka_version"]

POM_PATH: Final = Path(__file__).resolve().parent / "pom.xml"
"""The pom that pins the Kafka release and its runtime classpath."""

CACHE_ENV: Final = "REMS_KAFKA_CACHE"
"""Environment variable overriding the jar cache root (default ``~/.cache/rems/kafka``)."""

MVN_TIMEOUT_S: Final = 900.0

_MARKER = ".complete"
_POM_NS = "{http://maven.apache.org/POM/4.0.0}"


def kafka_version(pom: Path = POM_PATH) -> str:
    """Return the Kafka release pinned by ``<kafka.version>`` in the broker pom."""
    root = ET.parse(pom).getroot()
    node = root.find(f"{_POM_NS}properties/{_POM_NS}kafka.version")
    if node is None or not (node.text or "").strip():
        raise KafkaBrokerError(f"{pom}: no <kafka.version> property")
    return (node.text or "").strip()


def _cache_root() -> Path:
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    return Path.home() / ".cache" / "rems" / "kafka"


def ensure_kafka_jars() -> Path:
    """Resolve the broker's runtime jars through Maven once and return the directory holding them.

    The jars land in ``<cache root>/<kafka version>/libs`` (cache root ``~/.cache/rems/kafka``
    or ``$REMS_KAFKA_CACHE``). A marker file holding the pom's sha256 is written after a
    successful copy; while it matches, no Maven run happens. Concurrent callers serialise on a
    lock file, and a half-finished copy is never visible under ``libs``.
    """
    pom = POM_PATH
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    base = _cache_root() / kafka_version(pom)
    libs = base / "libs"
    marker = base / _MARKER
    if _cache_valid(marker, libs, digest):
        return libs

    base.mkdir(parents=True, exist_ok=True)
    with (base / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _cache_valid(marker, libs, digest):
            return libs
        marker.unlink(missing_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="libs.", dir=base))
        staging.chmod(0o755)
        try:
            _run_maven(pom, staging)
            if not any(staging.glob("kafka_2.*.jar")):
                raise KafkaBrokerError(f"Maven ran but copied no kafka_2.* jar into {staging}")
            shutil.rmtree(libs, ignore_errors=True)
            staging.rename(libs)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        marker.write_text(digest + "\n")
    return libs


def _cache_valid(marker: Path, libs: Path, digest: str) -> bool:
    try:
        return marker.read_text().strip() == digest and libs.is_dir()
    except FileNotFoundError:
        return False


def _run_maven(pom: Path, out_dir: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaBrokerError("`mvn` is not on PATH; it is needed once to fetch the Kafka jars")
    cmd = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        f"-Dkafka.libs.dir={out_dir}",
    ]
    try:
        done = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=MVN_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise KafkaBrokerError(f"{' '.join(cmd)} timed out after {MVN_TIMEOUT_S:.0f}s") from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip().splitlines()[-40:]
        raise KafkaBrokerError(f"{' '.join(cmd)} exited {done.returncode}:\n" + "\n".join(output))
