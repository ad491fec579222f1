"""W4 回访 (rules.md S1; 篇八 (一), 篇十一): recording and schedule.

A visit records date, method (入户/电话/微信), who, findings, an income update and new risks.
A new risk or a sharp income fall (net income below (1 − hardship.income_drop_ratio) × the
previous year's) raises a case: a household that is not monitored (or whose risk was
eliminated: 再认定, 篇二 (二)4) gets an identification case (channel 干部走访排查); a monitored
household gets a warning on the visit for its contact and plan. An identification already
open is not duplicated: the warning names it."""
from __future__ import annotations

import datetime as dt

import polars as pl

from django.db import transaction

from fangfan.accounts.models import Role
from fangfan.audit.services import audit_record
from fangfan.common import codes as C
from fangfan.regions.scope import code_range_sql, in_scope, prefix_for
from fangfan.reports.campaigns import entry_window_guard
from fangfan.registry.models import Household
from fangfan.workflows import profile
from fangfan.workflows.errors import GuardFailed, NotAllowed
from fangfan.workflows.households import household_update, split_codes
from fangfan.workflows.models import Case, Visit

WRITER_ROLES = frozenset({Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY_RR})
METHOD_LOOKUP = {**{k: k for k in Visit.Method.values}, **{label: k for k, label in Visit.Method.choices}}


def _schedule(where: tuple[str, list], as_of: dt.date) -> pl.DataFrame:
    """S1 for the households matching `where` (SQL on registry_household h): the policy engine's
    one definition (rules.schedule), evaluated over the households table as a frame.
    household_id is the 户编号."""
    from fangfan.policy.evaluate import visit_schedule
    from fangfan.registry import dbframes

    frame = dbframes.read_tables(tables=("households",), where=where)["households"]
    return visit_schedule(frame, as_of=as_of, params=profile.parameter_set())


def visit_due_on(household, as_of: dt.date) -> dt.date | None:
    """S1 due date; None when the household has no schedule. Every recorded visit moves the
    household's last_visit_on (visit_record), which S1 counts from."""
    schedule = _schedule(("h.id = %s", [household.pk]), as_of)
    return schedule.get_column("visit_due_on")[0] if schedule.height else None


def visits_overdue(*, actor, as_of: dt.date) -> list[dict]:
    """Households in the actor's scope whose S1 visit is overdue (as-of after the due date),
    computed for the whole scope at once."""
    prefix = prefix_for(actor)
    if prefix is None:
        return []
    bounds, params = code_range_sql("h.village_code", prefix)
    scheduled = "(h.category <> '' OR h.household_type = 'lifted')"
    schedule = _schedule((f"{bounds} AND {scheduled}" if bounds else scheduled, params), as_of)
    late = schedule.filter(pl.col("visit_overdue")).select("household_id", "visit_due_on")
    due = dict(late.iter_rows())
    found = Household.objects.filter(household_number__in=list(due)).order_by("village_id", "household_number")
    return [{"household": h, "due_on": due[h.household_number], "days_over": (as_of - due[h.household_number]).days}
            for h in found]


def _sharp_fall(household, net_income: int | None, on: dt.date) -> tuple[bool, int | None]:
    """The visit's estimate against the latest stored year before the visit's (rules I1, M2(b))."""
    if net_income is None:
        return False, None
    previous = household.incomes.filter(year__lt=on.year).order_by("-year").first()
    if previous is None:
        return False, None
    from fangfan.policy.evaluate import income_fall

    fields = ("wage", "business_income", "business_cost", "property_income", "transfer_income")
    return income_fall(
        net_income=net_income, previous_year={f: getattr(previous, f) for f in fields},
        village_code=household.village_id, on=on, params=profile.parameter_set(),
    )


def visit_record(
    *,
    actor,
    household,
    visited_on: dt.date,
    method: str,
    visitors: str,
    findings: str = "",
    net_income: int | None = None,
    new_risks=(),
) -> Visit:
    """Record a visit; `net_income` is the household's expected yearly net income in fen."""
    if actor is None or actor.role not in WRITER_ROLES:
        raise NotAllowed("回访须由村、乡镇或县乡村振兴局账号录入")
    if not in_scope(actor, household.village_id):
        raise NotAllowed("该户不在本账号的管辖范围内")
    entry_window_guard(actor=actor, region_code=household.village_id)  # W7: closed after a campaign's entry
    code = METHOD_LOOKUP.get(method)
    if code is None:
        raise GuardFailed("回访方式须为 入户、电话 或 微信")
    if not visitors.strip():
        raise GuardFailed("须写明回访人")
    risks = split_codes(new_risks)
    unknown = [r for r in risks if r not in C.RISK.codes]
    if unknown:
        raise GuardFailed(f"未知的风险类型: {', '.join(unknown)}")
    with transaction.atomic():
        fresh_risks = [r for r in risks if r not in split_codes(household.declared_risks)]
        fell, before = _sharp_fall(household, net_income, visited_on)
        visit = Visit.objects.create(
            household=household, visited_on=visited_on, method=code, visitors=visitors, findings=findings,
            net_income=net_income, new_risks=";".join(risks), recorded_by=actor,
        )
        triggers = []
        if fresh_risks:
            triggers.append("新发现风险 " + "、".join(C.RISK.label(r) for r in fresh_risks))
        if fell:
            triggers.append(f"收入大幅缩减 (上年纯收入 {before / 100:.2f} 元, 本次预估 {net_income / 100:.2f} 元)")
        if triggers:
            _raise(actor, household, visit, visited_on, "; ".join(triggers), fresh_risks)
        audit_record(
            actor=actor, action="visit.record", object_type="visit", object_key=str(visit.pk),
            after={"visited_on": visited_on.isoformat(), "method": code, "visitors": visitors,
                   "new_risks": risks, "raised_case": visit.raised_case_id, "warning": visit.warning},
            household_key=household.household_number, region_code=household.village_id,
        )
        last = household.last_visit_on
        if last is None or visited_on > last:
            household_update(actor=actor, household=household, changes={"last_visit_on": visited_on},
                             action="household.visit", comment=f"回访 {visit.pk}")
    return visit


def _raise(actor, household, visit: Visit, on: dt.date, why: str, fresh_risks: list[str]) -> None:
    from fangfan.workflows.identification import OPEN_STATES, identification_open

    if household.is_monitored:
        Visit.objects.filter(pk=visit.pk).update(warning=f"监测户预警: {why}, 请调整帮扶措施")
    else:
        existing = Case.objects.filter(household=household, kind=Case.Kind.IDENTIFICATION,
                                       state__in=OPEN_STATES).first()
        if existing is not None:
            Visit.objects.filter(pk=visit.pk).update(warning=f"{why}; 已有办理中的识别纳入案件 {existing.pk}")
        elif actor.role not in (Role.VILLAGE, Role.TOWNSHIP):
            Visit.objects.filter(pk=visit.pk).update(warning=f"{why}; 请村或乡镇发起识别纳入")
        else:
            case = identification_open(actor=actor, household=household, channel="cadre_visit", on=on,
                                       reason=f"回访发现: {why}")
            Visit.objects.filter(pk=visit.pk).update(raised_case=case, warning=f"{why}; 已发起识别纳入案件 {case.pk}")
    visit.refresh_from_db()
