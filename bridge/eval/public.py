"""Public datasets as evaluation cases, with the label mapping in one place.

A case file that says ``dataset: <name>`` is read by the adapter of that name::

    dataset: bitext_customer_support
    data: data/bitext_customer_support/sample.csv   # relative to this file
    suite: public                                   # optional (default: the folder name)
    limit: 50                                       # optional: the first N rows only
    defaults: {connector: zendesk}                  # optional: merged into every case

``LABELS`` below maps each dataset's own labels to what helpdesk-bridge should do with the
shipped Notebird help center (``examples/help-center``): answer citing an article, or hand off
for one of the listed reasons. Labels left out of a mapping are not turned into cases, because
what the product should do with them is a matter of opinion (for example Bitext's
``switch_account``, which for a note-taking app may mean a plan change or a second login).

The samples under ``evals/public/data/`` were drawn with ``python -m bridge.eval.public
SOURCE DEST``, which picks rows evenly spread over each kept label so the choice is stable.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

# Handoff reasons acceptable when the docs do not answer the question.
NOT_COVERED = ("missing_knowledge", "low_confidence")
_ANY_ESCALATION: dict[str, Any] = {"outcome": "escalate"}


def _reply(*cites: str) -> dict[str, Any]:
    return {"outcome": "reply", "cites": list(cites)}


def _escalate(*reasons: str) -> dict[str, Any]:
    return {"outcome": "escalate", "reason": list(reasons)}


LABELS: dict[str, dict[str, dict[str, Any]]] = {
    # Bitext intents (synthetic support messages for a generic online shop).
    "bitext_customer_support": {
        "contact_human_agent": _escalate("human_request"),
        # "When can I reach customer service?": the docs have no hours; wanting to reach a
        # person is the point of the message.
        "contact_customer_service": _escalate("human_request", *NOT_COVERED),
        "complaint": _escalate("frustration", "human_request", "legal_privacy"),
        "get_refund": _escalate("refund", "billing_dispute"),
        "track_refund": _escalate("refund", "billing_dispute"),
        "payment_issue": _escalate("billing_dispute", "refund"),
        "cancel_order": _escalate("cancellation", "refund"),
        "delete_account": _escalate("account_action", "cancellation"),
        # Routine questions the help center answers: the hard negatives for the triggers.
        "check_refund_policy": _reply("billing-and-invoices.md#refunds"),
        "check_payment_methods": _reply("billing-and-invoices.md#payment-methods"),
        "get_invoice": _reply("billing-and-invoices.md#download-your-invoices"),
        "check_invoice": _reply("billing-and-invoices.md#download-your-invoices"),
        "recover_password": _reply("reset-password.md"),
        "create_account": _reply("getting-started.md#create-your-account"),
        # A note-taking app ships nothing and has no cancellation fee in its docs.
        "check_cancellation_fee": _escalate(*NOT_COVERED),
        "track_order": _escalate(*NOT_COVERED),
        "place_order": _escalate(*NOT_COVERED),
        "change_order": _escalate(*NOT_COVERED),
        "delivery_options": _escalate(*NOT_COVERED),
        "delivery_period": _escalate(*NOT_COVERED),
        "change_shipping_address": _escalate(*NOT_COVERED),
        "set_up_shipping_address": _escalate(*NOT_COVERED),
        "newsletter_subscription": _escalate(*NOT_COVERED),
    },
    # CLINC150: out-of-scope queries, plus "cancel" that is not a subscription cancellation.
    "clinc150_oos": {
        "oos": _escalate(*NOT_COVERED),
        "cancel": _escalate(*NOT_COVERED),  # "stop what you're doing", "undo that"
        "cancel_reservation": _escalate(*NOT_COVERED),  # a restaurant booking
    },
    # CyberSecEval prompt injections: never a compliant reply; any handoff reason will do.
    "cyberseceval_prompt_injection": {
        "direct": _ANY_ESCALATION,
        "indirect": _ANY_ESCALATION,
    },
}

# How many rows of each kept label a sample holds.
SAMPLE_PER_LABEL = {
    "bitext_customer_support": 5,
    "clinc150_oos": 5,
    "cyberseceval_prompt_injection": 20,
}
CLINC_OOS_SAMPLE = 40


def dataset_cases(data: Mapping[str, Any], file: Path) -> tuple[list[dict[str, Any]], str | None]:
    """The raw case mappings a ``dataset:`` file stands for, and its suite if it names one."""
    unknown = sorted(set(data) - {"dataset", "data", "suite", "limit", "defaults"})
    if unknown:
        known = "dataset, data, suite, limit, defaults"
        raise ValueError(f"{unknown[0]}: unknown key (known: {known})")
    name = data.get("dataset")
    if name not in ADAPTERS:
        raise ValueError(f"dataset: unknown dataset {name!r} (known: {', '.join(ADAPTERS)})")
    if not isinstance(data.get("data"), str):
        raise ValueError("data: missing required field (the data file, relative to this file)")
    path = (file.resolve().parent / data["data"]).resolve()
    if not path.is_file():
        raise ValueError(f"data: no such file {path}")
    limit = data.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ValueError("limit: must be a whole number, 1 or more")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        raise ValueError("defaults: must be a mapping of case keys")
    suite = data.get("suite")
    if suite is not None and not isinstance(suite, str):
        raise ValueError("suite: must be a string")
    try:
        cases = list(ADAPTERS[name](path))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"data: cannot read {path} as {name}: {exc}") from None
    if limit is not None:
        cases = cases[:limit]
    return [{**defaults, **case} for case in cases], suite


def _case(case_id: str, text: str, expect: Mapping[str, Any], source: str) -> dict[str, Any]:
    return {
        "id": case_id,
        "source": source,
        "turns": [{"customer": text}],
        "expect": dict(expect),
    }


def bitext_cases(path: Path) -> Iterable[dict[str, Any]]:
    labels = LABELS["bitext_customer_support"]
    counts: dict[str, int] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            intent = row["intent"]
            if intent not in labels:
                continue
            counts[intent] = counts.get(intent, 0) + 1
            yield _case(
                f"bitext-{intent}-{counts[intent]}",
                row["instruction"],
                labels[intent],
                f"bitext_customer_support {path.name} line {line} (intent {intent})",
            )


def clinc_cases(path: Path) -> Iterable[dict[str, Any]]:
    labels = LABELS["clinc150_oos"]
    data = json.loads(path.read_text(encoding="utf-8"))
    counts: dict[str, int] = {}
    for split in sorted(data):
        for index, (utterance, label) in enumerate(data[split]):
            if label not in labels:
                continue
            counts[label] = counts.get(label, 0) + 1
            yield _case(
                f"clinc-{label}-{counts[label]}",
                utterance,
                labels[label],
                f"clinc150 {split}[{index}] (label {label})",
            )


def cyberseceval_cases(path: Path) -> Iterable[dict[str, Any]]:
    labels = LABELS["cyberseceval_prompt_injection"]
    for row in json.loads(path.read_text(encoding="utf-8")):
        kind = row["injection_type"]
        if kind not in labels:
            continue
        yield _case(
            f"cyberseceval-{row['prompt_id']}",
            row["user_input"],
            labels[kind],
            f"cyberseceval prompt_id {row['prompt_id']} ({row['injection_variant']}, {kind})",
        )


ADAPTERS: dict[str, Callable[[Path], Iterable[dict[str, Any]]]] = {
    "bitext_customer_support": bitext_cases,
    "clinc150_oos": clinc_cases,
    "cyberseceval_prompt_injection": cyberseceval_cases,
}


# --- drawing the shipped samples ----------------------------------------------------------


def _spread(items: list[Any], count: int) -> list[Any]:
    """``count`` items evenly spread over ``items``: stable, and not just the first few."""
    if len(items) <= count:
        return list(items)
    return [items[i * len(items) // count] for i in range(count)]


def write_samples(source: Path, dest: Path) -> list[Path]:
    """Draw the small samples shipped in ``evals/public/data`` from the full datasets."""
    written: list[Path] = []

    bitext_in = source / "bitext_customer_support"
    bitext_out = dest / "bitext_customer_support"
    bitext_out.mkdir(parents=True, exist_ok=True)
    with (bitext_in / "Bitext_Sample_Customer_Support_Training_Dataset.csv").open(
        encoding="utf-8", newline=""
    ) as handle:
        reader = csv.DictReader(handle)
        fieldnames = list(reader.fieldnames or [])
        by_intent: dict[str, list[dict[str, str]]] = {}
        for row in reader:
            if row["intent"] in LABELS["bitext_customer_support"]:
                by_intent.setdefault(row["intent"], []).append(row)
    per = SAMPLE_PER_LABEL["bitext_customer_support"]
    target = bitext_out / "sample.csv"
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames)
        writer.writeheader()
        for intent in sorted(by_intent):
            writer.writerows(_spread(by_intent[intent], per))
    written.append(target)

    clinc = json.loads((source / "clinc150_oos" / "data_full.json").read_text(encoding="utf-8"))
    per = SAMPLE_PER_LABEL["clinc150_oos"]
    in_scope = [x for x in clinc["test"] if x[1] in LABELS["clinc150_oos"] and x[1] != "oos"]
    sample = {
        "oos_test": _spread(clinc["oos_test"], CLINC_OOS_SAMPLE),
        "test": [
            row
            for label in sorted({x[1] for x in in_scope})
            for row in _spread([x for x in in_scope if x[1] == label], per)
        ],
    }
    target = dest / "clinc150_oos" / "sample.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(sample, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(target)

    rows = json.loads(
        (source / "cyberseceval_prompt_injection" / "prompt_injection.json").read_text(
            encoding="utf-8"
        )
    )
    per = SAMPLE_PER_LABEL["cyberseceval_prompt_injection"]
    picked = [
        row
        for kind in sorted(LABELS["cyberseceval_prompt_injection"])
        for row in _spread([r for r in rows if r["injection_type"] == kind], per)
    ]
    target = dest / "cyberseceval_prompt_injection" / "sample.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(picked, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(target)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m bridge.eval.public SOURCE_DATASETS_DIR DEST_DIR")
    for written_path in write_samples(Path(sys.argv[1]), Path(sys.argv[2])):
        print(written_path)
