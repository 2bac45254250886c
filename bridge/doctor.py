"""Checks behind ``helpdesk-bridge doctor``: each one ok or failed, with why."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select

from bridge.config import AppConfig, ConnectorConfig
from bridge.runtime import Runtime
from bridge.store.models import DeadLetter
from connectors.base import Connector, HelpdeskError


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def run_checks(config: AppConfig, runtime: Runtime | None = None) -> Iterator[Check]:
    runtime = runtime or Runtime(config)
    yield from _database(runtime)
    yield _broker(config)
    yield _knowledge(runtime)
    for name, connector in runtime.connectors.items():
        yield from _connector(runtime.connector_config(name), connector)


def _database(runtime: Runtime) -> Iterator[Check]:
    try:
        runtime.store.ping()
        runtime.store.migrate()
    except Exception as exc:
        yield Check("database", False, f"{runtime.store.engine.url!r}: {exc}")
        return
    yield Check("database", True, f"{runtime.store.engine.url.render_as_string()} reachable")
    with runtime.store.session() as session:
        waiting = session.scalar(
            select(func.count()).select_from(DeadLetter).where(DeadLetter.resolved_at.is_(None))
        )
    yield Check(
        "dead letters",
        waiting == 0,
        "none" if waiting == 0 else f"{waiting} failed events waiting for a retry or discard",
    )


def _broker(config: AppConfig) -> Check:
    from tasks.celery_app import create_celery

    celery = create_celery(config)
    label = "embedded (SQLite file)" if config.broker_url is None else config.broker_url
    try:
        with celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:
        return Check("broker", False, f"{label}: {exc}")
    return Check("broker", True, f"{label} reachable")


def _knowledge(runtime: Runtime) -> Check:
    try:
        size = len(runtime.retriever)
    except Exception as exc:
        return Check("knowledge", False, f"index could not be built: {exc}")
    if size == 0:
        return Check("knowledge", False, "no passages: configure knowledge.sources")
    return Check("knowledge", True, f"{size} passages indexed")


def _routed_groups(cc: ConnectorConfig) -> set[str]:
    policy = cc.policy
    groups = {rule.group for rule in policy.routing.rules}
    if policy.routing.default_group:
        groups.add(policy.routing.default_group)
    groups.update(t.group for t in policy.triggers.values() if t.group)
    return groups


def _connector(cc: ConnectorConfig, connector: Connector) -> Iterator[Check]:
    prefix = f"connector {cc.name}"
    if not connector.has_credentials:
        ok = cc.policy.mode == "dry_run"
        detail = (
            "no credentials; dry_run decides from webhook payloads alone"
            if ok
            else f"no credentials, but mode is {cc.policy.mode}: it cannot write back"
        )
        yield Check(f"{prefix} credentials", ok, detail)
        return
    try:
        yield Check(f"{prefix} credentials", True, connector.check_credentials())
    except HelpdeskError as exc:
        yield Check(f"{prefix} credentials", False, str(exc))
        return
    try:
        yield Check(f"{prefix} bot identity", True, connector.check_bot_identity())
    except HelpdeskError as exc:
        yield Check(f"{prefix} bot identity", False, str(exc))
    try:
        groups = connector.list_groups()
    except HelpdeskError as exc:
        yield Check(f"{prefix} groups", False, str(exc))
        return
    known = {group.name for group in groups} | {group.id for group in groups}
    for group in sorted(_routed_groups(cc)):
        yield Check(
            f"{prefix} group {group!r}",
            group in known,
            "exists" if group in known else "not found in the helpdesk (check routing)",
        )
