"""`salesnav battle-pack send [--date D]` (kept out of cli.py so it stays a thin shell)."""

from __future__ import annotations

from datetime import date

import click

from salesnav.cli_errors import CliError
from salesnav.settings import Settings


def send(settings: Settings, day_text: str | None) -> None:
    """Queue the battle packs of a day for reps without one; the running workers deliver them."""
    from salesnav import clock
    from salesnav.cli_delivery import describe, start
    from salesnav.jobs import battle_pack
    from salesnav.models import session as dbs

    today = clock.now().astimezone(settings.business_tz).date()
    try:
        day = date.fromisoformat(day_text) if day_text else today
    except ValueError as exc:
        raise click.BadParameter(f"日期格式应为 YYYY-MM-DD，收到 {day_text!r}", param_hint="--date") from exc
    if day > today:
        raise click.BadParameter(
            f"不能提前发送 {day.isoformat()} 的作战包（今天是 {today.isoformat()}）", param_hint="--date"
        )
    dbs.configure(settings.database_url)
    backend = start(settings)
    report = battle_pack.run(clock.now(), day, ignore_hour=True)
    if not report.sent:
        raise CliError(report.reason)
    click.echo(
        f"{report.day_text}：{report.reason}（计算 {report.computed} 份，用时 {report.seconds:.2f} 秒；"
        f"已有作战包的销售不重复发送）"
    )
    click.echo(describe(backend))
