"""`salesnav rules run [--at]` and `salesnav rules list` (kept out of cli.py so it stays a thin shell)."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import UTC, datetime

import click

from salesnav.settings import Settings


def _parse_at(at: str) -> datetime:
    try:
        moment = datetime.fromisoformat(at)
    except ValueError as exc:
        raise click.BadParameter(f"不是 ISO-8601 时间：{at!r}", param_hint="--at") from exc
    if moment.tzinfo is None:
        raise click.BadParameter("请带上时区，例如 2026-03-05T10:00+08:00", param_hint="--at")
    return moment.astimezone(UTC)


def run(settings: Settings, at: str | None) -> None:
    """Evaluate the time rules once (as of `at`), queueing what they send; the running workers deliver it."""
    from salesnav import clock
    from salesnav.bot import outbox
    from salesnav.cli_delivery import describe, start
    from salesnav.jobs.rules import run_scan
    from salesnav.models import session as dbs

    moment = _parse_at(at) if at else None
    dbs.configure(settings.database_url)
    backend = start(settings)
    wall_clock = clock.use(clock.FrozenClock(moment)) if moment else None
    try:
        # Evaluated as of --at, but what it queues is due now: the workers live in the present.
        with outbox.due_by(wall_clock) if wall_clock else nullcontext():
            report = run_scan(clock.now())
            if not settings.redis_url:
                backend.drain()  # in-process: the rules' own jobs (PDFs, freezes) before the command exits
    finally:
        if wall_clock is not None:
            clock.use(wall_clock)
    click.echo(report.describe())
    for rule, count in sorted(report.found.items()):
        click.echo(f"  {rule}: 待处理 {count}")
    click.echo(describe(backend))


def describe(settings: Settings) -> None:
    from salesnav.handlers import rule_settings
    from salesnav.handlers.rules import registry
    from salesnav.handlers.rules.validation import SPECS
    from salesnav.models import session as dbs

    dbs.configure(settings.database_url)
    with dbs.transaction() as session:
        for rule in registry.all_rules():
            state = "开启" if rule.enabled(session) else "关闭"
            click.echo(f"{rule.code}  {rule.name}  [{state}]  触发：{rule.trigger}")
            for key in (rule.switch, *rule.settings):
                value = rule_settings.get(session, key)
                marker = "" if value == rule_settings.DEFAULTS[key] else f"（默认 {rule_settings.DEFAULTS[key]}）"
                click.echo(f"    {key} = {value}{marker}  {SPECS[key].label}")
