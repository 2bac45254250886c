"""Load, interpolate and validate the one YAML configuration file.

Every problem is reported as ``key.path: what is wrong`` so an admin can fix the file without
reading a traceback. Connectors validate their own keys with the schema their module ships.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from bridge.knowledge.answerer_settings import AnswererSettings, AnswerersSchema
from bridge.knowledge.settings import (
    KnowledgeSchema,
    KnowledgeSettings,
    KnowledgeSource,
    check_references,
)
from bridge.knowledge.settings import build as build_knowledge
from bridge.learning.settings import LearningSchema, LearningSettings
from bridge.learning.settings import build as build_learning
from bridge.policy import (  # noqa: F401 - re-exported: the policy is part of the config
    MODES,
    POLICY_KEYS,
    TRIGGER_NAMES,
    Policy,
    PolicySchema,
    TriggerSettings,
    defaults_of,
)
from bridge.review.settings import ReviewSchema, ReviewSettings

CONNECTOR_COMMON_KEYS = {"type", "mode", *POLICY_KEYS}

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` lists ``path: message`` lines."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(f"invalid configuration{where}:\n  " + "\n  ".join(problems))


# --- typed configuration ----------------------------------------------------------------


@dataclass(frozen=True)
class ConnectorConfig:
    name: str
    type: str
    policy: Policy
    settings: Any  # the connector module's own typed settings


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: ``burst`` webhooks at once, refilled at ``requests_per_second``."""

    requests_per_second: float
    burst: int


@dataclass(frozen=True)
class RateLimitSettings:
    """``web.rate_limit``: the default bucket per connector, and per-connector overrides."""

    enabled: bool = True
    requests_per_second: float = 50.0
    burst: int = 500
    connectors: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def for_connector(self, name: str) -> RateLimit | None:
        """The connector's bucket, or None when its webhooks are not limited."""
        own = self.connectors.get(name) or {}
        enabled = own.get("enabled")
        if not (self.enabled if enabled is None else enabled):
            return None
        rate = own.get("requests_per_second") or self.requests_per_second
        return RateLimit(requests_per_second=rate, burst=own.get("burst") or self.burst)


@dataclass(frozen=True)
class WebConfig:
    max_body_bytes: int
    # Where customers reach this service; feedback links are built on it (None: no links).
    public_url: str | None = None
    # Signs feedback links; kept out of repr like every credential.
    secret_key: str | None = field(default=None, repr=False)
    feedback_link_days: int = 30
    rate_limit: RateLimitSettings = field(default_factory=RateLimitSettings)

    @property
    def feedback_links(self) -> bool:
        return bool(self.public_url and self.secret_key)


@dataclass(frozen=True)
class WorkerConfig:
    max_retries: int
    retry_backoff_seconds: float
    retry_backoff_max_seconds: float
    lock_timeout_seconds: float
    concurrency: int
    # A task a broker delivered but no worker acknowledged (its worker was killed) is handed
    # out again after this long (Redis); it must exceed the longest retry countdown.
    visibility_timeout_seconds: float = 3600.0
    # A delivery no worker has picked up this long after it arrived is enqueued again.
    requeue_after_seconds: float = 600.0
    # Customer messages of one ticket arriving within this many seconds of each other get one
    # decision between them.
    coalesce_seconds: float = 3.0


@dataclass(frozen=True)
class AppConfig:
    database_url: str
    broker_url: str | None  # None: the embedded broker
    data_dir: Path
    web: WebConfig
    worker: WorkerConfig
    knowledge: KnowledgeSettings
    answerers: AnswererSettings
    connectors: Mapping[str, ConnectorConfig]
    source: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)
    review: ReviewSettings | None = None  # None: the review UI is off
    learning: LearningSettings = field(default_factory=LearningSettings)
    # Customer email addresses and phone numbers appear in logs only when this is true.
    log_customer_data: bool = False

    @property
    def embedded_broker_url(self) -> str:
        return "sqla+sqlite:///" + str(self.data_dir / "broker.sqlite")

    @property
    def effective_broker_url(self) -> str:
        return self.broker_url or self.embedded_broker_url

    @property
    def knowledge_sources(self) -> tuple[KnowledgeSource, ...]:
        return self.knowledge.sources

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"


# --- schemas ----------------------------------------------------------------------------


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _ConnectorRateLimitSchema(_Strict):
    enabled = fields.Bool(load_default=None, allow_none=True)
    requests_per_second = fields.Float(
        load_default=None, allow_none=True, validate=validate.Range(min=0, min_inclusive=False)
    )
    burst = fields.Int(load_default=None, allow_none=True, validate=validate.Range(min=1))


class RateLimitSchema(_Strict):
    enabled = fields.Bool(load_default=True)
    requests_per_second = fields.Float(
        load_default=50.0, validate=validate.Range(min=0, min_inclusive=False)
    )
    burst = fields.Int(load_default=500, validate=validate.Range(min=1))
    connectors = fields.Dict(
        keys=fields.Str(), values=fields.Nested(_ConnectorRateLimitSchema), load_default=dict
    )

    @post_load
    def _settings(self, data: dict[str, Any], **_: Any) -> RateLimitSettings:
        return RateLimitSettings(**data)


class WebSchema(_Strict):
    max_body_bytes = fields.Int(load_default=1_048_576, validate=validate.Range(min=1024))
    rate_limit = fields.Nested(RateLimitSchema, load_default=defaults_of(RateLimitSchema))
    public_url = fields.Url(
        load_default=None, allow_none=True, schemes={"http", "https"}, require_tld=False
    )
    secret_key = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=32))
    feedback_link_days = fields.Int(load_default=30, validate=validate.Range(min=1, max=365))

    @validates_schema
    def _signing_key(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("public_url") and not data.get("secret_key"):
            raise ValidationError(
                {"secret_key": ["required when public_url is set: it signs the feedback links"]}
            )

    @post_load
    def _bare_url(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if data.get("public_url"):
            data["public_url"] = data["public_url"].rstrip("/")
        return data


class WorkerSchema(_Strict):
    max_retries = fields.Int(load_default=5, validate=validate.Range(0, 50))
    retry_backoff_seconds = fields.Float(load_default=10.0, validate=validate.Range(min=0))
    retry_backoff_max_seconds = fields.Float(load_default=600.0, validate=validate.Range(min=0))
    lock_timeout_seconds = fields.Float(load_default=120.0, validate=validate.Range(min=1))
    # Threads: a ticket mostly waits on the LLM and the helpdesk. With a 1.5 s answerer, 32
    # threads reach about 85% of the ideal 21 tickets/s on two cores for ~4 MiB more than 4
    # threads (benchmarks/worker.py).
    concurrency = fields.Int(load_default=32, validate=validate.Range(1, 256))
    visibility_timeout_seconds = fields.Float(load_default=3600.0, validate=validate.Range(min=1))
    requeue_after_seconds = fields.Float(load_default=600.0, validate=validate.Range(min=10))
    coalesce_seconds = fields.Float(load_default=3.0, validate=validate.Range(0, 60))

    @validates_schema
    def _redelivery_after_retries(self, data: dict[str, Any], **_: Any) -> None:
        # A task waiting for its retry is held unacknowledged by a worker; were it older than
        # the visibility timeout, the broker would hand it to a second worker as well.
        backoff = data.get("retry_backoff_max_seconds", 600.0)
        if data.get("visibility_timeout_seconds", 3600.0) <= backoff:
            raise ValidationError(
                {"visibility_timeout_seconds": ["must be greater than retry_backoff_max_seconds"]}
            )


class TopLevelSchema(_Strict):
    database_url = fields.Str(load_default=None, allow_none=True)
    broker_url = fields.Str(load_default=None, allow_none=True)
    data_dir = fields.Str(load_default="var")
    web = fields.Nested(WebSchema, load_default=defaults_of(WebSchema))
    worker = fields.Nested(WorkerSchema, load_default=defaults_of(WorkerSchema))
    knowledge = fields.Nested(KnowledgeSchema, load_default=defaults_of(KnowledgeSchema))
    answerers = fields.Nested(AnswerersSchema, load_default=defaults_of(AnswerersSchema))
    review = fields.Nested(ReviewSchema, load_default=None, allow_none=True)
    learning = fields.Nested(LearningSchema, load_default=defaults_of(LearningSchema))
    defaults = fields.Dict(load_default=dict)
    connectors = fields.Dict(keys=fields.Str(), load_default=dict)
    log_customer_data = fields.Bool(load_default=False)


# --- loading ----------------------------------------------------------------------------


def _flatten(messages: Any, prefix: str) -> list[str]:
    """Turn marshmallow's nested error dict into ``a.b.c: problem`` lines."""
    out: list[str] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                path = prefix or "(top level)"
            out.extend(_flatten(value, path))
    elif isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            out.extend(f"{prefix}: {_plain(m)}" for m in messages)
        else:
            for item in messages:
                out.extend(_flatten(item, prefix))
    else:
        out.append(f"{prefix}: {_plain(str(messages))}")
    return out


def _plain(message: str) -> str:
    replacements = {
        "Missing data for required field.": "missing required field",
        "Unknown field.": "unknown key",
        "Field may not be null.": "must not be empty",
    }
    text = replacements.get(message, message)
    return text[:1].lower() + text[1:].rstrip(".") if text else text


def interpolate(value: Any, env: Mapping[str, str], path: str = "") -> tuple[Any, list[str]]:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string; ``$$`` is a literal ``$``."""
    problems: list[str] = []
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            child, errs = interpolate(item, env, f"{path}.{key}" if path else str(key))
            result[key] = child
            problems.extend(errs)
        return result, problems
    if isinstance(value, list):
        items = []
        for index, item in enumerate(value):
            child, errs = interpolate(item, env, f"{path}[{index}]")
            items.append(child)
            problems.extend(errs)
        return items, problems
    if not isinstance(value, str):
        return value, problems

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        if env.get(name):
            return env[name]
        if default is not None:
            return default
        problems.append(f"{path}: environment variable {name} is not set")
        return ""

    return _VAR.sub(substitute, value), problems


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Dicts merge key by key; anything else in ``override`` replaces what ``base`` had."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def policy_digest(raw_policy: Mapping[str, Any]) -> str:
    canonical = json.dumps(raw_policy, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> AppConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"(file): cannot read {path}: {exc.strerror}"], str(path)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"(file): YAML syntax error at {where}: {problem}"], str(path)) from None
    return parse_config(data or {}, base_dir=path.parent, env=env, source=str(path))


def parse_config(
    data: Any,
    *,
    base_dir: Path,
    env: Mapping[str, str] | None = None,
    source: str | None = None,
) -> AppConfig:
    """Validate an already-parsed YAML document and build the typed configuration."""
    from connectors import registry

    if not isinstance(data, dict):
        raise ConfigError(["(top level): must be a mapping of keys to values"], source)
    data, problems = interpolate(data, os.environ if env is None else env)
    # A section whose lines are all commented out reads as null: treat it as left out.
    data = {key: value for key, value in data.items() if value is not None}
    try:
        top = TopLevelSchema().load(data)
    except ValidationError as exc:
        # Report these, then keep going without the broken sections so one run lists
        # every problem in the file, not just the first section's.
        problems.extend(_flatten(exc.messages, ""))
        top = TopLevelSchema().load({k: v for k, v in data.items() if k not in exc.messages})

    defaults = top["defaults"]
    for key in defaults:
        if key not in ("mode", *POLICY_KEYS):
            problems.append(f"defaults.{key}: unknown key")
    default_problems: set[str] = set()
    try:
        PolicySchema().load(defaults)
    except ValidationError as exc:
        default_problems = set(_flatten(exc.messages, ""))
        problems.extend(f"defaults.{p}" for p in sorted(default_problems))

    connectors: dict[str, ConnectorConfig] = {}
    known_types = registry()
    for name, block in top["connectors"].items():
        prefix = f"connectors.{name}"
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
            problems.append(f"{prefix}: name must be lowercase letters, digits, '-' or '_'")
            continue
        if not isinstance(block, dict):
            problems.append(f"{prefix}: must be a mapping")
            continue
        type_name = block.get("type")
        if not type_name:
            problems.append(f"{prefix}.type: missing required field")
            continue
        if type_name not in known_types:
            choices = ", ".join(sorted(known_types)) or "none installed"
            problems.append(f"{prefix}.type: unknown connector type {type_name!r} ({choices})")
            continue
        raw_policy = deep_merge(
            defaults, {k: v for k, v in block.items() if k in ("mode", *POLICY_KEYS)}
        )
        policy = None
        try:
            policy = PolicySchema().load(raw_policy)
        except ValidationError as exc:
            # A broken default is reported once, under defaults, not again per connector.
            own = [p for p in _flatten(exc.messages, "") if p not in default_problems]
            problems.extend(f"{prefix}.{p}" for p in own)
        specific = {k: v for k, v in block.items() if k not in CONNECTOR_COMMON_KEYS}
        settings = None
        try:
            settings = known_types[type_name].settings_schema().load(specific)
        except ValidationError as exc:
            problems.extend(_flatten(exc.messages, prefix))
        answerer = policy.assistant.answerer if policy is not None else "extractive"
        if not top["answerers"].configured(answerer):
            problems.append(
                f"{prefix}.assistant.answerer: {answerer!r} needs an answerers.{answerer} section"
            )
        if policy is not None and settings is not None:
            policy = _with_digest(policy, raw_policy)
            connectors[name] = ConnectorConfig(name, type_name, policy, settings)

    knowledge = build_knowledge(top["knowledge"], base_dir)
    problems.extend(check_references(knowledge, top["connectors"]))
    for name in top["web"]["rate_limit"].connectors:
        if name not in top["connectors"]:
            problems.append(f"web.rate_limit.connectors.{name}: no connector named {name!r}")
    if problems:
        raise ConfigError(problems, source)

    data_dir = _resolve(base_dir, top["data_dir"])
    database_url = top["database_url"] or f"sqlite:///{data_dir / 'helpdesk-bridge.db'}"
    if database_url.startswith("sqlite:///") and not database_url.startswith("sqlite:////"):
        relative = database_url.removeprefix("sqlite:///")
        if relative and relative != ":memory:":
            database_url = f"sqlite:///{_resolve(base_dir, relative)}"
    w, web = top["worker"], top["web"]
    return AppConfig(
        database_url=database_url,
        broker_url=top["broker_url"] or None,
        data_dir=data_dir,
        web=WebConfig(**web),
        worker=WorkerConfig(**w),
        knowledge=knowledge,
        answerers=top["answerers"],
        connectors=connectors,
        source=source,
        raw=data,
        review=top["review"],
        learning=build_learning(top["learning"]),
        log_customer_data=top["log_customer_data"],
    )


def _with_digest(policy: Policy, raw_policy: Mapping[str, Any]) -> Policy:
    from dataclasses import replace

    return replace(policy, digest=policy_digest(raw_policy))


def _resolve(base_dir: Path, value: str) -> Path:
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else (base_dir / candidate).resolve()
