"""Finding a customer by name: exact or fuzzy, only among the customers the user may see."""

from __future__ import annotations

import pytest

from salesnav.handlers.customers import find_by_name
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
