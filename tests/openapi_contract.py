"""Validate outbound request bodies against a vendor's OpenAPI description.

The specs in tests/fixtures/openapi/ are verbatim copies (see SOURCES.md there). Loading one
takes a few seconds, so each is loaded once per test session.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from openapi_schema_validator import OAS30Validator

SPECS = Path(__file__).resolve().parent / "fixtures" / "openapi"


class _LenientLoader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """Zendesk's spec uses YAML's ``=`` (value) key, which safe loaders reject."""


_LenientLoader.add_constructor(
    "tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node)
)


@cache
def load_spec(name: str) -> dict[str, Any]:
    with (SPECS / name).open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_LenientLoader)


def _operation(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    path = re.sub(r"\.json$", "", path)
    for template, operations in spec["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template.removesuffix(".json")))
        if re.match(pattern + "$", path) and method.lower() in operations:
            return operations[method.lower()]
    raise AssertionError(f"{method} {path} is not in the spec")


def request_schema(spec_name: str, method: str, url: str, prefix: str = "") -> dict[str, Any]:
    """The JSON request-body schema of the operation that ``method url`` calls."""
    spec = load_spec(spec_name)
    path = urlsplit(url).path.removeprefix(prefix)
    operation = _operation(spec, method, path)
    content = operation["requestBody"]["content"]
    media = content.get("application/json") or next(iter(content.values()))
    return media["schema"]


def assert_valid_request(
    spec_name: str, method: str, url: str, body: Any, prefix: str = ""
) -> None:
    """Fail with the validator's messages unless ``body`` fits the operation's schema."""
    spec = load_spec(spec_name)
    # Wrapped so that the spec's "#/components/..." references resolve against this root.
    root = {
        "allOf": [request_schema(spec_name, method, url, prefix)],
        "components": spec["components"],
    }
    validator = OAS30Validator(root)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.path)) or '(body)'}: {e.message}" for e in errors
    )
