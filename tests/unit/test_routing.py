"""Routing rules: reason, tier, language, tags, channel and custom fields pick the group."""

from __future__ import annotations

from pathlib import Path

from bridge.decision.routing import RoutingContext, route
from bridge.policy import Policy
from tests.conftest import make_config


def policy_with(tmp_path: Path, routing: dict) -> Policy:
    return make_config(tmp_path, "sqlite://", {"routing": routing}).connectors["acme"].policy


RULES = {
    "default_group": "Support",
    "default_priority": "normal",
    "rules": [
        {
            "reason": ["refund", "billing_dispute"],
            "tier": "enterprise",
            "group": "Billing VIP",
            "priority": "urgent",
        },
        {"reason": ["refund", "billing_dispute"], "group": "Billing"},
        {"language": ["de"], "group": "DACH"},
        {"tags": "beta", "channel": "chat", "group": "Beta desk"},
        {"fields": {"plan": ["Team"]}, "reason": "human_request", "group": "Team plan"},
    ],
}


def test_first_matching_rule_wins(tmp_path: Path) -> None:
    policy = policy_with(tmp_path, RULES)
    vip = route("refund", policy, RoutingContext(tier="Enterprise"))
    assert (vip.group, vip.priority, vip.rule_id) == ("Billing VIP", "urgent", "routing.rules[0]")
    plain = route("refund", policy, RoutingContext(tier="free", language="de"))
    assert (plain.group, plain.priority) == ("Billing", "normal")


def test_language_tags_channel_and_fields(tmp_path: Path) -> None:
    policy = policy_with(tmp_path, RULES)
    assert route("missing_knowledge", policy, RoutingContext(language="de")).group == "DACH"
    beta = RoutingContext(tags=("beta", "x"), channel="chat")
    assert route("loop", policy, beta).group == "Beta desk"
    assert route("loop", policy, RoutingContext(tags=("beta",), channel="email")).group == "Support"
    team = RoutingContext(fields={"plan": "team"})
    assert route("human_request", policy, team).group == "Team plan"
    assert route("frustration", policy, team).rule_id == "routing.default_group"


def test_a_trigger_group_overrides_rules(tmp_path: Path) -> None:
    chosen = route(
        "refund", policy_with(tmp_path, RULES), trigger_group="Finance", trigger_priority="high"
    )
    assert (chosen.group, chosen.priority, chosen.rule_id) == (
        "Finance",
        "high",
        "triggers.refund.group",
    )
