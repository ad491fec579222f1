"""Factories for case tests: users per role and region, households with a head, and a fake
rule result (the real one comes from fangfan.screening)."""
from __future__ import annotations

import datetime as dt

from fangfan.accounts.models import Role
from fangfan.workflows import results
from tests.factories import HouseholdFactory, MemberFactory, UserFactory, ensure_region

# One village per profile used in the tests.
FUNAN = "341225103208"  # 安徽省阜南县: national values (5-day notice, 15 calendar days)
HUNAN = "430121100201"  # 湖南省: 7-day notice
LINGSHOU = "130126100201"  # 河北省灵寿县: village + township notice, 20 working days
YINGKOU = "210804100201"  # 辽宁省营口市: tracking, province approves rollback/removal


def user(role: str, region: str, name: str | None = None):
    name = name or f"{role}-{region}"
    return UserFactory(username=name, role=role, region_code=region.ljust(12, "0"))


def staff(village: str) -> dict:
    """A village, a township, a county user above `village`, plus city and province."""
    return {
        "village": user(Role.VILLAGE, village),
        "township": user(Role.TOWNSHIP, village[:9]),
        "county": user(Role.COUNTY_RR, village[:6]),
        "city": user(Role.CITY, village[:4]),
        "province": user(Role.PROVINCE, village[:2]),
    }


def household(village: str = FUNAN, head: str = "张三", **kwargs):
    h = HouseholdFactory(village=ensure_region(village), **kwargs)
    MemberFactory(household=h, name=head, relation="head")
    return h


def fake_rule_result(monkeypatch, **columns) -> dict:
    """Replace the screening rule result for every household by these columns."""
    base = {
        "below_line": True, "candidate_category": "marginal", "detected_risks": "R01",
        "negative_list_hits": "", "elimination": "", "elimination_failed": "",
        "per_capita_income": 520000, "income_line": 600000,
    }
    base.update(columns)
    monkeypatch.setattr(results, "rule_result", lambda household, on: dict(base))
    return base


D = dt.date
