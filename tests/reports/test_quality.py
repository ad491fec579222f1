"""Q3 数据质量 on a small registry: each planted problem found once, with its field, rule and hint,
and the scores per village, township and county computed by hand."""
import datetime as dt

import pytest

from fangfan.registry.models import Member
from fangfan.reports.selectors import build
from tests.factories import MeasureFactory, MemberFactory, make_id_number
from tests.reports.conftest import AS_OF, V1, V2, V3, household

pytestmark = pytest.mark.django_db
W = 100
INCOME = [(2025, {"wage": 10000 * W})]
MONITORED = {"category": "unstable_lifted", "identified_on": dt.date(2025, 1, 1), "last_visit_on": dt.date(2026, 6, 1)}


def member(h, n, born, relation="spouse", **fields):
    number = make_id_number(n, born)
    return MemberFactory(household=h, id_number=number, birth_date=born, relation=relation, **fields)


@pytest.fixture
def registry(places):
    household("OK1", V1, incomes=INCOME)  # no problem
    household("OK2", V1, incomes=INCOME)
    old = household("OLD", V1, incomes=INCOME)  # a member over 100 whose birth date disagrees with the ID
    m = member(old, 901, dt.date(1920, 1, 1))
    Member.objects.filter(pk=m.pk).update(birth_date=dt.date(1921, 1, 1))
    young = household("YNG", V1, incomes=INCOME)  # a 之子 12 years younger than the head less one day; a child labourer
    head = young.members.get(relation="head")
    member(young, 902, dt.date(head.birth_date.year + 12, 1, 1) - dt.timedelta(days=1), relation="son")
    member(young, 903, dt.date(2015, 1, 1), relation="daughter", labor="ordinary", schooling="not_in_school")
    household("NOI", V2)  # no income row for 2025
    # monitored, identified 18 months ago, with labour, only a health measure: Q14; visit overdue: Q19
    mon = household("MON", V2, incomes=INCOME, **{**MONITORED, "last_visit_on": dt.date(2026, 1, 1)})
    MeasureFactory(household=mon, measure_code="M05", started_on=dt.date(2025, 2, 1))
    household("BARE", V2, incomes=INCOME, **MONITORED)  # monitored without any measure: Q14 and Q15
    # eliminated one month after identification, below the line (6000 yuan in 阜南县), no contact cadre
    household("ELM", V3, incomes=[(2025, {"wage": 5999 * W})], category="marginal", household_type="ordinary",
              identified_on=dt.date(2025, 1, 1), eliminated_on=dt.date(2025, 2, 1))


def test_it_names_household_member_field_rule_and_hint_for_each_problem(registry):
    detail = build(name="data-quality", actor=None, region="341225", as_of=AS_OF).table("problems")
    assert detail.columns == ["户编号", "村代码", "村名", "成员", "表", "字段", "规则", "问题", "修改提示"]
    found = [(r[0], r[3] != "", r[5], r[6]) for r in detail.rows()]
    assert found == [
        ("OLD", True, "出生日期", "Q07"), ("OLD", True, "出生日期", "Q08"),
        ("YNG", True, "出生日期", "Q04"), ("YNG", True, "劳动技能", "Q05"),
        ("BARE", False, "措施类别", "Q14"), ("BARE", False, "措施类别", "Q15"),
        ("MON", False, "措施类别", "Q14"), ("MON", False, "最近回访日期", "Q19"),
        ("NOI", False, "年度", "Q09"),
        ("ELM", False, "人均纯收入", "Q16"), ("ELM", False, "帮扶联系人", "Q17"), ("ELM", False, "风险消除日期", "Q18"),
    ]
    hint = {r[6]: r[8] for r in detail.rows()}
    assert hint["Q16"] == "核实收入; 不稳定的应回退风险消除"


def test_it_scores_each_level_as_the_share_of_households_without_problems(registry):
    report = build(name="data-quality", actor=None, region="341225", as_of=AS_OF)
    # 一村: OK1 OK2 OLD YNG, 2 with problems; 二村: NOI MON BARE, all; 三村: ELM
    assert report.table("score_village").rows() == [
        (V1, "一村", 4, 2, 4, "50.00%"), (V2, "二村", 3, 3, 5, "0.00%"), (V3, "三村", 1, 1, 3, "0.00%")]
    assert report.table("score_township").rows() == [
        ("341225103000", "甲镇", 7, 5, 9, "28.57%"), ("341225104000", "乙镇", 1, 1, 3, "0.00%")]
    assert report.table("score_county").rows() == [("341225000000", "阜南县", 8, 6, 12, "25.00%")]


def test_it_does_not_flag_the_boundaries(places):
    """A 之子 exactly 12 years younger than the head, a member of exactly 100, per-capita income
    exactly at the line (12000 yuan for two persons), elimination exactly two months after identification."""
    h = household("EDGE", V1, incomes=[(2025, {"wage": 12000 * W})], category="marginal", household_type="ordinary",
                  identified_on=dt.date(2025, 1, 1), eliminated_on=dt.date(2025, 3, 1))
    head = h.members.get(relation="head")
    member(h, 904, head.birth_date.replace(year=head.birth_date.year + 12), relation="son")
    other = household("AGED", V1, incomes=INCOME)
    member(other, 905, dt.date(1926, 6, 30))
    rules = [r[6] for r in build(name="data-quality", actor=None, region=V1, as_of=AS_OF).table("problems").rows()]
    assert rules == ["Q17"]  # EDGE has no contact cadre; nothing else


def test_it_gives_the_township_base_data(registry):
    base = build(name="data-quality", actor=None, region="341225103", as_of=AS_OF).table("township_base")
    assert base.columns == ["区划代码", "名称", "行政村个数", "总户数", "总人数", "常住户数", "常住人数", "农村户籍户数",
                            "农村户籍人数"]
    # 甲镇: households OK1 OK2 OLD YNG NOI MON BARE; persons 7 heads + OLD's 1 + YNG's 2
    assert base.rows() == [("341225103000", "甲镇", 2, 7, 10, 7, 10, 7, 10)]


def test_it_flags_an_invalid_or_undecryptable_id_although_the_ids_are_stored_encrypted(places):
    """Q01 reads the numbers decrypted: a wrong check digit, and a cipher that no longer
    decrypts (altered in the database), are both 证件号码无效; a valid one is not."""
    h = household("BAD", V1, incomes=INCOME)
    valid = make_id_number(906, dt.date(1990, 3, 3))
    wrong = valid[:17] + ("0" if valid[17] != "0" else "1")
    member(h, 906, dt.date(1990, 3, 3))
    bad = MemberFactory(household=h, name="校验位错", id_number=wrong, birth_date=dt.date(1990, 3, 3), relation="other")
    altered = MemberFactory(household=h, name="密文被改", birth_date=dt.date(1991, 1, 1), relation="other",
                            id_number=make_id_number(907, dt.date(1991, 1, 1)))
    cipher = altered.id_cipher
    Member.objects.filter(pk=altered.pk).update(id_cipher=cipher[:-6] + ("AAAAAA" if cipher[-6:] != "AAAAAA" else "BBBBBB"))
    assert wrong not in str(list(Member.objects.filter(pk=bad.pk).values_list("id_index", "id_cipher")))

    detail = build(name="data-quality", actor=None, region=V1, as_of=AS_OF).table("problems")
    q01 = sorted(r[3] for r in detail.rows() if r[6] == "Q01")
    assert q01 == ["密文被改", "校验位错"]
    assert {r[6] for r in detail.rows()} == {"Q01"}  # the valid member, and the rest of the household, pass
