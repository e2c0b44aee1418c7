"""Every material link a member is sent opens a file the product serves: the battle pack's 「可复用素材」 link,
followed by a signed-in member's browser, downloads the file we keep; the demo's materials are such files."""

from __future__ import annotations

import re
from datetime import date, timedelta

import requests
from sqlalchemy import select

from salesnav.demo.plan.attachments import material_files
from salesnav.handlers.attachments import store_attachment
from salesnav.jobs import battle_pack
from salesnav.models import Attachment, Material
from salesnav.models import session as db
from tests import factories as f
from tests.handlers.battle_pack.arrange import customer, local, material, open_deal
from tests.pages.conftest import sign_in

MONDAY = date(2026, 3, 2)


def test_the_packs_material_link_downloads_the_file_we_keep(live_pages, session, frozen_clock):
    frozen_clock.set(local(MONDAY, 9))
    org = f.org(session)
    _, pdf = material_files()[1]
    kept = store_attachment(
        session, None, data=pdf, filename="CT球管更换成本测算表.pdf", root=live_pages.settings.attachments_dir
    )
    deck = material(session, "CT球管更换成本测算表", product_line="CT球管", published_at=frozen_clock.now())
    deck.attachment_id = kept.id
    cust = customer(session, org.rep, "华山医院")
    open_deal(
        session,
        org.rep,
        cust,
        product_line="CT球管",
        stage="solution_demo",
        amount_yuan=500_000,
        stage_entered_at=frozen_clock.now() - timedelta(days=2),
    )
    session.commit()

    frozen_clock.set(local(MONDAY, 10))
    battle_pack.run(frozen_clock.now())
    live_pages.drain()
    [pack] = [m["payload"]["content"] for m in live_pages.emulator.sent("rep01") if m["msgtype"] == "markdown"]
    [url] = re.findall(r"\*\*可复用素材\*\*：\[CT球管更换成本测算表\]\(([^)]+)\)", pack)
    assert url == f"{live_pages.base_url}/materials/{deck.id}"

    stranger = requests.get(url, allow_redirects=False)
    assert stranger.status_code == 302 and "/auth/login" in stranger.headers["Location"]  # members only
    browser, _ = sign_in(live_pages.base_url, "rep01", url.removeprefix(live_pages.base_url))
    opened = browser.get(url)
    assert opened.status_code == 200 and opened.headers["Content-Type"] == "application/pdf"
    assert opened.content == pdf


def test_a_material_without_a_file_answers_in_chinese(live_pages, session, frozen_clock):
    f.org(session)
    bare = material(session, "空素材", published_at=frozen_clock.now() - timedelta(days=1))
    session.commit()
    browser, _ = sign_in(live_pages.base_url, "rep01", f"/materials/{bare.id}")
    missing = browser.get(f"{live_pages.base_url}/materials/{bare.id}")
    assert missing.status_code == 404 and "该素材的文件不存在" in missing.text


def test_every_demo_material_is_a_file_we_serve(session, today_clock, tmp_path):
    from salesnav.demo.seed import seed

    seed(attachments_root=tmp_path)
    with db.transaction() as s:
        materials = s.scalars(select(Material)).all()
        assert materials and all(m.url is None and m.attachment_id for m in materials)
        for m in materials:
            kept = s.get(Attachment, m.attachment_id)
            assert (tmp_path / kept.storage_path).read_bytes()[:5] == b"%PDF-"
