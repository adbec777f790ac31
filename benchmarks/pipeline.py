"""Upload-to-scored throughput and latency of the whole pipeline on this machine.

Starts, on a throwaway PostgreSQL database and this machine's Redis: `mia-arena serve`
(uvicorn, --web-workers processes) and `mia-arena worker` (--scorers processes); then N
concurrent API clients (one participant each) upload M valid submissions and wait for each
until it is scored: MICO cifar10 zips, and, with MIDST's released labels beside the checkout
(../shared/midst, or --midst), MIDST's black-box single-table competition loaded beside MICO and
--midst-clients of the clients uploading to it. Prints uploads per second, upload latency and
upload-to-scored latency (p50, p95, p99) and the workers' scoring_ms. Everything is stopped
and dropped at the end.

    .venv/bin/python benchmarks/pipeline.py [--clients 8] [--submissions 200] [--midst-clients 2]
"""

from __future__ import annotations

import argparse
import io
import math
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np
from sqlalchemy import update
from throwaway import throwaway_database  # benchmarks/throwaway.py

from app.auth import service as auth
from app.competitions import creation, registrations
from app.competitions.service import import_mico, read_labels
from app.core.db import committing, make_engine, sessions, upgrade
from app.models.base import utcnow
from app.models.phase import Phase
from app.models.user import Role
from app.scoring.definition import Definition
from app.scoring.demo import write_demo_data

CPU: dict[str, float] = {}
MIA_ARENA = str(Path(sys.executable).with_name("mia-arena"))
ROOT = Path(__file__).resolve().parents[1]
MIDST = ROOT / "definitions/midst-blackbox-single.yaml"
MIDST_DATA = ROOT.parent / "shared/midst/midst_blackbox_single_table/data"
MIDST_PATH = "/api/v1/competitions/midst-blackbox-single/tracks/midst_blackbox_single_table"
MICO_PATH = "/api/v1/competitions/mico/tracks/cifar10"


@dataclass
class Figures:
    """What the clients measured, in seconds, and what the API said of each submission."""

    upload: list[float] = field(default_factory=list)
    to_scored: list[float] = field(default_factory=list)
    scoring_ms: list[float] = field(default_factory=list)
    queue_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--scorers", type=int, default=2)
    parser.add_argument("--pool", default="prefork", choices=["prefork", "threads", "solo"])
    parser.add_argument(
        "--worker-queues",
        default="scoring,intervals",
        choices=["scoring,intervals", "scoring"],
        help="the worker's queues: with the bootstrap intervals (the default), or scoring only",
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument(
        "--midst", type=Path, default=MIDST_DATA, help="MIDST's released black-box labels"
    )
    parser.add_argument(
        "--midst-clients",
        type=int,
        default=2,
        help="clients uploading MIDST zips (0: MICO only; ignored without --midst data)",
    )
    args = parser.parse_args()
    if not args.midst.is_dir():
        print(f"no MIDST labels at {args.midst}: MICO only")
        args.midst_clients = 0
    with tempfile.TemporaryDirectory() as folder, throwaway_database() as url:
        demo = Path(folder)
        write_demo_data(demo, ["cifar10"], seed=7)
        zips = sorted((demo / "submissions").glob("cifar10-*.zip"))
        tokens = _prepare(url, demo / "truth", args)
        env = {"DATABASE_URL": url, "REDIS_URL": args.redis, "SECRET_KEY": secrets.token_hex(32)}
        port = 8731
        with _running(env, args, port, demo):
            figures, wall = _load(f"http://127.0.0.1:{port}", tokens, zips, args)
    _report(figures, wall, args)


def _prepare(url: str, truth: Path, args: argparse.Namespace) -> list[str]:
    """MICO from demo truth and (with its labels) MIDST black-box single table beside it,
    limits out of the way, one registered participant per client: the first --midst-clients
    in MIDST, the others in MICO."""
    engine = make_engine(url)
    with engine.begin() as connection:
        upgrade(connection)
    with committing(sessions(engine)()) as session:
        competitions = [import_mico(session, truth).competition]
        if args.midst_clients:
            midst = Definition.load(MIDST)
            plan = creation.preview(session, midst, read_labels(args.midst, midst))
            competitions.insert(0, creation.create(session, plan, utcnow()))
        session.execute(update(Phase).values(max_per_day=10**6, max_total=10**6))
        tokens = []
        for i in range(args.clients):
            user = auth.create_user(
                session, f"bench{i}@example.org", "x" * 12, role=Role.PARTICIPANT
            )
            competition = competitions[0 if i < args.midst_clients else -1]
            registrations.register(session, competition, user, accept_terms=True)
            tokens.append(auth.create_token(session, user)[1])
    engine.dispose()
    return tokens


def _midst_zips(count: int) -> list[bytes]:
    """MIDST zips of random predictions, both model types, dev and final, one value a line."""
    definition = Definition.load(MIDST)
    rng = np.random.default_rng(7)
    zips = []
    for _ in range(count):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for model_type in definition.tracks[0].scenarios:
                for split in ("dev", "final"):
                    for model in definition.models(model_type, split):
                        values = rng.random(definition.points_per_model)
                        text = "".join(f"{v!r}\n" for v in values.tolist())
                        zf.writestr(f"{model_type}/{split}/{model}/prediction.csv", text)
        zips.append(buffer.getvalue())
    return zips


@contextmanager
def _running(
    env: dict[str, str], args: argparse.Namespace, port: int, log: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """The web server and a worker, in their own process groups, stopped at the end: their
    processes (for `_cpu`)."""
    environment = {**os.environ, **env}
    subprocess.run(["redis-cli", "-u", args.redis, "FLUSHDB"], check=False, capture_output=True)
    commands = [
        [MIA_ARENA, "serve", "--port", str(port), "--workers", str(args.web_workers)],
        [
            MIA_ARENA,
            "worker",
            "--concurrency",
            str(args.scorers),
            "--loglevel",
            "warning",
            "--pool",
            args.pool,
            "--queues",
            args.worker_queues,
        ],
    ]
    processes = []
    for i, command in enumerate(commands):
        with (log / f"process-{i}.log").open("wb") as out:
            processes.append(
                subprocess.Popen(
                    command,
                    env=environment,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    try:
        _wait_up(f"http://127.0.0.1:{port}/", log)
        time.sleep(3)  # the worker's start
        before = _cpu(processes)
        yield processes
        CPU.update({k: v - before[k] for k, v in _cpu(processes).items()})
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:  # still answering a long poll, when stopped early
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _cpu(processes: list[subprocess.Popen[bytes]]) -> dict[str, float]:
    """CPU seconds so far of the web server's and the worker's process groups, of this
    process (the clients), and of the whole machine."""
    tick = os.sysconf("SC_CLK_TCK")
    groups = {p.pid: 0.0 for p in processes}
    leaders = dict.fromkeys(groups, 0.0)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        used = (int(fields[11]) + int(fields[12])) / tick
        if int(fields[2]) in groups:
            groups[int(fields[2])] += used
        if int(stat.parent.name) in leaders:
            leaders[int(stat.parent.name)] = used
    machine = Path("/proc/stat").read_text().split("\n")[0].split()[1:]
    busy = sum(int(x) for i, x in enumerate(machine) if i not in (3, 4)) / tick  # not idle, iowait
    own = os.times()
    web, worker = (groups[p.pid] for p in processes)
    return {
        "web": web,
        "worker": worker,
        "of which celery main": leaders[processes[1].pid],
        "clients": own.user + own.system,
        "machine": busy,
    }


def _wait_up(url: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    sys.exit("the server did not start:\n" + (log / "process-0.log").read_text()[-2000:])


def _load(
    server: str, tokens: list[str], zips: list[Path], args: argparse.Namespace
) -> tuple[Figures, float]:
    """Every client uploads its share, waiting for each to be scored before the next."""
    figures = Figures()
    mico = [path.read_bytes() for path in zips]
    midst = _midst_zips(4) if args.midst_clients else []
    shares = [
        args.submissions // args.clients + (i < args.submissions % args.clients)
        for i in range(args.clients)
    ]
    threads = [
        threading.Thread(
            target=_client,
            args=(
                server,
                token,
                *((MIDST_PATH, midst) if i < args.midst_clients else (MICO_PATH, mico)),
                n,
                figures,
            ),
        )
        for i, (token, n) in enumerate(zip(tokens, shares, strict=True))
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return figures, time.perf_counter() - started


def _client(
    server: str,
    token: str,
    track: str,
    payloads: list[bytes],
    count: int,
    figures: Figures,
    until: float = math.inf,
) -> None:
    """`count` uploads one after the other, each waited for until scored; none begun after
    `until` (a `time.perf_counter()`)."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server, headers=headers, timeout=30) as client:
        for i in range(count):
            if time.perf_counter() >= until:
                break
            began = time.perf_counter()
            answer = client.post(
                f"{track}/submissions",
                files={"file": ("p.zip", payloads[i % len(payloads)], "application/zip")},
            )
            uploaded = time.perf_counter()
            if answer.status_code != 202:
                with figures.lock:
                    figures.errors.append(f"{answer.status_code}: {answer.text[:200]}")
                continue
            body = _until_done(client, answer.json()["id"])
            done = time.perf_counter()
            with figures.lock:
                figures.upload.append(uploaded - began)
                figures.to_scored.append(done - began)
                figures.scoring_ms.append(body.get("scoring_ms") or 0.0)
                figures.queue_ms.append(body.get("queue_ms") or 0.0)
                if body["status"] != "scored":
                    figures.errors.append(f"submission {body['id']}: {body['status']}")


def _until_done(client: httpx.Client, submission_id: int) -> dict[str, Any]:
    """Long polling: the server answers as soon as the submission is done."""
    while True:
        path = f"/api/v1/submissions/{submission_id}"
        body: dict[str, Any] = client.get(path, params={"wait": 20}).json()
        if body["status"] in ("scored", "failed"):
            return body


def _percentiles(values: list[float], scale: float = 1000) -> str:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return f"p50 {cuts[49] * scale:7.1f}  p95 {cuts[94] * scale:7.1f}  p99 {cuts[98] * scale:7.1f}"


def _report(figures: Figures, wall: float, args: argparse.Namespace) -> None:
    done = len(figures.to_scored)
    print(
        f"pipeline: {args.clients} clients, {done} of {args.submissions} submissions scored "
        f"in {wall:.1f} s; {args.web_workers} web processes, {args.scorers} scoring processes, "
        f"{os.cpu_count()} cores; {args.midst_clients} clients upload MIDST zips beside MICO"
    )
    print(f"  uploads/s (scored, sustained):  {done / wall:7.1f}")
    print(f"  upload latency, ms:             {_percentiles(figures.upload)}")
    print(f"  upload to scored, ms:           {_percentiles(figures.to_scored)}")
    print(f"  queue_ms (server):              {_percentiles(figures.queue_ms, 1)}")
    print(f"  scoring_ms (worker):            {_percentiles(figures.scoring_ms, 1)}")
    if CPU:
        rest = CPU["machine"] - CPU["web"] - CPU["worker"] - CPU["clients"]
        per = {k: 1000 * v / max(done, 1) for k, v in {**CPU, "postgres+redis+other": rest}.items()}
        print(
            "  CPU ms per submission:          "
            + "  ".join(f"{k} {v:.0f}" for k, v in per.items() if k != "machine")
            + f"  (machine {per['machine']:.0f})"
        )
    if figures.errors:
        print(f"  errors: {len(figures.errors)}, first: {figures.errors[0]}")
        sys.exit(1)


if __name__ == "__main__":
    if shutil.which("redis-cli") is None:
        sys.exit("redis-cli not found: this benchmark needs this machine's Redis")
    main()
