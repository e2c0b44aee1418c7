"""Finding a customer by name: exact or fuzzy, only among the customers the user may see."""

from __future__ import annotations

import pytest

from salesnav.handlers.customers import find_by_name, mainland_phone, normalise_name
from salesnav.handlers.errors import DomainError, NotFound
from tests import factories as f

pytestmark = pytest.mark.smoke


def test_a_rep_finds_their_own_customer_by_a_short_name(session):
    org = f.org(session)
    xiehe = f.customer(session, org.rep, name="北京协和医院")
    f.customer(session, org.rep, name="上海瑞金医院")
    assert find_by_name(session, org.rep, "协和") is xiehe


def test_another_reps_customer_is_not_found_but_the_manager_finds_it(session):
    org = f.org(session)
    tongren = f.customer(session, org.other_rep, name="北京同仁医院")
    f.customer(session, org.rep, name="上海瑞金医院")
    with pytest.raises(NotFound, match="没有找到客户「北京同仁医院」"):
        find_by_name(session, org.rep, "北京同仁医院")
    assert find_by_name(session, org.manager, "同仁") is tongren
    with pytest.raises(DomainError, match="没有客户"):  # another team's manager sees none of them
        find_by_name(session, org.other_manager, "北京同仁医院")


def test_an_ambiguous_name_lists_the_candidates(session):
    org = f.org(session)
    f.customer(session, org.rep, name="苏州市立医院东区")
    f.customer(session, org.rep, name="苏州市立医院西区")
    with pytest.raises(DomainError, match="对应多个客户：苏州市立医院"):
        find_by_name(session, org.rep, "苏州市立医院")


def test_a_branch_suffix_or_legal_suffix_finds_the_same_customer(session):
    org = f.org(session)
    xiehe = f.customer(session, org.rep, name="常州第一人民医院")
    kangda = f.customer(session, org.rep, name="无锡康达医疗器械")
    assert find_by_name(session, org.rep, "常州第一人民医院（本部）") is xiehe
    assert find_by_name(session, org.rep, "无锡康达医疗器械有限公司") is kangda


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("XX医院（本部）", "XX医院"),
        ("XX医院(本部)", "xx医院"),
        ("XX医院总院", "XX医院"),
        ("协和医院（东院）", "协和医院东院区"),
        ("杭州康明医疗器械有限公司", "杭州康明医疗器械"),
        ("杭州康明医疗器械股份有限公司", "杭州 康明 医疗器械"),
        ("杭州康明医疗器械有限责任公司", "杭州康明医疗器械公司"),
        ("XX医院（分院）", "XX医院"),
        ("常州市中医医院", "常州市中医院"),
        ("常州市妇幼保健医院（本部）", "常州市妇幼保健院"),
    ],
)
def test_two_spellings_of_one_customer_normalise_alike(a, b):
    assert normalise_name(a) == normalise_name(b)


@pytest.mark.parametrize(
    ("a", "b"), [("协和医院（东院）", "协和医院（西院）"), ("XX医院", "XX妇幼保健院"), ("XX中医院", "XX医院")]
)
def test_two_customers_stay_two(a, b):
    assert normalise_name(a) != normalise_name(b)


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13812345678", "+8613812345678"),
        ("+86 138-1234-5678", "+8613812345678"),
        ("0571-88886666", "+8657188886666"),
        ("021 6234 5678", "+862162345678"),
        ("010-12345678转123", "+861012345678"),
        ("0571-88886666-123", "+8657188886666"),  # the extension after a dash: a landline all the same
        ("(0571)88886666", "+8657188886666"),
        ("13812345678.0", "+8613812345678"),  # a float Excel kept, read as text
        ("86 13812345678", "+8613812345678"),
        ("4008001234", "+864008001234"),
        ("1381234567", None),  # 10 digits: no mobile
        ("138123456789", None),
        ("12345678", None),  # a landline without its area code
        ("号码待补", None),
    ],
)
def test_a_mainland_phone_is_a_mobile_or_a_landline_and_nothing_else(raw, e164):
    assert mainland_phone(raw) == e164
