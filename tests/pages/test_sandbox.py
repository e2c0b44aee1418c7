"""The sandbox chat (/sandbox/): a newcomer acts as any member in headless Chromium.

Every action on the page is a real signed and encrypted callback to /wecom/callback; the bot's
replies are what the WeCom emulator recorded. Jobs run when the test drains the queue, right
after the page's request was acknowledged, and the page shows the result on its next poll.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy import select

from salesnav import clock
from salesnav.app import create_app
from salesnav.models import (
    Attachment,
    CaptureSource,
    Customer,
    Emotion,
    ExcelImport,
    ImportStatus,
    InboundMessage,
    Touchpoint,
    TouchpointType,
)
from salesnav.models import session as db
from tests import factories as f
from tests.bot.conftest import LiveApp, serve
from tests.handlers.excel_import import sheets

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def live_app(settings, database) -> Iterator[LiveApp]:
    """The app on loopback with its WeCom emulator (as tests/bot's fixture), on a clean Redis db."""
    if settings.redis_url:
        from redis import Redis

        Redis.from_url(settings.redis_url).flushdb()
    yield from serve(settings)


@pytest.fixture
def org(session, live_app):
    org = f.org(session)
    f.customer(session, org.rep, name="北京协和医院")
    f.customer(session, org.rep, name="上海瑞金医院")
    recent = f.customer(session, org.rep, name="华山医院")
    f.touchpoint(session, org.rep, recent, occurred_at=clock.now() - timedelta(days=3), type=TouchpointType.PHONE)
    session.commit()
    return org


@pytest.fixture(scope="module")
def browser_page_factory() -> Iterator[object]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser_page_factory) -> Iterator[Page]:
    context = browser_page_factory.new_context(  # type: ignore[attr-defined]
        viewport={"width": 390, "height": 844}, device_scale_factor=2, locale="zh-CN"
    )
    page = context.new_page()
    page.set_default_timeout(8000)
    yield page
    context.close()


def act(page: Page, live_app, endpoint: str, action) -> None:
    """Do something on the page, wait until the callback it caused was acknowledged, then run the jobs."""
    with page.expect_response(lambda r: r.url.endswith(f"/sandbox/api/{endpoint}")) as response:
        action()
    assert response.value.status == 200, response.value.text()
    live_app.drain()


def touchpoints() -> list[Touchpoint]:
    with db.transaction() as session:
        rows = list(session.scalars(select(Touchpoint).order_by(Touchpoint.id)))
        for tp in rows:
            _ = tp.customer.name
        return rows


def test_a_rep_logs_a_touchpoint_from_the_sandbox_chat_in_two_taps_and_sees_it_saved_on_the_card(live_app, org, page):
    page.goto(live_app.base_url + "/sandbox/?as=rep01")
    expect(page.locator("#member")).to_have_value("rep01")
    act(page, live_app, "menu", lambda: page.get_by_role("button", name="记触点").click())
    card = page.locator(".sb-card").last
    expect(card.locator(".sb-card-title")).to_have_text("记触点")
    expect(card.locator(".sb-card-button").first).to_have_text("华山医院")  # the recent customer first

    taps = 0
    act(page, live_app, "tap", lambda: card.get_by_role("button", name="北京协和医院").click())
    taps += 1
    expect(card.locator(".sb-card-title")).to_have_text("记触点 · 北京协和医院")  # the same card, updated in place
    expect(card.locator("select")).to_have_value("phone")  # the rep's usual type, pre-selected
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "sandbox_touchpoint_step2.png"))
    act(page, live_app, "tap", lambda: card.get_by_role("button", name="积极").click())
    taps += 1

    expect(card.locator(".sb-card-title")).to_have_text("✅ 触点已保存 · 北京协和医院")
    expect(card.locator(".sb-card-row", has_text="情绪")).to_contain_text("积极")
    expect(card.locator(".sb-card-row", has_text="类型")).to_contain_text("电话")
    assert taps <= 2
    assert page.locator(".sb-card").count() == 1  # updated in place, not sent again
    saved = [tp for tp in touchpoints() if tp.customer.name == "北京协和医院"]
    assert [(tp.type, tp.emotion, tp.source) for tp in saved] == [
        (TouchpointType.PHONE, Emotion.POSITIVE, CaptureSource.CHAT_BUTTON)
    ]
    # As in WeCom, taps make no chat bubbles: the card they changed shows them.
    expect(page.locator(".sb-me .sb-bubble")).to_have_text(["点击菜单「记触点」"])
    expect(card.locator(".sb-card-taps")).to_have_text("我点了：北京协和医院 → 积极")
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "sandbox_touchpoint_saved.png"))


def test_a_text_command_from_the_sandbox_gets_the_bots_reply_in_the_chat(live_app, org, page):
    page.goto(live_app.base_url + "/sandbox/?as=rep01")
    page.locator("#text").fill("触点 瑞金 面访 中性 下周二送样")
    act(page, live_app, "text", lambda: page.get_by_role("button", name="发送", exact=True).click())
    reply = page.locator(".sb-bot .sb-bubble").last
    expect(reply).to_contain_text("✅ 已记录触点：上海瑞金医院，面访，中性")
    expect(page.locator(".sb-me .sb-bubble").last).to_have_text("触点 瑞金 面访 中性 下周二送样")
    assert [tp.customer.name for tp in touchpoints()][-1] == "上海瑞金医院"

    page.locator("#text").fill("今天天气不错")
    act(page, live_app, "text", lambda: page.get_by_role("button", name="发送", exact=True).click())
    expect(page.locator(".sb-bot .sb-bubble").last).to_contain_text("没看懂")
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "sandbox_text_command.png"))


def test_the_example_in_the_input_box_is_the_members_own_customer_and_works_when_typed(live_app, org, page):
    page.goto(live_app.base_url + "/sandbox/?as=rep01")
    placeholder = page.locator("#text").get_attribute("placeholder") or ""
    assert placeholder == "发消息，例如：触点 华山 面访 积极 下周二送样"  # 华山医院 is rep01's latest customer
    page.locator("#text").fill(placeholder.removeprefix("发消息，例如："))
    act(page, live_app, "text", lambda: page.get_by_role("button", name="发送", exact=True).click())
    expect(page.locator(".sb-bot .sb-bubble").last).to_contain_text("✅ 已记录触点：华山医院，面访，积极")


def test_a_photo_sent_from_the_sandbox_is_fetched_by_media_id_and_stored(live_app, org, page):
    photo = io.BytesIO()
    Image.new("RGB", (60, 40), "white").save(photo, format="PNG")
    page.goto(live_app.base_url + "/sandbox/?as=rep01")
    page.get_by_role("button", name="语音、图片或文件").click()
    act(
        page,
        live_app,
        "media",
        lambda: page.locator("#image-file").set_input_files(
            files=[{"name": "发票.png", "mimeType": "image/png", "buffer": photo.getvalue()}]
        ),
    )
    expect(page.locator(".sb-me img.sb-photo")).to_be_visible()
    expect(page.locator(".sb-bot .sb-bubble").last).to_contain_text("图片")
    with db.transaction() as session:
        inbound = session.scalars(select(InboundMessage).where(InboundMessage.msg_type == "image")).one()
        assert inbound.from_userid == "rep01" and inbound.payload["MediaId"].startswith("emu-media-")
        assert session.scalars(select(Attachment)).one().content_type == "image/png"


def test_a_sheet_sent_as_a_file_is_previewed_and_a_tap_on_the_card_opens_it_in_the_client(live_app, org, page):
    page.goto(live_app.base_url + "/sandbox/?as=rep01")
    page.get_by_role("button", name="语音、图片或文件").click()
    expect(page.locator("#attach-panel")).to_contain_text("文件最大 20 MB")
    with page.expect_file_chooser() as chooser:
        page.get_by_text("📎 文件").click()
    sheet = {"name": "我的客户.xlsx", "mimeType": "application/octet-stream", "buffer": sheets.rep_sheet()}
    act(page, live_app, "media", lambda: chooser.value.set_files(files=[sheet]))

    mine = page.locator(".sb-me .sb-bubble.sb-file")
    expect(mine.locator(".sb-file-name")).to_have_text("我的客户.xlsx")
    expect(mine.locator(".sb-file-size")).to_have_text(re.compile(r"^\d+(\.\d)? KB$"))
    expect(page.locator(".sb-bot .sb-bubble").first).to_have_text("收到表格，正在识别，请稍候…")
    card = page.locator(".sb-card").last
    expect(card.locator(".sb-card-title")).to_have_text("导入预览：我的客户.xlsx")
    assert page.locator(".sb-bot").evaluate_all("rows => rows.map(r => r.dataset.kind)")[:2] == [
        "text",
        "template_card",
    ]  # the acknowledgement, then the preview
    with db.transaction() as session:
        inbound = session.scalars(select(InboundMessage).where(InboundMessage.msg_type == "file")).one()
        assert inbound.from_userid == "rep01" and inbound.payload["FileName"] == "我的客户.xlsx"
        assert inbound.payload["MediaId"].startswith("emu-media-")
        imp = session.scalars(select(ExcelImport)).one()
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "sandbox_file_sheet_preview.png"))

    # A tap on the card's body opens its card_action url, as WeCom does (the client, here answered by a stub).
    client_url = f"{live_app.base_url}/m/work/import/index?id={imp.id}"
    page.context.route(re.escape(client_url), lambda route: route.fulfill(body="client", content_type="text/html"))
    with page.context.expect_page() as opened:
        card.locator(".sb-card-desc").click()
    opened.value.wait_for_load_state()
    assert opened.value.url == client_url
    opened.value.close()

    # Its button still sends the tap to the bot and opens nothing.
    pages = len(page.context.pages)
    act(page, live_app, "tap", lambda: card.get_by_role("button", name="确认导入").click())
    live_app.drain()
    expect(page.locator(".sb-bot .sb-bubble").nth(-2)).to_contain_text("「我的客户.xlsx」导入完成")
    expect(page.locator(".sb-bot .sb-bubble").last).to_contain_text("个导入的商机已超过 72 小时未跟进")  # then
    assert len(page.context.pages) == pages
    with db.transaction() as session:
        assert session.scalars(select(ExcelImport)).one().status is ImportStatus.DONE
        assert session.scalar(select(Customer).where(Customer.name == "南京鼓楼医院")) is not None


def test_a_manager_is_picked_from_the_member_list_and_chats_as_themselves(live_app, org, page):
    page.goto(live_app.base_url + "/sandbox/?as=rep01")
    reps = page.locator("#member optgroup[label='销售'] option").all_inner_texts()
    assert reps[:2] == ["rep01 李销售", "rep02 周销售"]
    assert "mgr01 钱主管" in page.locator("#member optgroup[label='销售主管'] option").all_inner_texts()
    page.locator("#member").select_option("mgr01")
    page.wait_for_url("**/sandbox/?as=mgr01")
    page.get_by_role("button", name="≡ 我的").click()
    act(page, live_app, "menu", lambda: page.get_by_role("button", name="我的待办").click())
    expect(page.locator(".sb-bot .sb-bubble").last).to_be_visible()
    assert live_app.emulator.sent("mgr01") and not live_app.emulator.sent("rep01")


def test_an_alert_is_one_card_a_manager_annotates_and_the_rep_reads_the_note_on_their_card(
    live_app, session, frozen_clock, page
):
    from salesnav.jobs.rules import run_scan
    from tests.rules.arrange import deal

    org = f.org(session)
    deal(session, org, customer_name="六安市立医院", title="六安市立医院·监护仪")
    session.commit()
    frozen_clock.advance(timedelta(hours=72, minutes=1))
    run_scan(clock.now())
    live_app.drain()

    page.goto(live_app.base_url + "/sandbox/?as=mgr01")
    card = page.locator(".sb-card").last
    expect(card.locator(".sb-card-title")).to_have_text("跟进超时 · 六安市立医院")
    expect(card.locator(".sb-card-desc")).to_have_text("六安市立医院「监护仪」超时未跟进")
    expect(card.locator(".sb-card-quote-text")).to_contain_text("已 3天1分钟 未跟进")
    assert page.locator(".sb-bot .sb-bubble").count() == 0  # no text repeating the card
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "sandbox_alert_card.png"))
    act(page, live_app, "tap", lambda: card.get_by_role("button", name="批注").click())
    page.locator("#text").fill("今天下班前给主任打个电话，约周四面谈")
    act(page, live_app, "text", lambda: page.locator("#text").press("Enter"))

    page.goto(live_app.base_url + "/sandbox/?as=rep01")
    note = page.locator(".sb-card").last
    expect(note.locator(".sb-card-title")).to_have_text("钱主管的批注")
    expect(note.locator(".sb-card-quote-title")).to_have_text("钱主管的批注内容")
    expect(note.locator(".sb-card-quote-text")).to_have_text("今天下班前给主任打个电话，约周四面谈")
    expect(note.locator(".sb-card-row", has_text="商机")).to_contain_text("监护仪")
    page.screenshot(path=str(OUTPUT / "sandbox_annotation_for_rep.png"))


def test_sandbox_refusals_are_clear_chinese_and_store_nothing(live_app, org):
    api = live_app.base_url + "/sandbox/api"
    cases = [
        ("text", {"as": "nobody", "content": "你好"}, "没有成员「nobody」"),
        ("text", {"as": "rep01", "content": "   "}, "请输入要发送的内容"),
        ("menu", {"as": "rep01", "key": "DROP_TABLES"}, "菜单里没有这一项"),
        ("tap", {"as": "rep01", "task_id": "no-such-card", "key": "tp:emo:positive"}, "找不到这张卡片"),
    ]
    for endpoint, body, message in cases:
        response = requests.post(f"{api}/{endpoint}", json=body, timeout=10)
        assert response.status_code == 400 and message in response.json()["message"], (endpoint, response.text)
    not_audio = requests.post(
        f"{api}/media", data={"as": "rep01", "kind": "voice"}, files={"file": ("x.amr", b"not audio")}, timeout=10
    )
    assert not_audio.status_code == 400 and "不支持的语音格式" in not_audio.json()["message"]
    limits = "文件最大 20 MB，图片最大 10 MB"  # past the app's request cap
    media = [
        ({"kind": "file"}, ("空.xlsx", b""), 400, "文件是空的（0 字节），请选择有内容的文件"),
        ({"kind": "file"}, ("大.zip", b"0" * ((20 << 20) + 1)), 400, "文件太大（最大 20 MB）"),
        ({"kind": "image"}, ("客户.xlsx", sheets.rep_sheet()), 400, "这不是图片文件，请选择 JPG 或 PNG 照片"),
        ({"kind": "video"}, ("a.mp4", b"0000"), 400, "只能发送语音、图片或文件"),
        ({"kind": "file"}, ("巨大.zip", b"0" * (26 << 20)), 413, f"文件太大，无法发送（{limits}）"),
    ]
    for form, upload, status, message in media:
        response = requests.post(f"{api}/media", data={"as": "rep01", **form}, files={"file": upload}, timeout=30)
        assert response.status_code == status and response.json()["message"] == message, (upload[0], response.text)
    not_json = requests.post(f"{api}/text", data="<xml/>", timeout=10)
    assert not_json.status_code == 400 and not_json.json()["message"] == "请求格式不正确"
    with db.transaction() as session:
        assert session.scalars(select(InboundMessage)).all() == []


def test_the_sandbox_is_not_mounted_without_the_emulator(settings, database):
    real = dataclasses.replace(
        settings,
        wecom=dataclasses.replace(settings.wecom, emulator=False, secret="real-secret"),
        secret_key="a-real-secret-key",
    )
    client = create_app(real).test_client()
    assert client.get("/sandbox/").status_code == 404
    assert "沙盒对话" not in client.get("/").get_data(as_text=True)
    assert "沙盒对话" in create_app(settings).test_client().get("/").get_data(as_text=True)
