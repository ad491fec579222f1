import datetime as dt

import pytest

from fangfan.regions.models import Region
from tests.factories import HouseholdFactory, IncomeYearFactory, MemberFactory, ensure_region

AS_OF = dt.date(2026, 6, 30)
COUNTY = "341225"
T1, T2 = "341225103", "341225104"
V1, V2, V3 = "341225103208", "341225103209", "341225104201"


@pytest.fixture
def places(db):
    """Three villages in two townships of 阜南县, with names."""
    for code, name in ((V1, "一村"), (V2, "二村"), (V3, "三村")):
        ensure_region(code, name)
    for code, name in ((T1 + "000", "甲镇"), (T2 + "000", "乙镇"), (COUNTY + "000000", "阜南县")):
        Region.objects.filter(code=code).update(name=name)
    return {V1: Region.objects.get(code=V1), V2: Region.objects.get(code=V2), V3: Region.objects.get(code=V3)}


def household(number, village, *, persons=1, dead=0, incomes=(), **fields):
    """A household with `persons` 正常 members (the first the 户主), `dead` deceased ones, and income
    rows given as (year, {field: fen})."""
    h = HouseholdFactory(household_number=number, village=Region.objects.get(code=village), **fields)
    for i in range(persons):
        MemberFactory(household=h, relation="head" if i == 0 else "spouse")
    for _ in range(dead):
        MemberFactory(household=h, relation="other", status="deceased")
    for year, values in incomes:
        IncomeYearFactory(household=h, year=year, **{"wage": 0, **values})
    return h
