"""The CLI speaks Chinese and briefly: `admin create` asks for the password in Chinese and says a short one is
too short at once; one-off commands print their answer, not pages of library INFO lines."""

from __future__ import annotations

import os
import subprocess
import sys

from click.testing import CliRunner
from sqlalchemy import select

from salesnav.cli import main
from salesnav.models import AdminAccount
from salesnav.models import session as db


def test_admin_create_asks_in_chinese_and_refuses_a_short_password_before_asking_again(database, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database)
    runner = CliRunner()
    result = runner.invoke(main, ["admin", "create", "boss"], input="short\nlong-enough-1\nlong-enough-1\n")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("密码（至少 10 位，输入时不显示）")
    assert lines[1] == "密码至少 10 位，请重新输入。"  # right after the first entry, no confirmation asked
    assert lines[2].startswith("密码（至少 10 位") and lines[3].startswith("再输入一次密码")
    assert lines[-1] == "管理员账号「boss」已创建，请在 /admin/login 登录"
    assert not any("password" in line.lower() or "Error" in line for line in lines)
    with db.transaction() as s:
        assert s.scalars(select(AdminAccount.username)).all() == ["boss"]


def test_two_different_entries_are_refused_in_chinese(database, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database)
    result = CliRunner().invoke(main, ["admin", "create", "boss"], input="long-enough-1\nlong-enough-2\n" + "x\n" * 4)
    assert result.exit_code == 1
    assert "两次输入的密码不一致，请重新输入。" in result.output
    assert result.output.splitlines()[-1] == "错误：密码输入未完成，账号没有创建"


def test_a_one_off_command_prints_its_answer_without_info_lines(tmp_path):
    """In a process of its own, as a person runs it: migrating a new database prints no library INFO lines."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}", "SALESNAV_DATA_DIR": str(tmp_path)}
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "salesnav.cli", "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert " INFO " not in done.stderr + done.stdout, done.stderr[:500]
