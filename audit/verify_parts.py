"""`rems verify` in parts side by side (issue 13): the store's aggregate IDs cut into ranges
of about equal rows, each range checked by a process of its own, the findings and what spans
aggregates (numbers, heads: each part's spill file) brought together by the caller.

An aggregate's sequence depends only on its own rows, and a range holds whole aggregates, so
each part finds exactly what one reader finds in those rows; the claims and the digest are
checked once, on everything the parts kept. The parts are forked (they share what the caller
has imported) and each opens its own connection; a ledger in memory, or a store too small to
gain from it, is checked in this process.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

from application.aggregate_rows import KeyRange, raw_aggregates, split_keys
from audit.findings import Problem
from audit.verify_spill import Spill
from infra.settings import SqliteUrl, parse_database_url

if TYPE_CHECKING:
    from application.ledger import Ledger
    from audit.verify import Verifier

PARALLEL_FROM = 20_000
"""Rows from which `rems verify` checks in parts (below, starting them costs more)."""


@dataclass(frozen=True)
class PartFound:
    """What one part read and found."""

    problems: list[Problem]
    events: int
    aggregates: int
    position: int


def parts_for(ledger: Ledger, rows: int) -> int:
    """How many parts `rems verify` uses on this store: two when a second core is idle (the
    load average leaves one free), for a store of `PARALLEL_FROM` rows or more that another
    process can open. On a busy machine a second process only competes with the first (two
    parts measured slower than one at load 5 on two cores)."""
    cores = os.cpu_count() or 1
    if rows < PARALLEL_FROM or cores < 2 or os.getloadavg()[0] > cores - 1:
        return 1
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    url = parse_database_url(ledger.settings.database_url)
    if isinstance(url, SqliteUrl) and not Path(str(url.path)).is_file():
        return 1
    return 2


def check_in_parts(verifier: Verifier, stop: int, parts: int) -> None:
    """Check the store up to `stop` in `parts` processes, into `verifier` (its findings,
    counts, and spill)."""
    ranges = split_keys(verifier.ledger, parts, stop)
    context = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory(prefix="rems-verify-") as folder:
        started = []
        for index, part in enumerate(ranges):
            path = str(Path(folder) / f"part-{index}.db")
            receiving, sending = context.Pipe(duplex=False)
            process = context.Process(
                target=_check_part, args=(verifier, stop, part, path, sending), daemon=True
            )
            process.start()
            sending.close()
            started.append((process, receiving, path))
        for process, receiving, path in started:
            found = receiving.recv()
            process.join()
            if isinstance(found, BaseException):
                raise found
            verifier.problems.extend(found.problems)
            verifier.events += found.events
            verifier.aggregates += found.aggregates
            verifier.position = max(verifier.position, found.position)
            verifier.spill.absorb(path)


def _check_part(verifier: Verifier, stop: int, part: KeyRange, path: str, out: Connection) -> None:
    """In a forked process: check one range with a connection and a spill of its own."""
    try:
        # The store exists; two processes creating its tables (and PostgreSQL's functions) at
        # once conflict. This process's own environment only: it was forked.
        os.environ["CREATE_TABLE"] = "no"
        ledger = type(verifier.ledger)(verifier.ledger.settings)
        mine = type(verifier)(ledger, verifier.digest_position, spill=Spill(path))
        for raws in raw_aggregates(ledger, stop, part=part):
            mine.check_raw_aggregate(raws)
        mine.spill.commit()
        mine.spill.close()
        ledger.close()
        out.send(PartFound(mine.problems, mine.events, mine.aggregates, mine.position))
    # Whatever went wrong is the caller's to raise.
    except BaseException as error:
        out.send(error)
    finally:
        out.close()
