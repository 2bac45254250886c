"""Evaluation cases: the YAML format, the loader and its validation.

A case file is YAML. It holds one case (a mapping with ``id``), a list of cases, or a mapping
with ``cases:`` and optionally ``suite:`` and ``defaults:`` (keys merged into every case of the
file). A mapping with ``dataset:`` instead is turned into cases by an adapter in
``bridge.eval.public``. One case::

    id: refund-policy-question        # unique in the run: letters, digits, . _ -
    description: a routine question about refunds is answered, not escalated
    connector: zendesk                # zendesk | intercom | freshdesk (default zendesk)
    customer:                         # optional; any key besides name/email/id is a field
      name: Sam Lee
      email: sam@example.com
      tier: pro
      account_age_days: 3
    subject: Refunds                  # optional ticket subject, tags and channel
    tags: [billing]
    channel: web
    now: 2026-03-03T10:00:00Z         # the clock of the decision (default: a Tuesday morning)
    knowledge: ./kb                   # optional folder of its own, relative to the file
    state: {status: open}             # optional stored ticket state; default from the turns
    turns:                            # oldest first; the last turn is the event decided
      - customer: How do refunds work?
      - bot: You can ask for a refund within 30 days of a payment.
        kind: reply                   # bot turns: reply (default), clarify or handoff
      - agent: Internal note          # agent turns may set public: false
        public: false
      - customer: "Still slow. "
        repeat: 500                   # the text repeated, for huge messages
    expect:
      outcome: reply                  # reply | clarify | escalate | silent
      reason: refund                  # escalate only: a reason or a list of acceptable ones
      group: Billing                  # escalate only: the group the ticket must be routed to
      cites: [billing-and-invoices.md#refunds]  # reply only: each must be cited (passage id,
                                                # file or title; a list inside: any one of them)
      contains: ["30 days"]           # phrases the customer-facing text must contain
      not_contains: ["refunded"]      # and must not contain (case-insensitive)
      no_invented_numbers: true       # reply: every number appears in a cited passage

Every problem is reported with the file and the field, e.g.
``evals/golden/billing.yaml: cases[3] (refund-x).expect.outcome: must be one of ...``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from bridge.decision.brief import REASON_TITLES
from bridge.events import Role

OUTCOMES = ("reply", "clarify", "escalate", "silent")
CONNECTOR_TYPES = ("zendesk", "intercom", "freshdesk")
# Every reason a handoff can carry: the triggers plus the answer-side reasons.
REASONS = tuple(REASON_TITLES)
BOT_KINDS = ("reply", "clarify", "handoff")
TICKET_STATUSES = ("open", "escalated", "human_active")
# A fixed clock keeps handoff texts and account-age rules the same on every run: a Tuesday at
# 11:00 in Berlin, inside the example business hours.
DEFAULT_NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
# Files a directory walk leaves alone: the run's configuration lives next to the suites.
RESERVED_FILES = frozenset({"config.yaml", "config.yml", "thresholds.yaml", "thresholds.yml"})
MAX_REPEAT = 100_000

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
_CASE_KEYS = frozenset(
    {
        "id",
        "description",
        "connector",
        "customer",
        "subject",
        "tags",
        "channel",
        "now",
        "knowledge",
        "state",
        "turns",
        "expect",
        "notes",
        "source",
    }
)
_FILE_KEYS = frozenset({"suite", "defaults", "cases"})
_EXPECT_KEYS = frozenset(
    {"outcome", "reason", "group", "cites", "contains", "not_contains", "no_invented_numbers"}
)
_TURN_ROLES = {"customer": Role.CUSTOMER, "agent": Role.AGENT, "bot": Role.BOT}


class CaseError(Exception):
    """One or more case files are invalid; ``problems`` lists ``file: field: problem`` lines."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid evaluation cases:\n  " + "\n  ".join(self.problems))


@dataclass(frozen=True)
class Turn:
    role: Role
    text: str
    public: bool = True
    kind: str | None = None  # bot turns: reply, clarify or handoff


@dataclass(frozen=True)
class CustomerSpec:
    name: str | None = None
    email: str | None = None
    id: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TicketSeed:
    """The stored ticket state the decision starts from."""

    status: str = "open"
    bot_turns: int = 0
    clarifications: int = 0


@dataclass(frozen=True)
class Expectation:
    outcome: str
    reasons: tuple[str, ...] = ()
    group: str | None = None
    # each entry must be cited; an entry with several names accepts any one of them
    cites: tuple[tuple[str, ...], ...] = ()
    contains: tuple[str, ...] = ()
    not_contains: tuple[str, ...] = ()
    no_invented_numbers: bool = True

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"outcome": self.outcome}
        if self.reasons:
            out["reason"] = list(self.reasons)
        if self.group is not None:
            out["group"] = self.group
        if self.cites:
            out["cites"] = [c[0] if len(c) == 1 else list(c) for c in self.cites]
        if self.contains:
            out["contains"] = list(self.contains)
        if self.not_contains:
            out["not_contains"] = list(self.not_contains)
        return out


@dataclass(frozen=True)
class Case:
    id: str
    suite: str
    file: Path
    turns: tuple[Turn, ...]
    expect: Expectation
    connector: str = "zendesk"
    customer: CustomerSpec = field(default_factory=CustomerSpec)
    subject: str | None = None
    tags: tuple[str, ...] = ()
    channel: str | None = None
    now: datetime = DEFAULT_NOW
    knowledge: Path | None = None
    state: TicketSeed = field(default_factory=TicketSeed)
    description: str | None = None
    source: str | None = None  # where a case adapted from a public dataset came from


# --- loading ------------------------------------------------------------------------------


def load_cases(paths: Iterable[str | Path]) -> list[Case]:
    """Every case under ``paths`` (files or folders), in a stable order; raise CaseError."""
    problems: list[str] = []
    cases: list[Case] = []
    for root in paths:
        root = Path(root)
        if not root.exists():
            problems.append(f"{root}: no such file or folder")
            continue
        for file, suite in _case_files(root):
            loaded, errs = load_file(file, suite)
            cases.extend(loaded)
            problems.extend(errs)
    seen: dict[str, Path] = {}
    for case in cases:
        if case.id in seen:
            problems.append(
                f"{case.file}: id {case.id!r} is already used in {seen[case.id]} "
                "(ids must be unique in a run)"
            )
        else:
            seen[case.id] = case.file
    if problems:
        raise CaseError(problems)
    if not cases:
        raise CaseError([f"{', '.join(str(p) for p in paths) or '(no paths)'}: no cases found"])
    return cases


def _case_files(root: Path) -> Iterator[tuple[Path, str | None]]:
    """Case files under ``root`` with the suite their location implies."""
    if root.is_file():
        yield root, None
        return
    for file in sorted(root.rglob("*")):
        relative = file.relative_to(root)
        if file.suffix not in (".yaml", ".yml") or not file.is_file():
            continue
        if any(part.startswith(".") for part in relative.parts):
            continue
        if file.name in RESERVED_FILES:
            continue
        # A file in a sub-folder belongs to that folder's suite ("evals/" -> golden, break...).
        yield file, relative.parts[0] if len(relative.parts) > 1 else root.resolve().name


def load_file(file: Path, suite: str | None = None) -> tuple[list[Case], list[str]]:
    """The cases of one file and the problems found in it."""
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        return [], [f"{file}: cannot read: {exc.strerror}"]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = getattr(exc, "problem", None) or str(exc)
        return [], [f"{file}: YAML syntax error at {where}: {problem}"]
    suite = suite or file.resolve().parent.name
    defaults: Mapping[str, Any] = {}
    prefix = "cases"
    if isinstance(data, Mapping) and "dataset" in data:
        from bridge.eval.public import dataset_cases

        try:
            raw_cases, suite_override = dataset_cases(data, file)
        except ValueError as exc:
            return [], [f"{file}: {exc}"]
        suite = suite_override or suite
    elif isinstance(data, Mapping) and "cases" in data:
        unknown = sorted(set(data) - _FILE_KEYS)
        if unknown:
            known = ", ".join(sorted(_FILE_KEYS | {"dataset"}))
            return [], [f"{file}: {k}: unknown key (a case file has {known})" for k in unknown]
        if data.get("suite") is not None:
            if not isinstance(data["suite"], str) or not data["suite"].strip():
                return [], [f"{file}: suite: must be a non-empty string"]
            suite = data["suite"]
        defaults = data.get("defaults") or {}
        if not isinstance(defaults, Mapping):
            return [], [f"{file}: defaults: must be a mapping of case keys"]
        raw_cases = data["cases"]
        if not isinstance(raw_cases, list):
            return [], [f"{file}: cases: must be a list of cases"]
    elif isinstance(data, Mapping) and "id" in data:
        raw_cases, prefix = [data], ""
    elif isinstance(data, list):
        raw_cases = data
        prefix = ""
    elif data is None:
        return [], [f"{file}: the file is empty"]
    else:
        return [], [
            f"{file}: (top level): expected a case (with id), a list of cases, a mapping "
            "with cases: or one with dataset:"
        ]

    cases: list[Case] = []
    problems: list[str] = []
    for index, raw in enumerate(raw_cases):
        single = not prefix and not isinstance(data, list)
        where = "" if single else f"{prefix}[{index}]"
        if isinstance(raw, Mapping) and isinstance(raw.get("id"), str):
            where = f"{where} ({raw['id']})".strip()
        if not isinstance(raw, Mapping):
            problems.append(f"{file}: {where or '(case)'}: must be a mapping")
            continue
        merged = _merge(defaults, raw)
        case, errs = parse_case(merged, file=file, suite=suite)
        problems.extend(f"{file}: {_join(where, e)}" for e in errs)
        if case is not None:
            cases.append(case)
    return cases, problems


def _join(where: str, problem: str) -> str:
    return f"{where}.{problem}" if where else problem


def _merge(defaults: Mapping[str, Any], case: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(defaults))
    for key, value in case.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = copy.deepcopy(value)
    return merged


# --- validation ---------------------------------------------------------------------------


def parse_case(data: Mapping[str, Any], *, file: Path, suite: str) -> tuple[Case | None, list[str]]:
    """Validate one case mapping; problems read ``field: what is wrong``."""
    problems: list[str] = []
    for key in sorted(set(data) - _CASE_KEYS):
        problems.append(f"{key}: unknown key (known: {', '.join(sorted(_CASE_KEYS))})")

    case_id = data.get("id")
    if case_id is None:
        problems.append("id: missing required field")
    elif not isinstance(case_id, str) or not _ID_RE.match(case_id):
        problems.append(
            "id: must be 1-80 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )

    connector = data.get("connector", "zendesk")
    if connector not in CONNECTOR_TYPES:
        problems.append(f"connector: must be one of {', '.join(CONNECTOR_TYPES)}")

    customer = _customer(data.get("customer"), problems)
    subject = _optional_str(data, "subject", problems)
    channel = _optional_str(data, "channel", problems)
    description = _optional_str(data, "description", problems)
    source = _optional_str(data, "source", problems)
    _optional_str(data, "notes", problems)
    tags = _strings(data.get("tags"), "tags", problems)
    now = _datetime(data.get("now"), problems)
    knowledge = _knowledge(data.get("knowledge"), file, problems)
    turns = _turns(data.get("turns"), problems)
    expect = _expectation(data.get("expect"), problems)
    state = _state(data.get("state"), turns, problems)

    last = turns[-1] if turns else None
    speaks = expect is not None and expect.outcome != "silent"
    if speaks and last is not None and last.role is not Role.CUSTOMER:
        problems.append(
            f"turns: the last turn must be the customer's for outcome {expect.outcome!r} "
            "(the last turn is the message decided)"
        )
    if problems or expect is None or turns is None:
        return None, problems
    return (
        Case(
            id=case_id,
            suite=suite,
            file=file,
            turns=turns,
            expect=expect,
            connector=connector,
            customer=customer,
            subject=subject,
            tags=tags,
            channel=channel,
            now=now,
            knowledge=knowledge,
            state=state,
            description=description,
            source=source,
        ),
        [],
    )


def _optional_str(data: Mapping[str, Any], key: str, problems: list[str]) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{key}: must be a string")
        return None
    return value


def _strings(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    """A string or a list of strings."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    problems.append(f"{where}: must be a string or a list of strings")
    return ()


def _customer(value: Any, problems: list[str]) -> CustomerSpec:
    if value is None:
        return CustomerSpec()
    if not isinstance(value, Mapping):
        problems.append("customer: must be a mapping (name, email, tier, plan, ...)")
        return CustomerSpec()
    fields: dict[str, Any] = {}
    extra = value.get("fields")
    if extra is not None:
        if isinstance(extra, Mapping):
            fields.update(extra)
        else:
            problems.append("customer.fields: must be a mapping")
    for key, item in value.items():
        if key in ("name", "email", "id", "fields"):
            continue
        if isinstance(item, date | datetime):
            item = item.isoformat()  # the helpdesks send dates as text
        fields[str(key)] = item
    texts = {}
    for key in ("name", "email", "id"):
        item = value.get(key)
        if item is not None and not isinstance(item, str | int):
            problems.append(f"customer.{key}: must be a string")
            item = None
        texts[key] = None if item is None else str(item)
    return CustomerSpec(name=texts["name"], email=texts["email"], id=texts["id"], fields=fields)


def _datetime(value: Any, problems: list[str]) -> datetime:
    if value is None:
        return DEFAULT_NOW
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
    if moment is None:
        problems.append("now: must be an ISO date-time, e.g. 2026-03-03T10:00:00Z")
        return DEFAULT_NOW
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _knowledge(value: Any, file: Path, problems: list[str]) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append("knowledge: must be a folder path")
        return None
    folder = Path(value).expanduser()
    if not folder.is_absolute():
        folder = (file.resolve().parent / folder).resolve()
    if not folder.is_dir():
        problems.append(f"knowledge: no such folder {folder}")
        return None
    return folder


def _turns(value: Any, problems: list[str]) -> tuple[Turn, ...] | None:
    if value is None:
        problems.append("turns: missing required field")
        return None
    if not isinstance(value, list) or not value:
        problems.append("turns: must be a list of at least one turn")
        return None
    turns: list[Turn] = []
    for index, raw in enumerate(value):
        where = f"turns[{index}]"
        if not isinstance(raw, Mapping):
            problems.append(f"{where}: must be a mapping like {{customer: text}}")
            continue
        roles = [key for key in raw if key in _TURN_ROLES]
        if len(roles) != 1:
            problems.append(f"{where}: must have exactly one of customer, agent or bot")
            continue
        role_key = roles[0]
        unknown = sorted(set(raw) - {role_key, "public", "kind", "repeat"})
        for key in unknown:
            problems.append(f"{where}.{key}: unknown key (known: {role_key}, public, kind, repeat)")
        text = raw[role_key]
        if text is None:
            text = ""
        if not isinstance(text, str):
            problems.append(f"{where}.{role_key}: must be a string (quote numbers and yes/no)")
            continue
        repeat = raw.get("repeat", 1)
        if not isinstance(repeat, int) or isinstance(repeat, bool) or not 1 <= repeat <= MAX_REPEAT:
            problems.append(f"{where}.repeat: must be a whole number from 1 to {MAX_REPEAT}")
            repeat = 1
        public = raw.get("public", True)
        if not isinstance(public, bool):
            problems.append(f"{where}.public: must be true or false")
            public = True
        kind = raw.get("kind")
        if kind is not None:
            if role_key != "bot":
                problems.append(f"{where}.kind: only bot turns have a kind")
            elif kind not in BOT_KINDS:
                problems.append(f"{where}.kind: must be one of {', '.join(BOT_KINDS)}")
        elif role_key == "bot":
            kind = "reply"
        turns.append(Turn(_TURN_ROLES[role_key], text * repeat, public, kind))
    return tuple(turns) if turns else None


def _expectation(value: Any, problems: list[str]) -> Expectation | None:
    if value is None:
        problems.append("expect: missing required field")
        return None
    if not isinstance(value, Mapping):
        problems.append("expect: must be a mapping with at least outcome")
        return None
    before = len(problems)
    for key in sorted(set(value) - _EXPECT_KEYS):
        problems.append(f"expect.{key}: unknown key (known: {', '.join(sorted(_EXPECT_KEYS))})")
    outcome = value.get("outcome")
    if outcome is None:
        problems.append("expect.outcome: missing required field")
    elif outcome not in OUTCOMES:
        problems.append(f"expect.outcome: must be one of {', '.join(OUTCOMES)}")
    reasons = _strings(value.get("reason"), "expect.reason", problems)
    for reason in reasons:
        if reason not in REASONS:
            known = ", ".join(REASONS)
            problems.append(f"expect.reason: unknown reason {reason!r} (known: {known})")
    group = value.get("group")
    if group is not None and not isinstance(group, str | int):
        problems.append("expect.group: must be a string")
    cites = _cites(value.get("cites"), problems)
    contains = _strings(value.get("contains"), "expect.contains", problems)
    not_contains = _strings(value.get("not_contains"), "expect.not_contains", problems)
    numbers = value.get("no_invented_numbers", True)
    if not isinstance(numbers, bool):
        problems.append("expect.no_invented_numbers: must be true or false")
    if outcome in OUTCOMES and outcome != "escalate":
        if reasons:
            problems.append(f"expect.reason: only an escalate outcome has a reason, not {outcome}")
        if group is not None:
            problems.append(f"expect.group: only an escalate outcome has a group, not {outcome}")
    if outcome in OUTCOMES and outcome != "reply" and cites:
        problems.append(f"expect.cites: only a reply cites sources, not {outcome}")
    if len(problems) > before:
        return None
    return Expectation(
        outcome=outcome,
        reasons=reasons,
        group=None if group is None else str(group),
        cites=cites,
        contains=contains,
        not_contains=not_contains,
        no_invented_numbers=numbers,
    )


def _cites(value: Any, problems: list[str]) -> tuple[tuple[str, ...], ...]:
    """Each entry a name, or a list of names of which any one will do."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        problems.append("expect.cites: must be a string or a list")
        return ()
    cites: list[tuple[str, ...]] = []
    for index, item in enumerate(items):
        if isinstance(item, str) and item.strip():
            cites.append((item,))
        elif isinstance(item, list) and item and all(isinstance(i, str) for i in item):
            cites.append(tuple(item))
        else:
            problems.append(
                f"expect.cites[{index}]: must be a passage id, file or title, or a list of them"
            )
    return tuple(cites)


def _state(value: Any, turns: tuple[Turn, ...] | None, problems: list[str]) -> TicketSeed:
    """What the store would hold after the turns: bot answers and clarifying questions asked."""
    bots = [t for t in turns or () if t.role is Role.BOT]
    seed = {
        "status": "open",
        "bot_turns": sum(1 for t in bots if t.kind in ("reply", "clarify")),
        "clarifications": sum(1 for t in bots if t.kind == "clarify"),
    }
    if any(t.kind == "handoff" for t in bots):
        seed["status"] = "escalated"
    if value is None:
        return TicketSeed(**seed)
    if not isinstance(value, Mapping):
        problems.append("state: must be a mapping (status, bot_turns, clarifications)")
        return TicketSeed(**seed)
    for key in sorted(set(value) - set(seed)):
        problems.append(f"state.{key}: unknown key (known: status, bot_turns, clarifications)")
    if "status" in value:
        if value["status"] not in TICKET_STATUSES:
            problems.append(f"state.status: must be one of {', '.join(TICKET_STATUSES)}")
        else:
            seed["status"] = value["status"]
    for key in ("bot_turns", "clarifications"):
        if key in value:
            item = value[key]
            if not isinstance(item, int) or isinstance(item, bool) or item < 0:
                problems.append(f"state.{key}: must be a whole number, 0 or more")
            else:
                seed[key] = item
    return TicketSeed(**seed)
