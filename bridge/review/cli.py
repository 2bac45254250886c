"""``helpdesk-bridge report``: the review overview's numbers in a terminal or as JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import click

from bridge.review import queries
from bridge.review.formatting import duration, pct, reason_title
from bridge.review.periods import PeriodError, parse_since

DEFAULT_WINDOW_HOURS = 72.0


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Config file (default: $HELPDESK_BRIDGE_CONFIG, else the shipped example).",
)
@click.option(
    "--since",
    default="7d",
    show_default=True,
    help="A span back from now (24h, 7d, 4w) or a date (2026-11-01).",
)
@click.option("--connector", "connector", default=None, help="Only this connector.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def report(config_path: str | None, since: str, connector: str | None, fmt: str) -> None:
    """Print the overview numbers: conversations, outcomes, handoffs, times, feedback."""
    from bridge.cli_config import load_or_exit
    from bridge.store import Store

    config = load_or_exit(config_path)
    now = datetime.now(UTC)
    try:
        period = parse_since(since, now)
    except PeriodError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    if connector and connector not in config.connectors:
        known = ", ".join(sorted(config.connectors)) or "none configured"
        raise click.BadParameter(f"no connector named {connector!r} ({known})")
    hours = config.review.containment_window_hours if config.review else DEFAULT_WINDOW_HOURS
    config.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(config.database_url)
    try:
        store.migrate()
        with store.session() as session:
            data = queries.overview(
                session, period, connector=connector, window=timedelta(hours=hours), now=now
            )
    finally:
        store.dispose()
    if fmt == "json":
        click.echo(json.dumps(data.to_json(), indent=2))
        return
    for line in render_table(data):
        click.echo(line)


def render_table(data: queries.Overview) -> list[str]:
    hours = data.window.total_seconds() / 3600
    lines = [
        f"helpdesk-bridge report: {data.period.label} "
        f"({data.period.start:%Y-%m-%d %H:%M} to {data.period.end:%Y-%m-%d %H:%M} UTC), "
        f"{data.connector or 'all connectors'}",
        "",
        f"{'conversations handled':38} {data.handled:>7}",
        f"{'AI replies sent':38} {data.ai_replies:>7}",
        f"{'AI-resolved rate':38} {pct(data.ai_resolved_rate, 1):>7}"
        f"  ({data.outcomes['contained']} of {data.judged} judged)",
        f"{'handoff rate':38} {pct(data.handoff_rate, 1):>7}"
        f"  ({data.handed_off} of {data.handled})",
        f"{'median time to escalation':38} {duration(data.median_seconds_to_escalation):>7}",
        f"{'median escalation to first human reply':38} "
        f"{duration(data.median_seconds_to_human):>7}",
    ]
    votes = data.votes
    if votes is None:
        lines.append(f"{'thumbs up':38} {'–':>7}  (feedback not recorded)")
    else:
        lines.append(
            f"{'thumbs up':38} {pct(votes.up_rate, 1):>7}  ({votes.up} up, {votes.down} down)"
        )
    lines += ["", f"outcomes (containment window {hours:g}h):"]
    for key, title in queries.OUTCOME_TITLES.items():
        count = data.outcomes[key]
        share = pct(count / data.handled, 1) if data.handled else "–"
        lines.append(f"  {title:52} {count:>6} {share:>7}")
    lines += ["", "handoffs by reason:"]
    if not data.handoffs_by_reason:
        lines.append("  none")
    for reason, count in data.handoffs_by_reason.items():
        rate = pct(data.handoff_rate_of(reason), 1)
        lines.append(f"  {reason_title(reason)[:52]:52} {count:>6} {rate:>7}")
    lines += ["", "top unanswered questions:"]
    if not data.top_gaps:
        lines.append("  none")
    for cluster in data.top_gaps:
        example = " ".join(cluster.representative.split())
        if len(example) > 80:
            example = example[:79] + "…"
        lines.append(f"  {cluster.size:>4}×  {example}")
    return lines
