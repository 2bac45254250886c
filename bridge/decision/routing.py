"""Which human group takes a handoff."""

from __future__ import annotations

from bridge.config import Policy


def route(reason: str, policy: Policy, trigger_group: str | None = None) -> tuple[str | None, str]:
    """Return the group for an escalation and the id of the rule that chose it."""
    if trigger_group:
        return trigger_group, f"triggers.{reason}.group"
    for index, rule in enumerate(policy.routing.rules):
        if rule.reason in (reason, "*"):
            return rule.group, f"routing.rules[{index}]"
    return policy.routing.default_group, "routing.default_group"
