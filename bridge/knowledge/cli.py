"""``helpdesk-bridge kb``: fill, refresh, inspect and search the knowledge base."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import click

from bridge.knowledge.settings import (
    HelpdeskSource,
    KnowledgeSource,
    PathSource,
    UrlSource,
)

if TYPE_CHECKING:
    from tqdm import tqdm

    from bridge.config import AppConfig
from bridge.knowledge.refresh import KnowledgeBase, RefreshReport

F = TypeVar("F", bound=Callable[..., Any])


def _config_option(func: F) -> F:
    # Same option as the other commands; bridge.cli is imported lazily because it registers
    # this group, and importing it here first would be circular.
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="Config file (default: $HELPDESK_BRIDGE_CONFIG, else the shipped example).",
    )(func)


def _open(config_path: str | None) -> tuple[AppConfig, KnowledgeBase]:
    from bridge.cli_config import load_or_exit
    from bridge.knowledge.refresh import KnowledgeBase
    from bridge.store import Store

    config = load_or_exit(config_path)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(config.database_url)
    store.migrate()
    knowledge = KnowledgeBase.from_config(config, store)
    knowledge.sync_config_sources()
    return config, knowledge


class _ProgressBars:
    """One bar per source on stderr: documents and skips so far, and the rate."""

    def __init__(self) -> None:
        self._bars: dict[int, tqdm[Any]] = {}
        self._counts: dict[int, list[int]] = {}

    def __call__(self, report: RefreshReport, key: str, what: str) -> None:
        from tqdm import tqdm

        bar = self._bars.get(report.source_id)
        if bar is None:
            # disable=None: no bar when stderr is not a terminal (logs, CI, pipes).
            bar = tqdm(
                desc=f"source {report.source_id}",
                unit=" doc",
                file=sys.stderr,
                disable=None,
                leave=False,
                dynamic_ncols=True,
            )
            self._bars[report.source_id] = bar
            self._counts[report.source_id] = [0, 0]
        counts = self._counts[report.source_id]
        counts[0 if what == "document" else 1] += 1
        bar.set_postfix(documents=counts[0], skipped=counts[1], refresh=False)
        bar.update(1)

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()


def _run_refresh(
    knowledge: KnowledgeBase, source_ids: list[int] | None, *, due_only: bool = False
) -> None:
    from bridge.knowledge.refresh import KnowledgeError

    bars = _ProgressBars()
    try:
        reports = knowledge.refresh(source_ids, due_only=due_only, progress=bars)
    except KnowledgeError as exc:
        raise click.BadParameter(str(exc), param_hint="--source") from None
    finally:
        bars.close()
    if not reports:
        click.echo("nothing to refresh")
    for report in reports:
        click.echo(report.summary())
    if reports:
        data = knowledge.stats()
        click.echo(f"knowledge base: {data.documents} documents, {data.passages} passages")
    if any(report.error or report.busy for report in reports):
        sys.exit(1)


def _add_and_refresh(knowledge: KnowledgeBase, source: KnowledgeSource) -> None:
    info = knowledge.add_source(source)
    if info.origin == "config":
        click.echo(f"source {info.id} is in the config file; refreshing it with those settings")
    _run_refresh(knowledge, [info.id])


@click.group()
def kb() -> None:
    """Fill, refresh, inspect and search the knowledge base."""


@kb.command()
@_config_option
@click.argument("url")
@click.option("--max-pages", type=click.IntRange(1, 100_000), default=None, help="default 500")
@click.option("--max-depth", type=click.IntRange(0, 100), default=None, help="default 10")
@click.option("--path-prefix", default=None, help="only pages whose path starts with this")
@click.option("--delay", "delay_seconds", type=click.FloatRange(0, 60), default=None)
@click.option("--concurrency", type=click.IntRange(1, 16), default=None)
@click.option(
    "--allow-private-addresses",
    is_flag=True,
    help="crawl a site on a loopback, private or link-local address (refused otherwise)",
)
def crawl(
    config_path: str | None,
    url: str,
    max_pages: int | None,
    max_depth: int | None,
    path_prefix: str | None,
    delay_seconds: float | None,
    concurrency: int | None,
    allow_private_addresses: bool,
) -> None:
    """Crawl the website at URL into the knowledge base (kept as a source and refreshed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter("must be an http:// or https:// address", param_hint="URL")
    if path_prefix is not None and not path_prefix.startswith("/"):
        raise click.BadParameter("must start with /", param_hint="--path-prefix")
    overrides = {
        "max_pages": max_pages,
        "max_depth": max_depth,
        "path_prefix": path_prefix,
        "delay_seconds": delay_seconds,
        "concurrency": concurrency,
    }
    source = UrlSource(
        url=url,
        allow_private_addresses=allow_private_addresses,
        **{k: v for k, v in overrides.items() if v is not None},
    )
    _, knowledge = _open(config_path)
    _add_and_refresh(knowledge, source)


@kb.command(name="import")
@_config_option
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--base-url", default=None, help="public address of the folder, for citations")
def import_folder(config_path: str | None, path: Path, base_url: str | None) -> None:
    """Import a folder of Markdown, HTML and text files (kept as a source and refreshed)."""
    _, knowledge = _open(config_path)
    _add_and_refresh(knowledge, PathSource(path=path.resolve(), base_url=base_url))


@kb.command(name="import-helpdesk")
@_config_option
@click.argument("connector")
def import_helpdesk(config_path: str | None, connector: str) -> None:
    """Import the published help-center articles of CONNECTOR (a name in the config)."""
    config, knowledge = _open(config_path)
    if connector not in config.connectors:
        known = ", ".join(sorted(config.connectors)) or "none configured"
        raise click.BadParameter(f"no connector named {connector!r} ({known})")
    _add_and_refresh(knowledge, HelpdeskSource(connector=connector))


@kb.command()
@_config_option
@click.option("--source", "sources", type=int, multiple=True, help="source id (see kb stats)")
@click.option("--due", is_flag=True, help="only sources whose refresh interval has passed")
def refresh(config_path: str | None, sources: tuple[int, ...], due: bool) -> None:
    """Refresh every source now, or only those given with --source."""
    _, knowledge = _open(config_path)
    _run_refresh(knowledge, list(sources) or None, due_only=due)


@kb.command()
@_config_option
@click.argument("source_id", type=int)
def remove(config_path: str | None, source_id: int) -> None:
    """Remove a source added with crawl or import, and its documents."""
    from bridge.knowledge.refresh import KnowledgeError

    _, knowledge = _open(config_path)
    try:
        info = knowledge.remove_source(source_id)
    except KnowledgeError as exc:
        raise click.BadParameter(str(exc), param_hint="SOURCE_ID") from None
    click.echo(f"removed source {info.id} ({info.type} {info.location})")


@kb.command()
@_config_option
@click.argument("question")
@click.option("-k", "k", type=click.IntRange(1, 100), default=5, show_default=True)
def search(config_path: str | None, question: str, k: int) -> None:
    """Show the passages that best match QUESTION, as the bot would retrieve them."""
    _, knowledge = _open(config_path)
    knowledge.prepare()
    from bridge.knowledge.live import LiveIndex

    # The same retriever the bot uses, hybrid when knowledge.embeddings is on.
    hits = LiveIndex(knowledge).search(question, k)
    if not hits:
        click.echo("no passage matches")
        return
    for rank, hit in enumerate(hits, 1):
        passage = hit.passage
        click.echo(f"{rank}. {hit.score:7.3f}  {passage.title}")
        click.echo(f"   {passage.url or passage.source}")
        snippet = " ".join(passage.text.split())
        click.echo(f"   {snippet[:160]}{'…' if len(snippet) > 160 else ''}")


@kb.command()
@_config_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def stats(config_path: str | None, fmt: str) -> None:
    """Sources, documents, passages and the last refresh of each source."""
    _, knowledge = _open(config_path)
    data = knowledge.stats()
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "documents": data.documents,
                    "passages": data.passages,
                    "revision": data.revision,
                    "updated_at": _iso(data.updated_at),
                    "sources": [
                        {
                            "id": s.id,
                            "type": s.type,
                            "origin": s.origin,
                            "location": s.location,
                            "documents": s.documents,
                            "passages": s.passages,
                            "refresh_minutes": s.refresh_minutes,
                            "last_refresh_at": _iso(s.last_refresh_at),
                            "next_refresh_at": _iso(s.next_refresh_at),
                            "last_status": s.last_status,
                            "last_error": s.last_error,
                            "last_summary": s.last_summary,
                        }
                        for s in data.sources
                    ],
                },
                indent=2,
            )
        )
        return
    click.echo(
        f"{len(data.sources)} sources, {data.documents} documents, {data.passages} passages "
        f"(index revision {data.revision[:12]}, changed {_when(data.updated_at)})"
    )
    if not data.sources:
        click.echo("no sources: add knowledge.sources to the config, or use kb crawl / import")
        return
    click.echo(
        f"{'id':>4} {'type':8} {'origin':6} {'docs':>6} {'passages':>8} "
        f"{'last refresh':17} {'status':7} location"
    )
    for s in data.sources:
        status = s.last_status or "never"
        click.echo(
            f"{s.id:>4} {s.type:8} {s.origin:6} {s.documents:>6} {s.passages:>8} "
            f"{_when(s.last_refresh_at):17} {status:7} {s.location}"
        )
        if s.last_error:
            click.echo(f"{'':>5}error: {s.last_error}")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
