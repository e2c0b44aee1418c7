"""The leaderboard's month picker: in the first days of a month, before anything was won, the page says so and
shows the last full month; any past month with data and the current month can be picked, on the page and
through /api/v1/dashboards/marketing. Built around the test day (`--today`), so it holds on any day."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta

import pytest
import requests

from salesnav import clock
from salesnav.handlers.collaboration import tickets_of
from salesnav.handlers.dashboards.leaderboard import month_label, months_before
from salesnav.handlers.opportunities import advance_stage, create_from_touchpoint
from tests import factories as f
from tests.bot.conftest import LiveApp
from tests.conftest import BUSINESS_TZ
from tests.pages.conftest import sign_in

pytestmark = pytest.mark.calendar  # built around the test day
FORWARD = ("needs_confirmed", "solution_demo", "sample_test", "negotiation", "contract_approval", "won")


def _month(day: date) -> str:
    return f"{day:%Y-%m}"


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), BUSINESS_TZ)


def _win(session, org, title: str, amount_fen: int, won_at: datetime) -> None:  # type: ignore[no-untyped-def]
    """A deal with a collaboration ticket, both parts answered in 8 h, won at `won_at`."""
    today = clock.now()
    clock.use(clock.FrozenClock(won_at - timedelta(days=2)))
    hospital = f.customer(session, org.rep, name=f"{title}医院")
    tp = f.touchpoint(session, org.rep, hospital)
    deal = create_from_touchpoint(
        session, org.rep, touchpoint_id=tp.id, title=title, product_line="CT", expected_amount_fen=amount_fen
    )
    for stage in FORWARD:
        if stage == "won":
            clock.use(clock.FrozenClock(won_at))
        advance_stage(session, org.manager, opportunity_id=deal.id, to_stage=stage, override_reason="测试")
        if stage == "sample_test":
            (ticket,) = tickets_of(session, deal.id)
            for part in ticket.parts:
                part.first_valid_response_at = ticket.opened_at + timedelta(hours=8)
    session.commit()
    clock.use(clock.FrozenClock(today))


@pytest.fixture
def months(session, today_clock):  # type: ignore[no-untyped-def]
    """Nothing won yet this month; two deals won last month, one three months ago."""
    first = today_clock.now().astimezone(BUSINESS_TZ).date().replace(day=1)
    last, earlier = months_before(first, 1), months_before(first, 3)
    org = f.org(session)
    _win(session, org, "上月大单", 100_000_000, _noon(last.replace(day=15)))
    _win(session, org, "上月小单", 20_000_000, _noon(last.replace(day=28)))
    _win(session, org, "三月前单", 50_000_000, _noon(earlier))
    clock.use(today_clock)
    return org, _month(first), _month(last), _month(earlier)


def _figures(html: str) -> dict:  # type: ignore[type-arg]
    return json.loads(
        re.search(r'<script type="application/json" id="figures"[^>]*>(.*?)</script>', html, re.S).group(1)
    )


def _titles(html: str) -> list[str]:
    return re.findall(r'<tr class="leader-row[^"]*" data-rank="\d+">\s*<td>\d+</td><td>([^<]+)<', html)


def test_an_empty_current_month_says_so_and_shows_the_last_full_month(live_pages: LiveApp, months) -> None:  # type: ignore[no-untyped-def]
    _org, current, last, earlier = months
    browser, page = sign_in(live_pages.base_url, "mkt01", "/dashboards/marketing")
    assert page.status_code == 200
    assert f"本月暂无已赢单的协同记录，显示上月（{month_label(last)}）" in page.text
    assert f"协同价值排行榜（{month_label(last)}）" in page.text
    assert _titles(page.text) == ["上月大单", "上月大单", "上月小单", "上月小单"]  # two departments each
    assert 'id="leaderboard-chart"' in page.text
    options = re.findall(r'<option value="([\d-]+)"( selected)?>([^<]+)</option>', page.text)
    assert options == [
        (current, "", f"{month_label(current)}（本月）"),
        (last, " selected", month_label(last)),
        (earlier, "", month_label(earlier)),
    ]
    data = _figures(page.text)
    assert (data["month"], data["current_month"], data["current_month_empty"]) == (last, current, True)

    picked = browser.get(live_pages.base_url + "/dashboards/marketing", params={"month": current})
    assert picked.status_code == 200 and "本月暂无" not in picked.text
    assert "本月还没有带协同单的赢单" in picked.text and _titles(picked.text) == []
    assert 'id="leaderboard-chart"' not in picked.text  # an empty month draws no empty chart

    older = browser.get(live_pages.base_url + "/dashboards/marketing", params={"month": earlier})
    assert older.status_code == 200 and _titles(older.text) == ["三月前单", "三月前单"]
    assert f"部门合计（{month_label(earlier)}）" in older.text


def test_once_a_deal_is_won_this_month_the_current_month_is_shown(live_pages: LiveApp, session, months) -> None:  # type: ignore[no-untyped-def]
    org, current, last, _earlier = months
    _win(session, org, "本月首单", 30_000_000, clock.now())
    _browser, page = sign_in(live_pages.base_url, "mkt01", "/dashboards/marketing")
    assert f"协同价值排行榜（{month_label(current)}）" in page.text and "本月暂无" not in page.text
    assert _titles(page.text) == ["本月首单", "本月首单"]
    data = _figures(page.text)
    assert (data["month"], data["current_month_empty"], data["notice"]) == (current, False, None)
    assert data["months"][:2] == [current, last]


@pytest.mark.parametrize(
    ("month", "status", "message"),
    [
        ("2026-13", 400, "月份格式应为 2026-11"),
        ("1999-12", 400, "月份格式应为 2026-11"),
        ("下个月", 400, "月份格式应为 2026-11"),
    ],
)
def test_a_malformed_month_is_refused_in_chinese_on_the_page(
    live_pages: LiveApp, session, month: str, status: int, message: str
) -> None:  # type: ignore[no-untyped-def]
    f.org(session)
    session.commit()
    browser, _page = sign_in(live_pages.base_url, "mkt01", "/dashboards/marketing")
    refused = browser.get(live_pages.base_url + "/dashboards/marketing", params={"month": month})
    assert refused.status_code == status and message in refused.text


def test_a_future_month_is_refused_in_chinese(live_pages: LiveApp, months) -> None:  # type: ignore[no-untyped-def]
    _org, current, _last, _earlier = months
    following = months_before(date.fromisoformat(current + "-01"), -1)
    browser, _page = sign_in(live_pages.base_url, "mkt01", "/dashboards/marketing")
    refused = browser.get(live_pages.base_url + "/dashboards/marketing", params={"month": _month(following)})
    assert refused.status_code == 400
    assert f"不能查看未来月份的排行榜（本月为{month_label(current)}）" in refused.text


def _bearer(live: LiveApp, userid: str) -> dict[str, str]:
    token = requests.post(live.base_url + "/api/v1/auth/login", json={"code": f"dev-{userid}"}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_the_api_takes_the_month_too(live_pages: LiveApp, months) -> None:  # type: ignore[no-untyped-def]
    _org, current, last, earlier = months
    url = live_pages.base_url + "/api/v1/dashboards/marketing"
    marketer = _bearer(live_pages, "mkt01")

    default = requests.get(url, headers=marketer).json()
    assert (default["month"], default["current_month_empty"]) == (last, True)
    assert default["notice"] == f"本月暂无已赢单的协同记录，显示上月（{month_label(last)}）"
    assert default["months"] == [current, last, earlier]
    assert [r["opportunity_title"] for r in default["rows"]] == ["上月大单", "上月大单", "上月小单", "上月小单"]

    picked = requests.get(url, params={"month": earlier}, headers=marketer).json()
    assert picked["month"] == earlier and picked["notice"] is None
    assert [r["opportunity_title"] for r in picked["rows"]] == ["三月前单", "三月前单"]
    assert requests.get(url, params={"month": current}, headers=marketer).json()["rows"] == []

    malformed = requests.get(url, params={"month": "2026-13"}, headers=marketer)
    assert malformed.status_code == 422 and "月份格式应为 2026-11" in malformed.json()["message"]
    following = _month(months_before(date.fromisoformat(current + "-01"), -1))
    future = requests.get(url, params={"month": following}, headers=marketer)
    assert future.status_code == 400 and "不能查看未来月份" in future.json()["message"]

    spec = requests.get(live_pages.base_url + "/api/v1/openapi.json").json()
    params = spec["paths"]["/api/v1/dashboards/marketing"]["get"]["parameters"]
    month = next(p for p in params if p["name"] == "month")
    assert month["in"] == "query" and "2026-11" in month["description"]
