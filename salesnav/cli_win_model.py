"""`salesnav win-model retrain` and `salesnav win-model status`: the win-probability model for operators.

`retrain` runs what the clock runs at 03:00 (salesnav/handlers/win_probability.py `retrain`), at once: a new
version if the closed deals changed since the last one today, used only if it beats the stage table on the
newer closes. `status` lists the versions with their held-out figures and which one is in use.
"""

from __future__ import annotations

import click
from sqlalchemy import select

from salesnav import clock
from salesnav.handlers import win_probability
from salesnav.models import WinModel
from salesnav.models import session as dbs
from salesnav.settings import Settings


def retrain(settings: Settings) -> None:
    dbs.configure(settings.database_url)
    now = clock.now()
    with dbs.transaction() as session:
        training = win_probability.retrain(session, now, now.astimezone(settings.business_tz).strftime("%Y%m%d"))
        click.echo(training.describe())


def status(settings: Settings, last: int) -> None:
    dbs.configure(settings.database_url)
    with dbs.transaction() as session:
        models = list(session.scalars(select(WinModel).order_by(WinModel.id.desc()).limit(last)))
        if not models:
            click.echo(
                f"还没有训练过赢单概率模型：已结商机满 {win_probability.MIN_CLOSED} 个"
                f"（赢、输各至少 {win_probability.MIN_EACH} 个）后由每日 03:00 的任务训练，现按阶段赢率表计"
            )
            return
        tz = settings.business_tz
        for m in models:
            figures = m.metrics
            judged = (
                f"较新 {figures['test_deals']} 个已结商机上 Brier {figures['brier']:.3f}"
                f"（阶段表 {figures['brier_stage_table']:.3f}），AUC {figures['auc'] or 0:.3f}"
                f"（阶段表 {figures['auc_stage_table'] or 0:.3f}）"
                if figures.get("evaluated")
                else "较新的已结商机不足以评估"
            )
            state = "使用中" if m.in_use else "未使用"
            click.echo(
                f"{m.version}  {m.trained_at.astimezone(tz):%Y-%m-%d %H:%M}  {state}  "
                f"{figures.get('closed_deals', 0)} 个已结商机；{judged}"
            )
