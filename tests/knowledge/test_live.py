"""Serving the index: persisted once, shared by processes, swapped when a refresh changes it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, select

from bridge.knowledge.index import published_revision
from bridge.knowledge.live import LiveIndex
from bridge.knowledge.refresh import KnowledgeBase
from bridge.knowledge.settings import KnowledgeSettings, PathSource
from bridge.runtime import Runtime
from bridge.store import Store
from bridge.store.models import KbIndexState
from tests.conftest import make_config


def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Alpha\n\nAlpha explains avocados.\n", encoding="utf-8")
    return docs


def test_migration_creates_the_knowledge_tables(store: Store) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert {"kb_sources", "kb_documents", "kb_chunks", "kb_index_state"} <= tables
    with store.session() as session:
        [state] = session.scalars(select(KbIndexState)).all()
    assert state.id == 1 and len(state.revision) == 32
    store.migrate()  # running it again is a no-op


def test_another_process_notices_a_refresh_and_rebuilds_from_the_database(
    store: Store, tmp_path: Path
) -> None:
    docs = folder(tmp_path)
    settings = KnowledgeSettings(sources=(PathSource(docs, refresh_minutes=60),))
    worker = KnowledgeBase(store, settings, tmp_path / "worker-index")
    web = KnowledgeBase(store, settings, tmp_path / "web-index")  # another machine's disk
    worker.prepare()
    clock = [0.0]
    live = LiveIndex(web, check_seconds=10, clock=lambda: clock[0])
    assert live.search("avocados")

    (docs / "b.md").write_text("# Beta\n\nBeta explains bananas.\n", encoding="utf-8")
    worker.refresh()
    assert not live.search("bananas")  # checked at most every 10 s
    clock[0] = 11
    assert live.search("bananas")[0].passage.source == "b.md"
    assert live.revision == worker.revision()
    assert published_revision(tmp_path / "web-index") == live.revision


def test_a_process_on_the_same_disk_loads_the_published_index(
    store: Store, tmp_path: Path, monkeypatch: object
) -> None:
    docs = folder(tmp_path)
    settings = KnowledgeSettings(sources=(PathSource(docs, refresh_minutes=60),))
    first = KnowledgeBase(store, settings, tmp_path / "index")
    first.prepare()
    second = KnowledgeBase(store, settings, tmp_path / "index")
    built: list[str] = []
    original = second.publish_current

    def spy() -> tuple[str, object]:
        built.append("rebuilt")
        return original()

    second.publish_current = spy  # type: ignore[method-assign,assignment]
    revision, index = second.open_index()
    assert built == []  # loaded from disk, not rebuilt
    assert revision == first.revision()
    assert index.search("avocados")


def test_the_live_index_keeps_serving_when_the_database_is_unreachable(
    store: Store, tmp_path: Path
) -> None:
    docs = folder(tmp_path)
    kb = KnowledgeBase(
        store, KnowledgeSettings(sources=(PathSource(docs, refresh_minutes=60),)), tmp_path / "i"
    )
    kb.prepare()
    live = kb.live_index(check_seconds=0)
    assert live.search("avocados")

    def down() -> str:
        raise ConnectionError("database is down")

    kb.revision = down  # type: ignore[method-assign]
    assert live.search("avocados")


def test_runtime_retriever_reads_the_configured_folder(
    tmp_path: Path, database_url: str, store: Store
) -> None:
    config = make_config(tmp_path, database_url)
    runtime = Runtime(config, store=store)
    hits = runtime.retriever.search("I forgot my login password")
    assert hits[0].passage.source == "reset-password.md"
    assert published_revision(config.index_dir) is not None

    # A restart finds the files unchanged and serves the same revision.
    again = Runtime(config, store=store)
    assert len(again.retriever) == len(runtime.retriever)
    assert again.retriever.revision == runtime.retriever.revision  # type: ignore[attr-defined]


def test_beat_task_refreshes_due_sources(tmp_path: Path, database_url: str, store: Store) -> None:
    from tasks.celery_app import REFRESH_KNOWLEDGE, create_celery

    config = make_config(tmp_path, database_url)
    runtime = Runtime(config, store=store)
    celery = create_celery(config, runtime, task_always_eager=True)
    assert celery.conf.beat_schedule["refresh-knowledge"]["task"] == REFRESH_KNOWLEDGE

    first = celery.tasks[REFRESH_KNOWLEDGE].apply().get()
    assert first == {"refreshed": 1, "changed": 1, "failed": 0, "busy": 0}
    second = celery.tasks[REFRESH_KNOWLEDGE].apply().get()
    assert second == {"refreshed": 0, "changed": 0, "failed": 0, "busy": 0}  # not due yet
