"""The `salesnav` command: serve, db upgrade, seed-demo, worker, clock."""

from __future__ import annotations

import logging
import sys

import click

from salesnav.cli_errors import CliError
from salesnav.settings import Settings, SettingsError


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(f"配置错误 / bad setting: {exc}") from exc


LONG_RUNNING = ("serve", "worker", "clock")  # processes whose log is their output; every other command is quiet


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """销售导航仪 SalesNav."""
    # A one-off command prints its own short answer; its libraries' INFO lines (wechatpy's 「Fetching access
    # token」 per call, migrations) would bury it. The long-running processes keep INFO.
    level = logging.INFO if ctx.invoked_subcommand in LONG_RUNNING else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # A line per clock tick every few seconds drowns everything else.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Every command (worker and clock included) speaks through the same channels; imported here so that
    # `import salesnav.cli` and `--help` stay quick (the adapters load the chat and its engines).
    from salesnav.adapters import register_adapters

    register_adapters()


@main.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply Alembic migrations up to head."""
    from salesnav.models import migrate

    settings = _settings()
    migrate.upgrade(settings.database_url)
    click.echo("数据库已迁移到最新版本")


@main.command("seed-demo")
@click.option("--seed", default=20261127, show_default=True, help="Random seed (the demo is deterministic).")
@click.option("--force", is_flag=True, help="Seed even if the database already holds users.")
def seed_demo(seed: int, force: bool) -> None:
    """Load the article's demo company (186 staff, 53 reps, six months of activity)."""
    from salesnav.demo import seed as demo
    from salesnav.models import migrate
    from salesnav.models import session as dbs

    settings = _settings()
    migrate.upgrade(settings.database_url)
    dbs.configure(settings.database_url)
    try:
        summary = demo.seed_if_empty(seed=seed) if not force else demo.seed(seed=seed)
    except demo.DemoSeedError as exc:
        raise CliError(str(exc)) from exc
    click.echo(summary.describe() if summary else "数据库已有数据，跳过演示数据（用 --force 强制）")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--no-demo", is_flag=True, help="Do not load demo data into an empty database.")
def serve(host: str, no_demo: bool) -> None:
    """Embedded all-in-one: migrations, demo data, web, in-process worker and clock."""
    from waitress import serve as waitress_serve

    from salesnav import media_pool
    from salesnav.app import create_app
    from salesnav.handlers.stages import ensure_default_stages
    from salesnav.jobs import clock as jobs_clock
    from salesnav.models import migrate
    from salesnav.models import session as dbs

    settings = _settings()
    migrate.upgrade(settings.database_url)
    app = create_app(settings)  # configures the process (salesnav/wiring.py)
    if not no_demo:
        from salesnav.demo import seed as demo

        summary = demo.seed_if_empty()
        if summary:
            click.echo(summary.describe())
    with dbs.transaction() as session:
        ensure_default_stages(session)
    jobs_clock.start_background(settings.redis_url)
    media_pool.start(settings)  # speech and OCR side by side, in processes (salesnav/media_pool.py)
    base = f"http://{host}:{settings.port}"
    click.echo(f"销售导航仪已启动: {base}/  健康检查: {base}/healthz")
    waitress_serve(app, host=host, port=settings.port, threads=8, ident="salesnav")


@main.command()
@click.option("--burst", is_flag=True, help="Run what is queued, then exit.")
@click.option(
    "--queues",
    default="",
    help="Comma-separated queues to work, in priority order (default: all). The Procfile runs one worker for "
    "the quick queues and one for media and reports, so an alert never waits behind an import.",
)
def worker(burst: bool, queues: str) -> None:
    """The rq worker (production; needs REDIS_URL): jobs run in this process (no fork per job), and it outlives
    Redis outages (salesnav/jobs/worker.py)."""
    from salesnav.jobs import worker as jobs_worker
    from salesnav.jobs.queue import QUEUES
    from salesnav.wiring import configure_process

    names = [n.strip() for n in queues.split(",") if n.strip()] or list(QUEUES)
    unknown = [n for n in names if n not in QUEUES]
    if unknown:
        raise CliError(f"未知的队列：{'、'.join(unknown)}；可用的队列：{'、'.join(QUEUES)}")
    settings = _settings()
    if not settings.redis_url:
        raise CliError("worker 需要 REDIS_URL；嵌入式默认模式下任务在 serve 进程内运行")
    configure_process(settings, "worker")
    if "media" in names and not burst:
        from salesnav import media_pool

        media_pool.start(settings)
    jobs_worker.run(settings.redis_url, names, burst=burst)


@main.command("clock")
def clock_cmd() -> None:
    """The clock process: fires periodic jobs; a Redis lock makes only one clock fire."""
    from salesnav.jobs import clock as jobs_clock
    from salesnav.wiring import configure_process

    settings = _settings()
    if not settings.redis_url:
        raise CliError("clock 需要 REDIS_URL；嵌入式默认模式下时钟在 serve 进程内运行")
    configure_process(settings, "clock")
    jobs_clock.run_forever(settings.redis_url)


@main.group()
def wecom() -> None:
    """WeCom channel commands."""


@wecom.command("push-menu")
@click.option(
    "--file",
    "menu_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Menu JSON (default: salesnav/bot/menu.json).",
)
def wecom_push_menu(menu_file: str | None) -> None:
    """Push the app menu (记触点 / 建商机 / 今日作战包 / 我的待办) via WeCom menu/create."""
    from pathlib import Path

    from salesnav.bot import client as wecom_client
    from salesnav.bot.client import WeComError
    from salesnav.bot.menu import MENU_FILE, menu_keys, push_menu

    wecom_client.configure(_settings())
    try:
        menu = push_menu(Path(menu_file) if menu_file else MENU_FILE)
    except WeComError as exc:
        raise CliError(f"菜单推送失败 / menu/create failed: {exc}") from exc
    click.echo(f"菜单已推送：{', '.join(menu_keys(menu))}")


@wecom.command("reprocess")
@click.argument("inbound_id", type=int)
def wecom_reprocess(inbound_id: int) -> None:
    """Queue a failed inbound WeCom message for processing again."""
    from salesnav.bot import inbound
    from salesnav.cli_delivery import describe, start
    from salesnav.models import session as dbs

    settings = _settings()
    dbs.configure(settings.database_url)
    backend = start(settings)
    try:
        outcome = inbound.reprocess(inbound_id)
    except LookupError as exc:
        raise CliError(f"找不到该消息 / {exc}") from exc
    if not outcome.queued:
        click.echo(outcome.message)
        return
    if not settings.redis_url:  # embedded mode: process it here; its replies are the running server's to send
        backend.drain()
        click.echo(outcome.message.replace("排队处理", "处理"))
    else:
        click.echo(f"{outcome.message}，由运行中的 worker 进程处理")
    click.echo(describe(backend))


@main.group()
def metrics() -> None:
    """Level 1's maintained aggregates (salesnav/metrics/aggregates.py)."""


@metrics.command("rebuild")
def metrics_rebuild() -> None:
    """Recompute every day × rep cell from the records (after an upgrade; the clock does it by itself too)."""
    import time

    from salesnav import clock
    from salesnav.metrics import aggregates
    from salesnav.models import session as dbs

    settings = _settings()
    dbs.configure(settings.database_url)
    started = time.perf_counter()
    with dbs.transaction() as session:
        cells = aggregates.rebuild(session, clock.now(), settings.business_tz)
    click.echo(f"一级看板汇总已重建：{cells} 个（日 × 销售）单元，用时 {time.perf_counter() - started:.1f} 秒")


@metrics.command("verify")
def metrics_verify() -> None:
    """Fold in pending changes, then compare every kept cell with the same cell computed from the records."""
    from salesnav import clock
    from salesnav.metrics import aggregates
    from salesnav.models import session as dbs

    settings = _settings()
    dbs.configure(settings.database_url)
    with dbs.transaction() as session:
        aggregates.refresh(session, clock.now(), settings.business_tz)
        off = aggregates.verify(session, settings.business_tz)
        firsts = aggregates.verify_first_touches(session)
    for m in off[:20]:
        click.echo(f"{m.day} 销售 {m.rep_id}：汇总 {m.kept}，按记录 {m.computed}")
    for customer_id, kept, computed in firsts[:20]:
        click.echo(f"客户 {customer_id} 首次触点：汇总 {kept}，按记录 {computed}")
    if off or firsts:
        raise click.ClickException(
            f"{len(off)} 个单元、{len(firsts)} 个客户首次触点与记录不符：请运行 salesnav metrics rebuild"
        )
    click.echo("一级看板汇总与记录一致")


@main.group()
def rules() -> None:
    """The automation rules (docs/product.md)."""


@rules.command("run")
@click.option("--at", "at", default=None, help="Evaluate as of this moment (ISO-8601, e.g. 2026-03-05T10:00+08:00).")
def rules_run(at: str | None) -> None:
    """Evaluate the time rules once, now or as of --at; what they send is queued for the running workers."""
    from salesnav.cli_rules import run

    run(_settings(), at)


@rules.command("list")
def rules_list() -> None:
    """Show the rules, their triggers, switches and settings."""
    from salesnav.cli_rules import describe

    describe(_settings())


@main.group()
def deals() -> None:
    """Opportunities (商机)."""


@deals.command("unfreeze")
@click.argument("opportunity_id", type=int)
@click.option("--reason", default=None, help="Why the freeze is lifted (required; audited, sent to rep and manager).")
@click.option(
    "--as",
    "userid",
    default=None,
    help="WeCom userid of the sales director or admin whose decision this is (required; recorded as the actor).",
)
def deals_unfreeze(opportunity_id: int, reason: str | None, userid: str | None) -> None:
    """Lift a deal's credit freeze (大单信用校验) for a director or admin, with a reason; only queues the news."""
    from salesnav.cli_deals import unfreeze

    unfreeze(_settings(), opportunity_id, reason, userid)


@main.group("battle-pack")
def battle_pack() -> None:
    """今日作战包: the 10:00 pack of every active rep (docs/product.md)."""


@battle_pack.command("send")
@click.option("--date", "day", default=None, help="Business day YYYY-MM-DD (default: today).")
def battle_pack_send(day: str | None) -> None:
    """Queue the battle packs of a day now, once per rep (also before the configured hour); the running workers
    send them."""
    from salesnav.cli_battle_pack import send

    send(_settings(), day)


@main.group("win-model")
def win_model() -> None:
    """赢单概率: the model learned from the company's closed deals (docs/win-probability.md)."""


@win_model.command("retrain")
def win_model_retrain() -> None:
    """Train a version now (as the 03:00 job does); it is used only if it beats the stage table."""
    from salesnav.cli_win_model import retrain

    retrain(_settings())


@win_model.command("status")
@click.option("--last", default=5, show_default=True, help="How many versions to list, newest first.")
def win_model_status(last: int) -> None:
    """The versions with their held-out figures, and which one is in use."""
    from salesnav.cli_win_model import status

    status(_settings(), last)


@main.group()
def admin() -> None:
    """The admin config page (/admin)."""


@admin.command("create")
@click.argument("username")
@click.option("--userid", default=None, help="Bind to this WeCom member (made an admin) instead of a local user.")
def admin_create(username: str, userid: str | None) -> None:
    """Create a bootstrap admin account who signs in at /admin/login with a password (prompted, never echoed)."""
    from salesnav.handlers.admin.accounts import MIN_PASSWORD, create_account
    from salesnav.handlers.errors import DomainError
    from salesnav.models import migrate
    from salesnav.models import session as dbs

    password = _ask_password(MIN_PASSWORD)
    settings = _settings()
    migrate.upgrade(settings.database_url)
    dbs.configure(settings.database_url)
    try:
        with dbs.transaction() as session:
            create_account(session, username, password, wecom_userid=userid)
    except DomainError as exc:
        raise CliError(exc.message) from exc
    click.echo(f"管理员账号「{username}」已创建，请在 /admin/login 登录")


def _ask_password(min_length: int, attempts: int = 3) -> str:
    """The password, asked in Chinese; too short is said right after the first entry, not after both."""
    for _ in range(attempts):
        password = click.prompt(
            f"密码（至少 {min_length} 位，输入时不显示）", hide_input=True, default="", show_default=False
        )
        if len(password) < min_length:
            click.echo(f"密码至少 {min_length} 位，请重新输入。", err=True)
            continue
        if click.prompt("再输入一次密码", hide_input=True, default="", show_default=False) != password:
            click.echo("两次输入的密码不一致，请重新输入。", err=True)
            continue
        return password
    raise CliError("密码输入未完成，账号没有创建")


@main.command("import-excel")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--owner", required=True, help="WeCom userid of the rep the rows become customers of.")
@click.option("--dry-run", is_flag=True, help="Show what would be imported; write nothing.")
@click.option(
    "--match",
    "matches",
    multiple=True,
    metavar="客户名称=决定",
    help="A preview decision, repeatable: 名称=<customer id> or =new (a near miss); for another rep's customer "
    "=log (log the rows under it), =handover (ask for it, the default) or =skip; for a spelling merged into "
    "another row =split (keep it a customer of its own).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the preview / the result as JSON.")
def import_excel(file: str, owner: str, dry_run: bool, matches: tuple[str, ...], as_json: bool) -> None:
    """Excel one-click migration: a rep's .xlsx / .xls / .csv becomes customers, touchpoints and deals."""
    import json
    from pathlib import Path

    from sqlalchemy import select

    from salesnav.cli_delivery import describe, start
    from salesnav.cli_import import describe_plan, describe_result
    from salesnav.handlers.errors import DomainError
    from salesnav.handlers.excel_import import commit
    from salesnav.models import ExcelImport, User
    from salesnav.models import session as dbs

    decisions: dict[str, object] = {}
    for item in matches:
        name, sep, decision = item.rpartition("=")
        if not sep or not name.strip() or not decision.strip():
            raise click.ClickException(
                f"--match「{item}」格式应为 客户名称=决定（客户id、new、log、handover、skip 或 split）"
            )
        decisions[name.strip()] = int(decision) if decision.strip().isdigit() else decision.strip()
    corrections = {"matches": decisions} if decisions else None
    settings = _settings()
    dbs.configure(settings.database_url)
    backend = start(settings)  # the import runs here; the messages it causes are the running workers' to send
    data = Path(file).read_bytes()
    name = Path(file).name
    try:
        with dbs.transaction() as session:
            user = session.scalars(select(User).where(User.wecom_userid == owner, User.deleted_at.is_(None))).first()
            if user is None:
                raise CliError(f"找不到用户 {owner}")
            if dry_run:
                plan = commit.preview(
                    session,
                    user,
                    owner=user,
                    data=data,
                    filename=name,
                    tz=settings.business_tz,
                    corrections=corrections,
                )
                if as_json:
                    click.echo(json.dumps(plan.to_json(), ensure_ascii=False, indent=2))
                else:
                    click.echo(describe_plan(name, plan))
                    click.echo("（预览，未写入任何数据）")
                return
            imp, _ = commit.start_import(
                session,
                user,
                owner=user,
                data=data,
                filename=name,
                root=settings.data_dir,
                tz=settings.business_tz,
                channel="cli",
            )
            import_id = imp.id
        with dbs.transaction() as session:
            user = session.get(User, imp.owner_id)
            assert user is not None  # the import was made for this owner a moment ago
            commit.commit_import(
                session,
                user,
                import_id=import_id,
                root=settings.data_dir,
                tz=settings.business_tz,
                corrections=corrections,
            )
        backend.drain()
        with dbs.transaction() as session:
            done = session.get(ExcelImport, import_id)
            assert done is not None
            click.echo(
                json.dumps(commit.progress(done), ensure_ascii=False, indent=2) if as_json else describe_result(done)
            )
        click.echo(describe(backend), err=True)  # stdout stays the result above
    except DomainError as exc:
        raise CliError(exc.message) from exc


if __name__ == "__main__":
    sys.exit(main())


@main.command("openapi")
@click.option("--out", "out", type=click.Path(dir_okay=False), default="-", help="写入的文件（默认标准输出）")
def openapi(out: str) -> None:
    """Print the API's OpenAPI document (/api/v1/openapi.json) without starting a server."""
    import json

    from salesnav.app import create_app

    app = create_app(_settings())
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    text = json.dumps(spec, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    if out == "-":
        click.echo(text, nl=False)
    else:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text)
