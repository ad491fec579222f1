"""Reads of cases, notices, contacts and visits — always scoped by the acting user's region."""
from __future__ import annotations

import datetime as dt

from django.db.models import OuterRef, QuerySet, Subquery

from fangfan.regions.codes import prefix_of
from fangfan.regions.scope import code_range_q, prefix_for, scope_queryset
from fangfan.workflows import identification, profile
from fangfan.workflows.calendar import CalendarUnknown, WorkCalendar
from fangfan.workflows.engine import workflow_for
from fangfan.workflows.errors import WorkflowError
from fangfan.workflows.models import Case, CaseEvent, Contact, Notice, Visit

LEVEL_LABEL = {"village": "村级", "township": "乡镇", "county": "县级", "city": "市级", "province": "省级"}


def cases(*, actor) -> QuerySet[Case]:
    return scope_queryset(Case.objects.select_related("household"), actor, "village_code")


def case_list(
    *, actor, region: str = "", state: str = "", kind: str = "", household: str = ""
) -> QuerySet[Case]:
    qs = cases(actor=actor)
    if region:
        qs = qs.filter(village_code__startswith=prefix_of(region) if len(region) == 12 else region)
    if state:
        qs = qs.filter(state=state)
    if kind:
        qs = qs.filter(kind=kind)
    if household:
        qs = qs.filter(household__household_number=household)
    return qs


def case_get(*, actor, case_id: int) -> Case:
    case = cases(actor=actor).filter(pk=case_id).first()
    if case is None:
        # Outside the scope looks the same as missing: nothing leaks.
        raise WorkflowError(f"案件 {case_id} 不存在或不在本账号的管辖范围内")
    return case


def overdue(*, actor, as_of: dt.date, level: str = "", within: str = "") -> list[dict]:
    """Pending cases past a deadline (computed now, never stored): the identification time limit
    (S2) and the county comparison time (S3), each with the level whose desk the case is on.
    Cases whose deadline cannot be computed are listed too, with the reason. `within` narrows
    the actor's scope to a code prefix (a township or village filter).

    One query for the cases (the day each reached the county comes with them) and one work
    calendar per village: the worklists count this on every home page."""
    rows = []
    pending = cases(actor=actor).filter(identification.open_identification_q())
    if within:
        pending = pending.filter(code_range_q("village_code", within))
    reached = CaseEvent.objects.filter(case=OuterRef("pk"), to_state="county_comparison").order_by("-id")
    pending = pending.select_related("household__village").annotate(
        reached_county_on=Subquery(reached.values("effective_on")[:1])
    ).order_by("opened_on", "id")
    calendars: dict[str, WorkCalendar] = {}
    for case in pending:
        case_level = identification.LEVEL_OF_STATE.get(case.state)
        if level and case_level != level:
            continue
        deadline, message = _time_limit(case, as_of, calendars)
        if deadline is None or as_of > deadline:
            rows.append({
                "case": case, "what": "识别认定时限", "deadline": deadline, "level": case_level,
                "level_label": LEVEL_LABEL.get(case_level, ""), "message": message,
                "days_over": (as_of - deadline).days if deadline else None,
            })
        if case.state == "county_comparison" and case.reached_county_on is not None:
            start = case.reached_county_on
            due = start + dt.timedelta(days=profile.comparison_days(case.village_code, start))
            if as_of > due:
                rows.append({
                    "case": case, "what": "部门信息比对时限", "deadline": due, "level": "county",
                    "level_label": LEVEL_LABEL["county"], "message": f"比对应于{due:%Y-%m-%d}前完成",
                    "days_over": (as_of - due).days,
                })
    return rows


def _time_limit(case: Case, as_of: dt.date, calendars: dict) -> tuple[dt.date | None, str]:
    """identification.deadline_status for an open case, with the village's calendar shared."""
    limit = profile.identification_limit(case.village_code, case.opened_on)
    calendar = calendars.setdefault(case.village_code, WorkCalendar(case.village_code))
    try:
        deadline = calendar.deadline(case.opened_on, limit)
    except CalendarUnknown as exc:
        return None, exc.reason
    late = as_of > deadline
    return deadline, f"时限{limit.label}, 截止{deadline:%Y-%m-%d}" + (" (已超期)" if late else "")


def overdue_counts(*, actor, as_of: dt.date) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in overdue(actor=actor, as_of=as_of):
        counts[row["level"]] = counts.get(row["level"], 0) + 1
    return counts


def notices_running(*, actor, village_code: str, on: dt.date) -> list[Notice]:
    """The notices posted in a village on a day (not cancelled, started, last day not passed)."""
    if prefix_for(actor) is None or not village_code.startswith(prefix_for(actor) or ""):
        return []
    candidates = (
        Notice.objects.select_related("case__household")
        .prefetch_related("case__household__members")
        .filter(case__village_code=village_code, cancelled=False, starts_on__lte=on)
        .order_by("starts_on", "id")
    )
    return [n for n in candidates if on <= n.starts_on + dt.timedelta(days=n.days - 1)]


def contacts(*, actor) -> QuerySet[Contact]:
    return scope_queryset(Contact.objects.select_related("household"), actor, "household__village_id")


def visits(*, actor) -> QuerySet[Visit]:
    return scope_queryset(Visit.objects.select_related("household"), actor, "household__village_id")


def state_label(case: Case) -> str:
    return workflow_for(case.kind).state_label(case.state)


def plans_overdue(*, actor, as_of: dt.date) -> list[dict]:
    """Monitored households in scope whose assistance plan is past due (S3)."""
    from fangfan.workflows.assistance import plans_overdue as _plans_overdue

    return _plans_overdue(actor=actor, as_of=as_of)


def visits_overdue(*, actor, as_of: dt.date) -> list[dict]:
    """Households in scope whose S1 visit is overdue."""
    from fangfan.workflows.visits import visits_overdue as _visits_overdue

    return _visits_overdue(actor=actor, as_of=as_of)


def households_without_contact(*, actor):
    """Monitored households in scope without a contact cadre."""
    from fangfan.workflows.assistance import households_without_contact as _without

    return _without(actor=actor)
