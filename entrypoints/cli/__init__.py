"""The `rems` command line."""
