import polars as pl
import pytest

from fangfan.accounts.models import Role
from fangfan.registry.models import Member
from fangfan.registry.search import household_search, initials_expr, name_initials
from tests.factories import UserFactory, ensure_region
from tests.registry.factories import household_with

pytestmark = pytest.mark.django_db
VILLAGE = "341225103208"
OTHER_VILLAGE = "341225103209"



@pytest.fixture
def cadre():
    return UserFactory(username="cun", role=Role.VILLAGE, region_code=VILLAGE)


def numbers(result) -> list[str]:
    return [h.household_number for h in result.households]


def test_it_computes_initials_once_per_character_for_a_whole_column():
    names = pl.Series(["张三", "李小明", None, "王五", "张三"])
    assert initials_expr(names).to_list() == ["zs", "lxm", "", "ww", "zs"]
    assert name_initials("欧阳娜娜") == "oynn"


def test_it_finds_zhang_san_by_zs(cadre):
    zhang = household_with(VILLAGE, "张三", "张小花")
    household_with(VILLAGE, "李四")
    assert numbers(household_search(actor=cadre, q="zs")) == [zhang.household_number]
    assert numbers(household_search(actor=cadre, q="ZXH")) == [zhang.household_number]


def test_it_finds_by_name_exact_and_prefix(cadre):
    zhang = household_with(VILLAGE, "张三")
    zhangfeng = household_with(VILLAGE, "张三丰")
    assert numbers(household_search(actor=cadre, q="张三")) == sorted([zhang.household_number, zhangfeng.household_number])
    assert numbers(household_search(actor=cadre, q="张三丰")) == [zhangfeng.household_number]


def test_it_finds_an_id_number_only_by_exact_match(cadre):
    h = household_with(VILLAGE, "张三")
    id_number = Member.objects.get(household=h).id_number
    assert numbers(household_search(actor=cadre, q=id_number)) == [h.household_number]
    # A prefix of an ID number is no ID search (it is read as a 户编号 prefix): nothing leaks.
    assert numbers(household_search(actor=cadre, q=id_number[:10])) == []
    wrong = id_number[:17] + ("0" if id_number[17] != "0" else "1")
    found = household_search(actor=cadre, q=wrong)
    assert found.households == [] and "校验位" in found.error


def test_it_finds_by_household_number_prefix(cadre):
    a = household_with(VILLAGE, "甲", household_number="3412251032080001")
    b = household_with(VILLAGE, "乙", household_number="3412251032080002")
    household_with(VILLAGE, "丙", household_number="3412251032081001")
    assert numbers(household_search(actor=cadre, q="341225103208000")) == [a.household_number, b.household_number]
    assert numbers(household_search(actor=cadre, q=b.household_number)) == [b.household_number]


def test_it_filters_by_village_name_or_code():
    ensure_region(VILLAGE, "王庄村")
    ensure_region(OTHER_VILLAGE, "李庄村")
    township = UserFactory(username="xiang", role=Role.TOWNSHIP, region_code=VILLAGE[:9].ljust(12, "0"))
    here = household_with(VILLAGE, "张三")
    there = household_with(OTHER_VILLAGE, "张三")
    assert numbers(household_search(actor=township, village="王庄")) == [here.household_number]
    assert numbers(household_search(actor=township, village=OTHER_VILLAGE)) == [there.household_number]
    assert numbers(household_search(actor=township, q="zs", village="李庄村")) == [there.household_number]


def test_it_never_finds_households_outside_the_scope(cadre):
    mine = household_with(VILLAGE, "张三")
    theirs = household_with(OTHER_VILLAGE, "张三")
    theirs_id = Member.objects.get(household=theirs).id_number
    assert numbers(household_search(actor=cadre, q="张三")) == [mine.household_number]
    assert numbers(household_search(actor=cadre, q="zs")) == [mine.household_number]
    assert numbers(household_search(actor=cadre, q=theirs_id)) == []
    assert numbers(household_search(actor=cadre, q=theirs.household_number)) == []
    assert numbers(household_search(actor=cadre, village=OTHER_VILLAGE)) == []
    dept = UserFactory(username="yibao", role=Role.COUNTY_DEPT, region_code=VILLAGE[:6].ljust(12, "0"))
    assert list(household_search(actor=dept, q="张三").households) == []


def test_it_caps_a_query_matching_too_many_households(cadre, monkeypatch):
    from fangfan.registry import search

    monkeypatch.setattr(search, "MAX_HITS", 2)
    for _ in range(3):
        household_with(VILLAGE, "王五")
    found = household_search(actor=cadre, q="王")
    assert len(found.households) == 2 and found.truncated


def test_it_fills_name_initials_in_the_import(tmp_path):
    from fangfan.registry.services import registry_import
    from tests.registry.test_import import copy_examples

    user = UserFactory(username="county1", role="county_rr", region_code="341225000000")
    registry_import(actor=user, path=copy_examples(tmp_path))
    members = list(Member.objects.all())
    assert members and all(m.name_initials == name_initials(m.name) and m.name_initials for m in members)
