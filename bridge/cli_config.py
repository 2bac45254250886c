"""Finding and loading the config file, shared by every ``helpdesk-bridge`` command."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from bridge.config import AppConfig, ConfigError, load_config

CONFIG_ENV = "HELPDESK_BRIDGE_CONFIG"
EXAMPLE_CONFIG = "config.example.yaml"


def default_config_path() -> Path:
    """--config, else $HELPDESK_BRIDGE_CONFIG, else the shipped example config."""
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env)
    for candidate in (
        Path.cwd() / EXAMPLE_CONFIG,
        Path(__file__).resolve().parent.parent / EXAMPLE_CONFIG,
    ):
        if candidate.is_file():
            return candidate
    return Path(EXAMPLE_CONFIG)


def load_or_exit(path: str | None) -> AppConfig:
    config_path = Path(path) if path else default_config_path()
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        click.echo(f"config error in {config_path}:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(2)
    from bridge.logging import install_redaction

    # Every entry point (CLI, gunicorn's wsgi, celery's worker module) loads its config here,
    # before anything logs: secrets and customer data never reach a log handler.
    install_redaction(config)
    return config


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help=f"Config file (default: ${CONFIG_ENV}, else the shipped {EXAMPLE_CONFIG}).",
)
