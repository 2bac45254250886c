"""The ``knowledge`` section of the config file: where answers may come from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, fields, validate


@dataclass(frozen=True)
class KnowledgeSource:
    type: str  # path
    path: Path
    base_url: str | None = None


@dataclass(frozen=True)
class KnowledgeSettings:
    sources: tuple[KnowledgeSource, ...] = ()


class KnowledgeSourceSchema(Schema):
    class Meta:
        unknown = RAISE

    type = fields.Str(required=True, validate=validate.OneOf(["path"]))
    path = fields.Str(required=True)
    base_url = fields.Str(load_default=None, allow_none=True)


class KnowledgeSchema(Schema):
    """Validates the section; paths stay strings until ``build`` resolves them."""

    class Meta:
        unknown = RAISE

    sources = fields.List(fields.Nested(KnowledgeSourceSchema), load_default=list)


def build(data: dict[str, Any], base_dir: Path) -> KnowledgeSettings:
    """Typed settings from validated data; relative paths are relative to the config file."""
    return KnowledgeSettings(
        sources=tuple(
            KnowledgeSource(s["type"], _resolve(base_dir, s["path"]), s["base_url"])
            for s in data["sources"]
        )
    )


def _resolve(base_dir: Path, value: str) -> Path:
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else (base_dir / candidate).resolve()


