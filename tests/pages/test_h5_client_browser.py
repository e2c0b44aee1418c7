"""The rep's client (miniprogram/, H5 build under /m/) in headless Chromium at 390×844 against the real backend
with the demo company (`make run` data): each journey is driven by taps and typing as a person would, then
checked in the database. Screenshots go to $CLIENT_SHOTS (default /tmp/client-shots) to be looked at.

The H5 build is made by `make client-h5` at the start of the session when it is missing or stale (CI's
`make client-ci` has usually built it already, so this is a no-op there).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from PIL import Image
from playwright.sync_api import Locator, Page, sync_playwright
from pyzbar.pyzbar import decode as decode_qr
from reportlab.pdfgen import canvas
from sqlalchemy import func, select

from salesnav import clock
from salesnav.demo import seed as demo
from salesnav.handlers.stages import ensure_default_stages
from salesnav.models import (
    Alert,
    AlertState,
    Annotation,
    Attachment,
    CaptureSource,
    ChecklistEvidence,
    ChecklistItem,
    CollaborationTicket,
    Contact,
    Customer,
    DecisionRole,
    Department,
    DepartmentKind,
    Opportunity,
    OpportunityStatus,
    Payment,
    Receivable,
    Role,
    Stage,
    StageTransition,
    TicketPart,
    Touchpoint,
    User,
)
from salesnav.models import session as db
from salesnav.ocr.samples import SampleInvoice, invoice_jpeg
from tests.bot.conftest import LiveApp
from tests.handlers.journeys.rows import ACTIVE, COMPLETED, DONE, OPEN, Run, enrol, journey

PROJECT_ROOT = Path(__file__).resolve().parents[2]
H5_INDEX = PROJECT_ROOT / "miniprogram" / "dist" / "h5" / "index.html"
SHOTS = Path(os.environ.get("CLIENT_SHOTS", "/tmp/client-shots"))
PHONE = {"width": 390, "height": 844}
MAX_TAPS_FOR_A_TOUCHPOINT = 6


@pytest.fixture(scope="session")
def h5_build() -> Path:
    """The H5 build, made (or remade when stale) by the Makefile: a missing build fails, it never skips."""
    subprocess.run(["make", "--no-print-directory", "client-h5"], cwd=PROJECT_ROOT, check=True)
    assert H5_INDEX.is_file()
    return H5_INDEX


@pytest.fixture
def company(today_clock: clock.FrozenClock, live_pages: LiveApp, h5_build: Path) -> LiveApp:
    """The demo company `make run` starts with, in the test database, served by the live app."""
    demo.seed(attachments_root=live_pages.settings.attachments_dir)
    with db.transaction() as s:
        ensure_default_stages(s)
    return live_pages


# An API code or field key on screen (merged_rows, expert_live, stage_table) instead of its Chinese label.
CODE_WORD = re.compile(r"\b[a-z]+_[a-z_]+\b")


@dataclass
class Phone:
    page: Page
    taps: int = 0

    def tap(self, target: Locator) -> None:
        target.click()
        self.taps += 1

    def type_into(self, field: Locator, text: str) -> None:
        """A tap on the field, then the keyboard."""
        self.tap(field)
        field.fill(text)

    def shot(self, name: str) -> Path:
        """A screenshot to look at; and what the screen says holds no programmer's word (a code, a field key)."""
        shown = self.page.locator("body").inner_text()
        assert not CODE_WORD.search(shown), CODE_WORD.findall(shown)
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@contextmanager
def phone(app: LiveApp, userid: str) -> Iterator[Phone]:
    """A 390×844 phone whose WeCom browser has signed in (the emulator's member pick stands for WeCom OAuth)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        try:
            context = browser.new_context(
                viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai"
            )
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(app.base_url + "/m/")
            page.locator(f'[data-userid="{userid}"]').first.click()  # the emulator's authorize page
            page.wait_for_url(re.compile(r"/m/pages/today/index"))
            page.locator(".todo, .empty, .card").first.wait_for()
            yield Phone(page)
            assert not errors, errors
        finally:
            browser.close()


def _token(app: LiveApp, userid: str) -> dict[str, str]:
    answer = requests.post(app.base_url + "/api/v1/auth/login", json={"code": f"dev-{userid}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return {"Authorization": "Bearer " + answer.json()["token"]}


def _pdf(title: str) -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, title)
    page.save()
    return out.getvalue()


def test_a_rep_logs_an_effective_touchpoint_from_a_scanned_qr_code_in_six_taps(company: LiveApp) -> None:
    with db.transaction() as s:
        rep = s.scalars(select(User).where(User.wecom_userid == "rep01")).one()
        customer = s.scalars(
            select(Customer)
            .where(Customer.owner_id == rep.id, Customer.id.in_(select(Contact.customer_id)))
            .order_by(Customer.id)
        ).first()
        assert customer is not None
        customer_id, customer_name = customer.id, customer.name
        before = s.scalar(select(func.count()).select_from(Touchpoint).where(Touchpoint.customer_id == customer_id))

    made = requests.post(
        company.base_url + "/api/v1/qrcodes",
        headers=_token(company, "rep01"),
        json={"kind": "touchpoint", "customer_id": customer_id},
        timeout=10,
    )
    assert made.status_code == 201 and made.headers["Content-Type"] == "image/png"
    (code,) = decode_qr(Image.open(io.BytesIO(made.content)))
    link = code.data.decode()
    assert link == f"{company.base_url}/m/pages/scan/index?scene={made.headers['X-Scene']}"  # WeCom's scanner opens it

    with phone(company, "rep01") as rep_phone:
        page = rep_phone.page
        page.goto(link)  # the scan
        form = page.locator(".touchpoint-form")
        form.wait_for()
        assert form.locator(".card-title").inner_text() == customer_name
        rep_phone.tap(form.locator(".chip.contact").first)
        rep_phone.type_into(form.locator(".summary textarea"), "设备科确认预算，关注维保响应时间")
        rep_phone.type_into(form.locator(".next-action input"), "送样品并约设备科演示")
        rep_phone.tap(form.locator(".chip", has_text="明天"))
        rep_phone.shot("touchpoint-form")
        rep_phone.tap(page.locator(".btn", has_text="提交"))
        page.locator(".saved").wait_for()
        assert "有效触点" in page.locator(".saved").inner_text()
        rep_phone.shot("touchpoint-saved")
        assert rep_phone.taps <= MAX_TAPS_FOR_A_TOUCHPOINT, rep_phone.taps

    with db.transaction() as s:
        touchpoints = s.scalars(
            select(Touchpoint).where(Touchpoint.customer_id == customer_id).order_by(Touchpoint.id.desc())
        ).all()
        assert len(touchpoints) == before + 1
        logged = touchpoints[0]
        assert logged.source is CaptureSource.MINIPROGRAM and logged.rep_id == rep.id
        assert logged.contacts and logged.next_action == "送样品并约设备科演示"
        assert logged.next_action_due is not None and logged.is_effective
        assert logged.summary == "设备科确认预算，关注维保响应时间"
        assert logged.form_opened_at is not None  # the entry-time metric covers the client's forms


def test_a_rep_advances_a_deal_with_the_file_item_uploaded_in_place(company: LiveApp) -> None:
    deal_id, owner = _deal_at("solution_demo")
    with db.transaction() as s:
        item_id = s.scalars(
            select(ChecklistItem.id)
            .join(Stage, Stage.id == ChecklistItem.stage_id)
            .where(Stage.code == "sample_test", ChecklistItem.name == "样品申请单")
        ).one()

    with phone(company, owner) as rep_phone:
        page = rep_phone.page
        page.goto(f"{company.base_url}/m/pages/deal/index?id={deal_id}")
        card = page.locator(".advance")
        card.wait_for()
        assert "「样品测试」检查清单" in card.inner_text()
        # No model trained in the demo yet: the deal card shows the stage table's figure, and says so.
        win = page.locator(".win-probability")
        win.wait_for()
        assert win.inner_text().startswith("赢单概率 40%") and "按阶段赢率表计" in win.inner_text()
        refused_without = page.locator(".btn", has_text="推进到「样品测试」")
        refused_without.click()
        page.locator(".error").wait_for()
        assert "样品申请单" in page.locator(".advance").inner_text()  # what is missing, named
        with page.expect_file_chooser() as chooser:
            card.locator('.check[data-item="样品申请单"] .upload').click()
        chooser.value.set_files(
            files=[{"name": "样品申请单.pdf", "mimeType": "application/pdf", "buffer": _pdf("Sample request")}]
        )
        page.locator(".upload.on").wait_for()
        rep_phone.shot("deal-file-uploaded")
        page.locator(".btn", has_text="推进到「样品测试」").click()
        page.locator(".ok", has_text="已推进到「样品测试」").wait_for()
        page.locator(".win-probability", has_text="赢单概率 60%").wait_for()  # the new stage's figure
        rep_phone.shot("deal-advanced")

    with db.transaction() as s:
        deal = s.get(Opportunity, deal_id)
        assert deal.stage.code == "sample_test"
        transition = s.scalars(
            select(StageTransition).where(StageTransition.opportunity_id == deal_id).order_by(StageTransition.id.desc())
        ).first()
        assert transition.to_stage.code == "sample_test" and transition.checklist_complete
        evidence = s.scalars(
            select(ChecklistEvidence).where(
                ChecklistEvidence.opportunity_id == deal_id, ChecklistEvidence.checklist_item_id == item_id
            )
        ).one()
        attachment = s.get(Attachment, evidence.attachment_id)
        assert attachment.content_type == "application/pdf" and attachment.filename == "样品申请单.pdf"
        assert s.scalar(select(CollaborationTicket.id).where(CollaborationTicket.opportunity_id == deal_id))


def _deal_at(stage_code: str) -> tuple[int, str]:
    """An open, unfrozen deal of a rep at the given stage in the demo company: (its id, its owner's userid)."""
    with db.transaction() as s:
        deal = s.scalars(
            select(Opportunity)
            .join(Stage, Stage.id == Opportunity.stage_id)
            .join(User, User.id == Opportunity.owner_id)
            .where(
                Stage.code == stage_code,
                Opportunity.status == OpportunityStatus.OPEN,
                User.role == Role.REP,
                Opportunity.approval_frozen.is_(False),
            )
            .order_by(Opportunity.id)
        ).first()
        assert deal is not None, f"the demo company has a deal at {stage_code}"
        return deal.id, deal.owner.wecom_userid


def test_a_rep_is_not_offered_a_marketing_part_and_is_refused_when_answering_it(company: LiveApp) -> None:
    deal_id, owner = _deal_at("solution_demo")
    rep = _token(company, owner)
    uploaded = requests.post(
        company.base_url + "/api/v1/attachments",
        headers=rep,
        files={"file": ("样品申请单.pdf", _pdf("Sample request"), "application/pdf")},
        timeout=10,
    )
    assert uploaded.status_code == 201, uploaded.text
    with db.transaction() as s:
        item_id = s.scalars(
            select(ChecklistItem.id)
            .join(Stage, Stage.id == ChecklistItem.stage_id)
            .where(Stage.code == "sample_test", ChecklistItem.name == "样品申请单")
        ).one()
    advanced = requests.post(
        f"{company.base_url}/api/v1/opportunities/{deal_id}/advance",
        headers=rep,
        json={
            "to_stage": "样品测试",
            "evidence": [{"checklist_item_id": item_id, "attachment_id": uploaded.json()["id"]}],
        },
        timeout=10,
    )
    assert advanced.status_code == 200, advanced.text  # 样品测试 opens a ticket with marketing and delivery parts
    with db.transaction() as s:
        part = s.scalars(
            select(TicketPart)
            .join(Department, Department.id == TicketPart.department_id)
            .join(CollaborationTicket, CollaborationTicket.id == TicketPart.ticket_id)
            .where(CollaborationTicket.opportunity_id == deal_id, Department.kind == DepartmentKind.MARKETING)
        ).one()
        part_id, ticket_id = part.id, part.ticket_id

    with phone(company, owner) as rep_phone:
        page = rep_phone.page
        page.goto(f"{company.base_url}/m/work/ticket/index?id={ticket_id}")
        page.locator(".part").first.wait_for()
        assert (
            "市场部" in page.locator(".card").first.inner_text()
            and "待响应" in page.locator(".card").first.inner_text()
        )
        assert page.locator(".chip.answer").count() == 0  # nothing to answer for a rep
        rep_phone.shot("ticket-rep")

    refused = requests.post(
        f"{company.base_url}/api/v1/ticket-parts/{part_id}/answer",
        headers=_token(company, owner),
        json={"text": "白皮书见附件"},
        timeout=10,
    )
    assert refused.status_code == 404 and refused.json()["message"] == "协同单不存在或不属于您的部门"
    with db.transaction() as s:
        part = s.get(TicketPart, part_id)
        assert part.closed_at is None and part.first_response_at is None and not part.response_text


def test_a_rep_confirms_an_invoice_payment_from_a_photo(company: LiveApp) -> None:
    with db.transaction() as s:
        rep = s.scalars(select(User).where(User.wecom_userid == "rep01")).one()
        customer = s.scalars(select(Customer).where(Customer.owner_id == rep.id).order_by(Customer.id)).first()
        receivable = Receivable(
            customer_id=customer.id, amount_fen=1_400_000, due_date=clock.now().date() + timedelta(days=30)
        )
        s.add(receivable)
        s.flush()
        receivable_id, buyer = receivable.id, customer.name
    photo = invoice_jpeg(replace(SampleInvoice(), buyer=buyer, date=date(2026, 3, 5)))

    with phone(company, "rep01") as rep_phone:
        page = rep_phone.page
        page.goto(f"{company.base_url}/m/work/invoice/index")
        with page.expect_file_chooser() as chooser:
            page.locator(".btn", has_text="拍发票照片").click()
        chooser.value.set_files(files=[{"name": "发票.jpg", "mimeType": "image/jpeg", "buffer": photo}])
        fields = page.locator(".invoice-fields")
        fields.wait_for(timeout=60_000)  # the offline OCR engine loads on first use
        assert fields.locator(".field-number input").input_value() == "08523671"
        assert fields.locator(".field-total_fen input").input_value() == "14000.00"
        assert buyer in fields.locator(".chip.on").inner_text()  # the matching receivable, preselected
        rep_phone.shot("invoice-read")
        page.locator(".btn", has_text="确认回款").click()
        page.locator(".paid").wait_for()
        assert "已登记回款" in page.locator(".paid").inner_text()
        rep_phone.shot("invoice-paid")

    with db.transaction() as s:
        payment = s.scalars(select(Payment).where(Payment.receivable_id == receivable_id)).one()
        assert (payment.amount_fen, payment.invoice_no) == (1_400_000, "08523671")
        assert s.get(Attachment, payment.attachment_id).content_type == "image/jpeg"


def test_a_manager_annotates_an_alert_about_a_team_members_deal(company: LiveApp) -> None:
    with db.transaction() as s:
        manager = s.scalars(select(User).where(User.wecom_userid == "mgr01")).one()
        deal = s.scalars(
            select(Opportunity)
            .join(User, User.id == Opportunity.owner_id)
            .where(User.manager_id == manager.id, Opportunity.status == OpportunityStatus.OPEN)
            .order_by(Opportunity.id)
        ).first()
        alert = Alert(
            rule="follow_up_overdue",
            idempotency_key=f"test:follow_up_overdue:{deal.id}",
            subject_type="opportunity",
            subject_id=deal.id,
            state=AlertState.OPEN,
            title=f"跟进超时：{deal.customer.name}·{deal.title} 已 8天 未跟进",
            detail={},
            recipient_ids=[deal.owner_id, manager.id],
            raised_at=clock.now(),
        )
        s.add(alert)
        s.flush()
        alert_id, rep_name = alert.id, deal.owner.name

    note = "今天下午先电话约设备科主任，周四前给我反馈"
    with phone(company, "mgr01") as manager_phone:
        page = manager_phone.page
        manager_phone.tap(page.locator(".nav-item", has_text="更多"))
        manager_phone.tap(page.locator(".item", has_text="团队预警与批注"))
        row = page.locator(".alert", has_text="已 8天 未跟进")
        assert rep_name in row.inner_text()
        manager_phone.shot("alerts")
        manager_phone.tap(row)
        manager_phone.type_into(page.locator(".annotation textarea"), note)
        manager_phone.tap(page.locator(".btn", has_text="发送批注"))
        page.locator(".ok", has_text="批注已发送").wait_for()
        page.locator(".item", has_text=note).wait_for()
        manager_phone.shot("alert-annotated")

    with db.transaction() as s:
        annotation = s.scalars(select(Annotation).where(Annotation.alert_id == alert_id)).one()
        assert annotation.author_id == manager.id and annotation.text == note
        assert s.get(Alert, alert_id).manager_intervened_at is not None


def test_a_rep_sets_a_contacts_decision_role_on_the_customer_page(company: LiveApp) -> None:
    with db.transaction() as s:
        rep = s.scalars(select(User).where(User.wecom_userid == "rep01")).one()
        contact = s.scalars(
            select(Contact)
            .join(Customer, Customer.id == Contact.customer_id)
            .where(Customer.owner_id == rep.id, Contact.decision_role.is_distinct_from(DecisionRole.VETO))
            .order_by(Contact.id)
        ).first()
        contact_id, customer_id, name = contact.id, contact.customer_id, contact.name

    with phone(company, "rep01") as rep_phone:
        page = rep_phone.page
        page.goto(f"{company.base_url}/m/pages/customer/index?id={customer_id}")
        row = page.locator(".contact", has_text=name)
        rep_phone.tap(row.locator(".row"))
        rep_phone.tap(row.locator(".chip", has_text="否决者"))
        row.locator(".badge", has_text="否决者").wait_for()
        rep_phone.shot("customer-role")

    with db.transaction() as s:
        contact = s.get(Contact, contact_id)
        assert contact.decision_role is DecisionRole.VETO and not contact.decision_role_guessed


def test_a_rep_imports_a_small_sheet_after_correcting_a_column(company: LiveApp) -> None:
    from tests.handlers.excel_import.sheets import xlsx

    # 「情况」 is no header the importer knows (it guesses from the dates inside): the rep says it holds the remarks.
    # Customers no one in the demo company has yet (another rep's customer would be a hand-over, not a new one).
    sheet = xlsx(
        {
            "客户": [
                ["客户名称", "联系人", "手机", "情况"],
                ["东台市城东社区卫生服务中心", "魏主任", "13912345678", "3月1日 拜访设备科，魏主任关注维保响应"],
                ["泗阳县众兴镇卫生院", "顾科长", "13812345679", "2月26日 电话沟通预算，积极"],
            ]
        }
    )
    with phone(company, "rep01") as rep_phone:
        page = rep_phone.page
        page.goto(f"{company.base_url}/m/work/import/index")
        with page.expect_file_chooser() as chooser:
            page.locator(".btn", has_text="选择表格").click()
        chooser.value.set_files(
            files=[
                {
                    "name": "跟进表.xlsx",
                    "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    "buffer": sheet,
                }
            ]
        )
        column = page.locator(".column", has_text="情况")
        column.wait_for()
        assert "备注" not in column.locator(".badge").inner_text()  # read as something else (its dates)
        column.locator(".row").click()
        column.locator(".chip", has_text="备注").click()
        assert "备注" in column.locator(".badge").inner_text()
        rep_phone.shot("import-corrected")
        page.locator(".btn", has_text="确认导入").click()
        page.locator(".status", has_text="排队中").or_(page.locator(".status", has_text="已完成")).wait_for()
        company.drain()  # the import job (rq in CI, the in-process worker locally)
        page.locator(".status", has_text="已完成").wait_for(timeout=30_000)
        page.locator(".btn", has_text="撤销这次导入").wait_for()
        rep_phone.shot("import-done")

    with db.transaction() as s:
        rep = s.scalars(select(User).where(User.wecom_userid == "rep01")).one()
        imported = s.scalars(
            select(Customer).where(Customer.name == "东台市城东社区卫生服务中心", Customer.owner_id == rep.id)
        ).one()
        notes = s.scalars(select(Touchpoint.summary).where(Touchpoint.customer_id == imported.id)).all()
        assert any("魏主任关注维保响应" in n for n in notes)  # the corrected column became the touchpoint


def test_the_customers_diagnosis_shows_each_open_deals_win_probability(company: LiveApp) -> None:
    deal_id, owner = _deal_at("solution_demo")
    with db.transaction() as s:
        deal = s.get(Opportunity, deal_id)
        customer_id, title = deal.customer_id, deal.title

    with phone(company, owner) as rep_phone:
        page = rep_phone.page
        page.goto(f"{company.base_url}/m/pages/customer/index?id={customer_id}")
        page.locator(".btn", has_text="诊断").click()
        win = page.locator(".diagnosis .win", has_text=f"「{title}」")
        win.wait_for()
        assert "赢单概率" in win.inner_text() and "40%" in win.inner_text()


def test_the_customer_page_and_its_diagnosis_show_the_journeys_the_customer_is_in(company: LiveApp) -> None:
    with db.transaction() as s:
        rep = s.scalars(select(User).where(User.wecom_userid == "rep01")).one()
        customer = s.scalars(select(Customer).where(Customer.owner_id == rep.id).order_by(Customer.id)).first()
        assert customer is not None
        enrol(s, journey(s, "续费前三个月"), customer, 40, COMPLETED, [Run("s1", DONE)])
        steps = [Run("s1", DONE), Run("s2", DONE, "then"), Run("s3", OPEN, sla_in_hours=-3)]
        enrol(s, journey(s, "白皮书下载后的跟进"), customer, 2, ACTIVE, steps)
        customer_id = customer.id

    with phone(company, "rep01") as rep_phone:
        page = rep_phone.page
        page.goto(f"{company.base_url}/m/pages/customer/index?id={customer_id}")
        card = page.locator(".journeys")
        card.wait_for()
        active = card.locator(".journey", has_text="白皮书下载后的跟进")
        assert "当前：市场部约演示 · 进行中 · 截止" in active.inner_text() and "已超时" in active.inner_text()
        assert "已完成" in card.locator(".journey", has_text="续费前三个月").inner_text()
        rep_phone.shot("customer-journeys")
        page.locator(".btn", has_text="诊断").click()
        line = page.locator(".diagnosis .journey")
        line.wait_for()
        assert (
            "「白皮书下载后的跟进」当前步骤「市场部约演示」" in line.inner_text() and "（已超时）" in line.inner_text()
        )
        assert page.locator(".diagnosis .journey", has_text="续费前三个月").count() == 0
        rep_phone.shot("customer-diagnosis-journeys")
