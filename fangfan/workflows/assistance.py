"""W3 帮扶 (篇九 四, 篇十一, 篇二 (一)5): a plan per monitored household within
assistance.plan_days of entry, measures from the catalogue suggested from its risks
(缺什么补什么), and one contact cadre (监测帮扶联系人) per monitored household.

Suggestions (篇九 四(一), 篇二 (三)4①): each risk maps to its measure; a single 三保障/饮水 risk gets
that single measure (防止陷入福利陷阱). For risks to income (illness, disability, disaster,
accident, failed project, unstable work, epidemic, other) a household with labour (a 正常
member who is 普通 or 技能劳动力) gets the development measures first (M02 就业, M01 产业); a
household wholly without labour (rules.md M4) gets 综合保障 M08 instead; a household with only
weak labour gets M04 公益岗位 and M08."""
from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.db.models import Exists, OuterRef, Q

from fangfan.accounts.models import Role
from fangfan.audit.services import audit_record
from fangfan.common import codes as C
from fangfan.regions.scope import in_scope, scope_queryset
from fangfan.reports.campaigns import entry_window_guard
from fangfan.registry.models import Household, Measure
from fangfan.workflows import profile
from fangfan.workflows.errors import ConcurrentEditError, GuardFailed, NotAllowed
from fangfan.workflows.households import split_codes
from fangfan.workflows.models import AssistancePlan, Case, Contact

# Lead department of each measure (篇九 四(一) 牵头责任单位).
DEPARTMENT = {
    "M01": "县农业农村局", "M02": "县人社局", "M03": "县金融办", "M04": "县人社局", "M05": "县医保局",
    "M06": "县教育局", "M07": "县教育局", "M08": "县民政局", "M09": "县住建局", "M10": "县水利局",
    "M11": "县乡村振兴局", "M12": "县发改局", "M13": "县乡村振兴局", "M14": "县农业农村局", "M99": "乡镇",
}
RISK_MEASURE = {
    "R01": "M05", "R02": "M07", "R03": "M08", "R04": "M08", "R05": "M08", "R06": "M01", "R07": "M02",
    "R08": "M08", "R09": "M09", "R10": "M06", "R11": "M05", "R12": "M10", "R13": "M02", "R99": "M11",
}
INCOME_RISKS = frozenset({"R01", "R03", "R04", "R05", "R06", "R07", "R13", "R99"})
WRITER_ROLES = frozenset({Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY_RR})


def _labour(household) -> str:
    """'able' | 'weak' | 'none' over the 正常 members."""
    labour = [m.labor for m in household.members.all() if m.status == "normal"]
    if any(x in C.ABLE_LABOR for x in labour):
        return "able"
    if labour and all(x in C.NO_LABOR for x in labour):
        return "none"
    return "weak"


def suggest_measures(household, risks=None) -> list[dict]:
    """Measures to propose, in order, each with its department and why."""
    risks = [r for r in split_codes(risks if risks is not None else household.declared_risks) if r in RISK_MEASURE]
    labour = _labour(household)
    out: list[dict] = []

    def add(code: str, why: str) -> None:
        if code not in [s["measure_code"] for s in out]:
            out.append({"measure_code": code, "measure": C.MEASURE.label(code), "department": DEPARTMENT[code],
                        "reason": why})

    income_risks = [r for r in risks if r in INCOME_RISKS]
    if income_risks:
        labels = "、".join(C.RISK.label(r) for r in income_risks)
        if labour == "able":
            add("M02", f"有劳动能力, 开发式帮扶优先 ({labels})")
            add("M01", f"有劳动能力, 开发式帮扶优先 ({labels})")
        elif labour == "none":
            add("M08", f"整户无劳动能力, 综合保障兜底 ({labels})")
        else:
            add("M04", f"弱劳动力, 公益岗位就近就业 ({labels})")
            add("M08", f"弱劳动力, 综合保障 ({labels})")
    for r in risks:
        code = RISK_MEASURE[r]
        if code == "M08" and labour == "able" and r in INCOME_RISKS and r != "R03":
            continue  # 有劳动能力的不"一兜了之" (篇二 (三)4②)
        add(code, f"对应风险: {C.RISK.label(r)}")
    return out


def _may_have_measures(household) -> bool:
    """A monitored household, or one with an open green-channel identification (篇二 (一)5)."""
    if household.is_monitored:
        return True
    return Case.objects.filter(
        household=household, kind=Case.Kind.IDENTIFICATION, green_channel=True, closed_on__isnull=True
    ).exists()


def _check_writer(actor, household) -> None:
    if actor is None or actor.role not in WRITER_ROLES:
        raise NotAllowed("帮扶措施、联系人须由村、乡镇或县乡村振兴局账号录入")
    if not in_scope(actor, household.village_id):
        raise NotAllowed("该户不在本账号的管辖范围内")
    entry_window_guard(actor=actor, region_code=household.village_id)  # W7: closed after a campaign's entry


def measure_add(
    *, actor, household, measure_code: str, started_on: dt.date, status: str = "planned",
    responsible_unit: str = "", content: str = "", plan: AssistancePlan | None = None,
) -> Measure:
    _check_writer(actor, household)
    if measure_code not in C.MEASURE.codes:
        raise GuardFailed(f"帮扶措施类别 {measure_code!r} 不在目录中 (M01-M14, M99)")
    if status not in C.MEASURE_STATUS.codes:
        raise GuardFailed(f"措施状态须为 {', '.join(C.MEASURE_STATUS.codes)}")
    with transaction.atomic():
        if not _may_have_measures(household):
            raise GuardFailed(f"户 {household.household_number} 不是监测对象, 也未走绿色通道, 不能录入帮扶措施")
        content = (content or "").strip()
        # data.md: two measures of one kind may start the same day with different content (two
        # 产业帮扶 projects); only an exact repeat is refused.
        if Measure.objects.filter(
            household=household, measure_code=measure_code, started_on=started_on, content=content
        ).exists():
            what = f"「{content}」" if content else "(未填措施内容)"
            raise GuardFailed(
                f"户 {household.household_number} 已有 {started_on} 开始的 {C.MEASURE.label(measure_code)}{what}, "
                "不能重复录入; 同日开始的同类措施须填写不同的措施内容"
            )
        green = not household.is_monitored
        measure = Measure.objects.create(
            household=household, measure_code=measure_code, started_on=started_on, status=status,
            responsible_unit=responsible_unit or DEPARTMENT[measure_code], content=content,
            extra={**({"plan": plan.pk} if plan else {}), **({"green_channel": True} if green else {})},
        )
        audit_record(
            actor=actor, action="measure.add", object_type="measure", object_key=measure.history_key,
            after={"measure_code": measure_code, "started_on": started_on.isoformat(), "content": content,
                   "status": status, "responsible_unit": measure.responsible_unit, "green_channel": green},
            household_key=household.household_number, region_code=household.village_id,
        )
    return measure


def measure_status_set(
    *, actor, measure: Measure, status: str, comment: str = "", expected_status: str | None = None
) -> Measure:
    """Set a measure's status. `expected_status` is the status the user saw (a form sends it):
    when someone changed it meanwhile, the change is refused instead of silently overwriting."""
    _check_writer(actor, measure.household)
    if status not in C.MEASURE_STATUS.codes:
        raise GuardFailed(f"措施状态须为 {', '.join(C.MEASURE_STATUS.codes)}")
    with transaction.atomic():
        before = Measure.objects.select_for_update().get(pk=measure.pk).status
        if expected_status is not None and before != expected_status:
            raise ConcurrentEditError(
                f"措施状态已被他人改为「{C.MEASURE_STATUS.label(before)}」,请刷新后再改"
            )
        Measure.objects.filter(pk=measure.pk).update(status=status, updated_at=timezone.now())
        audit_record(
            actor=actor, action="measure.status", object_type="measure", object_key=measure.history_key,
            before={"status": before}, after={"status": status}, comment=comment,
            household_key=measure.household.household_number, region_code=measure.household.village_id,
        )
    measure.refresh_from_db()
    return measure


def plan_due_dates():
    """S3 due dates for many households: `due_of(village_code, identified_on)`, one parameter
    lookup per (village, identification date) pair with the parameter set loaded once (loading
    it checks the county layer in the database). None where the profile sets no plan_days."""
    cache: dict = {}
    params = profile.parameter_set()

    def due_of(village_code: str, identified_on: dt.date) -> dt.date | None:
        key = (village_code, identified_on)
        if key not in cache:
            days = params.value("assistance.plan_days", village_code, identified_on)
            cache[key] = None if days is None else identified_on + dt.timedelta(days=int(days))
        return cache[key]

    return due_of


def monitored(households):
    """The monitored households of a household queryset (risk not eliminated)."""
    return households.filter(~Q(category=""), eliminated_on__isnull=True)


def without_plan(households):
    """Monitored households (identified) that have no assistance plan yet."""
    has_plan = Exists(AssistancePlan.objects.filter(household=OuterRef("pk")))
    return monitored(households).filter(identified_on__isnull=False).filter(~has_plan)


def without_contact(households):
    """Monitored households (risk not eliminated → contact kept, 篇九) that have no contact."""
    active = Contact.objects.filter(household=OuterRef("pk"), ended_on__isnull=True)
    return monitored(households).filter(~Exists(active))


def plan_due_on(household) -> dt.date | None:
    """S3: within assistance.plan_days of entry (identified_on)."""
    if not household.identified_on:
        return None
    days = profile.plan_days(household.village_id, household.identified_on)
    return household.identified_on + dt.timedelta(days=days)


def plan_record(*, actor, household, on: dt.date, measures: list[dict], note: str = "") -> AssistancePlan:
    """A plan and its measures: each {measure_code, started_on?, status?, responsible_unit?, content?}."""
    if not measures:
        raise GuardFailed("帮扶计划至少包含一项措施")
    with transaction.atomic():
        _check_writer(actor, household)
        case = Case.objects.filter(household=household, kind=Case.Kind.IDENTIFICATION).order_by("-id").first()
        plan = AssistancePlan.objects.create(household=household, case=case, made_on=on, made_by=actor, note=note)
        for m in measures:
            measure_add(
                actor=actor, household=household, measure_code=m["measure_code"],
                started_on=m.get("started_on") or on, status=m.get("status", "planned"),
                responsible_unit=m.get("responsible_unit", ""), content=m.get("content", ""), plan=plan,
            )
        due = plan_due_on(household)
        audit_record(
            actor=actor, action="plan.record", object_type="assistance_plan", object_key=str(plan.pk),
            after={"made_on": on.isoformat(), "measures": [m["measure_code"] for m in measures],
                   "due_on": due.isoformat() if due else None, "late": bool(due and on > due)},
            household_key=household.household_number, region_code=household.village_id, comment=note,
        )
    return plan


def plans_overdue(*, actor, as_of: dt.date) -> list[dict]:
    """Monitored households with no plan after their due date (computed)."""
    qs = without_plan(scope_queryset(Household.objects.all(), actor, "village_id"))
    due_of = plan_due_dates()
    rows = []
    for h in qs:
        due = due_of(h.village_id, h.identified_on)
        if due and as_of > due:
            rows.append({"household": h, "due_on": due, "days_over": (as_of - due).days})
    return rows


# ---- contact cadre ---------------------------------------------------------------------------

def contact_assign(
    *, actor, household, cadre_name: str, on: dt.date, phone: str = "", unit: str = "", cadre_user=None,
) -> Contact:
    """One contact per monitored household; a new one ends the current one (history kept)."""
    _check_writer(actor, household)
    if not cadre_name.strip():
        raise GuardFailed("须写明帮扶联系人姓名")
    with transaction.atomic():
        current = Contact.objects.select_for_update().filter(household=household, ended_on__isnull=True).first()
        if current is not None:
            Contact.objects.filter(pk=current.pk).update(ended_on=on)
        contact = Contact.objects.create(
            household=household, cadre_name=cadre_name, cadre_user=cadre_user, phone=phone, unit=unit,
            assigned_on=on, assigned_by=actor,
        )
        audit_record(
            actor=actor, action="contact.assign", object_type="contact", object_key=str(contact.pk),
            before={"cadre_name": current.cadre_name} if current else None,
            after={"cadre_name": cadre_name, "unit": unit, "assigned_on": on.isoformat()},
            household_key=household.household_number, region_code=household.village_id,
        )
    return contact


def contact_current(household) -> Contact | None:
    return Contact.objects.filter(household=household, ended_on__isnull=True).first()


def households_without_contact(*, actor):
    """Monitored households in the actor's scope that have no contact cadre."""
    return without_contact(scope_queryset(Household.objects.all(), actor, "village_id"))
