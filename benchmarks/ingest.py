"""Webhook ingest under gunicorn on loopback, against a bare Flask endpoint.

``POST /webhooks/<connector>`` (signature check, parse, durable record, enqueue) is served by
``helpdesk-bridge serve`` exactly as shipped; the baseline is a Flask app whose webhook route
reads the body and answers 202, served by the same command with the same gunicorn settings.
Two measurements per server:

1. Saturation: wrk (closed loop, keep-alive) for ``--seconds``; requests per second and the
   latency percentiles wrk reports. Needs ``wrk`` (Debian: ``apt-get install wrk``).
2. Fixed rate: an open-loop client in this script sends ``--rate`` requests per second for
   ``--fixed-seconds``; each latency is measured from the moment the request was due, so a
   stalled server cannot hide its backlog (no coordinated omission).

Every request carries a unique delivery id and a body signed in advance. The bridge runs twice:
on PostgreSQL with the Redis broker, and on the embedded defaults (SQLite and the embedded
broker). Nothing consumes the queue during the run.

Run: ``.venv/bin/python -m benchmarks.ingest [--seconds 10] [--rate 200] [--out PATH]``.
Exits 1 when a target is missed (PostgreSQL + Redis: throughput at least half the bare
endpoint's, p99 under 50 ms at 200 requests/s).

The module also holds the set-up the other service benchmarks share: the throwaway benchmark
database on the local PostgreSQL, the Redis database number, config files and process stats.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from benchmarks.retrieval import percentile

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "ingest.json"
HELP_CENTER = ROOT / "examples" / "help-center"

# A database of its own: the benchmarks drop and recreate its schema on every run.
BENCH_DATABASE_URL = os.environ.get(
    "HELPDESK_BRIDGE_BENCH_DATABASE_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/helpdesk_bridge_bench",
)
# A Redis database number of its own, flushed on every run (the tests use 0).
BENCH_REDIS_URL = os.environ.get("HELPDESK_BRIDGE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
CONNECTOR = "bench"
SIGNING_SECRET = "bench-signing-secret"
WRK_INSTALL_HINT = (
    "wrk is not installed: `apt-get install wrk` (Debian/Ubuntu) or `brew install wrk`"
)

# The ``helpdesk-bridge`` command as the console script runs it (``bridge.cli`` imported as a
# module, not run as ``__main__``).
HELPDESK_BRIDGE = [sys.executable, "-c", "from bridge.cli import main; main()"]

TARGET_THROUGHPUT_RATIO = 0.5
TARGET_P99_MS = 50.0


# --- shared set-up ---------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def reset_postgres_database(url: str) -> None:
    """Create the benchmark database if needed and empty it: a fresh schema for every run.

    Refuses any database whose name does not say it is for benchmarks, so a mistyped URL can't
    wipe real data.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database or ""
    if "bench" not in name:
        raise SystemExit(f"refusing to reset database {name!r}: its name must contain 'bench'")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def postgres_sessions(url: str) -> int | None:
    """Connections ever opened to this database (PostgreSQL 14+ counts them), else None."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    if not url.startswith("postgresql"):
        return None
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            value = connection.scalar(
                text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
            )
        return int(value) if value is not None else None
    except Exception:
        return None
    finally:
        engine.dispose()


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()


def bench_config(
    directory: Path,
    *,
    database_url: str | None,
    broker_url: str | None,
    connector: dict[str, Any] | None = None,
    worker: dict[str, Any] | None = None,
) -> Path:
    """Write a config for one benchmark server; ``None`` URLs mean the embedded defaults."""
    block: dict[str, Any] = {
        "type": "zendesk",
        "mode": "dry_run",
        "subdomain": "bench",
        "signing_secret": SIGNING_SECRET,
    }
    block.update(connector or {})
    data: dict[str, Any] = {
        "data_dir": str(directory / "var"),
        "knowledge": {"sources": [{"type": "path", "path": str(HELP_CENTER)}]},
        "connectors": {CONNECTOR: block},
        # The load generator is the one helpdesk here: its thousands of requests a second are
        # what is measured, not a flood for the rate limit to refuse.
        "web": {"rate_limit": {"enabled": False}},
    }
    if database_url:
        data["database_url"] = database_url
    if broker_url:
        data["broker_url"] = broker_url
    if worker:
        data["worker"] = worker
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def children_of(pid: int) -> list[int]:
    """Direct children of a process (gunicorn's workers), from /proc."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def cpu_seconds(pids: Sequence[int]) -> float:
    """User plus system CPU time of these processes so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def rss_mib(pid: int, field: str = "VmRSS") -> float | None:
    """Resident memory of one process (``VmHWM`` for its peak), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def stop_process(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM (a graceful stop), then SIGKILL to its process group if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- requests --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedRequest:
    body: bytes
    headers: dict[str, str]


QUESTIONS = (
    "Hi, how do I reset my password? I can't remember it.",
    "Where can I download my invoice for last month?",
    "How do I invite a teammate to my workspace?",
    "Can I export my projects to CSV?",
    "Why is the mobile app not syncing my changes?",
)


def signed_requests(config_path: Path, count: int, first_id: int) -> list[SignedRequest]:
    """``count`` webhook bodies, each a new comment on a new ticket (numbered from
    ``first_id``), signed now."""
    from bridge.config import load_config
    from bridge.runtime import build_connectors

    connector = build_connectors(load_config(config_path))[CONNECTOR]
    now = datetime.now(UTC)
    requests: list[SignedRequest] = []
    for k in range(count):
        body = json.dumps(
            {
                "ticket_id": str(first_id + k),
                "comment_id": str((first_id + k) * 10 + 1),
                "author_id": "9001",
                "author_role": "End-user",
                "is_public": "true",
                "body": QUESTIONS[k % len(QUESTIONS)],
                "subject": "Help",
                "tags": "",
                "via": "Web form",
                "requester_id": "9001",
                "requester_name": "Sam Lee",
                "requester_email": "sam@example.com",
                "organization": "",
            }
        ).encode()
        headers = {"Content-Type": "application/json", **connector.sign(body, now)}
        requests.append(SignedRequest(body, headers))
    return requests


# --- servers ---------------------------------------------------------------------------------


def bare_app() -> Any:
    """The baseline: the same route, reading the body and answering 202, nothing else."""
    from flask import Flask, jsonify, request

    app = Flask("bare")

    @app.post("/webhooks/<name>")
    def receive(name: str) -> Any:
        request.get_data(cache=False)
        return jsonify(status="accepted"), 202

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify(status="ok")

    return app


def _serve_bare(argv: Sequence[str]) -> None:
    """``helpdesk-bridge serve`` with the app swapped for the bare one: same gunicorn settings."""
    import bridge.web
    from bridge.cli import main

    bridge.web.create_app = lambda *args, **kwargs: bare_app()  # type: ignore[assignment]
    main(["serve", *argv], standalone_mode=True)


@contextmanager
def server(
    kind: str, config_path: Path, log_dir: Path, workers: int | None = None
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A gunicorn server on a free loopback port: ``bridge`` (the product) or ``bare``."""
    port = free_port()
    args = ["--config", str(config_path), "--host", "127.0.0.1", "--port", str(port)]
    if workers is not None:
        args += ["--workers", str(workers)]
    if kind == "bridge":
        command = [*HELPDESK_BRIDGE, "serve", *args]
    else:
        command = [sys.executable, "-m", "benchmarks.ingest", "serve-bare", *args]
    log_path = log_dir / f"server-{kind}-{port}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        _wait_healthy(port, process, log_path)
        yield port, process
    finally:
        stop_process(process)
        log.close()


def _wait_healthy(
    port: int, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"server exited with status {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not become healthy in time")


def warm_up(port: int, requests: Sequence[SignedRequest]) -> None:
    """A few requests per worker first: imports, connection pools and the broker connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for item in requests:
            connection.request("POST", f"/webhooks/{CONNECTOR}", item.body, item.headers)
            connection.getresponse().read()
    finally:
        connection.close()


# --- saturation with wrk ---------------------------------------------------------------------

WRK_SCRIPT = r"""
-- Each wrk thread sends its own slice of the pre-signed requests, once each.
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local path, count = args[1], tonumber(args[2])
  requests, n, i, other, statuses = {}, 0, 0, 0, {}
  local line_no = 0
  for line in io.lines(path) do
    if line_no % count == id - 1 then
      local sig, ts, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      n = n + 1
      requests[n] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/json",
        ["X-Zendesk-Webhook-Signature"] = sig,
        ["X-Zendesk-Webhook-Signature-Timestamp"] = ts,
      }, body)
    end
    line_no = line_no + 1
  end
end

function request()
  i = i + 1
  if i > n then i = 1 end  -- wrapping round repeats ids: counted as non-202 below
  return requests[i]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local codes = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for code, count in pairs(s) do codes[code] = (codes[code] or 0) + count end
  end
  local parts = {}
  for code, count in pairs(codes) do table.insert(parts, string.format('"%d": %d', code, count)) end
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
    '"statuses": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, table.concat(parts, ", ")))
end
"""


def write_requests_file(path: Path, requests: Sequence[SignedRequest]) -> None:
    sig, ts = "X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp"
    with path.open("w", encoding="utf-8") as handle:
        for item in requests:
            handle.write(f"{item.headers[sig]}\t{item.headers[ts]}\t{item.body.decode()}\n")


def saturate(
    port: int,
    server_pid: int,
    requests_file: Path,
    work_dir: Path,
    seconds: float,
    connections: int,
    threads: int = 1,
) -> dict[str, Any]:
    """Closed-loop maximum: ``connections`` keep-alive connections sending back to back."""
    script = work_dir / "ingest.lua"
    script.write_text(WRK_SCRIPT, encoding="utf-8")
    pids = [server_pid, *children_of(server_pid)]
    cpu_before = cpu_seconds(pids)
    completed = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/webhooks/{CONNECTOR}",
            "--",
            str(requests_file),
            str(threads),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    cpu_used = cpu_seconds(pids) - cpu_before
    line = next((ln for ln in completed.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {completed.stdout[-2000:]} {completed.stderr[-2000:]}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    duration = raw["duration_us"] / 1e6
    return {
        "client": "wrk",
        "connections": connections,
        "seconds": round(duration, 2),
        "requests": raw["requests"],
        "rps": round(raw["requests"] / duration, 1),
        "latency_ms": {
            key.removesuffix("_us"): round(raw[key] / 1000, 2)
            for key in ("p50_us", "p90_us", "p99_us", "max_us")
        },
        "statuses": raw["statuses"],
        "errors": raw["errors"],
        "server_cpu_ms_per_request": round(1000 * cpu_used / max(1, raw["requests"]), 3),
    }


# --- fixed rate ------------------------------------------------------------------------------


def fixed_rate(
    port: int,
    requests: Sequence[SignedRequest],
    rate: float,
    seconds: float,
    senders: int = 16,
) -> dict[str, Any]:
    """Open loop: request k is due at start + k / rate; latency counts from when it was due."""
    total = min(len(requests), int(rate * seconds))
    due: queue.SimpleQueue[int] = queue.SimpleQueue()
    for k in range(total):
        due.put(k)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    start = time.perf_counter() + 0.2
    path = f"/webhooks/{CONNECTOR}"
    deadline = start + seconds + 30  # the run stops even if the server stalls

    def send() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            while time.perf_counter() < deadline:
                try:
                    k = due.get_nowait()
                except queue.Empty:
                    return
                when = start + k / rate
                pause = when - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                item = requests[k]
                try:
                    connection.request("POST", path, item.body, item.headers)
                    response = connection.getresponse()
                    response.read()
                    status = str(response.status)
                except (OSError, http.client.HTTPException) as exc:
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    status = type(exc).__name__
                elapsed = (time.perf_counter() - when) * 1000
                with lock:
                    latencies.append(elapsed)
                    statuses[status] += 1
        finally:
            connection.close()

    workers = [threading.Thread(target=send, daemon=True) for _ in range(senders)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=max(0.0, deadline - time.perf_counter()) + 5)
    wall = time.perf_counter() - start
    return {
        "client": "open-loop (this script)",
        "rate": rate,
        "seconds": round(wall, 2),
        "requests": len(latencies),
        "achieved_rps": round(len(latencies) / wall, 1) if wall > 0 else 0.0,
        "latency_ms": {
            "p50": round(percentile(latencies, 0.5), 2),
            "p90": round(percentile(latencies, 0.9), 2),
            "p99": round(percentile(latencies, 0.99), 2),
            "max": round(max(latencies), 2),
        }
        if latencies
        else {},
        "statuses": dict(statuses),
    }


# --- the benchmark ---------------------------------------------------------------------------


def measure_server(
    kind: str,
    config_path: Path,
    work_dir: Path,
    args: argparse.Namespace,
    first_id: int,
    have_wrk: bool,
    rate: float,
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    from bridge.config import load_config

    database_url = load_config(config_path).database_url
    sessions_before = postgres_sessions(database_url) if kind == "bridge" else None
    with server(kind, config_path, work_dir, args.workers) as (port, process):
        warm = signed_requests(config_path, 50, first_id)
        warm_up(port, warm)
        if have_wrk:
            # Enough distinct requests that no id repeats even at several thousand per second.
            pool = signed_requests(config_path, int(args.seconds * 4000), first_id + 10**6)
            requests_file = work_dir / f"requests-{first_id}.tsv"
            write_requests_file(requests_file, pool)
            result["saturation"] = saturate(
                port, process.pid, requests_file, work_dir, args.seconds, args.connections
            )
        steady = signed_requests(config_path, int(rate * args.fixed_seconds), first_id + 2 * 10**6)
        result["fixed_rate"] = fixed_rate(port, steady, rate, args.fixed_seconds)
    if sessions_before is not None:
        time.sleep(1)  # closed backends report their counts shortly after
        after = postgres_sessions(database_url)
        if after is not None:
            # Less the one this function opens to ask.
            result["postgres_connections_opened"] = after - sessions_before - 1
    return result


def _status_ok(run: dict[str, Any]) -> bool:
    statuses = run.get("statuses", {})
    return set(statuses) <= {"202"}


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "serve-bare":
        _serve_bare(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="each saturation run")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--rate", type=float, default=200, help="fixed-rate requests/s")
    parser.add_argument("--fixed-seconds", type=float, default=15, help="each fixed-rate run")
    parser.add_argument(
        "--embedded-rate",
        type=float,
        default=40,
        help="fixed rate for the embedded run (its maximum is well under --rate)",
    )
    parser.add_argument("--workers", type=int, default=None, help="gunicorn processes")
    parser.add_argument("--database-url", default=BENCH_DATABASE_URL)
    parser.add_argument("--redis-url", default=BENCH_REDIS_URL)
    parser.add_argument("--no-embedded", action="store_true", help="skip the embedded run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    have_wrk = shutil.which("wrk") is not None
    if not have_wrk:
        print(f"{WRK_INSTALL_HINT}; measuring the fixed-rate runs only", file=sys.stderr)

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        work_dir = Path(tmp)
        reset_postgres_database(args.database_url)
        flush_redis(args.redis_url)
        servers = {
            "bare": bench_config(work_dir / "bare", database_url=None, broker_url=None),
            "bridge_postgres_redis": bench_config(
                work_dir / "pg", database_url=args.database_url, broker_url=args.redis_url
            ),
        }
        if not args.no_embedded:
            servers["bridge_embedded"] = bench_config(
                work_dir / "embedded", database_url=None, broker_url=None
            )
        for number, (name, config_path) in enumerate(servers.items()):
            kind = "bare" if name == "bare" else "bridge"
            print(f"{name}: measuring ...", flush=True)
            results[name] = measure_server(
                kind,
                config_path,
                work_dir,
                args,
                (number + 1) * 10**7,
                have_wrk,
                args.embedded_rate if name == "bridge_embedded" else args.rate,
            )
        flush_redis(args.redis_url)

    bare = results["bare"]
    checks: dict[str, bool] = {}
    for name in [n for n in results if n != "bare"]:
        run = results[name]
        if have_wrk:
            ratio = run["saturation"]["rps"] / bare["saturation"]["rps"]
            run["throughput_ratio_to_bare"] = round(ratio, 3)
        if run["fixed_rate"]["rate"] == bare["fixed_rate"]["rate"]:
            run["fixed_rate_p99_ratio_to_bare"] = round(
                run["fixed_rate"]["latency_ms"]["p99"] / bare["fixed_rate"]["latency_ms"]["p99"],
                2,
            )
        if name == "bridge_postgres_redis":
            if have_wrk:
                checks["throughput_half_of_bare"] = ratio >= TARGET_THROUGHPUT_RATIO
            checks["p99_under_50ms_at_rate"] = (
                run["fixed_rate"]["latency_ms"]["p99"] < TARGET_P99_MS
            )
            checks["all_accepted"] = all(
                _status_ok(r) for r in (run.get("saturation", {}), run["fixed_rate"])
            )

    from bridge.cli import serve

    server_defaults = {
        p.name: p.default for p in serve.params if p.name in ("workers",) and p.default
    }
    output = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "server": {"workers": args.workers or server_defaults.get("workers")},
        "client": {
            "saturation": "wrk" if have_wrk else None,
            "connections": args.connections,
            "rate": args.rate,
        },
        "results": results,
        "targets": {
            "throughput_ratio_to_bare": TARGET_THROUGHPUT_RATIO,
            "p99_ms_at_rate": TARGET_P99_MS,
            "met": checks,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(output, indent=2) + "\n", encoding="utf-8")
    _print(output)
    print(f"written to {args.out}")
    return 0 if all(checks.values()) else 1


def _print(output: dict[str, Any]) -> None:
    print(
        f"{'server':<22} {'max req/s':>9} {'vs bare':>7} {'CPU ms/req':>10}  "
        f"{'fixed rate':>10} {'achieved':>8} {'p50 ms':>8} {'p99 ms':>8} {'p99 vs bare':>11}"
    )
    for name, run in output["results"].items():
        sat, fixed = run.get("saturation"), run["fixed_rate"]
        latency = fixed["latency_ms"]
        ratio = run.get("throughput_ratio_to_bare")
        p99_ratio = run.get("fixed_rate_p99_ratio_to_bare")
        print(
            f"{name:<22} {sat['rps'] if sat else '-':>9} "
            f"{'x' + format(ratio, '.2f') if ratio else '-':>7} "
            f"{sat['server_cpu_ms_per_request'] if sat else '-':>10}  "
            f"{format(fixed['rate'], 'g') + '/s':>10} {fixed['achieved_rps']:>8} "
            f"{latency['p50']:>8.2f} {latency['p99']:>8.2f} "
            f"{'x' + format(p99_ratio, '.2f') if p99_ratio else '-':>11}"
        )
        if "postgres_connections_opened" in run:
            print(f"  PostgreSQL connections opened: {run['postgres_connections_opened']}")
        for kind in ("saturation", "fixed_rate"):
            statuses = run.get(kind, {}).get("statuses", {})
            if statuses and set(statuses) != {"202"}:
                print(f"  {kind}: responses {statuses}")
    for name, ok in output["targets"]["met"].items():
        print(f"  {'ok  ' if ok else 'MISS'} {name}")


if __name__ == "__main__":
    sys.exit(main())
