"""One follow-up policy: the rule's alert, the battle pack's todo and the battle map's 超时未动 block agree on
the instant a silent deal becomes overdue — on the calendar, and with rules.working_days_only on."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from salesnav.handlers import rule_settings
from salesnav.handlers.battle_pack.compose import battle_pack_for
from salesnav.handlers.battle_pack.ranking import TodoSource
from salesnav.handlers.dashboards.battle_map import rep_battle_map
from salesnav.handlers.rules import follow_up_overdue
from tests import factories as f
from tests.rules.arrange import deal

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _three_views(session, org, opp, now):
    """(the rule would alert, the battle pack lists it, the battle map draws it red) at `now`."""
    alerted = any(m.subject_id == opp.id and m.action == "fire" for m in follow_up_overdue.find(session, now))
    pack = battle_pack_for(session, org.rep, now, SHANGHAI)
    listed = any(t.source is TodoSource.FOLLOW_UP and t.opportunity_id == opp.id for t in pack.todos)
    board = rep_battle_map(session, org.rep, now.astimezone(SHANGHAI).date(), now, SHANGHAI)
    red = any(b.kind == "overdue" for rep in board.reps for row in rep.rows if row.id == opp.id for b in row.red_blocks)
    return alerted, listed, red


@pytest.mark.parametrize(
    ("working_days_only", "monday", "wednesday"),
    [(False, (True, True, True), (True, True, True)), (True, (False, False, False), (True, True, True))],
    ids=["calendar", "working-days-only"],
)
def test_rule_battle_pack_and_battle_map_call_the_same_deal_overdue_at_the_same_time(
    session, frozen_clock, working_days_only, monday, wednesday
):
    org = f.org(session)
    rule_settings.update(session, None, "rules.working_days_only", working_days_only)
    frozen_clock.advance(timedelta(days=4))  # Friday 2026-03-06 09:30 in Shanghai: the last follow-up
    _, opp = deal(session, org)
    session.commit()

    frozen_clock.advance(timedelta(days=3, minutes=1))  # Monday 09:31: 72 h on the calendar, 24 working hours
    assert _three_views(session, org, opp, frozen_clock.now()) == monday

    frozen_clock.advance(timedelta(days=2))  # Wednesday 09:31: 72 working hours and a minute
    assert _three_views(session, org, opp, frozen_clock.now()) == wednesday


def test_just_before_the_threshold_none_of_the_three_calls_it_overdue(session, frozen_clock):
    org = f.org(session)
    _, opp = deal(session, org)
    session.commit()
    frozen_clock.advance(timedelta(hours=72))
    assert _three_views(session, org, opp, frozen_clock.now()) == (False, False, False)
    frozen_clock.advance(timedelta(minutes=1))
    assert _three_views(session, org, opp, frozen_clock.now()) == (True, True, True)
