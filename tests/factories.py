"""factory-boy factories shared by the test suite."""
from __future__ import annotations

import datetime as dt

import factory

from fangfan.accounts.models import Role, User
from fangfan.common.ids import check_digit
from fangfan.regions.codes import level_of
from fangfan.regions.models import Region
from fangfan.registry.models import Household, IncomeYear, Measure, Member

DEFAULT_VILLAGE = "341225103208"  # 安徽省阜南县, the spec's example village


def ensure_region(code: str, name: str = "") -> Region:
    """The region and all its ancestors (codes padded to 12 digits)."""
    parent = None
    chain = [code[:n].ljust(12, "0") for n in (2, 4, 6, 9) if code[:n].ljust(12, "0") != code] + [code]
    for c in dict.fromkeys(chain):
        region, _ = Region.objects.get_or_create(
            code=c, defaults={"level": level_of(c), "name": name if c == code else "", "parent": parent}
        )
        parent = region
    return parent


def make_id_number(n: int, born: dt.date = dt.date(1970, 1, 1), sex: str = "M", county: str = "341225") -> str:
    seq = (n % 500) * 2 + (1 if sex == "M" else 0)
    first17 = f"{county}{born:%Y%m%d}{seq:03d}"
    return first17 + check_digit(first17)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.VILLAGE
    region_code = DEFAULT_VILLAGE
    password = factory.django.Password("pw-fangfan-test")


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    household_number = factory.Sequence(lambda n: f"H{n:06d}")
    village = factory.LazyFunction(lambda: ensure_region(DEFAULT_VILLAGE))
    household_type = "lifted"
    housing_safe = True
    water_safe = True


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    household = factory.SubFactory(HouseholdFactory)
    name = factory.Sequence(lambda n: f"成员{n}")
    id_number = factory.Sequence(lambda n: make_id_number(n, dt.date(1970 + n // 500 % 30, 1, 1)))
    birth_date = factory.LazyAttribute(
        lambda m: dt.date(int(m.id_number[6:10]), int(m.id_number[10:12]), int(m.id_number[12:14]))
    )
    sex = factory.LazyAttribute(lambda m: "M" if int(m.id_number[16]) % 2 else "F")
    relation = "head"
    labor = "ordinary"


class IncomeYearFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IncomeYear

    household = factory.SubFactory(HouseholdFactory)
    year = 2025
    wage = 2_000_000


class MeasureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Measure

    household = factory.SubFactory(HouseholdFactory)
    measure_code = "M02"
    started_on = dt.date(2026, 1, 1)
    status = "done"
