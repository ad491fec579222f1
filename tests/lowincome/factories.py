"""Households of a county with a 低保 line (安康 610900: L = 4830 from 2021, min top-up 30,
key-group rate 10 %, marginal ×1.5, phase-out 6 months, 特困 ×1.3) for the 低保/特困 tests."""
from __future__ import annotations

import datetime as dt
import itertools

from fangfan.accounts.models import Role
from tests.factories import HouseholdFactory, IncomeYearFactory, MemberFactory, UserFactory, ensure_region, make_id_number

ANKANG = "610902100201"  # 陕西省安康市汉滨区, a village
ANKANG_OTHER_TOWNSHIP = "610902101201"
_seq = itertools.count(1)


def person(household, name: str, born: dt.date = dt.date(1980, 5, 1), **kwargs):
    n = next(_seq)
    return MemberFactory(household=household, name=name, id_number=make_id_number(n, born, county="610902"),
                         relation=kwargs.pop("relation", "other"), **kwargs)


def family(village: str = ANKANG, *, wage_yuan: int, people: tuple = (), year: int = 2025, **household_fields):
    """A household whose I4 income is just `wage_yuan` (no exclusions), members (name, born, extra)."""
    h = HouseholdFactory(village=ensure_region(village, "安康测试村"), household_type="general", **household_fields)
    for i, spec in enumerate(people or (("户主", dt.date(1980, 5, 1), {}),)):
        name, born, extra = (spec + ({},))[:3] if len(spec) == 2 else spec
        person(h, name, born, relation="head" if i == 0 else "other", **extra)
    IncomeYearFactory(household=h, year=year, wage=wage_yuan * 100)
    return h


def users(village: str = ANKANG) -> dict:
    def u(role, region, name):
        return UserFactory(username=name, role=role, region_code=region.ljust(12, "0"))

    return {
        "village": u(Role.VILLAGE, village, f"v-{village}"),
        "township": u(Role.TOWNSHIP, village[:9], f"t-{village[:9]}"),
        "county": u(Role.COUNTY_RR, village[:6], f"rr-{village[:6]}"),
        "civil": u(Role.COUNTY_CA, village[:6], f"ca-{village[:6]}"),
    }


def entry_campaign(region: str):
    """A 集中排查 over `region` whose entry window closes 2026-05-31 18:00 (W7; fangfan.reports.campaigns)."""
    from fangfan.reports import campaigns as C

    return C.campaign_create(actor=None, name="集中排查", region=region, year=2026, phases=[
        C.PhaseSpec("field", dt.date(2026, 5, 27)), C.PhaseSpec("entry", dt.date(2026, 5, 31), dt.time(18, 0)),
        C.PhaseSpec("correction", dt.date(2026, 6, 5))])


def set_clock(monkeypatch, text: str) -> None:
    """The time the entry-window guard sees, in the project's time zone."""
    import zoneinfo

    from django.conf import settings

    from fangfan.reports import campaigns as C

    at = dt.datetime.fromisoformat(text).replace(tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))
    monkeypatch.setattr(C, "now", lambda: at)
