"""The run-time settings as typed areas (salesnav/models/setting_areas.py): every setting of an area is a field,
read typed in one query, and a stored value the area refuses is an error naming the setting."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from salesnav.handlers import rule_settings
from salesnav.handlers.rules import follow_up_overdue, health_red, registry
from salesnav.handlers.rules.validation import SPECS
from salesnav.models import RuleSetting, setting_areas
from salesnav.models.rule_settings import DEFAULTS
from salesnav.models.setting_areas import AREAS, Credit, Health, Pool, StoredSettingInvalid


@pytest.mark.parametrize("area", AREAS, ids=lambda area: area.PREFIX)
def test_an_area_holds_every_setting_of_its_prefix_and_its_defaults_are_valid(area):
    of_the_prefix = {key for key in DEFAULTS if key.split(".")[0] == area.PREFIX}
    assert set(area.keys()) == of_the_prefix
    assert of_the_prefix <= set(SPECS)  # each one an admin can change, with its checks
    area.model_validate({field: DEFAULTS[key] for key, field in area.keys().items()})


def test_an_area_reads_the_defaults_typed(session: Session):
    health = rule_settings.health(session)
    assert (health.enabled, health.resistant_signals, health.window_days) == (True, 3, 7)
    credit = rule_settings.credit(session)
    assert isinstance(credit.min_on_time_rate, float) and isinstance(credit.amount_threshold_fen, int)


def test_an_area_reads_what_an_admin_changed_as_its_type(session: Session):
    rule_settings.update(session, None, "health.window_days", "10")  # as typed into the admin's form
    rule_settings.update(session, None, "health.enabled", "关")
    rule_settings.update(session, None, "credit.min_on_time_rate", "0.9")
    assert rule_settings.health(session) == Health(enabled=False, resistant_signals=3, window_days=10)
    assert rule_settings.credit(session).min_on_time_rate == 0.9
    assert setting_areas.area(session, Credit).min_on_time_rate == 0.9


def test_a_stored_value_the_area_refuses_is_an_error_naming_the_setting(session: Session):
    session.add(RuleSetting(key="health.window_days", value="一周"))  # written past the admin's checks
    session.flush()
    with pytest.raises(StoredSettingInvalid, match=r"health\.window_days"):
        rule_settings.health(session)


def test_a_remembering_session_reads_an_area_once(session: Session):
    rule_settings.remember(session)
    assert rule_settings.health(session).window_days == 7
    session.add(RuleSetting(key="health.window_days", value=30))  # changed meanwhile: the next job sees it
    session.flush()
    assert rule_settings.health(session).window_days == 7


def test_the_pool_reads_each_grades_days_from_its_own_setting(session: Session):
    assert set(Pool.keys()) >= {f"pool.silent_days.{grade}" for grade in ("三甲", "三乙", "二甲", "其他")}
    rule_settings.update(session, None, "pool.silent_days.三乙", "50")
    pool = rule_settings.pool(session)
    assert [pool.silent_days(grade) for grade in ("三甲", "三乙", "二甲", "其他")] == [60, 50, 45, 30]


@pytest.mark.parametrize(
    ("key", "stored", "read"),
    [
        ("pool.silent_days.三甲", "两个月", rule_settings.pool),
        ("battle_pack.hour", "上午十点", rule_settings.battle_pack),
        ("reports.receivable_remind_days_before", [3], rule_settings.reports),
        ("brief.enabled", "也许", rule_settings.visit_brief),
        ("excel_import.max_rows", "很多", rule_settings.excel_import),
        ("capture.summary_window_minutes", "十", rule_settings.capture),
    ],
)
def test_a_stored_value_a_new_area_refuses_names_its_setting(session: Session, key, stored, read):
    session.add(RuleSetting(key=key, value=stored))
    session.flush()
    with pytest.raises(StoredSettingInvalid, match=re.escape(key)):
        read(session)


def test_each_rule_switches_on_its_areas_enabled_setting(session: Session):
    for rule in registry.all_rules():
        assert rule.switch == f"{rule.area.PREFIX}.enabled" and rule.switch in SPECS
        assert rule.enabled(session)
    rule_settings.update(session, None, "health.enabled", "关")
    assert not health_red.RULE.enabled(session)
    assert follow_up_overdue.RULE.enabled(session)
