"""Turn recorded decisions into draft cases to label, with customer data masked.

Real tickets are the best source of new cases, but they carry personal data. Every export masks
names, email addresses, phone numbers and order-like numbers in the text and the customer
fields, so a draft file can be reviewed and committed. The ``expect`` block holds what the bot
decided; a person checks it (and fixes it where the bot was wrong) before the case joins a
suite.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import inspect, select

from bridge.config import AppConfig
from bridge.events import Event, Role
from bridge.store import Store, repo
from bridge.store.models import Decision, Delivery

NAME = "[NAME]"
EMAIL = "[EMAIL]"
PHONE = "[PHONE]"
ORDER = "[ORDER]"
ORGANIZATION = "[ORGANIZATION]"
# Customer fields that identify a person or a company rather than describe the account.
_IDENTIFYING_FIELDS = re.compile(
    r"name|email|e_mail|phone|mobile|address|street|city|zip|postcode|organi[sz]ation|company"
    r"|org|domain|user_?id|external_?id|ip",
    re.IGNORECASE,
)

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Eight digits or more, with the separators people type in phone numbers.
_PHONE_RE = re.compile(r"(?<![\w#])\+?\(?\d(?:[\d\s().-]{6,}\d)(?!\w)")
_ORDER_WORDS = (
    r"order|invoice|ticket|purchase|transaction|receipt|reference|ref|booking|payment|case"
    r"|confirmation|tracking|bestellung|rechnung|commande|facture|pedido|factura|fatura"
)
_ORDER_RE = re.compile(
    rf"\b((?:{_ORDER_WORDS})s?\s*(?:number|no\.?|nr\.?|num|id|n[°º])?\s*[:#]?\s*)"
    r"([A-Z]{0,4}-?\d[\w-]{2,})",
    re.IGNORECASE,
)
_HASH_NUMBER_RE = re.compile(r"#\s?\d{3,}\b")
_LONG_NUMBER_RE = re.compile(r"(?<![\w.,$€£])\d{6,}(?![\w.,])")
# The lead-in in any case, the name capitalised: "I'm Ana" is a name, "I'm having" is not.
_INTRO_RE = re.compile(
    r"\b((?i:my name is|my name's|i am|i'm|this is|name:|regards,?|thanks,?|thank you,?"
    r"|cheers,?|best,?|sincerely,?|ich bin|ich heiße|je m'appelle|je suis|me llamo|soy"
    r"|meu nome é|mein name ist))\s+([A-ZÀ-Ý][\w'-]+(?:\s+[A-ZÀ-Ý][\w'-]+){0,2})"
)


def mask_text(text: str, names: Iterable[str] = ()) -> str:
    """The text with emails, phone numbers, order numbers and names replaced by placeholders."""
    text = _EMAIL_RE.sub(EMAIL, text)
    text = _ORDER_RE.sub(lambda m: m.group(1) + ORDER, text)
    text = _HASH_NUMBER_RE.sub(ORDER, text)
    text = _PHONE_RE.sub(lambda m: PHONE if _digits(m.group()) >= 8 else m.group(), text)
    text = _LONG_NUMBER_RE.sub(ORDER, text)
    for name in sorted(_name_parts(names), key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", NAME, text, flags=re.IGNORECASE)
    return _INTRO_RE.sub(_mask_intro, text)


def _mask_intro(match: re.Match[str]) -> str:
    return f"{match.group(1)} {NAME}"


def _digits(text: str) -> int:
    return sum(c.isdigit() for c in text)


def _name_parts(names: Iterable[str]) -> set[str]:
    parts: set[str] = set()
    for name in names:
        if not name or "@" in name:
            continue
        parts.add(name.strip())
        parts.update(p for p in re.split(r"[\s,]+", name) if len(p) >= 2)
    return {p for p in parts if p}


def mask_fields(fields: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    masked: dict[str, Any] = {}
    for key, value in fields.items():
        if _IDENTIFYING_FIELDS.search(key):
            masked[key] = ORGANIZATION if "org" in key.lower() or "compan" in key.lower() else NAME
            if "mail" in key.lower():
                masked[key] = EMAIL
            elif "phone" in key.lower() or "mobile" in key.lower():
                masked[key] = PHONE
        elif isinstance(value, str):
            masked[key] = mask_text(value, names)
        elif isinstance(value, list):
            masked[key] = [mask_text(v, names) if isinstance(v, str) else v for v in value]
        else:
            masked[key] = value
    return masked


class DraftError(Exception):
    pass


def export_drafts(config: AppConfig, out: Path, *, limit: int = 200) -> int:
    """Write the newest ``limit`` customer-facing decisions as draft cases; return how many."""
    store = Store(config.database_url)
    try:
        if not inspect(store.engine).has_table("decisions"):
            raise DraftError(f"no decisions recorded in {config.database_url}")
        with store.session() as session:
            rows = session.execute(
                select(Decision, Delivery.event)
                .join(Delivery, Decision.delivery_pk == Delivery.id)
                .where(Decision.kind != "ignore")
                .order_by(Decision.id.desc())
                .limit(limit)
            ).all()
    finally:
        store.dispose()
    types = {name: cc.type for name, cc in config.connectors.items()}
    drafts = [draft_case(row, Event.from_json(event), types) for row, event in rows]
    drafts = [d for d in drafts if d is not None]
    header = (
        "# Draft evaluation cases from recorded decisions; customer data is masked.\n"
        "# Each expect block holds what the bot decided: check it (and fix it where the bot was\n"
        "# wrong) before moving a case into a suite.\n"
    )
    body = yaml.safe_dump(
        {"suite": "drafts", "cases": drafts}, sort_keys=False, allow_unicode=True, width=100
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(header + body, encoding="utf-8")
    return len(drafts)


def draft_case(row: Decision, event: Event, types: Mapping[str, str]) -> dict[str, Any] | None:
    message = event.message
    if message is None or message.role not in (Role.CUSTOMER, Role.AGENT):
        return None
    # A burst of messages decided as one is recorded with its whole question.
    message = replace(message, text=repo.question_text(row.evidence, event.to_json()))
    customer = event.customer
    names = [n for n in (customer.name,) if n]
    turn_role = "customer" if message.role is Role.CUSTOMER else "agent"
    case: dict[str, Any] = {
        "id": f"draft-{row.id}",
        "source": f"decision {row.id} ({row.kind}, {row.reason}, rule {row.rule_id})",
        "connector": types.get(row.connector, "zendesk"),
    }
    fields = mask_fields(customer.fields, names)
    person: dict[str, Any] = {}
    if customer.name:
        person["name"] = NAME
    if customer.email:
        person["email"] = EMAIL
    person.update({k: v for k, v in fields.items() if v not in (None, "", [], {})})
    if person:
        case["customer"] = person
    if event.subject:
        case["subject"] = mask_text(event.subject, names)
    if row.reason in ("human_active", "already_escalated") and message.role is Role.CUSTOMER:
        status = "human_active" if row.reason == "human_active" else "escalated"
        case["state"] = {"status": status}
    case["turns"] = [{turn_role: mask_text(message.text, names)}]
    expect: dict[str, Any] = {"outcome": "silent" if row.kind == "silent" else row.kind}
    if row.kind == "escalate":
        expect["reason"] = row.reason
        if row.group:
            expect["group"] = row.group
    if row.kind == "reply" and row.citations:
        expect["cites"] = [c.get("passage_id") for c in row.citations if c.get("passage_id")]
    case["expect"] = expect
    return case
