"""Worker throughput with an answerer of fixed latency, against the ideal.

A real worker process (``helpdesk-bridge worker`` as shipped: Celery on the Redis broker,
PostgreSQL store) takes ``--tickets`` new tickets from the queue, each decided by an answerer
stub that sleeps ``--latency`` seconds (an LLM call is I/O: the thread waits, the CPU does not)
and answers by quoting the top passage, then written back to a Zendesk stand-in on loopback
(conversation read, re-read before writing, the public reply). The ideal is
``concurrency / latency`` tickets per second; the figure is the share of it reached, with the
worker's resident memory and the database connections it opened.

The stub is put in by this module, which starts the worker through ``run-worker``: it patches
``Runtime.answerer`` and then runs the shipped command, so the product has no test hook.

Run: ``.venv/bin/python -m benchmarks.worker [--concurrency 32] [--latency 1.5] [--tickets 320]``.
Exits 1 when throughput is under 70% of the ideal.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.ingest import (
    BENCH_DATABASE_URL,
    BENCH_REDIS_URL,
    CONNECTOR,
    ROOT,
    bench_config,
    children_of,
    cpu_seconds,
    flush_redis,
    machine_info,
    reset_postgres_database,
    rss_mib,
    signed_requests,
    stop_process,
)
from benchmarks.retrieval import percentile

RESULTS = Path(__file__).resolve().parent / "results" / "worker.json"
TASK_DONE = re.compile(r"Task bridge\.handle_event\[[^\]]+\] succeeded in ([0-9.]+)s")
TARGET_SHARE_OF_IDEAL = 0.7


# --- inside the worker process ---------------------------------------------------------------


class SleepingAnswerer:
    """Waits like an LLM call, then quotes the first sentence of the best passage.

    Quoting keeps the reply grounded, so the decision goes the whole way (reply, write-back)
    as a real answer would.
    """

    name = "bench-sleep"

    def __init__(self, latency: float) -> None:
        self.latency = latency

    def answer(
        self, question: str, conversation: list[str], hits: list[Any], product_context: str = ""
    ) -> Any:
        from bridge.knowledge.types import Answer, AnswerKind

        time.sleep(self.latency)
        if not hits:
            return Answer(kind=AnswerKind.NOT_COVERED)
        passage = hits[0].passage
        sentence = passage.text.split(". ")[0].strip().rstrip(".") + "."
        return Answer(
            kind=AnswerKind.ANSWER, text=sentence, cited_ids=(passage.id,), confidence=0.9
        )


def _run_worker(argv: Sequence[str]) -> None:
    """The shipped ``worker`` command, with the stub answerer and connection counting."""
    parser = argparse.ArgumentParser(prog="benchmarks.worker run-worker")
    parser.add_argument("--latency", type=float, required=True)
    parser.add_argument("--stats", type=Path, required=True, help="JSON written at shutdown")
    parser.add_argument("--pool-size", type=int, default=None, help="override the Store default")
    parser.add_argument("--max-overflow", type=int, default=None)
    parser.add_argument("--prefetch-multiplier", type=int, default=None)
    known, rest = parser.parse_known_args(argv)

    from celery.signals import worker_shutdown
    from sqlalchemy import event

    import bridge.store.db as db
    from bridge.cli import main
    from bridge.runtime import Runtime

    if known.prefetch_multiplier is not None:
        import tasks.celery_app

        shipped = tasks.celery_app.create_celery

        def with_prefetch(*args: Any, **overrides: Any) -> Any:
            overrides.setdefault("worker_prefetch_multiplier", known.prefetch_multiplier)
            return shipped(*args, **overrides)

        tasks.celery_app.create_celery = with_prefetch  # type: ignore[assignment]

    stub = SleepingAnswerer(known.latency)
    Runtime.answerer = lambda self, policy: stub  # type: ignore[method-assign,assignment,misc]

    stores: list[db.Store] = []
    opened = Counter[str]()
    original_init = db.Store.__init__

    def counting_init(self: db.Store, database_url: str, **options: Any) -> None:
        if not database_url.startswith("sqlite"):
            if known.pool_size is not None:
                options.setdefault("pool_size", known.pool_size)
            if known.max_overflow is not None:
                options.setdefault("max_overflow", known.max_overflow)
        original_init(self, database_url, **options)
        stores.append(self)
        index = len(stores) - 1
        event.listen(
            self.engine, "connect", lambda *_: opened.update([str(index)])
        )  # each new database connection: a PostgreSQL backend started for us

    db.Store.__init__ = counting_init  # type: ignore[method-assign]

    @worker_shutdown.connect
    def write_stats(**_: Any) -> None:
        pools = [
            {
                "pool": type(s.engine.pool).__name__,
                "size": getattr(s.engine.pool, "size", lambda: None)(),
                "max_overflow": getattr(s.engine.pool, "_max_overflow", None),
                "connections_opened": opened[str(i)],
            }
            for i, s in enumerate(stores)
        ]
        known.stats.write_text(json.dumps({"stores": pools}), encoding="utf-8")

    main(["worker", *rest], standalone_mode=True)


# --- the benchmark ---------------------------------------------------------------------------


def _events(config_path: Path, count: int, first_id: int) -> list[dict[str, Any]]:
    """Parsed events as the web process records them, each a new ticket."""
    from bridge.config import load_config
    from bridge.runtime import build_connectors
    from connectors.base import WebhookRequest

    connector = build_connectors(load_config(config_path))[CONNECTOR]
    events = []
    for item in signed_requests(config_path, count, first_id):
        request = WebhookRequest(method="POST", headers=item.headers, body=item.body, query={})
        events.append(connector.parse(request).to_json())
    return events


def _record(store: Any, events: Sequence[dict[str, Any]]) -> list[int]:
    from bridge.store import repo

    with store.session() as session:
        rows = [repo.record_delivery(session, CONNECTOR, event) for event in events]
        session.flush()
        ids = [row.id for row in rows]
        for row in rows:
            row.status = "queued"
    return ids


def _wait_done(store: Any, ids: Sequence[int], timeout: float) -> tuple[int, datetime | None]:
    from sqlalchemy import func, select

    from bridge.store.models import Delivery

    deadline = time.monotonic() + timeout
    done, last = 0, None
    while time.monotonic() < deadline:
        with store.session() as session:
            done, last = session.execute(
                select(func.count(), func.max(Delivery.finished_at)).where(
                    Delivery.id.in_(ids), Delivery.status.in_(("done", "dead"))
                )
            ).one()
        if done >= len(ids):
            break
        time.sleep(0.1)
    return done, last


class _MemorySampler(threading.Thread):
    """Samples the worker's resident memory (and any child processes') while it runs."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.25):
            total = sum(rss_mib(p) or 0.0 for p in [self.pid, *children_of(self.pid)])
            self.peak = max(self.peak, total)


def measure(
    concurrency: int,
    latency: float,
    tickets: int,
    database_url: str | None,
    redis_url: str | None,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    prefetch_multiplier: int | None = None,
) -> dict[str, Any]:
    from sqlalchemy import select

    from bridge.config import load_config
    from bridge.store import Store
    from bridge.store.models import Decision
    from tasks.celery_app import HANDLE_EVENT, create_celery, prepare_embedded_broker
    from tests.integration.fake_zendesk import fake_zendesk

    if database_url:
        reset_postgres_database(database_url)
    if redis_url:
        flush_redis(redis_url)
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp, fake_zendesk() as zendesk:
        work_dir = Path(tmp)
        connector = {
            "mode": "public",
            "base_url": zendesk.base_url,
            "email": "bot@bench.test",
            "api_token": "token",
            "bot_user_id": "1000",
        }
        # One message per ticket, all sent at once: with the shipped window every task would
        # first wait coalesce_seconds, which delays the run without measuring anything.
        config_path = bench_config(
            work_dir,
            database_url=database_url,
            broker_url=redis_url,
            connector=connector,
            worker={"coalesce_seconds": 0},
        )
        config = load_config(config_path)
        config.data_dir.mkdir(parents=True, exist_ok=True)
        prepare_embedded_broker(config)
        store = Store(config.database_url)
        store.migrate()
        celery = create_celery(config)
        task = celery.tasks[HANDLE_EVENT]

        stats_path = work_dir / "worker-stats.json"
        command = [
            sys.executable,
            "-m",
            "benchmarks.worker",
            "run-worker",
            "--latency",
            str(latency),
            "--stats",
            str(stats_path),
            "--config",
            str(config_path),
            "--concurrency",
            str(concurrency),
        ]
        if pool_size is not None:
            command += ["--pool-size", str(pool_size)]
        if max_overflow is not None:
            command += ["--max-overflow", str(max_overflow)]
        if prefetch_multiplier is not None:
            command += ["--prefetch-multiplier", str(prefetch_multiplier)]
        log_path = work_dir / "worker.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
            sampler = _MemorySampler(process.pid)
            try:
                # One ticket first: the worker is up, connected and has built its index.
                started = time.monotonic()
                warm = _record(store, _events(config_path, 1, 1))
                task.apply_async(args=[warm[0]])
                if _wait_done(store, warm, timeout=90)[0] != 1:
                    raise RuntimeError("the worker did not process the warm-up ticket")
                startup_seconds = time.monotonic() - started
                idle_rss = rss_mib(process.pid)

                ids = _record(store, _events(config_path, tickets, 1000))
                cpu_before = cpu_seconds([process.pid, *children_of(process.pid)])
                sampler.start()
                began = datetime.now(UTC)
                for delivery_pk in ids:
                    task.apply_async(args=[delivery_pk])
                ideal_seconds = tickets * latency / concurrency
                done, last = _wait_done(store, ids, timeout=ideal_seconds * 3 + 60)
                sampler.stop.set()
                cpu_used = cpu_seconds([process.pid, *children_of(process.pid)]) - cpu_before
                peak_rss = rss_mib(process.pid, "VmHWM")
            finally:
                stop_process(process, timeout=60)
                sampler.stop.set()
        with store.session() as session:
            rows = session.execute(
                select(Decision.kind, Decision.write_status).where(Decision.delivery_pk.in_(ids))
            ).all()
        store.dispose()
        stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
        writes = len(zendesk.writes)
        log_text = log_path.read_text(errors="replace")
        log_tail = log_text[-3000:]
        task_seconds = [float(m) for m in TASK_DONE.findall(log_text)]

    if done < tickets or last is None:
        raise RuntimeError(f"only {done} of {tickets} tickets finished; worker log:\n{log_tail}")
    if last.tzinfo is None:  # SQLite hands back naive UTC times
        last = last.replace(tzinfo=UTC)
    seconds = (last - began).total_seconds()
    throughput = tickets / seconds
    ideal = concurrency / latency
    return {
        "setup": "postgres+redis" if database_url else "embedded (SQLite, embedded broker)",
        "concurrency": concurrency,
        "latency_seconds": latency,
        "tickets": tickets,
        "seconds": round(seconds, 2),
        "tickets_per_second": round(throughput, 2),
        "ideal_tickets_per_second": round(ideal, 2),
        "share_of_ideal": round(throughput / ideal, 3),
        "decisions": dict(Counter(f"{kind}/{status}" for kind, status in rows)),
        "helpdesk_writes": writes,
        "worker_startup_seconds": round(startup_seconds, 2),
        "worker_cpu_ms_per_ticket": round(1000 * cpu_used / tickets, 1),
        # Time inside the task (Celery's own figure); the rest of a ticket's time is queueing.
        "task_seconds": {
            "p50": round(percentile(task_seconds, 0.5), 3),
            "p95": round(percentile(task_seconds, 0.95), 3),
            "max": round(max(task_seconds), 3),
        }
        if task_seconds
        else {},
        "rss_mib": {
            "idle_after_first_ticket": round(idle_rss or 0.0, 1),
            "peak_sampled": round(sampler.peak, 1),
            "high_water_mark": round(peak_rss or 0.0, 1),
        },
        "database": stats.get("stores", []),
        "overrides": {
            "pool_size": pool_size,
            "max_overflow": max_overflow,
            "worker_prefetch_multiplier": prefetch_multiplier,
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "run-worker":
        _run_worker(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[32], help="one run per value"
    )
    parser.add_argument("--latency", type=float, default=1.5, help="answerer seconds")
    parser.add_argument(
        "--tickets", type=int, default=None, help="per run (default: 10 rounds of concurrency)"
    )
    parser.add_argument("--pool-size", type=int, default=None, help="override the default")
    parser.add_argument("--max-overflow", type=int, default=None, help="override the default")
    parser.add_argument("--prefetch-multiplier", type=int, default=None, help="override")
    parser.add_argument("--database-url", default=BENCH_DATABASE_URL)
    parser.add_argument("--redis-url", default=BENCH_REDIS_URL)
    parser.add_argument(
        "--embedded", action="store_true", help="SQLite and the embedded broker instead"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.embedded:
        args.database_url = args.redis_url = None

    from bridge.config import WorkerSchema

    runs = []
    for concurrency in args.concurrency:
        tickets = args.tickets or concurrency * 10
        print(f"concurrency {concurrency}: {tickets} tickets ...", flush=True)
        runs.append(
            measure(
                concurrency,
                args.latency,
                tickets,
                args.database_url,
                args.redis_url,
                args.pool_size,
                args.max_overflow,
                args.prefetch_multiplier,
            )
        )
    checks = {
        f"share_of_ideal_at_{run['concurrency']}": run["share_of_ideal"] >= TARGET_SHARE_OF_IDEAL
        for run in runs
        if run["concurrency"] == 32 and not args.embedded
    }
    output = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "defaults": {"worker.concurrency": WorkerSchema().load({})["concurrency"]},
        "runs": runs,
        "targets": {"share_of_ideal_at_32": TARGET_SHARE_OF_IDEAL, "met": checks},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(output, indent=2) + "\n", encoding="utf-8")

    print(
        f"{'concurrency':>11} {'tickets':>7} {'tickets/s':>9} {'ideal':>7} {'share':>6} "
        f"{'RSS MiB':>8} {'DB conns opened':>15}"
    )
    for run in runs:
        opened = sum(s["connections_opened"] for s in run["database"])
        print(
            f"{run['concurrency']:>11} {run['tickets']:>7} {run['tickets_per_second']:>9.2f} "
            f"{run['ideal_tickets_per_second']:>7.2f} {run['share_of_ideal']:>6.1%} "
            f"{run['rss_mib']['high_water_mark']:>8.1f} {opened:>15}"
        )
        print(
            f"  decisions: {run['decisions']}, helpdesk writes: {run['helpdesk_writes']}, "
            f"time in task p50/p95: {run['task_seconds'].get('p50')}/"
            f"{run['task_seconds'].get('p95')} s, "
            f"worker CPU {run['worker_cpu_ms_per_ticket']} ms/ticket"
        )
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'MISS'} {name}")
    print(f"written to {args.out}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
