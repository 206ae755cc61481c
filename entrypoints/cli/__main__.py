"""`python -m entrypoints.cli`: the same as the `rems` command."""

from entrypoints.cli.main import main

raise SystemExit(main())
