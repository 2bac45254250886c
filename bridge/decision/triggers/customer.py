"""Customer triggers: vip and new_customer. Both read who the customer is, never their words.

- vip: a customer field matches one of the configured values ("tier": vip or enterprise,
  compared case-insensitively; a list field matches when any item does), or the ticket's tags
  or the customer's ``tags`` field include a configured tag. Without ``fields`` or ``tags``
  configured it never fires.
- new_customer: the account is at most ``max_account_age_days`` old, read from the customer
  field ``account_age_field``: a number of days, or the ISO date or date-time the account was
  created. Without both settings, or without a readable value, it never fires.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from bridge.decision.triggers.base import Fired, TriggerContext, trigger
from bridge.policy import TriggerSettings


def _values(value: Any) -> list[str]:
    """A field's value as lowercase strings: lists give one per item, a comma list is split."""
    if value is None or isinstance(value, dict):
        return []
    if isinstance(value, str):
        return [part.strip().lower() for part in re.split(r"[,;]", value) if part.strip()]
    if isinstance(value, Iterable):
        return [v for item in value for v in _values(item)]
    return [str(value).lower()]


@trigger("vip")
def vip(ctx: TriggerContext, settings: TriggerSettings) -> Fired | None:
    fields = {str(k).lower(): v for k, v in ctx.customer.fields.items()}
    for name, wanted in settings.fields.items():
        have = _values(fields.get(name.lower()))
        wanted_lower = {w.lower() for w in wanted}
        matched = [v for v in have if v in wanted_lower]
        if matched:
            return "field", (f"{name}={matched[0]}",)
    if settings.tags:
        wanted_tags = {t.lower() for t in settings.tags}
        for source, tags in (("ticket", ctx.tags), ("customer", fields.get("tags"))):
            matched = [t for t in _values(tags) if t in wanted_tags]
            if matched:
                return f"{source}_tag", (f"tag:{matched[0]}",)
    return None


def account_age_days(value: Any, now: datetime) -> float | None:
    """Days since the account was created, from a day count or an ISO date/date-time."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime | date):
        created = value
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            return float(text)
        try:
            created = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if not isinstance(created, datetime):
        created = datetime(created.year, created.month, created.day, tzinfo=UTC)
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)  # helpdesks send UTC when they omit the zone
    reference = now if now.tzinfo else now.replace(tzinfo=UTC)
    # A creation date in the future is clock skew between systems: the account is brand new.
    return max((reference - created).total_seconds() / 86400, 0.0)


@trigger("new_customer")
def new_customer(ctx: TriggerContext, settings: TriggerSettings) -> Fired | None:
    if settings.max_account_age_days is None or not settings.account_age_field:
        return None
    value = ctx.customer.fields.get(settings.account_age_field)
    age = account_age_days(value, ctx.now or datetime.now(UTC))
    if age is None or age > settings.max_account_age_days:
        return None
    return "account_age", (f"{settings.account_age_field}={value}", f"age_days={age:.0f}")
