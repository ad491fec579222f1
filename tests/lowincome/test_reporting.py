"""村级零报告 (monthly in 尚义 130725) and the quarterly 乡镇遍访 of every 低保 household."""
import datetime as dt

import pytest

from fangfan.audit.models import AuditEvent
from fangfan.lowincome.models import DibaoVisit, ZeroReport
from fangfan.lowincome.reporting import (dibao_visit_record, period_of, visit_status, zero_report_status,
                                         zero_report_submit)
from fangfan.lowincome.services import LowIncomeError
from tests.factories import ensure_region
from tests.lowincome.factories import ANKANG, family, users

pytestmark = pytest.mark.django_db
D = dt.date
A, B, C = "130725100201", "130725100202", "130725101201"  # 尚义: A, B in one township, C in another


def test_it_counts_periods_from_january():
    assert period_of(D(2026, 5, 20), 1) == (D(2026, 5, 1), D(2026, 6, 1))
    assert period_of(D(2026, 6, 30), 3) == (D(2026, 4, 1), D(2026, 7, 1))
    assert period_of(D(2026, 12, 1), 3) == (D(2026, 10, 1), D(2027, 1, 1))


def test_it_lists_the_villages_whose_monthly_report_is_missing_by_township():
    for code in (A, B, C, ANKANG):
        ensure_region(code, f"村{code[-3:]}")
    people = users(A)
    zero_report_submit(actor=people["village"], village_code=A, month=D(2026, 5, 1), nothing=True, on=D(2026, 5, 28))
    zero_report_submit(actor=None, village_code=C, month=D(2026, 5, 1), deaths="张三 已于5月3日死亡", on=D(2026, 5, 30))
    status = zero_report_status(actor=people["civil"], month=D(2026, 5, 1))
    assert [(t.code, t.required, t.done, [m[0] for m in t.missing]) for t in status] == [
        ("130725100", 2, 1, [B]), ("130725101", 1, 1, [])]
    # the next month nobody has reported; 安康 has no zero-report rule and is never listed
    status = zero_report_status(actor=people["civil"], month=D(2026, 6, 1))
    assert [(t.code, [m[0] for m in t.missing]) for t in status] == [("130725100", [A, B]), ("130725101", [C])]
    assert zero_report_status(actor=users(ANKANG)["civil"], month=D(2026, 5, 1)) == []
    # a village sees only itself
    assert [(t.code, t.required) for t in zero_report_status(actor=people["village"], month=D(2026, 5, 1))] == [
        ("130725100", 1)]


def test_it_requires_the_zero_confirmed_when_nothing_is_reported_and_keeps_the_earlier_report_in_the_audit():
    ensure_region(A, "村A")
    ensure_region(B, "村B")
    people = users(A)
    month = D(2026, 5, 1)
    for kwargs, message in [({}, "本月无上报事项"), ({"missed": ["李四"], "nothing": True}, "不能同时勾选"),
                            ({"nothing": True, "month": D(2026, 6, 1)}, "未来月份")]:
        with pytest.raises(LowIncomeError, match=message):
            zero_report_submit(actor=people["village"], village_code=A, **{"month": month, **kwargs}, on=D(2026, 5, 31))
    with pytest.raises(LowIncomeError, match="管辖范围"):
        zero_report_submit(actor=people["village"], village_code=B, month=month, nothing=True, on=D(2026, 5, 31))
    assert not ZeroReport.objects.exists()
    zero_report_submit(actor=people["village"], village_code=A, month=month, nothing=True, on=D(2026, 5, 28))
    report = zero_report_submit(actor=people["village"], village_code=A, month=month,
                                wrongly_included="王五 家有营运车辆\n\n", on=D(2026, 5, 30))
    assert (report.version, report.nothing, report.wrongly_included) == (2, False, ["王五 家有营运车辆"])
    last = AuditEvent.objects.filter(action="lowincome.zero_report").order_by("-id").first()
    assert last.before["nothing"] is True and last.after["wrongly_included"] == 1


def test_it_lists_dibao_households_without_a_township_visit_this_quarter():
    people = users(A)
    visited = family(A, wage_yuan=2000, people=(("甲", D(1960, 1, 1), {"dibao": True}),))
    never = family(A, wage_yuan=2000, people=(("乙", D(1960, 1, 1), {"dibao": True}),))
    family(A, wage_yuan=2000, people=(("丙", D(1960, 1, 1)),))  # not in 低保: no visit owed
    family(ANKANG, wage_yuan=2000, people=(("丁", D(1960, 1, 1), {"dibao": True}),))  # no such rule in 安康
    dibao_visit_record(actor=people["township"], household=visited, visited_on=D(2026, 4, 10), visitors="乡干部甲、村干部乙",
                       findings="收入无变化", on=D(2026, 4, 10))
    q2 = visit_status(actor=people["civil"], on=D(2026, 6, 30))
    assert [(t.code, t.required, t.done, [m[0] for m in t.missing]) for t in q2] == [
        ("130725100", 2, 1, [never.household_number])]
    q3 = visit_status(actor=people["civil"], on=D(2026, 7, 1))
    assert sorted(m[0] for m in q3[0].missing) == sorted([visited.household_number, never.household_number])
    assert dict((m[0], m[2]) for m in q3[0].missing)[visited.household_number] == D(2026, 4, 10)


def test_it_refuses_a_visit_of_a_household_not_in_dibao_or_by_a_village():
    people = users(A)
    h = family(A, wage_yuan=2000, people=(("丙", D(1960, 1, 1)),))
    with pytest.raises(LowIncomeError, match="没有享受低保的成员"):
        dibao_visit_record(actor=people["township"], household=h, visited_on=D(2026, 4, 1), visitors="x", findings="y",
                           on=D(2026, 4, 1))
    h.members.update(dibao=True)
    with pytest.raises(LowIncomeError, match="角色不能登记"):
        dibao_visit_record(actor=people["village"], household=h, visited_on=D(2026, 4, 1), visitors="x", findings="y",
                           on=D(2026, 4, 1))
    with pytest.raises(LowIncomeError, match="晚于今天"):
        dibao_visit_record(actor=people["township"], household=h, visited_on=D(2026, 4, 2), visitors="x", findings="y",
                           on=D(2026, 4, 1))


def test_it_refuses_the_zero_report_and_the_township_visit_once_a_campaigns_entry_window_has_closed(monkeypatch):
    from fangfan.workflows.errors import NotAllowed
    from tests.lowincome.factories import entry_campaign, set_clock

    ensure_region(A, "村201")
    people = users(A)
    h = family(A, wage_yuan=2000, people=(("甲", D(1960, 1, 1), {"dibao": True}),))
    entry_campaign(A[:6])
    set_clock(monkeypatch, "2026-05-31T18:00:00")
    with pytest.raises(NotAllowed, match="18:00 截止"):
        zero_report_submit(actor=people["village"], village_code=A, month=D(2026, 5, 1), nothing=True, on=D(2026, 5, 31))
    with pytest.raises(NotAllowed, match="18:00 截止"):
        dibao_visit_record(actor=people["township"], household=h, visited_on=D(2026, 5, 30), visitors="乡干部甲",
                           findings="收入无变化", on=D(2026, 5, 31))
    assert ZeroReport.objects.count() == 0 and DibaoVisit.objects.count() == 0
    set_clock(monkeypatch, "2026-06-06T00:00:00")  # the correction phase is over: village accounts write again
    zero_report_submit(actor=people["village"], village_code=A, month=D(2026, 5, 1), nothing=True, on=D(2026, 6, 6))
    assert ZeroReport.objects.count() == 1
