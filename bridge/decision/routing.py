"""Which human group takes a handoff, and at what priority."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.policy import Policy, RoutingRule


@dataclass(frozen=True)
class RoutingContext:
    """What routing rules may match on, beyond the reason."""

    tier: str | None = None
    language: str | None = None
    tags: tuple[str, ...] = ()
    channel: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    group: str | None
    priority: str | None
    rule_id: str


def route(
    reason: str,
    policy: Policy,
    context: RoutingContext | None = None,
    *,
    trigger_group: str | None = None,
    trigger_priority: str | None = None,
) -> Route:
    """The first routing rule that matches wins; a trigger's own group overrides them all."""
    context = context or RoutingContext()
    if trigger_group:
        return Route(trigger_group, trigger_priority, f"triggers.{reason}.group")
    for index, rule in enumerate(policy.routing.rules):
        if _matches(rule, reason, context):
            priority = trigger_priority or rule.priority or policy.routing.default_priority
            return Route(rule.group, priority, f"routing.rules[{index}]")
    priority = trigger_priority or policy.routing.default_priority
    return Route(policy.routing.default_group, priority, "routing.default_group")


def _matches(rule: RoutingRule, reason: str, context: RoutingContext) -> bool:
    if "*" not in rule.reasons and reason not in rule.reasons:
        return False
    if rule.tiers and not _any_equal([context.tier], rule.tiers):
        return False
    if rule.languages and not _any_equal([context.language], rule.languages):
        return False
    if rule.tags and not _any_equal(context.tags, rule.tags):
        return False
    if rule.channels and not _any_equal([context.channel], rule.channels):
        return False
    for name, wanted in rule.fields.items():
        value = context.fields.get(name)
        values = value if isinstance(value, list | tuple) else [value]
        if not _any_equal(values, wanted):
            return False
    return True


def _any_equal(values: Iterable[Any], wanted: Iterable[str]) -> bool:
    wanted_lower = {w.lower() for w in wanted}
    return any(v is not None and str(v).lower() in wanted_lower for v in values)
