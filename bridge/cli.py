"""The ``helpdesk-bridge`` command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from bridge.cli_config import (  # noqa: F401 - re-exported for scripts that import them here
    CONFIG_ENV,
    EXAMPLE_CONFIG,
    config_option,
    default_config_path,
    load_or_exit,
)
from bridge.config import AppConfig
from bridge.eval.cli import eval_command
from bridge.knowledge.cli import kb
from bridge.review.cli import report


@click.group()
@click.version_option(package_name="helpdesk-bridge")
def main() -> None:
    """Answer helpdesk tickets from your docs; hand everything else to a human."""


@main.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def run(config_path: str | None, host: str, port: int) -> None:
    """Run the web server and a worker together (embedded defaults: no servers needed)."""
    config = load_or_exit(config_path)
    _prepare(config)
    worker_cmd = [sys.executable, "-m", "bridge.cli", "worker", "--beat"]
    env = dict(os.environ)
    if config.source:
        worker_cmd += ["--config", config.source]
    worker = subprocess.Popen(worker_cmd, env=env)
    click.echo(f"helpdesk-bridge: web on http://{host}:{port}, worker pid {worker.pid}")
    try:
        _serve(config, host, port, workers=1)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


@main.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn processes")
def serve(config_path: str | None, host: str, port: int, workers: int) -> None:
    """Run only the web server (gunicorn)."""
    config = load_or_exit(config_path)
    _prepare(config)
    _serve(config, host, port, workers=workers)


@main.command()
@config_option
@click.option("--concurrency", type=int, default=None, help="threads (default from config)")
@click.option("--beat/--no-beat", default=False, help="also run the scheduler in this process")
def worker(config_path: str | None, concurrency: int | None, beat: bool) -> None:
    """Run a Celery worker."""
    from tasks.celery_app import create_celery

    config = load_or_exit(config_path)
    _prepare(config)
    celery = create_celery(config)
    argv = [
        "worker",
        "--loglevel=INFO",
        "--pool=threads",
        f"--concurrency={concurrency or config.worker.concurrency}",
        "--queues=bridge",
        "--without-gossip",
        "--without-mingle",
    ]
    if beat:
        argv += ["--beat", f"--schedule={config.data_dir / 'beat-schedule'}"]
    celery.worker_main(argv)


@main.command()
@config_option
def migrate(config_path: str | None) -> None:
    """Create or upgrade the database schema."""
    config = load_or_exit(config_path)
    _prepare(config)
    click.echo("database schema is up to date")


@main.command()
@config_option
@click.option("--connector", "connector_name", required=True, help="connector to sign for")
@click.option("--url", "base_url", default="http://127.0.0.1:8000", show_default=True)
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def replay(
    config_path: str | None, connector_name: str, base_url: str, files: tuple[str, ...]
) -> None:
    """Sign FILES with the connector's secret and POST them to a running server."""
    import requests

    from bridge.runtime import build_connectors

    config = load_or_exit(config_path)
    connector = build_connectors(config).get(connector_name)
    if connector is None:
        raise click.BadParameter(f"no connector named {connector_name!r}", param_hint="--connector")
    url = f"{base_url.rstrip('/')}/webhooks/{connector_name}"
    failed = False
    for file in files:
        body = Path(file).read_bytes()
        headers = {"Content-Type": "application/json", **connector.sign(body, datetime.now(UTC))}
        try:
            response = requests.post(url, data=body, headers=headers, timeout=30)
        except requests.RequestException as exc:
            click.echo(f"{file}: failed: {exc}")
            failed = True
            continue
        click.echo(f"{file}: {response.status_code} {response.text.strip()}")
        failed = failed or response.status_code >= 400
    sys.exit(1 if failed else 0)


@main.command()
@config_option
@click.option(
    "--url",
    "public_url",
    required=True,
    help="Public base URL the helpdesk reaches this service at, e.g. https://bridge.example.com",
)
@click.argument("connector_name")
def connect(config_path: str | None, public_url: str, connector_name: str) -> None:
    """Wire CONNECTOR's helpdesk to this service: through its API where it allows, else print
    the exact steps for its admin UI."""
    from bridge.runtime import build_connectors
    from connectors.base import HelpdeskError

    config = load_or_exit(config_path)
    connector = build_connectors(config).get(connector_name)
    if connector is None:
        known = ", ".join(sorted(config.connectors)) or "none configured"
        raise click.BadParameter(f"no connector named {connector_name!r} ({known})")
    webhook_url = f"{public_url.rstrip('/')}/webhooks/{connector_name}"
    try:
        result = connector.connect(webhook_url)
    except HelpdeskError as exc:
        click.echo(f"could not wire {connector_name}: {exc}", err=True)
        sys.exit(1)
    heading = "Done through the API:" if result.automated else "Set this up in the admin UI:"
    click.echo(f"{connector_name} ({config.connectors[connector_name].type}) → {webhook_url}")
    click.echo(heading)
    for line in result.lines:
        click.echo(line)


@main.command()
@config_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--limit", default=50, show_default=True, type=int)
def decisions(config_path: str | None, fmt: str, limit: int) -> None:
    """List recorded decisions, newest first."""
    from sqlalchemy import select

    from bridge.store import Decision, Store

    config = load_or_exit(config_path)
    store = Store(config.database_url)
    store.migrate()
    with store.session() as session:
        rows = session.scalars(
            select(Decision).order_by(Decision.created_at.desc(), Decision.id.desc()).limit(limit)
        ).all()
        items = [_decision_json(row) for row in rows]
    if fmt == "json":
        click.echo(json.dumps(items, indent=2))
        return
    if not items:
        click.echo("no decisions recorded yet")
        return
    click.echo(
        f"{'when':20} {'connector':18} {'ticket':10} {'kind':9} {'reason':22} {'written':9} group"
    )
    for item in items:
        click.echo(
            f"{item['created_at'][:19]:20} {item['connector'][:18]:18} {item['ticket_id'][:10]:10} "
            f"{item['kind']:9} {item['reason'][:22]:22} {item['write_status']:9} "
            f"{item['group'] or ''}"
        )


def _decision_json(row: Any) -> dict[str, Any]:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return {
        "id": row.id,
        "connector": row.connector,
        "ticket_id": row.ticket_id,
        "kind": row.kind,
        "reason": row.reason,
        "rule_id": row.rule_id,
        "text": row.text,
        "citations": row.citations or [],
        "group": row.group,
        "tags": row.tags or [],
        "brief": row.brief,
        "confidence": row.confidence,
        "mode": row.mode,
        "write_status": row.write_status,
        "latency_ms": row.latency_ms,
        "policy_digest": row.policy_digest,
        "created_at": created.isoformat(),
    }


@main.command()
@config_option
def doctor(config_path: str | None) -> None:
    """Check config, database, broker, helpdesk credentials and routed groups."""
    from bridge.doctor import run_checks

    config = load_or_exit(config_path)
    click.echo(f"ok      config: {config.source}")
    failed = False
    for check in run_checks(config):
        click.echo(f"{'ok' if check.ok else 'FAILED':7} {check.name}: {check.detail}")
        failed = failed or not check.ok
    sys.exit(1 if failed else 0)


def _prepare(config: AppConfig) -> None:
    from bridge.store import Store
    from tasks.celery_app import prepare_embedded_broker

    config.data_dir.mkdir(parents=True, exist_ok=True)
    prepare_embedded_broker(config)
    store = Store(config.database_url)
    try:
        store.migrate()
    finally:
        store.dispose()


def _serve(config: AppConfig, host: str, port: int, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    from bridge.web import create_app

    factory: Callable[[], Any] = lambda: create_app(config)  # noqa: E731

    class _Gunicorn(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", 8)
            self.cfg.set("accesslog", "-")
            self.cfg.set("timeout", 30)

        def load(self) -> Any:
            return factory()

    _Gunicorn().run()


main.add_command(kb)
main.add_command(eval_command)
main.add_command(report)

if __name__ == "__main__":
    main()
