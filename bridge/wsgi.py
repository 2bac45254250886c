"""WSGI entry point for gunicorn: ``gunicorn 'bridge.wsgi:app'``.

The config file comes from $HELPDESK_BRIDGE_CONFIG (else the shipped example config).
"""

from bridge.cli_config import default_config_path, load_or_exit
from bridge.web import create_app

app = create_app(load_or_exit(str(default_config_path())))
