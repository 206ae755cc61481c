"""A real single-node Apache Kafka broker (KRaft mode) on 127.0.0.1, for development and tests.

The broker's jars come from Maven Central through Maven: ``infra/kafka_broker/pom.xml`` names
the Kafka release and ``ensure_kafka_jars()`` copies its runtime classpath into a per-version
cache directory (``~/.cache/rems/kafka/<version>/libs``, or ``$REMS_KAFKA_CACHE/<version>/libs``).
The broker then runs as ``java -cp '<libs>/*' kafka.Kafka server.properties`` in its own
process group, combined broker+controller, with every file it writes under one work directory.

Three ways in:

* ``running_kafka()`` - a context manager yielding ``"127.0.0.1:<port>"`` for a throwaway broker
  in a temporary directory (what the pytest fixture uses);
* ``KafkaBroker`` - the same broker as an object whose ``stop()``/``start()`` keep the port and
  the data directory, for restart and fault tests;
* ``python -m devtools.kafka_broker up|down|status`` - a persistent dev broker whose state lives in
  ``.cache/kafka/`` under the current directory (``scripts/kafka`` wraps it).

Needs ``java`` (17+) and, the first time per Kafka version, ``mvn`` on ``PATH``.

The package's modules: ``jars`` (Maven resolution and the jar cache), ``process`` (the broker
process and its readiness wait), ``workdir`` (the config and storage it writes before the JVM
starts), ``network`` (loopback ports and probes), ``devcli`` (the ``up|down|status`` dev broker)
and ``errors``.
"""

from __future__ import annotations

from devtools.kafka_broker.devcli import main
from devtools.kafka_broker.errors import KafkaBrokerError
from devtools.kafka_broker.jars import CACHE_ENV, POM_PATH, ensure_kafka_jars, kafka_version
from devtools.kafka_broker.jars import MVN_TIMEOUT_S as MVN_TIMEOUT_S
from devtools.kafka_broker.network import HOST as HOST
from devtools.kafka_broker.process import STARTUP_TIMEOUT_S as STARTUP_TIMEOUT_S
from devtools.kafka_broker.process import STOP_GRACE_S as STOP_GRACE_S
from devtools.kafka_broker.process import KafkaBroker, running_kafka

__all__ = [
    "CACHE_ENV",
    "POM_PATH",
    "KafkaBroker",
    "KafkaBrokerError",
    "ensure_kafka_jars",
    "kafka_version",
    "main",
    "running_kafka",
]
