"""Run the escalation triggers over the Bitext customer-support sample and score them.

The data set is not part of the repository (it is share-alike licensed): pass its path, or
keep the default that points at the shared copy. Every row is one customer message, run through
``first_hit`` with default settings as the first message of a new ticket; its gold intent is
mapped to the reason we expect (``INTENT_TO_REASON``) and the results are written as JSON.

    python -m benchmarks.triggers_bitext [--csv PATH] [--out PATH] [--show-errors N]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bridge.decision.model import TicketView
from bridge.decision.triggers import TriggerContext, first_hit
from bridge.events import Customer, Message, Role
from bridge.policy import TRIGGER_NAMES, TriggerSettings

# The shared datasets folder sits beside the repository checkout.
DEFAULT_CSV = (
    Path(__file__).resolve().parent.parent.parent
    / "shared/datasets/bitext_customer_support/Bitext_Sample_Customer_Support_Training_Dataset.csv"
)
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "triggers_bitext.json"

# Excluded from precision, recall and the false-escalation rate: either outcome is defensible.
BORDERLINE = "borderline"

# Bitext intent -> the reason we expect a trigger to give, or None where a help centre answers
# and the triggers must stay quiet (the answerer or missing_knowledge then decides).
INTENT_TO_REASON: dict[str, str | None] = {
    # An explicit request for a person: must always fire.
    "contact_human_agent": "human_request",
    # Wants their money back: only the team can issue it.
    "get_refund": "refund",
    # Waiting for their own refund ("I expect a reimbursement of $160"): the status is
    # account-specific, the docs cannot give it, and it goes to the same people as refunds.
    "track_refund": "refund",
    # Reports a payment that failed or went wrong: the billing team looks at the charge.
    "payment_issue": "billing_dispute",
    # Wants to cancel an order: a real action on their purchase.
    "cancel_order": "cancellation",
    # Wants the account deleted or closed: irreversible, the team confirms and acts.
    "delete_account": "account_action",
    # Files a complaint or a claim against the company: an unhappy customer for a person.
    "complaint": "frustration",
    # Mixes "can I speak with customer service" (a person, in a chat with a bot) with "what are
    # your hours / phone number" (the docs): neither answer is wrong.
    "contact_customer_service": BORDERLINE,
    # The policy questions that look like the real thing: hard negatives.
    "check_refund_policy": None,  # "in what cases can I request a refund"
    "check_cancellation_fee": None,  # "is there an early exit fee"
    "check_invoice": None,  # "where do I find invoice #123"
    "get_invoice": None,  # "how do I download my bill"
    "check_payment_methods": None,  # "which payment methods do you accept"
    "review": None,  # leaving feedback: a link in the docs
    "newsletter_subscription": None,  # "cancel my newsletter subscription": self-serve
    # Self-serve account and order how-tos that a help centre covers.
    "change_order": None,
    "change_shipping_address": None,
    "create_account": None,
    "delivery_options": None,
    "delivery_period": None,
    "edit_account": None,
    "place_order": None,
    "recover_password": None,
    "registration_problems": None,
    "set_up_shipping_address": None,
    "switch_account": None,
    "track_order": None,
}


@dataclass(frozen=True)
class Row:
    text: str
    intent: str
    tags: str


def load(path: Path) -> list[Row]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            Row(r["instruction"], r["intent"], r.get("tags") or "") for r in csv.DictReader(handle)
        ]


def predict(rows: Iterable[Row]) -> list[str | None]:
    settings = {name: TriggerSettings() for name in TRIGGER_NAMES}
    now = datetime(2024, 1, 1, tzinfo=UTC)
    predictions = []
    for index, row in enumerate(rows):
        message = Message(id=str(index), role=Role.CUSTOMER, text=row.text)
        ctx = TriggerContext(message, [message], TicketView(), Customer(), now=now)
        hit = first_hit(ctx, settings)
        predictions.append(hit.reason if hit else None)
    return predictions


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def score(rows: list[Row], predictions: list[str | None]) -> dict[str, Any]:
    unknown = sorted({r.intent for r in rows} - set(INTENT_TO_REASON))
    if unknown:
        raise SystemExit(f"intents missing from INTENT_TO_REASON: {', '.join(unknown)}")
    gold = [INTENT_TO_REASON[r.intent] for r in rows]
    scored = [(g, p) for g, p in zip(gold, predictions, strict=True) if g != BORDERLINE]

    reasons = sorted({g for g, _ in scored if g} | {p for _, p in scored if p})
    per_reason = {}
    for reason in reasons:
        tp = sum(1 for g, p in scored if g == reason and p == reason)
        fp = sum(1 for g, p in scored if g != reason and p == reason)
        fn = sum(1 for g, p in scored if g == reason and p != reason)
        per_reason[reason] = {
            "precision": _ratio(tp, tp + fp),
            "recall": _ratio(tp, tp + fn),
            "support": tp + fn,
            "predicted": tp + fp,
        }

    per_intent: dict[str, Counter[str]] = defaultdict(Counter)
    for row, prediction in zip(rows, predictions, strict=True):
        per_intent[row.intent][prediction or "none"] += 1

    faq = [(r, p) for r, p, g in zip(rows, predictions, gold, strict=True) if g is None]
    faq_plain = [(r, p) for r, p in faq if "W" not in r.tags]
    escalating = [(g, p) for g, p in scored if g]
    human = [p for r, p in zip(rows, predictions, strict=True) if r.intent == "contact_human_agent"]
    offensive = [p for r, p in zip(rows, predictions, strict=True) if "W" in r.tags]
    borderline = [p for g, p in zip(gold, predictions, strict=True) if g == BORDERLINE]
    return {
        "rows": len(rows),
        "per_reason": per_reason,
        "human_request_recall_on_contact_human_agent": _ratio(
            sum(p == "human_request" for p in human), len(human)
        ),
        "false_escalation_rate_on_answerable_intents": _ratio(
            sum(p is not None for _, p in faq), len(faq)
        ),
        "false_escalation_rate_on_answerable_intents_without_offensive_rows": _ratio(
            sum(p is not None for _, p in faq_plain), len(faq_plain)
        ),
        "answerable_rows": len(faq),
        "escalation_recall_any_reason": _ratio(
            sum(p is not None for _, p in escalating), len(escalating)
        ),
        "exact_reason_accuracy_on_escalating_intents": _ratio(
            sum(g == p for g, p in escalating), len(escalating)
        ),
        "offensive_rows_flagged_frustration": _ratio(
            sum(p == "frustration" for p in offensive), len(offensive)
        ),
        "borderline_escalation_rate": _ratio(
            sum(p is not None for p in borderline), len(borderline)
        ),
        "per_intent": {
            intent: {"expected": INTENT_TO_REASON[intent], "predicted": dict(counts)}
            for intent, counts in sorted(per_intent.items())
        },
    }


def _print(results: dict[str, Any]) -> None:
    print(f"rows: {results['rows']}  ({results['seconds']:.1f}s)")
    print(f"{'reason':<16} {'precision':>9} {'recall':>7} {'support':>8} {'predicted':>9}")
    for reason, stats in results["per_reason"].items():
        p = "-" if stats["precision"] is None else f"{stats['precision']:.3f}"
        r = "-" if stats["recall"] is None else f"{stats['recall']:.3f}"
        print(f"{reason:<16} {p:>9} {r:>7} {stats['support']:>8} {stats['predicted']:>9}")
    for key in (
        "human_request_recall_on_contact_human_agent",
        "false_escalation_rate_on_answerable_intents",
        "false_escalation_rate_on_answerable_intents_without_offensive_rows",
        "escalation_recall_any_reason",
        "exact_reason_accuracy_on_escalating_intents",
        "offensive_rows_flagged_frustration",
        "borderline_escalation_rate",
    ):
        print(f"{key}: {results[key]}")
    print("per intent (expected -> predicted counts):")
    for intent, info in results["per_intent"].items():
        counts = ", ".join(f"{k}={v}" for k, v in sorted(info["predicted"].items()))
        print(f"  {intent:<26} {info['expected']!s:<16} {counts}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV, help="the Bitext sample CSV")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the JSON")
    parser.add_argument(
        "--show-errors", type=int, default=0, metavar="N", help="print N misses per intent"
    )
    args = parser.parse_args(argv)
    if not args.csv.is_file():
        print(f"no such file: {args.csv} (pass --csv)", file=sys.stderr)
        return 2

    rows = load(args.csv)
    started = time.perf_counter()
    predictions = predict(rows)
    results = score(rows, predictions)
    results["seconds"] = round(time.perf_counter() - started, 2)
    results["dataset"] = {
        "path": str(args.csv),
        "sha256": hashlib.sha256(args.csv.read_bytes()).hexdigest(),
    }
    results["mapping"] = INTENT_TO_REASON
    _print(results)

    if args.show_errors:
        shown: Counter[str] = Counter()
        for row, prediction in zip(rows, predictions, strict=True):
            expected = INTENT_TO_REASON[row.intent]
            missed = expected != BORDERLINE and prediction != expected
            if missed and shown[row.intent] < args.show_errors:
                shown[row.intent] += 1
                print(f"  [{row.intent} -> {prediction}] {row.text}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
