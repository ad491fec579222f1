"""村级零报告 and 乡镇遍访 (篇四 (一)二、三; profiles: `dibao.zero_report_months`,
`dibao.township_visit_months`, null = not required).

Both count in periods of N months from January (N = 1: every month; N = 3: the calendar
quarters), as the profile's “每月” and “每季度” say. A village's report is missing for a period
with none in it — a month with nothing to report still needs its (zero) report. A 低保 household
(a 正常 member in 低保) is missing its township visit for a period with no visit in it."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.db.models import F

from fangfan.accounts.models import Role
from fangfan.accounts.permissions import role_of
from fangfan.audit.services import audit_record
from fangfan.common.dates import add_months
from fangfan.lowincome.models import DibaoVisit, ZeroReport
from fangfan.lowincome.services import LowIncomeError
from fangfan.regions.scope import code_range_q, in_scope, prefix_for
from fangfan.reports.campaigns import entry_window_guard

REPORT_ROLES = frozenset({Role.VILLAGE, Role.TOWNSHIP})
VISIT_ROLES = frozenset({Role.TOWNSHIP})
READERS = frozenset({Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY_CA, Role.COUNTY_RR, Role.CITY, Role.PROVINCE})
KINDS = {"deaths": "死亡人员", "wrongly_included": "疑似错保", "missed": "疑似漏保"}


def _months(name: str, code: str, on: dt.date) -> int | None:
    from fangfan.workflows.profile import param

    value = param(name, code, on)
    return None if value is None else int(value)


def period_of(day: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """[start, end) of the N-month period from January holding `day`."""
    start = dt.date(day.year, ((day.month - 1) // months) * months + 1, 1)
    return start, min(add_months(start, months), dt.date(day.year + 1, 1, 1))


def _lines(items) -> list[str]:
    if isinstance(items, str):
        items = items.splitlines()
    return [str(x).strip()[:200] for x in items or () if str(x).strip()][:200]


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def zero_report_submit(*, actor, village_code: str, month: dt.date, deaths=(), wrongly_included=(), missed=(),
                       nothing: bool = False, on: dt.date) -> ZeroReport:
    """A village's report for a month; all three lists empty needs `nothing` confirmed (零报告)."""
    from fangfan.regions.models import Region

    month = month.replace(day=1)
    if actor is not None and (role_of(actor) not in REPORT_ROLES or not in_scope(actor, village_code)):
        raise LowIncomeError("村级零报告由本村(或所属乡镇)上报; 该村不在本账号的管辖范围内或角色不能上报")
    entry_window_guard(actor=actor, region_code=village_code)  # W7: closed after a campaign's entry
    if not Region.objects.filter(code=village_code, level="village").exists():
        raise LowIncomeError(f"村代码 {village_code} 不是已登记的村")
    if month > on.replace(day=1):
        raise LowIncomeError(f"不能上报未来月份 ({month:%Y年%m月}) 的零报告")
    content = {"deaths": _lines(deaths), "wrongly_included": _lines(wrongly_included), "missed": _lines(missed)}
    empty = not any(content.values())
    if empty and not nothing:
        raise LowIncomeError("死亡人员、疑似错保、疑似漏保均未填写: 本月无上报事项的, 请勾选「本月无上报事项」(零报告)")
    if not empty and nothing:
        raise LowIncomeError("已填写上报事项, 不能同时勾选「本月无上报事项」")
    with transaction.atomic():
        report = ZeroReport.objects.select_for_update().filter(village_code=village_code, month=month).first()
        before = None
        if report is None:
            report = ZeroReport.objects.create(village_code=village_code, month=month, nothing=empty, submitted_on=on,
                                               submitted_by=_user(actor), **content)
        else:
            before = {k: getattr(report, k) for k in (*KINDS, "nothing")}
            ZeroReport.objects.filter(pk=report.pk).update(nothing=empty, submitted_on=on, submitted_by=_user(actor),
                                                           version=F("version") + 1, **content)
            report.refresh_from_db()
        audit_record(actor=actor, action="lowincome.zero_report", object_type="zero_report", object_key=str(report.pk),
                     region_code=village_code, before=before,
                     after={"month": f"{month:%Y-%m}", "nothing": empty, **{k: len(v) for k, v in content.items()}})
    return report


def dibao_visit_record(*, actor, household, visited_on: dt.date, visitors: str, findings: str, on: dt.date) -> DibaoVisit:
    """A township's visit of a 低保 household."""
    if actor is not None and (role_of(actor) not in VISIT_ROLES or not in_scope(actor, household.village_id)):
        raise LowIncomeError("乡镇遍访由本乡镇登记; 该户不在本账号的管辖范围内或角色不能登记")
    entry_window_guard(actor=actor, region_code=household.village_id)  # W7: closed after a campaign's entry
    if visited_on > on:
        raise LowIncomeError(f"遍访日期 {visited_on:%Y-%m-%d} 晚于今天")
    if not visitors.strip() or not findings.strip():
        raise LowIncomeError("须填写遍访人员和核实情况")
    if not household.members.filter(status="normal", dibao=True).exists():
        raise LowIncomeError(f"户 {household.household_number} 没有享受低保的成员, 不在乡镇遍访范围内")
    with transaction.atomic():
        visit = DibaoVisit.objects.create(household=household, village_code=household.village_id, visited_on=visited_on,
                                          visitors=visitors.strip()[:200], findings=findings.strip(),
                                          recorded_by=_user(actor))
        audit_record(actor=actor, action="lowincome.dibao_visit", object_type="dibao_visit", object_key=str(visit.pk),
                     household_key=household.household_number, region_code=household.village_id,
                     after={"visited_on": str(visited_on), "visitors": visit.visitors})
    return visit


# ---- reads ----------------------------------------------------------------------------------------

@dataclass
class Township:
    code: str
    name: str
    required: int = 0
    done: int = 0
    missing: list = field(default_factory=list)  # (code, name[, extra]) of what is missing


def _prefix(actor) -> str | None:
    if role_of(actor) not in READERS:
        return None
    return prefix_for(actor)


def zero_report_status(*, actor, month: dt.date) -> list[Township]:
    """Per township in scope: the villages that owe a report for the period holding `month`, and
    which have not sent it."""
    from fangfan.regions.models import Region

    prefix = _prefix(actor)
    if prefix is None:
        return []
    month = month.replace(day=1)
    villages = list(Region.objects.filter(code_range_q("code", prefix), level="village").values_list("code", "name"))
    periods = {}
    for code, _ in villages:
        n = _months("dibao.zero_report_months", code, month)
        if n:
            periods[code] = period_of(month, n)
    if not periods:
        return []
    earliest = min(s for s, _ in periods.values())
    sent = {}
    for code, m in ZeroReport.objects.filter(code_range_q("village_code", prefix), month__gte=earliest,
                                             month__lte=month).values_list("village_code", "month"):
        sent.setdefault(code, []).append(m)
    names = dict(Region.objects.filter(code_range_q("code", prefix), level="township").values_list("code", "name"))
    out: dict[str, Township] = {}
    for code, name in villages:
        if code not in periods:
            continue
        start, end = periods[code]
        t = out.setdefault(code[:9], Township(code[:9], names.get(code[:9].ljust(12, "0"), "")))
        t.required += 1
        if any(start <= m < end for m in sent.get(code, ())):
            t.done += 1
        else:
            t.missing.append((code, name))
    return [out[k] for k in sorted(out)]


def zero_reports(*, actor):
    prefix = _prefix(actor)
    if prefix is None:
        return ZeroReport.objects.none()
    return ZeroReport.objects.filter(code_range_q("village_code", prefix))


def visit_status(*, actor, on: dt.date) -> list[Township]:
    """Per township in scope: the 低保 households that owe a township visit in the period holding
    `on` (where the profile sets `dibao.township_visit_months`) and which have none in it yet."""
    from fangfan.registry.models import Household, Member
    from fangfan.registry.selectors import head_names

    prefix = _prefix(actor)
    if prefix is None:
        return []
    dibao = Member.objects.filter(household=OuterRef("pk"), status="normal", dibao=True)
    rows = list(Household.objects.filter(code_range_q("village_id", prefix)).filter(Exists(dibao))
                .annotate(last=Max("dibao_visits__visited_on", filter=Q(dibao_visits__visited_on__lte=on)))
                .values_list("pk", "household_number", "village_id", "last"))
    heads = head_names([r[0] for r in rows])
    out: dict[str, Township] = {}
    months_of: dict[str, int | None] = {}
    for pk, number, village, last in rows:
        if village not in months_of:
            months_of[village] = _months("dibao.township_visit_months", village, on)
        n = months_of[village]
        if not n:
            continue
        start, _ = period_of(on, n)
        t = out.setdefault(village[:9], Township(village[:9], ""))
        t.required += 1
        if last is not None and last >= start:
            t.done += 1
        else:
            t.missing.append((number, heads.get(pk, ""), last))
    from fangfan.regions.models import Region

    names = dict(Region.objects.filter(code__in=[k.ljust(12, "0") for k in out]).values_list("code", "name"))
    for t in out.values():
        t.name = names.get(t.code.ljust(12, "0"), "")
    return [out[k] for k in sorted(out)]
