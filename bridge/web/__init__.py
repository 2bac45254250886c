"""The Flask application factory."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from bridge.config import AppConfig
from bridge.runtime import Runtime

Enqueue = Callable[[int], None]
BrokerCheck = Callable[[], None]


def create_app(
    config: AppConfig,
    *,
    runtime: Runtime | None = None,
    enqueue: Enqueue | None = None,
    broker_check: BrokerCheck | None = None,
) -> Flask:
    """Build the web app. ``enqueue`` and ``broker_check`` default to the configured Celery."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.web.max_body_bytes
    runtime = runtime or Runtime(config)
    if enqueue is None or broker_check is None:
        from tasks.celery_app import HANDLE_EVENT, create_celery

        celery = create_celery(config, runtime)

        def celery_enqueue(delivery_pk: int) -> None:
            celery.tasks[HANDLE_EVENT].apply_async(args=[delivery_pk])

        def celery_ping() -> None:
            with celery.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=2)

        enqueue = enqueue or celery_enqueue
        broker_check = broker_check or celery_ping

    app.extensions["bridge"] = BridgeServices(runtime, enqueue, broker_check)

    from bridge.logging import install_redaction
    from bridge.web.ratelimit import build_rate_limiter

    # Before anything is logged: an app built by a host program never passes through the CLI.
    install_redaction(config)
    app.extensions["bridge"].rate_limiter = build_rate_limiter(config)

    from bridge.web.health import health
    from bridge.web.webhooks import webhooks

    app.register_blueprint(webhooks)
    app.register_blueprint(health)

    from bridge.feedback.views import feedback
    from bridge.web.metrics import metrics

    app.register_blueprint(feedback)
    app.register_blueprint(metrics)

    from bridge.review.web import init_review

    # Also sets the app's session secret and cookie flags when the review UI is configured.
    init_review(app, config)
    return app


class BridgeServices:
    def __init__(self, runtime: Runtime, enqueue: Enqueue, broker_check: BrokerCheck) -> None:
        from bridge.web.ratelimit import RateLimiter

        self.runtime = runtime
        self.enqueue = enqueue
        self.broker_check = broker_check
        self.rate_limiter: RateLimiter | None = None
