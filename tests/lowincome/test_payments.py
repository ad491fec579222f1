"""Monthly payment lists: hand-computed C1 top-ups (minimum, every key-group kind), 特困 support,
single-person 低保, phase-out, the county's line changing a draft, and a paid month never rewritten
(a later change is a correction line in the next list)."""
import datetime as dt
from decimal import Decimal

import pytest

from fangfan.audit.models import AuditEvent
from fangfan.lowincome.models import Enrolment, PaymentLine, PaymentList
from fangfan.lowincome.payments import month_dues, payment_lists_build
from fangfan.lowincome.services import LowIncomeError, payment_list_mark_paid
from fangfan.policy.calc import KeyMember, dibao_topup
from fangfan.screening.parameters import current_parameters
from tests.lowincome.factories import ANKANG, family, person, users

pytestmark = pytest.mark.django_db
D = dt.date
JAN, FEB, MAR = D(2026, 1, 1), D(2026, 2, 1), D(2026, 3, 1)


def dibao_family(wage_yuan, people, **kw):
    h = family(wage_yuan=wage_yuan, people=people, **kw)
    h.members.update(dibao=True)
    return h


def lines(month, household=None):
    qs = PaymentLine.objects.filter(payment_list__month=month)
    if household is not None:
        qs = qs.filter(household=household)
    return sorted((l.kind, l.for_month, l.amount) for l in qs)


def test_it_computes_the_top_up_by_hand_and_as_the_calculator_does():
    # 3 people, I4 9000 → 3000 a head; the grandfather is 72: one key-group supplement.
    h = dibao_family(9000, (("户主", D(1980, 5, 1)), ("配偶", D(1982, 5, 1)), ("祖父", D(1954, 1, 1))))
    dues, problems = month_dues(ANKANG[:9], MAR)
    due = dues[(h.household_number, "dibao")]
    # (4830 − 3000) ÷ 12 × 3 = 457.50; 10 % × 4830 ÷ 12 = 40.25 × 1; 457.50 + 40.25 = 497.75
    assert (due.amount, due.persons, problems) == (49775, 3, [])
    assert "月补差 = max(最低补差 30.00, (4830.00 − 3000.00) ÷ 12 × 3 = 457.50) = 457.50 元" in due.arithmetic
    assert "重点保障: 祖父 — 72周岁(70周岁以上)" in due.arithmetic
    assert "每月发放 = 457.50 + 40.25 = 497.75 元" in due.arithmetic
    calc = dibao_topup(current_parameters(), ANKANG, D(2026, 3, 31), size=3, per_capita_dibao_income=Decimal("3000"),
                       members=[KeyMember(m.name, m.birth_date) for m in h.members.order_by("id")])
    assert calc.total_month == Decimal("497.75")
    assert all(line in due.arithmetic for line in calc.arithmetic)


def test_it_pays_at_least_the_minimum_top_up():
    h = dibao_family(4800, (("户主", D(1980, 5, 1)),))  # (4830 − 4800) ÷ 12 = 2.50 < 30
    due = month_dues(ANKANG[:9], MAR)[0][(h.household_number, "dibao")]
    assert due.amount == 3000
    assert "= 2.50) = 30.00 元" in due.arithmetic


def test_it_adds_a_supplement_for_each_key_group_kind():
    h = dibao_family(0, (
        ("户主", D(1980, 5, 1), {"disability_grade": "3", "disability_kind": "physical"}),  # 三级肢体: not key
        ("孙子", D(2015, 6, 1)),  # 10, under 18
        ("重残", D(1985, 1, 1), {"disability_grade": "1", "disability_kind": "visual"}),
        ("大病", D(1970, 1, 1), {"health": "serious_illness"}),
        ("老人", D(1951, 3, 31)),  # 75 on 2026-03-31
    ))
    due = month_dues(ANKANG[:9], MAR)[0][(h.household_number, "dibao")]
    # 4830 × 5 ÷ 12 = 2012.50; 4 × 40.25 = 161.00
    assert due.amount == 201250 + 16100
    for reason in ("孙子 — 10周岁(未成年人)", "重残 — 一级残疾(重残)", "大病 — 患有大病", "老人 — 75周岁(70周岁以上)"):
        assert reason in due.arithmetic
    assert "户主 —" not in due.arithmetic


def test_it_pays_tekun_support_per_person_at_the_ratio_of_the_line():
    h = family(wage_yuan=0)
    h.members.update(tekun=True)
    due = month_dues(ANKANG[:9], MAR)[0][(h.household_number, "tekun")]
    assert due.amount == 52325  # 1.3 × 4830 ÷ 12 = 523.25
    assert "1.3 × 低保标准 4830.00 ÷ 12 = 523.25 元/人·月" in due.arithmetic


def test_it_pays_a_single_person_dibao_on_the_members_own_income():
    people = users()
    h = family(wage_yuan=12000, people=(("户主", D(1975, 1, 1)),
                                       ("重残", D(1990, 1, 1), {"disability_grade": "1", "disability_kind": "physical"})))
    disabled = h.members.get(name="重残")
    disabled.dibao = True
    disabled.save()
    Enrolment.objects.create(household=h, programme="single_person", members=[disabled.id_index],
                             own_income_year=120000, starts_on=JAN, approved_on=JAN, approved_by=people["civil"])
    dues = month_dues(ANKANG[:9], MAR)[0]
    due = dues[(h.household_number, "single_person")]
    # (4830 − 1200) ÷ 12 × 1 = 302.50 + 40.25 (一级残疾)
    assert (due.amount, due.persons, due.members) == (30250 + 4025, 1, [disabled.id_index])
    assert (h.household_number, "dibao") not in dues


def test_it_keeps_the_allowance_through_the_phase_out_and_stops_on_its_end_date():
    people = users()
    h = dibao_family(9000, (("户主", D(1980, 5, 1)),))
    Enrolment.objects.create(household=h, programme="dibao", members=[h.members.get().id_index], starts_on=JAN,
                             approved_on=JAN, approved_by=people["civil"], phase_out_from=D(2026, 1, 31),
                             phase_out_ends_on=D(2026, 7, 31), kept_month=12345)
    july = month_dues(ANKANG[:9], D(2026, 7, 1))[0][(h.household_number, "dibao")]
    assert july.amount == 12345 and "2026-07-31 起停发" in july.arithmetic
    assert (h.household_number, "dibao") not in month_dues(ANKANG[:9], D(2026, 8, 1))[0]


def test_it_never_rewrites_a_paid_month_and_corrects_it_in_the_next_list():
    people = users()
    h = dibao_family(9000, (("户主", D(1980, 5, 1)), ("配偶", D(1982, 5, 1)), ("祖父", D(1954, 1, 1))))
    [jan] = payment_lists_build(actor=people["civil"], month=JAN, region=ANKANG[:9])
    assert lines(JAN, h) == [("regular", JAN, 49775)]
    payment_list_mark_paid(actor=people["civil"], payment_list_id=jan.pk, seen_version=jan.version, on=D(2026, 1, 20))
    h.incomes.update(wage=600_000)  # corrected income: 2000 a head
    payment_lists_build(actor=people["civil"], month=JAN, region=ANKANG[:9])
    assert lines(JAN, h) == [("regular", JAN, 49775)]  # the paid month is untouched
    assert PaymentList.objects.get(pk=jan.pk).state == "paid"
    for _ in range(2):  # a draft rebuilt twice holds one correction, not two
        payment_lists_build(actor=people["civil"], month=FEB, region=ANKANG[:9])
        # (4830 − 2000) ÷ 12 × 3 = 707.50 + 40.25 = 747.75; January: 747.75 − 497.75 = 250.00 补发
        assert lines(FEB, h) == [("correction", JAN, 25000), ("regular", FEB, 74775)]
    correction = PaymentLine.objects.get(kind="correction")
    assert correction.arithmetic.startswith("更正 2026-01: 按现有数据应发 747.75 元 − 已发 497.75 元 = 补发 250.00 元")
    feb = PaymentList.objects.get(month=FEB)
    assert feb.total == 99775
    payment_list_mark_paid(actor=people["civil"], payment_list_id=feb.pk, seen_version=feb.version, on=D(2026, 2, 20))
    payment_lists_build(actor=people["civil"], month=MAR, region=ANKANG[:9])
    assert lines(MAR, h) == [("regular", MAR, 74775)]  # January settled, February right


def test_it_takes_back_a_paid_month_of_a_member_who_had_died():
    people = users()
    h = dibao_family(0, (("户主", D(1980, 5, 1)), ("配偶", D(1982, 5, 1))))
    [jan] = payment_lists_build(actor=people["civil"], month=JAN, region=ANKANG[:9])
    assert lines(JAN, h) == [("regular", JAN, 80500)]  # 4830 × 2 ÷ 12
    payment_list_mark_paid(actor=people["civil"], payment_list_id=jan.pk, seen_version=jan.version, on=D(2026, 1, 20))
    h.members.filter(name="配偶").update(status="deceased")
    payment_lists_build(actor=people["civil"], month=FEB, region=ANKANG[:9])
    assert lines(FEB, h) == [("correction", JAN, -40250), ("regular", FEB, 40250)]
    assert "扣回 402.50 元" in PaymentLine.objects.get(kind="correction").arithmetic


def test_it_follows_the_countys_new_line_in_a_draft():
    from fangfan.screening.services import county_parameter_set

    people = users()
    h = dibao_family(9000, (("户主", D(1980, 5, 1)), ("配偶", D(1982, 5, 1)), ("祖父", D(1954, 1, 1))))
    payment_lists_build(actor=people["civil"], month=MAR, region=ANKANG[:9])
    assert lines(MAR, h) == [("regular", MAR, 49775)]
    county_parameter_set(actor=people["civil"], name="dibao.line_rural_year", region_prefix="610902",
                         start=D(2026, 3, 1), value_text="6000", document="汉民发〔2026〕1号")
    payment_lists_build(actor=people["civil"], month=MAR, region=ANKANG[:9])
    # (6000 − 3000) ÷ 12 × 3 = 750.00 + 10 % × 6000 ÷ 12 = 50.00
    assert lines(MAR, h) == [("regular", MAR, 80000)]
    assert PaymentList.objects.get(month=MAR).version == 2


def test_it_refuses_a_list_where_the_county_has_no_dibao_line_and_writes_nothing():
    civil = users("341225103208")["civil"]
    h = family("341225103208", wage_yuan=0)
    h.members.update(dibao=True)
    with pytest.raises(LowIncomeError, match="未设定农村低保标准"):
        payment_lists_build(actor=civil, month=MAR)
    assert not PaymentList.objects.exists()


def test_it_lets_only_the_civil_affairs_bureau_build_and_mark_paid():
    people = users()
    dibao_family(0, (("户主", D(1980, 5, 1)),))
    with pytest.raises(LowIncomeError, match="县民政局"):
        payment_lists_build(actor=people["county"], month=MAR)
    [lst] = payment_lists_build(actor=people["civil"], month=MAR)
    with pytest.raises(LowIncomeError, match="县民政局"):
        payment_list_mark_paid(actor=people["township"], payment_list_id=lst.pk, seen_version=lst.version, on=MAR)
    with pytest.raises(LowIncomeError, match="重新生成"):
        payment_list_mark_paid(actor=people["civil"], payment_list_id=lst.pk, seen_version=lst.version + 5, on=MAR)
    other_county = users("610921100201")["civil"]  # 紫阳县
    with pytest.raises(LowIncomeError, match="管辖范围"):
        payment_lists_build(actor=other_county, month=MAR, region=ANKANG[:9])
    assert AuditEvent.objects.filter(action="lowincome.payments").count() == 1
