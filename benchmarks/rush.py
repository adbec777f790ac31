"""The deadline rush: uploads pouring in while readers refresh the leaderboard, on a database
that already holds every earlier submission (issue 15).

Fills a throwaway PostgreSQL database with --submissions scored submissions of --participants
participants on MICO's cifar10 track, their intervals and rank-interval replicates included
(COPY, as benchmarks/leaderboard.py fills: a minute or two at 100,000), starts
`mia-arena serve --workers 2` and one `mia-arena worker` on this machine's Redis (as
benchmarks/pipeline.py does), warms the leaderboard up, then for --seconds at the same time:

- --uploaders API clients (participants of the fill), each uploading a valid cifar10 zip and
  waiting until it is scored before the next (pipeline.py's clients);
- --readers leaderboard readers, anonymous (the dev board is public), half of them GETting
  the page, half the API. By default they are paced, an open loop: each sends --reader-rate
  requests a second on its own schedule (the readers' first sends spread over the first
  1/rate s), whatever the server does, as a crowd refreshing does: 16 readers at 5 a second
  are 80 requests a second, about 800 participants each refreshing every 10 s. A reader's
  latency runs from the time its request was due to the end of the answer's body, so that a
  slow server is not hidden by readers waiting on it (no coordinated omission); a reader
  behind its schedule sends the next at once, none skipped, and none after --seconds (the
  requests a second achieved then fall short of those intended). The readers are threads
  with an httpx client each (about 1.9 ms of CPU a request at 20,000 submissions, where one
  asyncio loop with an AsyncClient took about 2.7), in a child process of their own: their
  GIL is not the uploaders', and their CPU is that process's.
  `--reader-rate 0` reads closed-loop instead, through two `wrk` processes (a C load
  generator: far cheaper than Python clients, so that the latencies are the server's; its
  CPU is shown too): each connection sends its next request as soon as it has the answer,
  the readers take all the server can give them, and on 2 cores the uploads starve.

Prints uploads scored per second, upload-to-scored p50/p95/p99, reader p50/p99 (page, API,
together) and their requests per second (paced: beside those intended) and errors, CPU
seconds per scored submission by process (web, worker, PostgreSQL, readers, uploaders), the
ranking work the web processes did (the `mia_leaderboard_ranking_seconds` histogram of
/metrics, when exposed), the goals beside the figures, and the load average at the start and
the end (the machine may be shared).
Everything is stopped and dropped at the end, on Ctrl-C or an error too. `--readers 0` or
`--uploaders 0` measures one side alone: what the other costs it.

    .venv/bin/python benchmarks/rush.py [--submissions 100000] [--participants 2000]
        [--seconds 60] [--uploaders 8] [--readers 16] [--reader-rate 5]
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import httpx2 as httpx
from leaderboard import fill  # benchmarks/leaderboard.py
from pipeline import MICO_PATH, Figures, _client, _cpu, _percentiles, _running
from sqlalchemy import select, text, update
from throwaway import throwaway_database  # benchmarks/throwaway.py

from app.auth import service as auth
from app.core.db import committing, make_engine, sessions
from app.models.base import utcnow
from app.models.phase import Phase
from app.models.user import User

PORT = 8751
PAGE = "/competitions/mico/tracks/cifar10/leaderboard?split=dev"
API = "/api/v1/competitions/mico/tracks/cifar10/leaderboard?split=dev"
RANKING = "mia_leaderboard_ranking_seconds"
GOAL_RATE = 20.0  # scored a second, at least
GOAL_P95 = 1000.0  # ms, upload to scored
GOAL_P99 = 50.0  # ms, a reader's
# wrk's summary at the end: the request count, the errors, and the latency distribution as
# 1,000 quantiles (microseconds), so that page and API can be put together.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("requests %d %d\\n", summary.requests, summary.duration))
  io.write(string.format("errors %d\\n", e.connect + e.read + e.write + e.status + e.timeout))
  for i = 1, 1000 do
    io.write(string.format("quantile %d\\n", latency:percentile(i / 10)))
  end
end
"""


@dataclass
class Readers:
    """What the readers of one endpoint measured: requests, errors, seconds, latency
    quantiles in ms (wrk's 1,000, or every paced request's latency, sorted), and, paced, the
    requests a second intended and the errors by kind (a status, an exception's name)."""

    name: str
    requests: int
    errors: int
    seconds: float
    quantiles: list[float]
    intended: float = 0.0
    kinds: Counter[str] = field(default_factory=Counter)

    def at(self, share: float) -> float:
        """The latency below which `share` of the requests were answered, in ms."""
        return self.quantiles[round(share * len(self.quantiles)) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--submissions", type=int, default=100_000)
    parser.add_argument("--participants", type=int, default=2_000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--uploaders", type=int, default=8, help="0: the readers alone")
    parser.add_argument(
        "--readers", type=int, default=16, help="half page, half API; 0: the uploads alone"
    )
    parser.add_argument(
        "--reader-rate",
        type=float,
        default=5,
        help="requests a second per reader; 0: closed-loop wrk connections, as fast as answered",
    )
    parser.add_argument("--scorers", type=int, default=2, help="the worker's processes")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    print(f"load average at the start: {_load_average()}")
    with throwaway_database() as url, tempfile.TemporaryDirectory() as log:
        started = time.perf_counter()
        demo = fill(url, args.submissions, args.participants, replicates=True)
        try:
            print(
                f"filled {args.submissions:,} scored submissions of {args.participants:,} "
                f"participants, with replicates, in {time.perf_counter() - started:.0f} s"
            )
            zips = [p.read_bytes() for p in sorted((demo / "submissions").glob("cifar10-*.zip"))]
            tokens = _tokens(url, args.uploaders)
            _rush(url, tokens, zips, Path(log), args)
        finally:
            shutil.rmtree(demo, ignore_errors=True)
    print(f"load average at the end:   {_load_average()}")


def _tokens(url: str, count: int) -> list[str]:
    """API tokens of the fill's first `count` participants, their e-mail addresses confirmed
    (as uploading requires), limits out of the way."""
    engine = make_engine(url)
    with committing(sessions(engine)()) as session:
        session.execute(update(Phase).values(max_per_day=10**6, max_total=10**6))
        users = session.scalars(select(User).order_by(User.id).limit(count)).all()
        for user in users:
            user.email_confirmed_at = utcnow()
        tokens = [auth.create_token(session, user)[1] for user in users]
    engine.dispose()
    return tokens


def _rush(
    url: str, tokens: list[str], zips: list[bytes], log: Path, args: argparse.Namespace
) -> None:
    """The server and the worker up, the leaderboard warmed, then uploads and reads at once."""
    env = {"DATABASE_URL": url, "REDIS_URL": args.redis, "SECRET_KEY": secrets.token_hex(32)}
    options = argparse.Namespace(
        web_workers=2,
        scorers=args.scorers,
        pool="prefork",
        worker_queues="scoring,intervals",
        redis=args.redis,
    )
    base = f"http://127.0.0.1:{PORT}"
    with _running(env, options, PORT, log) as processes:
        _warm(base, args.readers)
        cpu, postgres, ranking = _cpu(processes), _postgres_cpu(url), _ranking(base)
        readers_cpu, began = _children_cpu(), time.perf_counter()
        figures = Figures()
        until = began + args.seconds
        read = _wrk if args.reader_rate == 0 else _paced
        with read(base, args.readers, args.seconds, args.reader_rate) as reading:
            uploaders = [
                threading.Thread(
                    target=_client,
                    args=(base, token, MICO_PATH, zips, 10**9, figures, until),
                    daemon=True,  # Ctrl-C need not wait for them
                )
                for token in tokens
            ]
            for thread in uploaders:
                thread.start()
            for thread in uploaders:
                thread.join()
            wall = time.perf_counter() - began
            readers = reading()
        spent = {k: v - cpu[k] for k, v in _cpu(processes).items()}
        spent["readers"] = _children_cpu() - readers_cpu
        spent.update(_postgres_spent(postgres, _postgres_cpu(url)))
        ranked = _ranking(base)
        ranking_done = None if ranked is None or ranking is None else _minus(ranked, ranking)
    _report(figures, wall, readers, spent, ranking_done, args)


def _warm(base: str, readers: int) -> None:
    """Each web process's first reader of the board waits while it ranks: not counted."""
    for path in (PAGE, API):
        subprocess.run(
            [
                "wrk",
                "-t",
                "1",
                "-c",
                str(max(readers, 1)),
                "-d",
                "4s",
                "--timeout",
                "30s",
                base + path,
            ],
            capture_output=True,
            check=True,
        )


@contextmanager
def _wrk(
    base: str, readers: int, seconds: float, _rate: float
) -> Iterator[Callable[[], list[Readers]]]:
    """Two wrk processes reading for `seconds`, the page and the API, half the connections
    each: a function waiting for their figures. Stopped whatever happens."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT)
        script.flush()
        runs = {
            name: subprocess.Popen(
                [
                    "wrk",
                    "-t",
                    "1",
                    "-c",
                    str(connections),
                    "-d",
                    f"{seconds:g}s",
                    "--timeout",
                    "30s",
                    "-s",
                    script.name,
                    base + path,
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for name, path, connections in [
                ("page", PAGE, (readers + 1) // 2),
                ("API", API, readers // 2),
            ]
            if connections  # --readers 0 or 1: the uploads alone, or the page alone
        }

        def figures() -> list[Readers]:
            return [_parsed(name, run.communicate()[0]) for name, run in runs.items()]

        try:
            yield figures
        finally:
            for run in runs.values():
                if run.poll() is None:
                    run.kill()
                    run.wait()


@contextmanager
def _paced(
    base: str, readers: int, seconds: float, rate: float
) -> Iterator[Callable[[], list[Readers]]]:
    """The paced readers in a child process (forked before the uploaders' threads start):
    a function waiting for their figures. Stopped whatever happens."""
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=_read_paced, args=(base, readers, seconds, rate, sending))
    child.start()
    sending.close()  # the child's end only: recv() then fails if the child dies

    def figures() -> list[Readers]:
        got: list[Readers] = receiving.recv()
        child.join()  # its CPU is then counted among this process's children's
        return got

    try:
        yield figures
    finally:
        if child.is_alive():
            child.kill()
        child.join()


def _read_paced(base: str, readers: int, seconds: float, rate: float, out: Connection) -> None:
    """The child process: `readers` threads, even ones the page, odd ones the API, each due
    to send at its own t0 + k / rate for `seconds`; their figures, by endpoint, sent to
    `out`."""
    began = time.perf_counter()
    until = began + seconds
    paths = [(PAGE, "page") if i % 2 == 0 else (API, "API") for i in range(readers)]
    measured: list[tuple[list[float], Counter[str]]] = [([], Counter()) for _ in paths]
    threads = [
        threading.Thread(
            target=_reader,
            args=(base, path, began + i / (readers * rate), rate, until, *measured[i]),
        )
        for i, (path, _) in enumerate(paths)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds_read = time.perf_counter() - began
    figures = []
    for name in ("page", "API"):
        mine = [m for m, (_, n) in zip(measured, paths, strict=True) if n == name]
        if not mine:
            continue  # --readers 1: the page alone
        latencies = sorted(ms for latency, _ in mine for ms in latency)
        kinds = sum((kind for _, kind in mine), Counter[str]())
        figures.append(
            Readers(
                name,
                len(latencies),
                kinds.total(),
                seconds_read,
                latencies,
                intended=rate * len(mine),
                kinds=kinds,
            )
        )
    out.send(figures)


def _reader(
    base: str,
    path: str,
    first: float,
    rate: float,
    until: float,
    latencies: list[float],
    errors: Counter[str],
) -> None:
    """One reader: GET `path` when due (at once when behind), each latency in ms from when
    the request was due to the end of its answer, every answer's (an error's too); none
    sent after `until`."""
    with httpx.Client(base_url=base, timeout=30) as client:
        for k in itertools.count():
            due, now = first + k / rate, time.perf_counter()
            if due >= until or now >= until:
                return
            time.sleep(max(0.0, due - now))
            try:
                status = str(client.get(path).status_code)
            except httpx.TransportError as error:
                status = type(error).__name__
            latencies.append((time.perf_counter() - due) * 1000)
            if status != "200":
                errors[status] += 1


def _parsed(name: str, out: str) -> Readers:
    requests, duration = (int(x) for x in re.findall(r"^requests (\d+) (\d+)$", out, re.M)[0])
    errors = int(re.findall(r"^errors (\d+)$", out, re.M)[0])
    quantiles = [int(x) / 1000 for x in re.findall(r"^quantile (\d+)$", out, re.M)]
    return Readers(name, requests, errors, duration / 1e6, quantiles)


def _together(readers: list[Readers], share: float) -> float:
    """The latency below which `share` of all the readers' requests were answered, in ms:
    each wrk's 1,000 quantiles weighted by its requests."""
    points = sorted((q, r.requests / len(r.quantiles)) for r in readers for q in r.quantiles)
    total, below = sum(w for _, w in points), 0.0
    for value, weight in points:
        below += weight
        if below >= share * total:
            return value
    return points[-1][0]


def _children_cpu() -> float:
    """CPU seconds of this process's finished children (the wrk processes)."""
    own = os.times()
    return own.children_user + own.children_system


def _postgres_cpu(url: str) -> tuple[dict[int, float], set[int]]:
    """CPU seconds so far of every `postgres` process on the machine, by pid, and the pids of
    the backends now connected to this database."""
    engine = make_engine(url)
    with engine.connect() as connection:
        ours = set(
            connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            ).scalars()
        )
    engine.dispose()
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, _, rest = stat.read_text().partition(") ")
        except OSError:
            continue
        if name.endswith("(postgres"):
            fields = rest.split()
            used[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / tick
    return used, ours


def _postgres_spent(
    before: tuple[dict[int, float], set[int]], after: tuple[dict[int, float], set[int]]
) -> dict[str, float]:
    """CPU seconds of PostgreSQL's processes between two readings, all of them (other
    databases' work included) and this database's backends; a process that ended in between
    is missed (a pool's connection closed, a test's backend)."""
    spent = {pid: used - before[0].get(pid, 0.0) for pid, used in after[0].items()}
    return {
        "postgres (all)": sum(spent.values()),
        "postgres (this database's backends)": sum(
            spent.get(pid, 0.0) for pid in after[1] | before[1]
        ),
    }


def _ranking(base: str) -> dict[str, float] | None:
    """The ranking histogram's count and sum (seconds), over its labels; None when /metrics
    does not show it."""
    body = httpx.get(base + "/metrics", timeout=30).text
    found: dict[str, float] = {}
    for part in ("count", "sum"):
        values = re.findall(rf"^{RANKING}_{part}(?:{{[^}}]*}})? (\S+)$", body, re.M)
        if values:
            found[part] = sum(float(v) for v in values)
    return found if len(found) == 2 else None


def _minus(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: v - before[k] for k, v in after.items()}


def _load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" ({os.cpu_count()} cores)"


def _verdict(value: float, goal: float, *, above: bool, unit: str) -> str:
    met = value >= goal if above else value < goal
    return "MET" if met else f"MISSED by {abs(value - goal):.1f} {unit}"


def _report(
    figures: Figures,
    wall: float,
    readers: list[Readers],
    spent: dict[str, float],
    ranking: dict[str, float] | None,
    args: argparse.Namespace,
) -> None:
    done = len(figures.to_scored)
    rate = done / wall
    print(
        f"rush: {args.uploaders} uploaders and {args.readers} readers "
        + (f"at {args.reader_rate:g} a second each " if args.reader_rate else "(closed loop) ")
        + f"for {args.seconds:g} s "
        f"on {args.submissions:,} submissions; 2 web processes, 1 worker of {args.scorers} "
        f"scoring processes"
    )
    if args.uploaders:
        print(
            f"  scored/s:              {rate:7.1f}  ({done} scored in {wall:.1f} s, the last "
            f"upload begun within {args.seconds:g} s)"
            f"   goal 20+: {_verdict(rate, GOAL_RATE, above=True, unit='/s')}"
        )
    if done >= 2:
        p95 = statistics.quantiles(figures.to_scored, n=100, method="inclusive")[94] * 1000
        print(
            f"  upload to scored, ms:  {_percentiles(figures.to_scored)}"
            f"   goal p95 < 1000: {_verdict(p95, GOAL_P95, above=False, unit='ms')}"
        )
        print(f"  the POST alone, ms:    {_percentiles(figures.upload)}")
    rows = [(r.name, r.at(0.5), r.at(0.99), r.requests, r.seconds, r.intended) for r in readers]
    if readers:
        requests, seconds = sum(r.requests for r in readers), max(r.seconds for r in readers)
        intended = sum(r.intended for r in readers)
        p50, p99 = _together(readers, 0.5), _together(readers, 0.99)
        rows.append(("all", p50, p99, requests, seconds, intended))
    for name, p50, p99, count, seconds, intended in rows:
        print(
            f"  readers {name:>4}, ms:     p50 {p50:7.1f}  p99 {p99:7.1f}  "
            f"{count / seconds:6.0f} requests/s"
            + (f" of {intended:.0f} intended" if intended else "")
            + f"   goal p99 < 50: {_verdict(p99, GOAL_P99, above=False, unit='ms')}"
        )
    errors = sum(r.errors for r in readers)
    kinds = sum((r.kinds for r in readers), Counter[str]())
    if errors or (args.reader_rate and readers):
        print(
            f"  readers' errors (non-2xx, timeouts): {errors}"
            + "".join(f", {kind} x{n}" for kind, n in kinds.most_common())
        )
    rest = (
        spent["machine"]
        - sum(v for k, v in spent.items() if k in ("web", "worker", "clients", "readers"))
        - spent["postgres (all)"]
    )
    readers_name = "readers (a child process)" if args.reader_rate else "readers (wrk)"
    shown = {
        "web": spent["web"],
        "worker": spent["worker"],
        "postgres (all)": spent["postgres (all)"],
        "of which this database's backends": spent["postgres (this database's backends)"],
        readers_name: spent["readers"],
        "uploaders (this process)": spent["clients"],
        "redis and the rest of the machine": rest,
        "machine": spent["machine"],
    }
    print("  CPU s per scored submission:" if done else "  CPU s (none scored):")
    for name, seconds in shown.items():
        each = f"{seconds / done:7.3f}   " if done else ""
        print(f"    {name:<36} {each}({seconds:.1f} s in all)")
    if ranking is None:
        print("  ranking work: not exposed")
    else:
        count = int(ranking["count"])
        mean = 1000 * ranking["sum"] / count if count else 0.0
        print(
            f"  ranking work: {count} rankings by the web processes, {ranking['sum']:.1f} s "
            f"in all, {mean:.0f} ms each"
        )
    if figures.errors:
        print(f"  upload errors: {len(figures.errors)}, first: {figures.errors[0]}")


if __name__ == "__main__":
    if shutil.which("wrk") is None or shutil.which("redis-cli") is None:
        sys.exit("this benchmark needs wrk and redis-cli (and this machine's Redis)")
    # Stopped by `kill` too, not only Ctrl-C: the same clean-up (servers stopped, database
    # dropped).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    main()
