"""``python -m infra.kafka_broker up|down|status``: the persistent dev broker (see ``devcli``)."""

import sys

from infra.kafka_broker.devcli import main

if __name__ == "__main__":
    sys.exit(main())
