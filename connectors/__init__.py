"""Helpdesk connectors. Each module in this package that defines ``CONNECTOR`` is registered.

Adding a helpdesk means adding one module (plus its fixtures and tests); nothing else changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from connectors.base import Connector

_NOT_CONNECTORS = {"base", "http", "payload"}


@cache
def registry() -> dict[str, type[Connector]]:
    """Map of ``type`` names to connector classes, discovered from this package."""
    found: dict[str, type[Connector]] = {}
    for module_info in pkgutil.iter_modules(__path__):
        if module_info.name in _NOT_CONNECTORS or module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        cls = getattr(module, "CONNECTOR", None)
        if cls is not None:
            found[cls.type_name] = cls
    return found
