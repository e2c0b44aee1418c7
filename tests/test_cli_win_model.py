"""`salesnav win-model status|retrain`: what an operator sees of the win-probability model, in Chinese."""

from __future__ import annotations

from click.testing import CliRunner

from salesnav import clock
from salesnav.cli import main
from salesnav.demo.win_history import write_history
from salesnav.models import session as db
from tests import factories as f


def test_status_before_any_model_says_the_stage_table_is_in_force(database, monkeypatch, frozen_clock):
    monkeypatch.setenv("DATABASE_URL", database)
    result = CliRunner().invoke(main, ["win-model", "status"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "还没有训练过赢单概率模型：已结商机满 60 个（赢、输各至少 10 个）后由每日 03:00 的任务训练，现按阶段赢率表计"
    )


def test_retrain_trains_a_version_and_status_lists_it_in_use(database, monkeypatch, frozen_clock):
    monkeypatch.setenv("DATABASE_URL", database)
    with db.transaction() as session:
        write_history(session, f.org(session).rep, deals=200, now=clock.now())
    runner = CliRunner()

    trained = runner.invoke(main, ["win-model", "retrain"])
    again = runner.invoke(main, ["win-model", "retrain"])
    status = runner.invoke(main, ["win-model", "status"])

    assert trained.exit_code == 0, trained.output
    assert (
        trained.output.startswith("赢单概率模型 20260302-")
        and "已训练" in trained.output
        and "已启用" in trained.output
    )
    assert "版本已存在" in again.output
    [line] = status.output.strip().splitlines()
    assert line.startswith("20260302-") and "2026-03-02 09:30  使用中" in line and "Brier" in line
