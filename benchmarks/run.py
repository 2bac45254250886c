"""Every benchmark in one command, with one summary table.

Runs, in order: knowledge retrieval, the escalation triggers on the Bitext sample (skipped when
its CSV is not there), decision overhead, webhook ingest and worker throughput. Each writes its
own JSON under ``benchmarks/results/`` as when run alone; this prints every figure next to the
baseline measured in the same run, their ratio (figure / baseline) and the target, and writes
``benchmarks/results/summary.json``. Three to four minutes on two cores.

Run: ``.venv/bin/python -m benchmarks.run [--only NAME ...] [--skip NAME ...]``.
Needs PostgreSQL and Redis on loopback (see ``benchmarks.ingest``) and ``wrk`` for the
saturation runs (``apt-get install wrk``). Exits 1 when a target is missed or a benchmark fails.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.ingest import machine_info

RESULTS = Path(__file__).resolve().parent / "results"
SUMMARY = RESULTS / "summary.json"


@dataclass(frozen=True)
class Row:
    benchmark: str
    figure: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline


# --- each benchmark: how to run it, and which figures to take from its JSON ------------------


def _retrieval_rows(data: dict[str, Any]) -> list[Row]:
    quality, speed = data["quality"], data["speed"]
    base, met = speed["baseline"], data["targets"]["met"]
    name = "plain-Python BM25 scan"
    return [
        Row(
            "retrieval",
            "recall@5 (47 questions)",
            quality["recall_at_5"],
            "",
            quality["baseline_recall_at_5"],
            name,
            ">= 0.9",
            met["recall_at_5"],
        ),
        Row(
            "retrieval",
            "query p95, 10k passages",
            speed["query_ms"]["p95"],
            "ms",
            base["query_ms"]["p95"],
            name,
            "< 5 ms",
            met["query_p95"],
        ),
        Row(
            "retrieval",
            "index build, 10k passages",
            speed["build_seconds"],
            "s",
            base["build_seconds"],
            name + " (counting only)",
            "< 10 s",
            met["build"],
        ),
    ]


def _triggers_rows(data: dict[str, Any]) -> list[Row]:
    human = data["human_request_recall_on_contact_human_agent"]
    return [
        Row("triggers", "human_request recall", human, "", target="= 1.0", met=human == 1.0),
        Row(
            "triggers",
            "false escalations, answerable intents",
            data["false_escalation_rate_on_answerable_intents"],
            "",
        ),
        Row(
            "triggers",
            "escalating intents escalated (any reason)",
            data["escalation_recall_any_reason"],
            "",
        ),
    ]


def _decision_rows(data: dict[str, Any]) -> list[Row]:
    rows = []
    met = data["targets"]["met"]
    for run in data["runs"]:
        db = run["database"]
        commit = run["baseline"]["ms"]["p95"]
        rows.append(
            Row(
                "decision",
                f"p95 per message, {db} ({run['answerer']} answerer)",
                run["per_message_ms"]["p95"],
                "ms",
                commit,
                "one durable commit p95",
                "< 25 ms",
                met.get(f"p95_under_25ms_{db}"),
            )
        )
        rows.append(
            Row(
                "decision",
                f"p95 of the pure core, {db}",
                run["core_only_ms"].get("p95"),
                "ms",
                run["per_message_ms"]["p95"],
                "whole decision p95",
            )
        )
    return rows


def _ingest_rows(data: dict[str, Any]) -> list[Row]:
    results, met = data["results"], data["targets"]["met"]
    bare = results["bare"]
    rows = []
    for name, run in results.items():
        if name == "bare":
            continue
        label = name.removeprefix("bridge_").replace("_", "+")
        primary = name == "bridge_postgres_redis"
        if "saturation" in run:
            rows.append(
                Row(
                    "ingest",
                    f"max webhooks/s, {label}",
                    run["saturation"]["rps"],
                    "req/s",
                    bare["saturation"]["rps"],
                    "bare Flask 202",
                    ">= 0.5 x bare" if primary else "",
                    met.get("throughput_half_of_bare") if primary else None,
                )
            )
        fixed, bare_fixed = run["fixed_rate"]["latency_ms"], bare["fixed_rate"]["latency_ms"]
        rate = format(run["fixed_rate"]["rate"], "g")
        # Latencies compare only at the same rate (the embedded run uses a lower one).
        same_rate = run["fixed_rate"]["rate"] == bare["fixed_rate"]["rate"]
        rows.append(
            Row(
                "ingest",
                f"p99 at {rate}/s, {label}",
                fixed["p99"],
                "ms",
                bare_fixed["p99"] if same_rate else None,
                "bare Flask 202",
                "< 50 ms" if primary else "",
                met.get("p99_under_50ms_at_rate") if primary else None,
            )
        )
        rows.append(
            Row(
                "ingest",
                f"p50 at {rate}/s, {label}",
                fixed["p50"],
                "ms",
                bare_fixed["p50"] if same_rate else None,
                "bare Flask 202",
            )
        )
    return rows


def _worker_rows(data: dict[str, Any]) -> list[Row]:
    rows = []
    for run in data["runs"]:
        c = run["concurrency"]
        met = data["targets"]["met"].get(f"share_of_ideal_at_{c}")
        rows.append(
            Row(
                "worker",
                f"tickets/s, concurrency {c}, {run['latency_seconds']} s answerer",
                run["tickets_per_second"],
                "/s",
                run["ideal_tickets_per_second"],
                "ideal (concurrency / latency)",
                ">= 0.7 x ideal" if c == 32 else "",
                met,
            )
        )
        rows.append(
            Row(
                "worker",
                f"worker RSS peak, concurrency {c}",
                run["rss_mib"]["high_water_mark"],
                "MiB",
                run["rss_mib"]["idle_after_first_ticket"],
                "same worker after its first ticket",
            )
        )
    return rows


@dataclass(frozen=True)
class Benchmark:
    name: str
    main: Callable[[Sequence[str]], int]
    argv: tuple[str, ...]
    rows: Callable[[dict[str, Any]], list[Row]]


def _benchmarks() -> list[Benchmark]:
    from benchmarks import decision, ingest, retrieval, triggers_bitext, worker

    return [
        Benchmark("retrieval", retrieval.main, (), _retrieval_rows),
        Benchmark("triggers_bitext", triggers_bitext.main, (), _triggers_rows),
        Benchmark("decision", decision.main, (), _decision_rows),
        Benchmark("ingest", ingest.main, (), _ingest_rows),
        Benchmark("worker", worker.main, ("--concurrency", "32"), _worker_rows),
    ]


# --- running and printing --------------------------------------------------------------------


def _run(bench: Benchmark) -> tuple[dict[str, Any], list[Row]]:
    out = RESULTS / f"{bench.name}.json"
    print(f"\n=== {bench.name} ===", flush=True)
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    status = "ok"
    error = None
    try:
        code = bench.main([*bench.argv, "--out", str(out)])
        if code == 2:
            status = "skipped"
        elif code != 0:
            status = "target missed"
    except SystemExit as exc:  # argparse and the benchmarks' own refusals
        status, error = "failed", f"exit {exc.code}"
    except Exception as exc:
        traceback.print_exc()
        status, error = "failed", f"{type(exc).__name__}: {exc}"
    seconds = round(time.monotonic() - started, 1)
    rows: list[Row] = []
    if status in ("ok", "target missed") and out.exists():
        rows = bench.rows(json.loads(out.read_text(encoding="utf-8")))
    # Everything here is timed on a machine that may be doing other work: the one-minute load
    # average before and after says how busy it was (it is the core count when fully used).
    report = {
        "status": status,
        "seconds": seconds,
        "result": str(out),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    if error:
        report["error"] = error
    return report, rows


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    text = f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return f"{text} {unit}".strip()


def print_table(rows: Sequence[Row]) -> None:
    header = ("figure", "value", "baseline", "ratio", "target", "")
    table = [
        (
            f"{row.benchmark}: {row.figure}",
            _fmt(row.value, row.unit),
            f"{_fmt(row.baseline, row.unit)} ({row.baseline_name})" if row.baseline else "-",
            f"x{row.ratio:.3g}" if row.ratio is not None else "-",
            row.target or "-",
            {True: "ok", False: "MISS", None: ""}[row.met],
        )
        for row in rows
    ]
    widths = [max(len(str(line[i])) for line in [header, *table]) for i in range(len(header))]
    for line in [header, *table]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    names = [b.name for b in _benchmarks()]
    parser.add_argument("--only", nargs="+", choices=names, default=None)
    parser.add_argument("--skip", nargs="+", choices=names, default=[])
    parser.add_argument("--out", type=Path, default=SUMMARY)
    args = parser.parse_args(argv)

    started = time.monotonic()
    reports: dict[str, Any] = {}
    rows: list[Row] = []
    for bench in _benchmarks():
        if (args.only and bench.name not in args.only) or bench.name in args.skip:
            continue
        reports[bench.name], found = _run(bench)
        rows += found
    total = round(time.monotonic() - started, 1)

    print(f"\n=== summary ({total} s) ===")
    print_table(rows)
    for name, report in reports.items():
        before, after = report["load_average"]
        print(
            f"{name}: {report['status']} in {report['seconds']} s, load average "
            f"{before} -> {after} on {os.cpu_count()} cores {report.get('error', '')}".rstrip()
        )
    summary = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "seconds": total,
        "benchmarks": reports,
        "figures": [{**asdict(row), "ratio": row.ratio} for row in rows],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.out}")
    failed = any(r["status"] in ("failed", "target missed") for r in reports.values())
    return 1 if failed or any(row.met is False for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
