"""Celery entry point: ``celery --app tasks.worker worker`` (and ``beat``).

The config file comes from $HELPDESK_BRIDGE_CONFIG (else the shipped example config).
"""

from bridge.cli_config import default_config_path, load_or_exit
from tasks.celery_app import create_celery

app = create_celery(load_or_exit(str(default_config_path())))
