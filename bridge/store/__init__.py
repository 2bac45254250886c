"""Durable state: deliveries, ticket state, decisions and dead letters."""

from bridge.store.db import Store
from bridge.store.models import Base, DeadLetter, Decision, Delivery, PostedMessage, TicketState

__all__ = ["Base", "DeadLetter", "Decision", "Delivery", "PostedMessage", "Store", "TicketState"]
