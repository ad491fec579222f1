"""Data of the browser scenarios, made with the factories and the services (never through the
pages under test): a village with a rule candidate, its staff, a 医保 user."""
from __future__ import annotations

from django.utils import timezone

from fangfan.accounts.models import Role
from fangfan.screening.models import ScreeningResult
from fangfan.screening.services import screening_run
from tests.factories import HouseholdFactory, IncomeYearFactory, MemberFactory, UserFactory, ensure_region

VILLAGE = "341225103208"  # 安徽省阜南县: national profile, 5-day village notice, no township notice
OTHER_VILLAGE = "341225103209"  # same township, another village


def staff(village: str = VILLAGE) -> dict:
    return {
        "village": UserFactory(username=f"cun{village}", role=Role.VILLAGE, region_code=village),
        "township": UserFactory(username=f"xiang{village[:9]}", role=Role.TOWNSHIP,
                                region_code=village[:9].ljust(12, "0")),
        "county": UserFactory(username=f"xian{village[:6]}", role=Role.COUNTY_RR,
                              region_code=village[:6].ljust(12, "0")),
        "yibao": UserFactory(username=f"yibao{village[:6]}", role=Role.COUNTY_DEPT, department="医保",
                             region_code=village[:6].ljust(12, "0")),
    }


def candidate_household(village: str = VILLAGE, head: str = "王秀英", number: str | None = None):
    """An ordinary household below the monitoring line with a seriously ill member: the
    screening puts it on the village's list of rule candidates."""
    ensure_region(village[:9].ljust(12, "0"), "王家坝镇")
    extra = {"household_number": number} if number else {}
    h = HouseholdFactory(village=ensure_region(village, "郎庙村" if village == VILLAGE else "李桥村"),
                         household_type="ordinary", housing_safe=True, **extra)
    MemberFactory(household=h, name=head, relation="head", health="serious_illness")
    IncomeYearFactory(household=h, year=timezone.localdate().year - 1, wage=300_000)
    return h


def screen(village: str = VILLAGE):
    screening_run(actor=None, as_of=timezone.localdate(), region=village)


def candidate_of(household) -> str:
    result = ScreeningResult.objects.filter(household=household).order_by("-as_of").first()
    return result.candidate_category if result else ""
