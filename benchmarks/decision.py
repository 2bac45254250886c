"""Decision overhead per customer message, without the answerer's own time.

Each message is recorded as a delivery and then run through ``process_delivery`` exactly as
the worker runs it: ticket lock, state reads, triage, retrieval over 10,000 passages, the
answerer, settle, the decision and ticket-state writes, the delivery marked done, the lock
released. The answerer is a zero-latency stub (``--answerer stub``: it quotes the first
sentence of the top passage, so replies pass the grounding guard) or the offline
``extractive`` answerer. The connector is in ``dry_run`` without credentials, so no helpdesk
call is part of the time. Runs on SQLite and on PostgreSQL.

Messages: four in five are questions made from the passages' words, one in five trips an
escalation trigger (a request for a person, a refund, a cancellation, a chargeback), two
messages per ticket; the index is the one retrieval searches, built from the same synthetic
passages as ``benchmarks.retrieval``.

Two references are measured in the same run on the same database: the pure decision core
(triage, retrieval, answerer, settle: no store), and one durable commit (insert a row,
commit: the floor of any write), timed after every message so that both see the same load.
The ratio to the latter says how many commits' worth of time a decision takes.

Run: ``.venv/bin/python -m benchmarks.decision [--messages 1000] [--answerer stub]``.
Exits 1 when the p95 per message is 25 ms or more on either database.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.ingest import (
    BENCH_DATABASE_URL,
    CONNECTOR,
    bench_config,
    machine_info,
    reset_postgres_database,
)
from benchmarks.retrieval import percentile, synthetic_passages, synthetic_queries

RESULTS = Path(__file__).resolve().parent / "results" / "decision.json"
TARGET_P95_MS = 25.0

# One in five messages: the kind of thing the escalation triggers exist for.
ESCALATING = (
    "I want to talk to a real person please",
    "You charged me twice this month, I want my money back",
    "Please cancel my subscription today",
    "I am filing a chargeback with my bank",
    "can i speak to a human agent",
)


class ZeroLatencyAnswerer:
    """Answers at once by quoting the first sentence of the best passage."""

    name = "bench-zero"

    def answer(
        self, question: str, conversation: list[str], hits: list[Any], product_context: str = ""
    ) -> Any:
        from bridge.knowledge.types import Answer, AnswerKind

        if not hits:
            return Answer(kind=AnswerKind.NOT_COVERED)
        passage = hits[0].passage
        sentence = passage.text.split(". ")[0].strip().rstrip(".") + "."
        return Answer(
            kind=AnswerKind.ANSWER, text=sentence, cited_ids=(passage.id,), confidence=0.9
        )


def messages(passages: Sequence[Any], count: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    questions = synthetic_queries(passages, count, seed=seed)
    return [rng.choice(ESCALATING) if rng.random() < 0.2 else q for q in questions]


def _events(config_path: Path, texts: Sequence[str], first_ticket: int) -> list[dict[str, Any]]:
    from bridge.config import load_config
    from bridge.runtime import build_connectors
    from connectors.base import WebhookRequest

    connector = build_connectors(load_config(config_path))[CONNECTOR]
    events = []
    for k, text in enumerate(texts):
        ticket = first_ticket + k // 2
        body = {
            "ticket_id": str(ticket),
            "comment_id": str(ticket * 10 + k % 2),
            "author_id": "9001",
            "author_role": "End-user",
            "is_public": "true",
            "body": text,
            "subject": "Help",
            "tags": "",
            "via": "Web form",
            "requester_id": "9001",
            "requester_name": "Sam Lee",
            "requester_email": "sam@example.com",
            "organization": "",
        }
        request = WebhookRequest(
            method="POST", headers={}, body=json.dumps(body).encode(), query={}
        )
        events.append(connector.parse(request).to_json())
    return events


def _summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 0.5), 3),
        "p95": round(percentile(values, 0.95), 3),
        "p99": round(percentile(values, 0.99), 3),
        "mean": round(sum(values) / len(values), 3),
    }


class CommitProbe:
    """One row inserted and committed per call: what any durable write costs at least.

    Called between the timed messages, so both feel the same moment's load.
    """

    def __init__(self, store: Any) -> None:
        from sqlalchemy import text

        self.store, self.text, self.next_id = store, text, 0
        self.latencies: list[float] = []
        with store.engine.begin() as connection:
            connection.execute(
                text("CREATE TABLE IF NOT EXISTS bench_commit (id INTEGER PRIMARY KEY, note TEXT)")
            )
            connection.execute(text("DELETE FROM bench_commit"))

    def __call__(self) -> None:
        self.next_id += 1
        started = time.perf_counter()
        with self.store.session() as session:
            session.execute(
                self.text("INSERT INTO bench_commit (id, note) VALUES (:id, :note)"),
                {"id": self.next_id, "note": "x"},
            )
        self.latencies.append((time.perf_counter() - started) * 1000)

    def drop(self) -> None:
        with self.store.engine.begin() as connection:
            connection.execute(self.text("DROP TABLE bench_commit"))


def measure(
    database: str, database_url: str, index: Any, passages: Sequence[Any], args: argparse.Namespace
) -> dict[str, Any]:
    import tasks.pipeline as pipeline
    from bridge.config import load_config
    from bridge.runtime import Runtime
    from bridge.store import Store, repo
    from bridge.store.models import Decision

    with tempfile.TemporaryDirectory(prefix="bench-decision-") as tmp:
        work_dir = Path(tmp)
        url = database_url if database == "postgresql" else f"sqlite:///{work_dir / 'bench.db'}"
        if database == "postgresql":
            reset_postgres_database(url)
        # Each delivery is processed as soon as it is recorded: the wait for more messages from
        # the customer (worker.coalesce_seconds) is time on the clock, not decision overhead.
        config_path = bench_config(
            work_dir, database_url=url, broker_url=None, worker={"coalesce_seconds": 0}
        )
        store = Store(url)
        store.migrate()
        runtime = Runtime(load_config(config_path), store=store, retriever=index)
        if args.answerer == "stub":
            stub = ZeroLatencyAnswerer()
            runtime.answerer = lambda policy: stub  # type: ignore[method-assign]

        # The pure core's share, timed around the same call the pipeline makes.
        core_ms: list[float] = []
        shipped_decide: Callable[..., Any] = pipeline.decide

        def timed_decide(*a: Any, **kw: Any) -> Any:
            started = time.perf_counter()
            try:
                return shipped_decide(*a, **kw)
            finally:
                core_ms.append((time.perf_counter() - started) * 1000)

        pipeline.decide = timed_decide  # type: ignore[assignment]
        try:
            warm = args.warmup
            texts = messages(passages, args.messages + warm)
            events = _events(config_path, texts, first_ticket=10_000)
            total_ms: list[float] = []
            cpu_ms: list[float] = []
            owner = uuid.uuid4().hex
            probe = CommitProbe(store)
            for k, event in enumerate(events):
                # Each message arrives after the one before it was answered, as a customer's
                # next message does: recorded all at once, a ticket's two messages would be
                # decided as one burst and the second would cost nothing.
                with store.session() as session:
                    delivery_pk = repo.record_delivery(session, CONNECTOR, event).id
                started, cpu_started = time.perf_counter(), time.thread_time()
                pipeline.process_delivery(runtime, delivery_pk, owner)
                if k >= warm:
                    total_ms.append((time.perf_counter() - started) * 1000)
                    cpu_ms.append((time.thread_time() - cpu_started) * 1000)
                    probe()
            probe.drop()
            commits = probe.latencies
            core = core_ms[warm:] if len(core_ms) == len(events) else core_ms
            with store.session() as session:
                kinds = Counter(
                    f"{kind}/{reason}"
                    for kind, reason in session.execute(
                        Decision.__table__.select().with_only_columns(
                            Decision.kind, Decision.reason
                        )
                    )
                )
        finally:
            pipeline.decide = shipped_decide  # type: ignore[assignment]
            store.dispose()

    commit_p95 = percentile(commits, 0.95)
    p95 = percentile(total_ms, 0.95)
    return {
        "database": database,
        "messages": len(total_ms),
        "answerer": args.answerer,
        "per_message_ms": _summary(total_ms),
        # This process's own CPU time: what other load on the machine cannot inflate. The
        # rest of the wall time is waiting for the database and for a core.
        "per_message_cpu_ms": _summary(cpu_ms),
        "core_only_ms": _summary(core) if core else {},
        "store_share_of_mean": round(1 - sum(core) / sum(total_ms), 3) if core else None,
        "baseline": {"name": "one durable commit", "ms": _summary(commits)},
        "ratio_p95_to_commit": round(p95 / commit_p95, 1),
        "decisions": dict(kinds.most_common()),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000, help="timed, per database")
    parser.add_argument("--warmup", type=int, default=50, help="untimed first messages")
    parser.add_argument("--passages", type=int, default=10_000)
    parser.add_argument("--answerer", choices=("stub", "extractive"), default="stub")
    parser.add_argument(
        "--databases", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"]
    )
    parser.add_argument("--database-url", default=BENCH_DATABASE_URL, help="PostgreSQL")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    from bridge.knowledge.index import KnowledgeIndex

    passages = synthetic_passages(args.passages)
    started = time.perf_counter()
    index = KnowledgeIndex.build(passages)
    build_seconds = time.perf_counter() - started
    runs = [measure(db, args.database_url, index, passages, args) for db in args.databases]
    checks = {
        f"p95_under_25ms_{run['database']}": run["per_message_ms"]["p95"] < TARGET_P95_MS
        for run in runs
    }
    output = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "passages": len(passages),
        "index_build_seconds": round(build_seconds, 2),
        "runs": runs,
        "targets": {"p95_ms": TARGET_P95_MS, "met": checks},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(output, indent=2) + "\n", encoding="utf-8")

    print(f"decision per message, {len(passages)} passages, answerer {args.answerer}:")
    for run in runs:
        total, core, base = run["per_message_ms"], run["core_only_ms"], run["baseline"]["ms"]
        print(
            f"  {run['database']:<10} p50 {total['p50']:.2f} ms  p95 {total['p95']:.2f} ms  "
            f"(CPU p95 {run['per_message_cpu_ms']['p95']:.2f} ms; core only p95 "
            f"{core.get('p95', 0):.2f} ms; one commit p95 {base['p95']:.2f} ms: "
            f"x{run['ratio_p95_to_commit']})"
        )
        top = ", ".join(f"{k} {v}" for k, v in list(run["decisions"].items())[:5])
        print(f"    decisions: {top}")
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'MISS'} {name}")
    print(f"written to {args.out}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
