"""Run cases through the worker's own decision path and collect what happened.

Each case becomes a webhook event recorded in a throwaway SQLite store and handed to
``tasks.pipeline.process_delivery``, the function the Celery task runs: ticket lock, triage,
history read, retrieval, the configured answerer, the grounding guard, the decision record and
the write-back. Only the helpdesk is replaced, by ``CapturingConnector``, which serves the
case's turns as the ticket's conversation and records the writes instead of sending them.

The knowledge base is the config's local folders (or a case's own ``knowledge`` folder),
indexed by the same code the service uses; websites and helpdesk help centers are not fetched,
so a run is offline and repeatable.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from bridge.config import AppConfig, ConnectorConfig, policy_digest
from bridge.eval.answerers import MeteredAnswerer, Usage
from bridge.eval.capture import CapturingConnector, Write
from bridge.eval.cases import Case
from bridge.eval.checks import Actual, compare
from bridge.events import Customer, Event, Message, Role
from bridge.knowledge.settings import PathSource
from bridge.knowledge.types import Passage
from bridge.policy import Policy, PolicySchema
from bridge.runtime import Answerer, Runtime
from bridge.store import Store, repo
from tasks.pipeline import process_delivery

log = logging.getLogger(__name__)

# How tickets usually reach each helpdesk, for routing rules that match on the channel.
DEFAULT_CHANNELS = {"zendesk": "web", "intercom": "chat", "freshdesk": "email"}
CACHE_FOLDER = "eval-cache"


@dataclass
class RunResult:
    """One run of one case."""

    run: int
    actual: Actual
    problems: list[str]
    invented_numbers: list[str]
    latency_ms: float
    tokens: int

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass
class CaseResult:
    case: Case
    runs: list[RunResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """pass^k: the case passes only when every one of its runs does."""
        return bool(self.runs) and all(r.passed for r in self.runs)

    @property
    def first(self) -> RunResult:
        return self.runs[0]

    @property
    def failing_run(self) -> RunResult:
        return next((r for r in self.runs if not r.passed), self.runs[0])


@dataclass
class EvalRun:
    results: list[CaseResult]
    repeat: int
    usage: Usage
    answerers: list[str]
    config_source: str | None = None


class _EvalRuntime(Runtime):
    """The service's runtime, with every answerer metered and LLM answers cached."""

    def __init__(
        self, config: AppConfig, *, usage: Usage, cache_dir: Path | None, **kwargs: Any
    ) -> None:
        super().__init__(config, **kwargs)
        self.usage = usage
        self.cache_dir = cache_dir
        self.sample = 1
        self._metered: dict[int, MeteredAnswerer] = {}

    def set_sample(self, sample: int) -> None:
        self.sample = sample
        for metered in self._metered.values():
            metered.sample = sample

    def answerer(self, policy: Policy) -> Answerer:
        inner = super().answerer(policy)
        metered = self._metered.get(id(inner))
        if metered is None:
            llm = getattr(self.config.answerers, inner.name, None)
            cached = self.cache_dir if inner.name != "extractive" else None
            metered = MeteredAnswerer(
                inner, self.usage, cache_dir=cached, model=getattr(llm, "model", None)
            )
            metered.sample = self.sample
            self._metered[id(inner)] = metered
        return metered


class Evaluator:
    """Runs cases against one configuration."""

    def __init__(
        self,
        config: AppConfig,
        *,
        repeat: int = 1,
        cache: bool = True,
        on_result: Callable[[CaseResult], None] | None = None,
    ) -> None:
        if repeat < 1:
            raise ValueError("repeat must be at least 1")
        self.config = config
        self.repeat = repeat
        self.cache_dir = config.data_dir / CACHE_FOLDER if cache else None
        self.on_result = on_result
        self.usage = Usage()
        self._answerers: set[str] = set()

    def run(self, cases: Sequence[Case]) -> EvalRun:
        by_knowledge: dict[Path | None, list[Case]] = {}
        for case in cases:
            by_knowledge.setdefault(case.knowledge, []).append(case)
        results: dict[str, CaseResult] = {}
        for knowledge, group in by_knowledge.items():
            for result in self._run_group(knowledge, group):
                results[result.case.id] = result
        return EvalRun(
            results=[results[case.id] for case in cases],
            repeat=self.repeat,
            usage=self.usage,
            answerers=sorted(self._answerers),
            config_source=self.config.source,
        )

    # -- one store and runtime per knowledge base ------------------------------------------

    def _run_group(self, knowledge: Path | None, cases: list[Case]) -> list[CaseResult]:
        with tempfile.TemporaryDirectory(prefix="helpdesk-bridge-eval-") as workdir:
            config, names = self._eval_config(Path(workdir), knowledge, cases)
            store = Store(config.database_url)
            try:
                store.migrate()
                connectors = {
                    name: CapturingConnector(name, type_name) for type_name, name in names.items()
                }
                runtime = _EvalRuntime(
                    config,
                    usage=self.usage,
                    cache_dir=self.cache_dir,
                    store=store,
                    connectors=connectors,
                )
                for name in names.values():
                    self._answerers.add(config.connectors[name].policy.assistant.answerer)
                results = []
                for case in cases:
                    result = CaseResult(case)
                    connector = connectors[names[case.connector]]
                    for run in range(self.repeat):
                        result.runs.append(self._run_case(runtime, connector, case, run))
                    results.append(result)
                    if self.on_result is not None:
                        self.on_result(result)
                return results
            finally:
                store.dispose()

    def _eval_config(
        self, workdir: Path, knowledge: Path | None, cases: list[Case]
    ) -> tuple[AppConfig, dict[str, str]]:
        """The configuration with a throwaway store, and a connector for each helpdesk type."""
        connectors = dict(self.config.connectors)
        names: dict[str, str] = {}
        for type_name in dict.fromkeys(case.connector for case in cases):
            chosen = next((cc for cc in connectors.values() if cc.type == type_name), None)
            if chosen is None:
                # No connector of that type configured: the defaults are its policy.
                policy = self._default_policy()
                chosen = ConnectorConfig(f"eval-{type_name}", type_name, policy, None)
            if chosen.policy.mode == "dry_run":
                # A dry run writes nothing; evaluate what a public connector would write.
                chosen = replace(chosen, policy=replace(chosen.policy, mode="public"))
            connectors[chosen.name] = chosen
            names[type_name] = chosen.name
        settings = self.config.knowledge
        if knowledge is not None:
            settings = replace(settings, sources=(PathSource(path=knowledge),))
        else:
            settings = replace(
                settings, sources=tuple(s for s in settings.sources if s.type == "path")
            )
        config = replace(
            self.config,
            database_url=f"sqlite:///{workdir / 'eval.db'}",
            broker_url=None,
            data_dir=workdir,
            knowledge=settings,
            connectors=connectors,
            # Each case is one message that already arrived: there is no burst to wait for.
            worker=replace(self.config.worker, coalesce_seconds=0.0),
        )
        return config, names

    def _default_policy(self) -> Policy:
        raw = dict(self.config.raw.get("defaults") or {})
        policy = PolicySchema().load(raw)
        return replace(policy, digest=policy_digest(raw))

    # -- one case --------------------------------------------------------------------------

    def _run_case(
        self, runtime: _EvalRuntime, connector: CapturingConnector, case: Case, run: int
    ) -> RunResult:
        ticket_id = f"{case.id}#{run + 1}"
        messages = _messages(case)
        connector.load(ticket_id, messages)
        event = Event(
            connector=connector.name,
            delivery_id=f"eval:{ticket_id}",
            ticket_id=ticket_id,
            kind="comment",
            message=messages[-1],
            customer=Customer(
                id=case.customer.id or "customer-1",
                name=case.customer.name,
                email=case.customer.email,
                fields=dict(case.customer.fields),
            ),
            subject=case.subject,
            tags=case.tags,
            channel=case.channel or DEFAULT_CHANNELS.get(case.connector),
        )
        with runtime.store.session() as session:
            state = repo.ticket_state(session, connector.name, ticket_id)
            state.status = case.state.status
            state.bot_turns = case.state.bot_turns
            state.clarifications = case.state.clarifications
            if case.state.status == "escalated":
                state.escalated_at = case.now
            elif case.state.status == "human_active":
                state.human_active_at = case.now
            delivery_pk = repo.record_delivery(session, connector.name, event.to_json()).id

        runtime.clock = lambda: case.now
        runtime.set_sample(run + 1)
        tokens_before = runtime.usage.tokens + runtime.usage.tokens_saved
        started = time.perf_counter()
        error = None
        try:
            process_delivery(runtime, delivery_pk, owner="eval")
        except Exception as exc:  # a crash is a failed case, not a failed run
            log.exception("case %s failed in the pipeline", case.id)
            error = f"{type(exc).__name__}: {exc}"
        latency_ms = (time.perf_counter() - started) * 1000
        tokens = runtime.usage.tokens + runtime.usage.tokens_saved - tokens_before

        actual = _actual(runtime, delivery_pk, connector.writes(ticket_id), error)
        problems, invented = compare(case.expect, actual, lambda pid: _passage(runtime, pid))
        return RunResult(run + 1, actual, problems, invented, latency_ms, tokens)


def _messages(case: Case) -> list[Message]:
    count = len(case.turns)
    authors = {Role.CUSTOMER: "customer-1", Role.AGENT: "agent-1", Role.BOT: "bot"}
    return [
        Message(
            id=f"m{index + 1}",
            role=turn.role,
            text=turn.text,
            public=turn.public,
            author_id=authors[turn.role],
            created_at=case.now - timedelta(minutes=count - index),
        )
        for index, turn in enumerate(case.turns)
    ]


def _actual(runtime: Runtime, delivery_pk: int, writes: list[Write], error: str | None) -> Actual:
    with runtime.store.session() as session:
        row = repo.decision_for(session, delivery_pk)
    if row is None:
        error = error or "the pipeline recorded no decision"
        return Actual(kind="none", reason="no decision", writes=writes, error=error)
    return Actual(
        kind=row.kind,
        reason=row.reason,
        rule_id=row.rule_id,
        text=row.text,
        group=row.group,
        priority=row.priority,
        citations=list(row.citations or []),
        writes=writes,
        error=error,
        evidence=dict(row.evidence or {}),
        write_status=row.write_status,
    )


def _passage(runtime: Runtime, passage_id: str) -> Passage | None:
    retriever: Any = runtime.retriever
    index = retriever.current() if hasattr(retriever, "current") else retriever
    getter = getattr(index, "get", None)
    return getter(passage_id) if getter is not None else None
