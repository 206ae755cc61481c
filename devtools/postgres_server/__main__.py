"""``python -m devtools.postgres_server up|down|status``: the dev server (see ``devcli``)."""

import sys

from devtools.postgres_server.devcli import main

if __name__ == "__main__":
    sys.exit(main())
