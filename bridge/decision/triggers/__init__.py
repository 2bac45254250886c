"""Escalation triggers: pure functions over the conversation, the ticket and the customer.

One module per family, each with its rules described in its docstring; this registry maps every
name in ``TRIGGER_NAMES`` to its function and checks them in that order, so the first that
fires decides the handoff reason. ``human_request`` never depends on an LLM: asking for a
person must always work, in any phrasing we can recognise, in the customer's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from bridge.decision.triggers.account import account_action, legal_privacy, security
from bridge.decision.triggers.base import TriggerContext, TriggerFn, TriggerHit, normalise
from bridge.decision.triggers.customer import new_customer, vip
from bridge.decision.triggers.human import human_request, human_request_trigger
from bridge.decision.triggers.loop import loop
from bridge.decision.triggers.money import billing_dispute, cancellation, refund
from bridge.decision.triggers.sales import high_value
from bridge.decision.triggers.sentiment import frustration
from bridge.policy import TRIGGER_NAMES, TriggerSettings

TRIGGERS: Mapping[str, TriggerFn] = MappingProxyType(
    {
        "security": security,
        "legal_privacy": legal_privacy,
        "human_request": human_request_trigger,
        "billing_dispute": billing_dispute,
        "refund": refund,
        "cancellation": cancellation,
        "account_action": account_action,
        "high_value": high_value,
        "vip": vip,
        "frustration": frustration,
        "loop": loop,
        "new_customer": new_customer,
    }
)

_DEFAULT = TriggerSettings()


def _active(settings: Mapping[str, TriggerSettings]) -> list[tuple[str, TriggerSettings]]:
    """The triggers to run, in ``TRIGGER_NAMES`` order; a trigger left out gets its defaults."""
    chosen = []
    for name in TRIGGER_NAMES:
        trigger_settings = settings.get(name, _DEFAULT)
        if trigger_settings.enabled and trigger_settings.rollout != "off":
            chosen.append((name, trigger_settings))
    return chosen


def first_hit(ctx: TriggerContext, settings: Mapping[str, TriggerSettings]) -> TriggerHit | None:
    """The first trigger that fires, in ``TRIGGER_NAMES`` order, skipping disabled ones."""
    for name, trigger_settings in _active(settings):
        hit = TRIGGERS[name](ctx, trigger_settings)
        if hit is not None:
            return hit
    return None


def all_hits(ctx: TriggerContext, settings: Mapping[str, TriggerSettings]) -> list[TriggerHit]:
    """Every trigger that fires, in ``TRIGGER_NAMES`` order: the first decides, the rest are
    risk flags for the agent's brief."""
    hits = []
    for name, trigger_settings in _active(settings):
        hit = TRIGGERS[name](ctx, trigger_settings)
        if hit is not None:
            hits.append(hit)
    return hits


__all__ = [
    "TRIGGERS",
    "TriggerContext",
    "TriggerFn",
    "TriggerHit",
    "all_hits",
    "first_hit",
    "human_request",
    "normalise",
]
