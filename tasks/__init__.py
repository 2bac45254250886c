"""Celery app and tasks: the glue between the store, the decision core and the connectors."""
