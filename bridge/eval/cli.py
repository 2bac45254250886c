"""``helpdesk-bridge eval``: run case suites through the decision path and gate on thresholds.

Exit status: 0 when every threshold is met (or none is set), 1 when one is missed, 2 when the
cases, the config or the thresholds file are invalid.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from bridge.cli_config import CONFIG_ENV, default_config_path, load_or_exit
from bridge.config import AppConfig

CONFIG_NAMES = ("config.yaml", "config.yml")
THRESHOLD_NAMES = ("thresholds.yaml", "thresholds.yml")


def beside_cases(paths: Sequence[str], names: Sequence[str]) -> Path | None:
    """A file named ``names`` in the first case folder or the folder above it.

    That is where a suite keeps its own configuration (``evals/config.yaml`` serves both
    ``eval evals/`` and ``eval evals/golden``).
    """
    if not paths:
        return None
    first = Path(paths[0])
    folder = first if first.is_dir() else first.parent
    for candidate_dir in (folder, folder.resolve().parent):
        for name in names:
            candidate = candidate_dir / name
            if candidate.is_file():
                return candidate
    return None


@click.command("eval")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Config file (default: config.yaml beside the cases, else "
    f"${CONFIG_ENV}, else the shipped example).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option(
    "--repeat",
    type=click.IntRange(1, 100),
    default=1,
    show_default=True,
    help="Run every case K times; a case passes only if all K runs do (pass^k).",
)
@click.option(
    "--thresholds",
    "thresholds_path",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Thresholds file (default: thresholds.yaml beside the cases, if any).",
)
@click.option(
    "--from-decisions",
    "drafts_out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Instead of running cases, write recorded decisions as masked draft cases to OUT.",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    default=200,
    show_default=True,
    help="With --from-decisions: how many of the newest decisions to export.",
)
@click.option("--no-cache", is_flag=True, help="Ask the LLM again instead of reusing answers.")
def eval_command(
    paths: tuple[str, ...],
    config_path: str | None,
    fmt: str,
    repeat: int,
    thresholds_path: str | None,
    drafts_out: str | None,
    limit: int,
    no_cache: bool,
) -> None:
    """Run evaluation cases (YAML files or folders of them) and report how the bot did."""
    from bridge.eval.cases import CaseError, load_cases
    from bridge.eval.gate import ThresholdsError, evaluate, load_thresholds
    from bridge.eval.report import to_json, to_table
    from bridge.eval.runner import Evaluator

    if config_path is None:
        # A suite's own config comes first: its expected groups and triggers are written for it.
        found = beside_cases(paths, CONFIG_NAMES)
        config_path = str(found) if found else str(default_config_path())
    config = load_or_exit(config_path)

    if drafts_out is not None:
        _export(config, Path(drafts_out), limit)
        return
    if not paths:
        raise click.UsageError("give at least one case file or folder (or --from-decisions)")

    remote = [s.location for s in config.knowledge.sources if s.type != "path"]
    if remote:
        # Runs stay offline and repeatable; say so rather than let answers look uncovered.
        click.echo(
            "note: eval indexes local knowledge folders only; not fetched: " + ", ".join(remote),
            err=True,
        )
    try:
        cases = load_cases(paths)
    except CaseError as exc:
        click.echo("invalid evaluation cases:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(2)

    thresholds_file = Path(thresholds_path) if thresholds_path else None
    if thresholds_file is None:
        thresholds_file = beside_cases(paths, THRESHOLD_NAMES)
    thresholds = None
    if thresholds_file is not None:
        try:
            thresholds = load_thresholds(thresholds_file)
        except ThresholdsError as exc:
            click.echo("invalid thresholds:", err=True)
            for problem in exc.problems:
                click.echo(f"  {problem}", err=True)
            sys.exit(2)

    progress = sys.stderr.isatty() and fmt == "table"

    def tick(_: object) -> None:
        click.echo(".", nl=False, err=True)

    run = Evaluator(
        config, repeat=repeat, cache=not no_cache, on_result=tick if progress else None
    ).run(cases)
    if progress:
        click.echo("", err=True)

    gate = evaluate(run, thresholds, str(thresholds_file)) if thresholds is not None else None
    if fmt == "json":
        report = to_json(run, gate.to_json() if gate is not None else None)
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        if gate is not None and not gate.passed:
            click.echo("\n".join(gate.lines()), err=True)
    else:
        click.echo(to_table(run, gate.lines() if gate is not None else ()))
    if gate is not None and not gate.passed:
        sys.exit(1)


def _export(config: AppConfig, out: Path, limit: int) -> None:
    from bridge.eval.drafts import DraftError, export_drafts

    try:
        count = export_drafts(config, out, limit=limit)
    except DraftError as exc:
        click.echo(f"cannot export drafts: {exc}", err=True)
        sys.exit(2)
    click.echo(f"wrote {count} draft case(s) to {out} (customer data masked)")
