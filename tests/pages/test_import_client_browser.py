"""Excel 导入 in the rep's client (H5 build, headless Chromium at 390 px, the demo company): the page lists the
rep's earlier imports; a refused 确认导入 says why beside the button; the done page saves the failed-rows report;
撤销 asks first, naming what it removes, and afterwards says in the past tense what was removed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from salesnav.models import Customer, ExcelImport, Task, TaskStatus, User
from salesnav.models import session as db
from tests.bot.conftest import LiveApp
from tests.handlers.excel_import.sheets import xlsx
from tests.pages import test_h5_client_browser as h5

# The H5 journeys' fixtures (the build, the demo company served live) and their phone.
h5_build, company, phone = h5.h5_build, h5.company, h5.phone

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _rep02s_customer() -> tuple[str, str]:
    """A customer of another rep (rep02), and the name of whom a hand-over request for it goes to."""
    with db.transaction() as s:
        customer, holder = s.execute(
            select(Customer, User)
            .join(User, User.id == Customer.owner_id)
            .where(User.wecom_userid == "rep02", Customer.deleted_at.is_(None))
            .order_by(Customer.id)
        ).first()
        decider = s.get(User, holder.manager_id) if holder.manager_id else holder
        return customer.name, decider.name


def _in_view(page, locator) -> bool:
    box = locator.bounding_box()
    height = page.viewport_size["height"]
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


def test_a_rep_imports_finds_it_in_the_list_gets_the_report_and_undoes_it_knowingly(
    company: LiveApp, tmp_path: Path
) -> None:
    taken, decider = _rep02s_customer()
    sheet = xlsx(
        {
            "客户": [
                ["客户名称", "联系人", "手机", "备注"],
                ["东台市城东社区卫生服务中心", "魏主任", "13912345678", "3月1日 拜访设备科，魏主任关注维保响应"],
                ["泗阳县众兴镇卫生院", "顾科长", "号码待补", "2月26日 电话沟通预算，积极"],
                [taken, "李主任", "13700001111", "2月20日 面谈"],
            ]
        }
    )
    with phone(company, "rep01") as rep_phone:
        page = rep_phone.page
        page.goto(f"{company.base_url}/m/work/import/index")
        page.locator(".imports", has_text="还没有导入过表格").wait_for()
        with page.expect_file_chooser() as chooser:
            page.locator(".btn", has_text="选择表格").click()
        chooser.value.set_files(files=[{"name": "跟进表.xlsx", "mimeType": XLSX, "buffer": sheet}])
        confirm = page.locator(".btn", has_text="确认导入")
        confirm.wait_for()

        # The server refuses the confirmation (as when a customer picked in the preview is gone meanwhile):
        # the reason shows beside the button the rep tapped, and in a modal, not at the top of the page.
        refusal = "「嘉兴市第一医院」要匹配的客户不存在或不属于您"
        page.route(
            "**/api/v1/imports/*/commit",
            lambda route: route.fulfill(
                status=400, content_type="application/json", json={"error": "invalid", "message": refusal}
            ),
        )
        confirm.scroll_into_view_if_needed()
        confirm.click()
        modal = page.locator(".taro__modal .taro-modal__content")
        modal.wait_for()
        assert "确认导入未成功" in modal.inner_text() and refusal in modal.inner_text()
        page.wait_for_timeout(500)  # the modal's fade-in
        rep_phone.shot("import-commit-refused-modal")
        page.locator(".taro-model__confirm").click()
        modal.wait_for(state="hidden")
        beside = page.locator(".error", has_text=refusal)
        assert _in_view(page, beside) and _in_view(page, confirm)
        rep_phone.shot("import-commit-refused")
        page.unroute("**/api/v1/imports/*/commit")

        confirm.click()
        company.drain()  # the import job (rq in CI, the in-process worker locally)
        page.locator(".status", has_text="已完成").wait_for(timeout=30_000)
        assert f"已向{decider}申请转交" in page.locator("body").inner_text()
        rep_phone.shot("import-done")

        with page.expect_download() as download:
            page.locator(".btn", has_text="下载失败行报表").click()
        saved = tmp_path / "failed.csv"
        download.value.save_as(saved)
        lines = saved.read_text(encoding="utf-8-sig").splitlines()
        assert lines[0] == "工作表,行号,结果,原因" and any("号码待补" in line for line in lines)
        page.locator(".ok", has_text="已保存").wait_for()

        page.locator(".btn", has_text="撤销这次导入").click()
        modal.wait_for()
        asked = modal.inner_text()
        assert "将删除本次导入建立的客户 2 个、联系人 2 个、触点 2 条、商机 0 个" in asked, asked
        assert "尚未处理的 1 个转交申请一并取消" in asked and "撤销后不能恢复" in asked
        page.wait_for_timeout(500)
        rep_phone.shot("import-undo-asked")
        page.locator(".taro-model__confirm").click()
        done = page.locator(".undone")
        done.wait_for()
        shown = page.locator("body").inner_text()
        assert "已撤销：本次导入建立的客户 2 个、联系人 2 个、触点 2 条、商机 0 个已删除。" in done.inner_text()
        assert "这次导入发出的转交申请 1 个已取消。" in done.inner_text()
        assert "新建客户" not in shown and "申请转交，暂未写入" not in shown, shown
        assert page.locator(".btn", has_text="撤销这次导入").count() == 0
        rep_phone.shot("import-undone")

        # 更多 → Excel 导入: the import is in the list, and opens its own page.
        page.goto(f"{company.base_url}/m/work/import/index")
        item = page.locator(".import-item", has_text="跟进表.xlsx")
        item.wait_for()
        assert "已撤销" in item.inner_text() and "建立的客户 2 个" in item.inner_text()
        rep_phone.shot("import-list")
        item.click()
        page.locator(".undone").wait_for()

    with db.transaction() as s:
        (imp,) = s.scalars(select(ExcelImport)).all()
        (task,) = s.scalars(select(Task).where(Task.origin == f"excel_import:{imp.id}")).all()
        assert task.status is TaskStatus.CANCELLED
