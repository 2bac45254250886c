"""The ``learning`` section of the config file: how solved escalations become KB candidates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import RAISE, Schema, fields, validate


@dataclass(frozen=True)
class LearningSettings:
    # Off: solved tickets are not collected at all (reviewing candidates still works).
    enabled: bool = True
    # How many solved tickets one run of the collecting task reads from the helpdesk.
    batch_size: int = 20
    # Reads of one ticket that may fail (helpdesk down, rate limited) before it is given up.
    max_attempts: int = 5
    # Agent answers shorter than this ("Done!", "Fixed it for you") teach nothing reusable.
    min_answer_chars: int = 40


class LearningSchema(Schema):
    class Meta:
        unknown = RAISE

    enabled = fields.Bool(load_default=True)
    batch_size = fields.Int(load_default=20, validate=validate.Range(min=1, max=500))
    max_attempts = fields.Int(load_default=5, validate=validate.Range(min=1, max=50))
    min_answer_chars = fields.Int(load_default=40, validate=validate.Range(min=0, max=10_000))


def build(data: dict[str, Any]) -> LearningSettings:
    return LearningSettings(**data)
