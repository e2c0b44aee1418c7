"""`salesnav import-excel FILE --owner USERID`: a few Chinese lines a person reads; the JSON behind --json;
preview decisions with --match."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from salesnav.cli import main
from salesnav.models import Customer, Touchpoint
from salesnav.models import session as db
from tests import factories as f
from tests.handlers.excel_import import sheets


@pytest.fixture
def sheet(session, frozen_clock, database, settings, tmp_path, monkeypatch):
    org = f.org(session)
    taken = f.customer(session, org.other_rep, name="常州市妇幼保健院")
    session.commit()
    path = tmp_path / "跟进表.xlsx"
    path.write_bytes(sheets.follow_up_sheet())
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("REDIS_URL", "")
    monkeypatch.setenv("SALESNAV_DATA_DIR", str(tmp_path / "data"))
    return path, taken


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["import-excel", *args])


def test_a_dry_run_prints_the_preview_in_chinese_and_writes_nothing(sheet):
    path, _ = sheet
    result = run(str(path), "--owner", "rep01", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "「跟进表.xlsx」（按文件日期 2025-12-20 推算日期）共 6 行：新客户 4，已有客户 0，触点 11，商机 3",
        "同一客户（已合并）：",
        "  跟进表 第5行「常州第一人民医院」并入第4行「常州第一人民医院（本部）」"
        "（名称相同（去掉分院/括号/有限公司等写法差异后））；分开用 --match 常州第一人民医院=split",
        "其他同事的客户（不会重复建档）：",
        "  「常州市妇幼保健院」归属周销售（第7行）：默认申请转交、暂不写入；"
        "记在其名下用 --match 常州市妇幼保健院=log，不导入用 --match 常州市妇幼保健院=skip",
        "提示：",
        "  跟进表 第4行 阶段为「方案演示」，但无法推进到「方案演示」：途经阶段的检查清单未完成——"
        "「需求确认」缺 客户需求记录；「方案演示」缺 演示PPT、客户问题清单、内部资源协调记录；"
        "商机停在「初步接触」，补齐后可在客户端的商机推进卡上推进",
        "  跟进表 第6行 「小计」是汇总行，已跳过（不作为客户导入）",
        "  跟进表 第8行 电话「1381234567」不是有效的手机或座机号码，未存为联系电话；原文记在联系人的职务中",
        "  跟进表 第8行 推断阶段为「商务谈判」，但无法推进到「商务谈判」：途经阶段的检查清单未完成——"
        "「需求确认」缺 客户需求记录；「方案演示」缺 演示PPT、客户问题清单、内部资源协调记录；"
        "「样品测试」缺 样品申请单；「商务谈判」缺 报价单；"
        "商机停在「初步接触」，补齐后可在客户端的商机推进卡上推进",
        "  跟进表 第9行 备注「展会认识，留了名片」没有日期，按上方各行的日期记为 2025-12-19（推测）",
        "  老客户2025 第3行 「合计」是汇总行，已跳过（不作为客户导入）",
        "（预览，未写入任何数据）",
    ]
    with db.transaction() as s:
        assert s.scalars(select(Touchpoint)).all() == []


def test_the_import_prints_what_it_did_and_json_on_request(sheet):
    path, taken = sheet
    result = run(str(path), "--owner", "rep01", "--match", "常州市妇幼保健院=log", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["status"] == "done" and body["errors"] == []
    assert body["counts"] == {"customers": 4, "contacts": 4, "touchpoints": 12, "opportunities": 3, "failed": 0}
    with db.transaction() as s:
        assert len(s.scalars(select(Touchpoint).where(Touchpoint.customer_id == taken.id)).all()) == 1
        assert len(s.scalars(select(Customer).where(Customer.name == "常州市妇幼保健院")).all()) == 1


def test_the_human_result_names_what_was_left_out(sheet):
    path, _ = sheet
    result = run(str(path), "--owner", "rep01")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("「跟进表.xlsx」导入完成（导入编号 ")
    # 提示: the four notes of the preview (two of them skipped subtotal rows), and two deals held at 初步接触
    # by their stages' checklists.
    assert lines[0].endswith("新建客户 4，联系人 4，触点 11，商机 3；未导入 1 行，提示 6 条")
    assert lines[1:3] == ["未导入：", "  跟进表 第7行 客户「常州市妇幼保健院」归属周销售，已向钱主管申请转交，暂未写入"]


def test_a_bad_match_option_is_refused_in_chinese(sheet):
    path, _ = sheet
    result = run(str(path), "--owner", "rep01", "--match", "常州市妇幼保健院")
    assert result.exit_code != 0
    assert "格式应为 客户名称=决定" in result.output


def test_a_merged_spelling_split_on_the_command_line_is_a_customer_of_its_own(sheet):
    path, _ = sheet
    result = run(str(path), "--owner", "rep01", "--dry-run", "--match", "常州第一人民医院=split")
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.endswith("共 6 行：新客户 5，已有客户 0，触点 11，商机 3")
    assert "同一客户（已合并）：" not in result.output
