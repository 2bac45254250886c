"""Access to the per-app services from inside a request."""

from __future__ import annotations

from flask import current_app

from bridge.web import BridgeServices


def services() -> BridgeServices:
    return current_app.extensions["bridge"]
