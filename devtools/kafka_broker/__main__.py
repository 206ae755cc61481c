"""``python -m devtools.kafka_broker up|down|status``: the persistent dev broker (``devcli``)."""

import sys

from devtools.kafka_broker.devcli import main

if __name__ == "__main__":
    sys.exit(main())
