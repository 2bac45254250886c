"""The knowledge base as stored: sources, documents and passages in the database, the index
files built from them, and the refresh that keeps both up to date.

A refresh reads one source (``bridge.knowledge.sources``), writes only what changed, and
bumps the knowledge base's revision when any passage was added, changed or removed. The index
is then rebuilt from the database and published under that revision; every process serving
searches compares revisions now and then (``LiveIndex``) and picks the new one up.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bridge.knowledge.crawler import SKIP_LABELS
from bridge.knowledge.index import KnowledgeIndex, load_published, publish, published_revision
from bridge.knowledge.settings import (
    KnowledgeSettings,
    KnowledgeSource,
    source_from_settings,
)
from bridge.knowledge.sources import (
    Collection,
    KnownDocument,
    Observed,
    SourceError,
    collect,
)
from bridge.knowledge.types import Passage
from bridge.learning.curated import curated_passages
from bridge.store.models import KbChunk, KbDocument, KbIndexState, KbSource

if TYPE_CHECKING:
    from bridge.config import AppConfig
    from bridge.knowledge.live import LiveIndex
    from bridge.store import Store

log = logging.getLogger(__name__)

# A refresh holds its source's lock this long past its last sign of life; a crashed worker's
# lock expires and the next tick takes over.
LOCK_SECONDS = 15 * 60
HEARTBEAT_SECONDS = 60
STATE_ID = 1


class KnowledgeError(Exception):
    """A request about the knowledge base that cannot be carried out (unknown source...)."""


@dataclass
class RefreshReport:
    source_id: int
    source_type: str
    location: str
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    error: str | None = None
    busy: bool = False  # another process was refreshing this source
    seconds: float = 0.0
    requests: int = 0
    limit_reached: bool = False

    @property
    def changed_index(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def summary(self) -> str:
        head = f"source {self.source_id} ({self.source_type} {self.location}):"
        if self.busy:
            return f"{head} not refreshed: another process is refreshing it"
        if self.error:
            return f"{head} failed, nothing removed: {self.error}"
        text = (
            f"{head} {self.added} added, {self.changed} changed, {self.removed} removed, "
            f"{self.unchanged} unchanged, {sum(self.skipped.values())} skipped"
        )
        if self.skipped:
            reasons = ", ".join(
                f"{SKIP_LABELS.get(reason, reason)} {count}"
                for reason, count in sorted(self.skipped.items())
            )
            text += f" ({reasons})"
        text += f" in {self.seconds:.1f}s"
        if self.requests:
            text += f", {self.requests} requests"
        if self.limit_reached:
            text += "; stopped at max_pages"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "skipped": dict(self.skipped),
            "error": self.error,
            "seconds": round(self.seconds, 3),
            "requests": self.requests,
            "limit_reached": self.limit_reached,
        }


@dataclass(frozen=True)
class SourceInfo:
    id: int
    key: str
    type: str
    origin: str
    location: str
    refresh_minutes: int
    last_refresh_at: datetime | None
    last_status: str | None
    last_error: str | None
    last_summary: dict[str, Any]
    documents: int = 0
    passages: int = 0

    @property
    def next_refresh_at(self) -> datetime | None:
        if self.last_refresh_at is None:
            return None  # due now
        return self.last_refresh_at + timedelta(minutes=self.refresh_minutes)


@dataclass(frozen=True)
class Stats:
    sources: list[SourceInfo]
    documents: int
    passages: int
    revision: str
    updated_at: datetime | None


# (source report so far, document key or URL, "document" or a skip reason)
RefreshProgress = Callable[[RefreshReport, str, str], None]


class KnowledgeBase:
    def __init__(
        self,
        store: Store,
        settings: KnowledgeSettings,
        index_dir: Path,
        *,
        connectors: Mapping[str, object] | None = None,
        session_factory: Callable[[], requests.Session] = requests.Session,
    ) -> None:
        self.store = store
        self.settings = settings
        self.index_dir = Path(index_dir)
        self.connectors = dict(connectors or {})
        self.session_factory = session_factory
        self._built: tuple[str, KnowledgeIndex] | None = None

    @classmethod
    def from_config(
        cls, config: AppConfig, store: Store, connectors: Mapping[str, object] | None = None
    ) -> KnowledgeBase:
        if connectors is None:
            from bridge.runtime import build_connectors

            connectors = build_connectors(config)
        return cls(store, config.knowledge, config.index_dir, connectors=connectors)

    # -- sources ---------------------------------------------------------------------------

    def prepare(self) -> None:
        """Make the database match the config and re-read local folders.

        Reading folders is cheap, and doing it when a process starts keeps the old promise
        that a restart picks up edited files; websites and help centers are left to their
        refresh interval because they cost requests.
        """
        self.sync_config_sources()
        for report in self.refresh(types={"path"}):
            if report.error:
                log.warning("%s", report.summary())

    def sync_config_sources(self) -> None:
        """Add the config's sources to the database and drop the ones it no longer lists."""
        for attempt in range(2):
            try:
                removed = self._sync_config_sources()
                break
            except IntegrityError:
                # Another process inserted the same source at the same moment; its row is as
                # good as ours, so read again.
                if attempt:
                    raise
        if removed:
            self.publish_current()

    def _sync_config_sources(self) -> bool:
        wanted: dict[str, KnowledgeSource] = {}
        for source in self.settings.sources:
            wanted.setdefault(source.key, source)
        with self.store.session() as session:
            rows = {row.key: row for row in session.scalars(select(KbSource))}
            for key, source in wanted.items():
                row = rows.get(key)
                if row is None:
                    session.add(
                        KbSource(
                            key=key,
                            type=source.type,
                            origin="config",
                            settings=source.to_settings(),
                            refresh_minutes=source.refresh_minutes,
                            last_summary={},
                        )
                    )
                    continue
                if row.origin != "config":
                    row.origin = "config"
                if row.settings != source.to_settings():
                    row.settings = source.to_settings()
                if row.refresh_minutes != source.refresh_minutes:
                    row.refresh_minutes = source.refresh_minutes
            stale = [r for r in rows.values() if r.origin == "config" and r.key not in wanted]
            return self._delete_sources(session, stale)

    def add_source(self, source: KnowledgeSource) -> SourceInfo:
        """Add a source from the command line (kept until removed); an existing one is reused.

        A source added this way gets the settings given now; a source that the config file
        lists keeps the config's settings.
        """
        with self.store.session() as session:
            row = session.scalars(select(KbSource).where(KbSource.key == source.key)).first()
            if row is None:
                row = KbSource(
                    key=source.key,
                    type=source.type,
                    origin="cli",
                    settings=source.to_settings(),
                    refresh_minutes=source.refresh_minutes,
                    last_summary={},
                )
                session.add(row)
                session.flush()
            elif row.origin == "cli":
                row.settings = source.to_settings()
            return self._info(row)

    def remove_source(self, source_id: int) -> SourceInfo:
        with self.store.session() as session:
            row = session.get(KbSource, source_id)
            if row is None:
                raise KnowledgeError(f"no source {source_id}")
            if row.origin == "config":
                raise KnowledgeError(
                    f"source {source_id} comes from the config file: remove it there"
                )
            info = self._info(row)
            changed = self._delete_sources(session, [row])
        if changed:
            self.publish_current()
        return info

    def _delete_sources(self, session: Session, rows: list[KbSource]) -> bool:
        if not rows:
            return False
        ids = [row.id for row in rows]
        doc_ids = select(KbDocument.id).where(KbDocument.source_id.in_(ids))
        had_documents = session.scalar(doc_ids.limit(1)) is not None
        session.execute(delete(KbChunk).where(KbChunk.document_id.in_(doc_ids)))
        session.execute(delete(KbDocument).where(KbDocument.source_id.in_(ids)))
        session.execute(delete(KbSource).where(KbSource.id.in_(ids)))
        for row in rows:
            log.info("knowledge source %s removed (%s)", row.id, row.key)
        if had_documents:
            _bump_revision(session)
        return had_documents

    def sources(self) -> list[SourceInfo]:
        return self.stats().sources

    def stats(self) -> Stats:
        from sqlalchemy import func

        with self.store.session() as session:
            documents = dict(
                session.execute(
                    select(KbDocument.source_id, func.count()).group_by(KbDocument.source_id)
                ).all()
            )
            passages = dict(
                session.execute(
                    select(KbDocument.source_id, func.count(KbChunk.id))
                    .join(KbChunk, KbChunk.document_id == KbDocument.id)
                    .group_by(KbDocument.source_id)
                ).all()
            )
            infos = [
                self._info(row, documents.get(row.id, 0), passages.get(row.id, 0))
                for row in session.scalars(select(KbSource).order_by(KbSource.id))
            ]
            state = session.get(KbIndexState, STATE_ID)
        return Stats(
            sources=infos,
            documents=sum(documents.values()),
            passages=sum(passages.values()),
            revision=state.revision if state else "",
            updated_at=_utc(state.updated_at) if state else None,
        )

    def _info(self, row: KbSource, documents: int = 0, passages: int = 0) -> SourceInfo:
        return SourceInfo(
            id=row.id,
            key=row.key,
            type=row.type,
            origin=row.origin,
            location=self._source(row).location,
            refresh_minutes=row.refresh_minutes or self.settings.refresh_minutes,
            last_refresh_at=_utc(row.last_refresh_at),
            last_status=row.last_status,
            last_error=row.last_error,
            last_summary=dict(row.last_summary or {}),
            documents=documents,
            passages=passages,
        )

    @staticmethod
    def _source(row: KbSource) -> KnowledgeSource:
        return source_from_settings(row.type, row.settings or {}, row.refresh_minutes)

    # -- refresh ---------------------------------------------------------------------------

    def refresh(
        self,
        source_ids: Iterable[int] | None = None,
        *,
        due_only: bool = False,
        types: Iterable[str] | None = None,
        progress: RefreshProgress | None = None,
        owner: str | None = None,
    ) -> list[RefreshReport]:
        """Refresh sources (all, the given ids, only the due ones, or only some types).

        Returns one report per source attempted. The index is rebuilt and published once at
        the end when anything changed.
        """
        owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        wanted_ids = set(source_ids) if source_ids is not None else None
        wanted_types = set(types) if types is not None else None
        now = datetime.now(UTC)
        with self.store.session() as session:
            rows = list(session.scalars(select(KbSource).order_by(KbSource.id)))
            infos = [self._info(row) for row in rows]
        if wanted_ids is not None:
            missing = wanted_ids - {info.id for info in infos}
            if missing:
                raise KnowledgeError(f"no source {', '.join(map(str, sorted(missing)))}")
        reports: list[RefreshReport] = []
        for info in infos:
            if wanted_ids is not None and info.id not in wanted_ids:
                continue
            if wanted_types is not None and info.type not in wanted_types:
                continue
            if due_only and info.next_refresh_at is not None and info.next_refresh_at > now:
                continue
            reports.append(self._refresh_one(info, owner, progress))
        if any(report.changed_index for report in reports):
            self.publish_current()
        return reports

    def _refresh_one(
        self, info: SourceInfo, owner: str, progress: RefreshProgress | None
    ) -> RefreshReport:
        report = RefreshReport(info.id, info.type, info.location)
        started = time.monotonic()
        if not self._claim(info.id, owner):
            report.busy = True
            return report
        try:
            with self.store.session() as session:
                row = session.get(KbSource, info.id)
                if row is None:  # removed while we waited
                    report.error = "source was removed"
                    return report
                source = self._source(row)
                known = {
                    doc.key: KnownDocument(
                        key=doc.key,
                        url=doc.url,
                        fetch_url=doc.fetch_url,
                        etag=doc.etag,
                        last_modified=doc.last_modified,
                        content_hash=doc.content_hash,
                        text_hash=doc.text_hash,
                        links=tuple(doc.links or ()),
                    )
                    for doc in session.scalars(
                        select(KbDocument).where(KbDocument.source_id == info.id)
                    )
                }
            heartbeat = _Heartbeat(self, info.id, owner)

            def on_progress(key: str, what: str) -> None:
                heartbeat.beat()
                if progress is not None:
                    progress(report, key, what)

            try:
                collection = collect(
                    source,
                    known,
                    connectors=self.connectors,
                    session_factory=self.session_factory,
                    progress=on_progress,
                )
            except SourceError as exc:
                report.error = str(exc)
            except Exception as exc:  # a bug must not leave the source locked or silent
                log.exception("refreshing knowledge source %s failed", info.id)
                report.error = f"{type(exc).__name__}: {exc}"
            if report.error:
                report.seconds = time.monotonic() - started
                self._finish(info.id, owner, report)
            else:
                self._apply(info.id, owner, collection, report, started)
        except BaseException:
            self._release(info.id, owner)
            raise
        level = logging.WARNING if report.error else logging.INFO
        log.log(level, "knowledge refresh: %s", report.summary())
        return report

    def _claim(self, source_id: int, owner: str) -> bool:
        now = datetime.now(UTC)
        with self.store.session() as session:
            result = session.execute(
                update(KbSource)
                .where(
                    KbSource.id == source_id,
                    or_(KbSource.lock_owner.is_(None), KbSource.lock_expires_at < now),
                )
                .values(lock_owner=owner, lock_expires_at=now + timedelta(seconds=LOCK_SECONDS))
            )
            return result.rowcount == 1  # type: ignore[attr-defined]

    def extend_lock(self, source_id: int, owner: str) -> None:
        expires = datetime.now(UTC) + timedelta(seconds=LOCK_SECONDS)
        with self.store.session() as session:
            session.execute(
                update(KbSource)
                .where(KbSource.id == source_id, KbSource.lock_owner == owner)
                .values(lock_expires_at=expires)
            )

    def _release(self, source_id: int, owner: str) -> None:
        try:
            with self.store.session() as session:
                _unlock(session, source_id, owner)
        except Exception:
            log.exception("could not release the lock of knowledge source %s", source_id)

    def _finish(self, source_id: int, owner: str, report: RefreshReport) -> None:
        """Record a failed refresh; everything stored stays as it was."""
        with self.store.session() as session:
            session.execute(
                update(KbSource)
                .where(KbSource.id == source_id)
                .values(
                    last_refresh_at=datetime.now(UTC),
                    last_status="error",
                    last_error=report.error,
                    last_summary=report.to_json(),
                )
            )
            _unlock(session, source_id, owner)

    def _apply(
        self,
        source_id: int,
        owner: str,
        collection: Collection,
        report: RefreshReport,
        started: float,
    ) -> None:
        """Write what changed in one transaction: documents, passages, the source's status."""
        now = datetime.now(UTC)
        report.skipped.update(collection.skipped)
        report.requests = collection.requests
        report.limit_reached = collection.limit_reached
        for skip in collection.skip_details:
            log.info(
                "knowledge source %s skipped %s: %s %s",
                source_id,
                skip.url,
                skip.reason,
                skip.detail,
            )
        with self.store.session() as session:
            docs = {
                doc.key: doc
                for doc in session.scalars(
                    select(KbDocument).where(KbDocument.source_id == source_id)
                )
            }
            observed: set[str] = set()
            chunk_rows: list[dict[str, Any]] = []
            replaced: list[int] = []
            for item in collection.documents:
                if item.key in observed:
                    continue
                observed.add(item.key)
                doc = docs.get(item.key)
                if item.state == "kept":
                    continue
                if item.state == "unchanged" or (
                    doc is not None and doc.text_hash == item.text_hash
                ):
                    if doc is None:
                        continue  # nothing stored to keep (should not happen)
                    _touch(doc, item, now)
                    report.unchanged += 1
                    continue
                assert item.passages is not None
                if doc is None:
                    doc = KbDocument(source_id=source_id, key=item.key, links=[])
                    session.add(doc)
                    report.added += 1
                else:
                    replaced.append(doc.id)
                    report.changed += 1
                _touch(doc, item, now)
                doc.title = item.title
                doc.url = item.url
                doc.text_hash = item.text_hash
                doc.changed_at = now
                session.flush()  # the new document's id
                chunk_rows.extend(_chunk_rows(doc.id, item.passages))
            removed = [doc for key, doc in docs.items() if key not in observed]
            report.removed = len(removed)
            stale = replaced + [doc.id for doc in removed]
            for start in range(0, len(stale), 500):
                batch = stale[start : start + 500]
                session.execute(delete(KbChunk).where(KbChunk.document_id.in_(batch)))
            for doc in removed:
                session.delete(doc)
            if chunk_rows:
                session.execute(insert(KbChunk), chunk_rows)
            report.seconds = time.monotonic() - started
            session.execute(
                update(KbSource)
                .where(KbSource.id == source_id)
                .values(
                    last_refresh_at=now,
                    last_status="ok",
                    last_error=None,
                    last_summary=report.to_json(),
                )
            )
            _unlock(session, source_id, owner)
            if report.changed_index:
                _bump_revision(session)

    # -- index -----------------------------------------------------------------------------

    def revision(self) -> str:
        with self.store.session() as session:
            revision = session.scalar(
                select(KbIndexState.revision).where(KbIndexState.id == STATE_ID)
            )
        return revision or ""

    def passages(self) -> list[Passage]:
        """Every stored passage, in a stable order: source, document key, position."""
        with self.store.session() as session:
            rows = session.execute(
                select(
                    KbDocument.source_id,
                    KbDocument.key,
                    KbChunk.position,
                    KbChunk.passage_id,
                    KbChunk.title_path,
                    KbChunk.text,
                    KbChunk.source,
                    KbChunk.url,
                ).join(KbDocument, KbChunk.document_id == KbDocument.id)
            ).all()
        # Sorted here rather than in SQL: database collations order strings differently, and
        # corpus order breaks ties between equal scores.
        rows.sort(key=lambda r: (r.source_id, r.key, r.position))
        passages: list[Passage] = []
        used: set[str] = set()
        for row in rows:
            passage_id = row.passage_id
            if passage_id in used:
                # Two sources holding the same file name or URL: keep both, told apart.
                passage_id = f"{passage_id}~{row.source_id}"
                if passage_id in used:
                    continue
            used.add(passage_id)
            passages.append(
                Passage(
                    id=passage_id,
                    title_path=tuple(row.title_path or ()),
                    text=row.text,
                    source=row.source,
                    url=row.url,
                )
            )
        # Answers reviewers approved from human resolutions; they live only in the database.
        passages.extend(curated_passages(self.store))
        return passages

    def publish_current(self) -> tuple[str, KnowledgeIndex]:
        """Build the index from the database and publish it under the current revision."""
        # Read the revision first: the passages read next are at least that new, so the
        # published index never claims a revision it does not contain.
        revision = self.revision()
        started = time.monotonic()
        index = KnowledgeIndex.build(self.passages())
        try:
            publish(index, self.index_dir, revision)
        except OSError as exc:  # serving from memory still works; the next process rebuilds
            log.warning("cannot save the knowledge index in %s: %s", self.index_dir, exc)
        log.info(
            "knowledge index %s built: %d passages in %.2fs",
            revision,
            len(index),
            time.monotonic() - started,
        )
        self._built = (revision, index)
        return revision, index

    def open_index(self, revision: str | None = None) -> tuple[str, KnowledgeIndex]:
        """The index of ``revision`` (default: the current one), from memory, disk or the DB."""
        revision = revision if revision is not None else self.revision()
        if self._built is not None and self._built[0] == revision:
            return self._built
        if published_revision(self.index_dir) == revision:
            index = load_published(self.index_dir, revision)
            if index is not None:
                self._built = (revision, index)
                return self._built
        return self.publish_current()

    def live_index(self, check_seconds: float = 10.0) -> LiveIndex:
        from bridge.knowledge.live import LiveIndex

        return LiveIndex(self, check_seconds=check_seconds)


class _Heartbeat:
    """Extends a source's lock while a long refresh is still making progress."""

    def __init__(self, kb: KnowledgeBase, source_id: int, owner: str) -> None:
        self._kb = kb
        self._source_id = source_id
        self._owner = owner
        self._last = time.monotonic()

    def beat(self) -> None:
        if time.monotonic() - self._last < HEARTBEAT_SECONDS:
            return
        self._last = time.monotonic()
        try:
            self._kb.extend_lock(self._source_id, self._owner)
        except Exception:
            log.warning("could not extend the lock of source %s", self._source_id, exc_info=True)


def _touch(doc: KbDocument, item: Observed, now: datetime) -> None:
    """Record what the latest fetch said, so the next one can be conditional."""
    doc.fetched_at = now
    if item.fetch_url is not None:
        doc.fetch_url = item.fetch_url
    if item.etag is not None or item.state == "content":
        doc.etag = item.etag
    if item.last_modified is not None or item.state == "content":
        doc.last_modified = item.last_modified
    if item.content_hash is not None:
        doc.content_hash = item.content_hash
    if item.links or item.state == "content":
        doc.links = list(item.links)


def _chunk_rows(document_id: int, passages: list[Passage]) -> list[dict[str, Any]]:
    return [
        {
            "document_id": document_id,
            "position": position,
            "passage_id": passage.id,
            "title_path": list(passage.title_path),
            "text": passage.text,
            "source": passage.source,
            "url": passage.url,
        }
        for position, passage in enumerate(passages)
    ]


def _unlock(session: Session, source_id: int, owner: str) -> None:
    # Only our own lock: if it expired and another process took over, that one holds it now.
    session.execute(
        update(KbSource)
        .where(KbSource.id == source_id, KbSource.lock_owner == owner)
        .values(lock_owner=None, lock_expires_at=None)
    )


def _bump_revision(session: Session) -> None:
    values = {"revision": uuid.uuid4().hex, "updated_at": datetime.now(UTC)}
    result = session.execute(
        update(KbIndexState).where(KbIndexState.id == STATE_ID).values(**values)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        session.add(KbIndexState(id=STATE_ID, **values))


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment
