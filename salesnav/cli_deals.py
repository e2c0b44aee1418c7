"""`salesnav deals unfreeze ID --reason TEXT --as USERID`: an operator lifts a credit freeze for a director.

Who is recorded: the member named by `--as` (a WeCom userid), who must be an active sales director or admin —
the decision to accept a customer's credit risk belongs to a person, never to "the system", so the audit entry,
the alert's resolution and the messages to rep and manager all name them (channel "cli" in the audit entry).
The command goes through the same `lift_freeze` as the chat, the deal's page and the API, and refuses what it
refuses, in Chinese.

The command only queues: the news to rep and manager is written to the outbox, and the running service sends
it (rq workers with REDIS_URL; otherwise the server's clock, within seconds). It never talks to WeCom itself.
"""

from __future__ import annotations

import click
from sqlalchemy import select

from salesnav.cli_errors import CliError
from salesnav.settings import Settings


def unfreeze(settings: Settings, opportunity_id: int, reason: str | None, userid: str | None) -> None:
    from salesnav import cli_delivery
    from salesnav.handlers.approvals import lift_freeze
    from salesnav.handlers.errors import DomainError
    from salesnav.models import User
    from salesnav.models import session as dbs

    if not (reason or "").strip():
        raise CliError("请用 --reason 写明解除冻结的理由")
    if not userid:
        raise CliError("请用 --as 指定做出决定的销售总监或管理员（企业微信账号）")
    dbs.configure(settings.database_url)
    backend = cli_delivery.start(settings)
    try:
        with dbs.transaction() as session:
            actor = session.scalars(select(User).where(User.wecom_userid == userid, User.deleted_at.is_(None))).first()
            if actor is None or not actor.active:
                raise CliError(f"找不到企业微信账号为「{userid}」的在职成员")
            lifted = lift_freeze(session, actor, opportunity_id=opportunity_id, reason=reason or "", channel="cli")
            summary = lifted.summary()
    except DomainError as exc:
        raise CliError(exc.message) from exc
    backend.drain()
    click.echo(f"{summary}\n{cli_delivery.describe(backend)}")
