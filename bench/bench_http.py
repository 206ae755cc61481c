"""Benchmark goal 3 of issue 13: the HTTP decision path under load, on one real PostgreSQL.

Starts 1, 2 and 4 `rems serve` processes (several processes on their own loopback ports, behind
nothing: the load generator spreads its requests over them in turn), each on the same throwaway
PostgreSQL (`devtools.postgres_server`). A bounded pool of clients (one thread each, one
keep-alive `http.client` connection per server: a few tens of microseconds a request, so the
load generator is not what is measured on a machine it shares with the servers) drives
the pharmacy workflow at rising concurrency: a prescriber's `request_authorization` for a patient
drawn at random from a pool of ready adult males, then the pharmacy's
`request_dispense_confirmation` of the number it was given. Each step runs for a fixed number of
seconds; it prints throughput, p50/p99 latency and the conflict rate (two clients on one
patient at once: one wins, the other is `conflict`). Loopback only, bounded in count and time.
Run: `.venv/bin/python -m bench.bench_http [--patients 200] [--seconds 4]`.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from application.batch import apply_lines
from application.ledger import Ledger
from bench.workload import postgres_server
from devtools.postgres_server.addresses import free_port
from entrypoints.http.tokens import Role, TokenStore
from infra.settings import Settings
from infra.views import ViewDatabase
from simulation.model import TOPICS

PROCESSES = (1, 2, 4)
CONCURRENCY = (1, 2, 4, 8, 16)


def seed(url: str, patients: int) -> tuple[str, str]:
    """DR1 and PH1 certified, `patients` adult males enrolled and counseled (each under his own
    name: one name and birth date twice is a possible duplicate, E8, and is denied); the
    prescriber's and the pharmacy's tokens."""
    ledger = Ledger(Settings(database_url=url))
    lines = [
        '{"command": "register_prescriber", "prescriber_id": "DR1", "name": "Dr One", '
        '"address": "1 Way", "fax": "555-0100"}',
        '{"command": "certify_prescriber", "prescriber_id": "DR1"}',
        '{"command": "certify_pharmacy", "pharmacy_id": "PH1", "name": "Pharmacy One", '
        '"address": "2 Main St"}',
    ]
    topics = ", ".join(f'"{t}"' for t in TOPICS)
    for n in range(patients):
        lines.append(
            f'{{"command": "enroll_patient", "patient_id": "M{n}", "prescriber_id": "DR1", '
            f'"name": "Bench Patient {n}", "address": "3 Elm St", "phone": "555-0101", '
            '"date_of_birth": "1960-01-01", "sex": "male", "diagnosis_icd10": "C90.00", '
            '"language": "english", "patient_signed": true, "prescriber_signed": true, '
            '"all_statements_marked": true}'
        )
        lines.append(
            f'{{"command": "record_counseling", "patient_id": "M{n}", "prescriber_id": "DR1", '
            f'"topics": [{topics}]}}'
        )
    failed = [r for r in apply_lines(ledger, lines, group_size=200) if not r["ok"]]
    assert not failed, failed[:3]
    ledger.close()
    database = ViewDatabase(url)
    try:
        store = TokenStore(database)
        return store.create(Role.PRESCRIBER, "DR1")[1], store.create(Role.PHARMACY, "PH1")[1]
    finally:
        database.close()


@contextlib.contextmanager
def servers(url: str, count: int, one_port: bool = False) -> Iterator[list[str]]:
    """`count` `rems serve` processes on free loopback ports, or one `rems serve --workers
    count` (`one_port`: the kernel hands each new connection to one of them); their base URLs
    once healthy."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMS_")}
    env["REMS_DATABASE_URL"] = url
    started: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        for _ in range(1 if one_port else count):
            port = free_port()
            workers = ["--workers", str(count)] if one_port else []
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "entrypoints.cli.main",
                    "serve",
                    "--port",
                    str(port),
                    *workers,
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=Path(__file__).resolve().parent.parent,
            )
            started.append((process, f"http://127.0.0.1:{port}"))
        for process, base in started:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"rems serve exited with {process.returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("rems serve did not become healthy in 60 s")
                time.sleep(0.2)
        yield [base for _, base in started]
    finally:
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@dataclass
class Tally:
    """What the clients of one step saw."""

    latencies: list[float] = field(default_factory=list)
    conflicts: int = 0
    failures: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    """The error codes other than `conflict`, and how often each came."""
    broken: int = 0
    """Requests that got no JSON answer (a dropped connection, a timeout, a 500 page)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, body: dict[str, object]) -> None:
        """One answered request."""
        error = body.get("error")
        if not isinstance(error, dict):
            error = {}
        code = error.get("code")
        with self.lock:
            self.latencies.append(seconds)
            if code == "conflict":
                self.conflicts += 1
            elif code is not None:
                self.failures += 1
                self.codes[_answer_kind(code, error)] += 1

    def post(
        self, client: Connection, path: str, body: dict[str, object], headers: dict[str, str]
    ) -> dict[str, object]:
        """Send one command and tally its answer ({} when there was none to read)."""
        began = time.perf_counter()
        try:
            answer = client.post(path, body, headers)
        except (OSError, http.client.HTTPException, ValueError):
            client.reset()
            with self.lock:
                self.broken += 1
            return {}
        self.add(time.perf_counter() - began, answer)
        return answer


class Connection:
    """One keep-alive connection to one server, posting JSON and reading JSON back."""

    def __init__(self, base: str) -> None:
        self.host, _, port = base.removeprefix("http://").partition(":")
        self.port = int(port)
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def post(
        self, path: str, body: dict[str, object], headers: dict[str, str]
    ) -> dict[str, object]:
        """The JSON object answered to a POST of `body`."""
        self.connection.request(
            "POST", path, orjson.dumps(body), {"content-type": "application/json", **headers}
        )
        answer: dict[str, object] = orjson.loads(self.connection.getresponse().read())
        return answer

    def reset(self) -> None:
        """A new connection after a broken one."""
        self.connection.close()
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


def client_loop(
    bases: list[str], tokens: tuple[str, str], patients: int, stop: float, tally: Tally, seed: int
) -> None:
    """Authorize then confirm, for random patients, until `stop` (a monotonic instant)."""
    rng = random.Random(seed)
    prescriber = {"authorization": f"Bearer {tokens[0]}"}
    pharmacy = {"authorization": f"Bearer {tokens[1]}"}
    clients = [Connection(base) for base in bases]
    try:
        turn = seed
        while time.monotonic() < stop:
            client = clients[turn % len(clients)]
            turn += 1
            patient = f"M{rng.randrange(patients)}"
            body = {
                "patient_id": patient,
                "prescriber_id": "DR1",
                "daily_dose_mg": 10,
                "days_supply": 28,
                "refills": 0,
                "channel": "electronic",
            }
            answer = tally.post(client, "/v1/commands/request_authorization", body, prescriber)
            number = answer.get("authorization_number")
            if not number:
                continue
            confirm = {
                "pharmacy_id": "PH1",
                "patient_id": patient,
                "authorization_number": number,
                "days_supply": 28,
            }
            tally.post(client, "/v1/commands/request_dispense_confirmation", confirm, pharmacy)
    finally:
        for client in clients:
            client.close()


def step(
    bases: list[str], tokens: tuple[str, str], patients: int, concurrency: int, seconds: float
) -> tuple[Tally, float]:
    """One load step: `concurrency` clients for `seconds`; (tally, elapsed)."""
    tally = Tally()
    stop = time.monotonic() + seconds
    threads = [
        threading.Thread(target=client_loop, args=(bases, tokens, patients, stop, tally, n))
        for n in range(concurrency)
    ]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally, time.perf_counter() - began


RISING = 1.05
"""A step whose throughput is under this many times the step before's has stopped rising."""


@dataclass(frozen=True)
class Measured:
    """One step's figures."""

    processes: int
    clients: int
    throughput: float
    p99_ms: float

    def __str__(self) -> str:
        goal = "met" if self.p99_ms < 10 else "not met"
        return (
            f"{self.processes} processes, {self.clients} clients: {self.throughput:.0f} req/s, "
            f"p99 {self.p99_ms:.1f} ms (goal < 10 ms: {goal})"
        )


def knee(steps: list[Measured]) -> Measured:
    """The step where throughput stops rising (issue 13's goal 3): the last before a step that
    adds less than `RISING`, or the last step."""
    for here, after in itertools.pairwise(steps):
        if after.throughput < here.throughput * RISING:
            return here
    return steps[-1]


def _answer_kind(code: object, error: dict[str, object]) -> str:
    """An error's code, with the rules a denial names (`denied A4`: a newer authorization of the
    same patient, by another client, voided the one being confirmed)."""
    reasons = error.get("reasons")
    rules = sorted(
        {str(r["rule"]) for r in reasons if isinstance(r, dict) and "rule" in r}
        if isinstance(reasons, list)
        else set()
    )
    return " ".join([str(code), *rules])


def _codes(codes: Counter[str]) -> str:
    return ", ".join(f"{code} {count}" for code, count in codes.most_common())


def percentile(values: list[float], fraction: float) -> float:
    """The value at that fraction of the sorted values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    """Seed one PostgreSQL, then each process count at each concurrency."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--processes", type=int, nargs="+", default=list(PROCESSES))
    parser.add_argument("--concurrency", type=int, nargs="+", default=list(CONCURRENCY))
    parser.add_argument(
        "--one-port",
        action="store_true",
        help="run the processes as one `rems serve --workers N` (default: N servers on N ports, "
        "each client's requests spread over them in turn)",
    )
    args = parser.parse_args()
    with postgres_server(True) as url:
        assert url is not None
        tokens = seed(url, args.patients)
        print(f"{'procs':>5} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} conflicts")
        knees: list[Measured] = []
        for count in args.processes:
            measured: list[Measured] = []
            with servers(url, count, args.one_port) as bases:
                step(bases, tokens, args.patients, 2, 1.0)  # warm the processes up
                for concurrency in args.concurrency:
                    tally, elapsed = step(bases, tokens, args.patients, concurrency, args.seconds)
                    done = len(tally.latencies)
                    if not done:
                        print(f"{count:>5} {concurrency:>7}  no answer ({tally.broken} broken)")
                        continue
                    p99 = percentile(tally.latencies, 0.99) * 1000
                    measured.append(Measured(count, concurrency, done / elapsed, p99))
                    print(
                        f"{count:>5} {concurrency:>7} {done / elapsed:>8.0f} "
                        f"{percentile(tally.latencies, 0.5) * 1000:>8.1f} "
                        f"{p99:>8.1f} "
                        f"{tally.conflicts / done:>8.1%}"
                        + (f"  (other answers: {_codes(tally.codes)})" if tally.failures else "")
                        + (f"  ({tally.broken} without an answer)" if tally.broken else "")
                    )
            if measured:
                knees.append(knee(measured))
        for at in knees:
            print(f"knee at {at}")
        if knees:
            print(f"peak: {max(knees, key=lambda m: m.throughput)}")


if __name__ == "__main__":
    main()
