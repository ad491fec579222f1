"""W5 低保/特困 cases (workflows.md W5; 篇三, 篇四, 篇六, 篇十四) on the same transition engine as W1.

Application (低保特困申请):
1 申请 (consent, 附件1) → 2 家庭经济状况核对 (≥2 investigators; the I4 income accounting and the
low-income class from the rules, the assets the 金融/不动产/公安/市场监管 feeds report for the members)
→ 3 乡镇初审 and 公示 (notice.village_days; objections answered) → 4 县民政局审批 → 已纳入: the
covered members get 低保/特困 in the registry (audited) and an Enrolment starts the payments.
Programmes: whole-household 低保, 单人保 (members the rules name: 篇六, 篇十四), 特困供养.

Re-check (低保特困复核): the annual re-check (or any change) of an enrolled household:
入户复核 → 县民政局决定: continue, phase-out (C2: the allowance kept until its end date), or exit
with a reason. Every step is a CaseEvent and an audit row (engine.fire)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction

from fangfan.accounts.models import Role
from fangfan.workflows import identification, notices, profile, results
from fangfan.workflows.engine import (
    TOWNSHIP_STEP, VILLAGE_STEP, Context, Transition, Workflow, open_case, register, same_state,
)
from fangfan.workflows.errors import GuardFailed, WorkflowError
from fangfan.workflows.models import Case, Consent, Notice

KIND = Case.Kind.LOWINCOME
REVIEW_KIND = Case.Kind.LOWINCOME_REVIEW
CIVIL_STEP = frozenset({Role.COUNTY_CA})  # 县民政局 approves and decides (roles.md)

PROGRAMMES = {"dibao": "低保", "single_person": "低保 (参照单人户)", "tekun": "特困供养"}
PROGRAMME_LOOKUP = {**{k: k for k in PROGRAMMES}, **{v: k for k, v in PROGRAMMES.items()}, "单人保": "single_person"}
EXIT_REASONS = {
    "income_above": "收入超过低保标准",
    "death": "死亡",
    "moved": "户籍迁出",
    "refused_check": "拒不配合核查",
    "wrongly_included": "经核查不符合条件",
    "supported": "已有法定赡养扶养能力 (特困)",
    "other": "其他",
}
# The departments whose feeds show a household's assets (家庭经济状况核对: deposits, property,
# vehicles, companies).
ASSET_DEPARTMENTS = ("金融", "不动产", "公安", "市场监管")

STATES = {
    "applied": "已申请, 待家庭经济状况核对",
    "checked": "已核对, 待乡镇初审",
    "township_notice": "乡镇初审公示中",
    "county_approval": "待县民政局审批",
    "entered": "已纳入保障",
    "rejected": "不予纳入",
    "withdrawn": "已撤回",
}
LEVEL_OF_STATE = {"applied": "village", "checked": "township", "township_notice": "township",
                  "county_approval": "county"}
NOTICE_LEVEL_OF_STATE = {"township_notice": Notice.Level.TOWNSHIP}

REVIEW_STATES = {
    "rechecking": "待入户复核",
    "decision": "待县民政局决定",
    "continued": "继续保障",
    "phasing_out": "渐退中",
    "exited": "已退出",
}
REVIEW_LEVEL = {"rechecking": "township", "decision": "county"}


# ---- the economic check ------------------------------------------------------------------------

def asset_findings(household) -> list[dict]:
    """What the asset departments' feeds report for the household's members (consent required:
    identification.require_consent), newest first."""
    from fangfan.departments.models import FeedRow

    identification.require_consent(household)
    # By the members' blind indexes (no ID is stored in clear, fangfan.common.pii).
    names = dict(household.members.values_list("id_index", "name"))
    rows = (FeedRow.objects.filter(department__in=ASSET_DEPARTMENTS, id_index__in=list(names))
            .select_related("batch").order_by("-batch__period", "department", "id")[:50])
    out = []
    for r in rows:
        shown = {k: v for k, v in (r.values or {}).items() if k not in ("证件号码", "身份证号", "id_number")}
        detail = "; ".join(f"{k}: {v}" for k, v in list(shown.items())[:6])
        out.append({"department": r.department, "period": r.batch.period, "member": names.get(r.id_index, ""),
                    "finding": detail[:300]})
    return out


def _check_effect(ctx: Context) -> None:
    rr = results.rule_result(ctx.case.household, ctx.on)
    keep = ("household_size", "per_capita_dibao_income", "low_income_class", "single_person_dibao",
            "dibao_unserved", "warning_color", "per_capita_income", "year")
    ctx.result["rule_result"] = {k: rr.get(k) for k in keep if k in rr}
    ctx.result["assets"] = asset_findings(ctx.case.household)


def _investigators_check(ctx: Context) -> str | None:
    return identification._investigators_check(ctx)


# ---- approval ----------------------------------------------------------------------------------

def _covered_ids(case: Case) -> list[str]:
    """The members the application covers (whole household: every 正常 member) by their ID's
    blind index: the member key the rule results (single_person_dibao) and the enrolment use."""
    members = case.household.members.filter(status="normal")
    chosen = [int(m) for m in case.data.get("member_ids") or []]
    if chosen:
        members = members.filter(pk__in=chosen)
    return list(members.values_list("id_index", flat=True))


def _last_check(case: Case) -> dict:
    return (case.data.get("economic_check") or {}).get("rule_result") or {}


def _approve_check(ctx: Context) -> str | None:
    programme = ctx.case.data.get("programme")
    rr = _last_check(ctx.case)
    override = str(ctx.data.get("override_reason", "")).strip()
    code = ctx.case.village_code
    if programme in ("dibao", "single_person") and profile.param("dibao.line_rural_year", code, ctx.on) is None:
        return "本县未设定农村低保标准 (dibao.line_rural_year), 不能审批低保; 请先在「县级参数」中设定"
    if not _covered_ids(ctx.case):
        return "申请所列成员已不是正常状态的家庭成员, 不能纳入"
    if override:
        return None
    cls = rr.get("low_income_class")
    if programme == "dibao" and cls != "dibao_eligible":
        return (f"核对时该户低收入类别为「{CLASS_LABEL.get(cls or '', '无')}」, 不是低保对象 "
                "(低保口径人均收入不低于低保标准); 确需纳入的须写明理由 (override_reason)")
    if programme == "single_person":
        candidates = set((rr.get("single_person_dibao") or "").split(";")) - {""}
        not_named = [i for i in _covered_ids(ctx.case) if i not in candidates]
        if cls != "dibao_marginal" or not_named:
            return ("单人保限于低保边缘家庭中的重残 (一、二级或三级智力、精神残疾)、重病成员 (篇六, 篇十四); "
                    f"核对结果为「{CLASS_LABEL.get(cls or '', '无')}」, {len(not_named)} 名申请成员不在候选之列; "
                    "确需纳入的须写明理由 (override_reason)")
    return None


def _approve_effect(ctx: Context) -> None:
    from fangfan.lowincome.services import LowIncomeError, enrolment_enter

    starts = ctx.data.get("starts_on") or ctx.on
    if isinstance(starts, str):
        starts = dt.date.fromisoformat(starts)
    try:
        enrolment = enrolment_enter(
            actor=ctx.actor, household=ctx.case.household, case=ctx.case, programme=ctx.case.data["programme"],
            members=_covered_ids(ctx.case), starts_on=starts, on=ctx.on,
            own_income_year=int(ctx.data.get("own_income") or 0),
        )
    except LowIncomeError as exc:
        raise GuardFailed(str(exc)) from None
    ctx.result["enrolment"] = enrolment.pk
    ctx.result["starts_on"] = enrolment.starts_on


def _township_review_effect(ctx: Context) -> None:
    programme = PROGRAMMES.get(ctx.case.data.get("programme"), "")
    notice = notices.open_notice(
        case=ctx.case, level=Notice.Level.TOWNSHIP, on=ctx.on,
        days=profile.village_notice_days(ctx.case.village_code, ctx.on),
        proposal=f"拟纳入{programme}", reason="家庭经济状况核对符合条件",
    )
    ctx.result["notice"] = {"id": notice.pk, "starts_on": notice.starts_on, "days": notice.days}


_PREVIOUS = {"checked": "applied", "township_notice": "checked", "county_approval": "checked"}


def _previous_state(ctx: Context) -> str:
    return _PREVIOUS[ctx.case.state]


WORKFLOW = register(Workflow(
    kind=KIND,
    label="低保特困申请",
    states=STATES,
    initial="applied",
    terminal=frozenset({"entered", "rejected", "withdrawn"}),
    open_roles=VILLAGE_STEP,
    level_of_state=LEVEL_OF_STATE,
    transitions=(
        Transition("record_consent", "签署承诺授权书 (附件1)", ("applied",), same_state, VILLAGE_STEP,
                   requires=("signer_name",), effect=identification._record_consent),
        Transition("economic_check", "家庭经济状况核对", ("applied",), "checked", VILLAGE_STEP,
                   guards=(identification._consent_guard,), requires=("investigators", "findings"),
                   checks=(_investigators_check,), effect=_check_effect),
        Transition("township_review", "乡镇初审并公示", ("checked",), "township_notice", TOWNSHIP_STEP,
                   requires=("signed_by",), effect=_township_review_effect),
        *notices.objection_transitions(("township_notice",), NOTICE_LEVEL_OF_STATE, VILLAGE_STEP),
        Transition("close_notice", "公示期满报县民政局", ("township_notice",), "county_approval", TOWNSHIP_STEP,
                   guards=(notices.notice_over_guard(Notice.Level.TOWNSHIP),
                           notices.objections_answered_guard(Notice.Level.TOWNSHIP)),
                   effect=notices.close_notice_effect(Notice.Level.TOWNSHIP)),
        Transition("approve", "县民政局审批纳入", ("county_approval",), "entered", CIVIL_STEP,
                   requires=("starts_on",), checks=(_approve_check,), effect=_approve_effect),
        Transition("reject_township", "乡镇初审不予通过", ("checked", "township_notice"), "rejected", TOWNSHIP_STEP,
                   needs_comment=True, effect=notices.cancel_notices_effect),
        Transition("reject_county", "县民政局不予纳入", ("county_approval",), "rejected", CIVIL_STEP,
                   needs_comment=True),
        Transition("send_back_township", "乡镇退回上一步", ("checked", "township_notice"), _previous_state,
                   TOWNSHIP_STEP, needs_comment=True, effect=notices.cancel_notices_effect),
        Transition("send_back_county", "县民政局退回重新核对", ("county_approval",), _previous_state, CIVIL_STEP,
                   needs_comment=True),
        Transition("withdraw", "撤回申请", ("applied", "checked"), "withdrawn", VILLAGE_STEP, needs_comment=True),
    ),
))

CLASS_LABEL = {"tekun": "特困", "dibao": "低保", "dibao_eligible": "符合低保条件 (未纳入)",
               "dibao_marginal": "低保边缘", "expense_hardship": "支出型困难", "": "无"}


def lowincome_apply(*, actor, household, programme: str, on: dt.date, reason: str = "", member_ids=(),
                    consent: dict | None = None, attachments=()) -> Case:
    """Step 1 申请 of a 低保/特困 case. 单人保 and 特困 name their members (Member pks); 低保 covers
    the whole household."""
    code = PROGRAMME_LOOKUP.get(programme)
    if code is None:
        raise WorkflowError(f"保障类别 {programme!r} 无效, 应为: {', '.join(PROGRAMMES.values())}")
    ids = sorted({int(m) for m in member_ids or ()})
    if code == "single_person" and not ids:
        raise GuardFailed("单人保须选择申请纳入的成员 (重残或重病成员)")
    with transaction.atomic():
        normal = set(household.members.filter(status="normal").values_list("pk", flat=True))
        if set(ids) - normal:
            raise GuardFailed("所选成员不是该户正常状态的家庭成员")
        if Case.objects.filter(household=household, kind=KIND, closed_on__isnull=True).exists():
            raise GuardFailed(f"户 {household.household_number} 已有办理中的低保特困申请")
        from fangfan.lowincome.models import Enrolment

        held = "tekun" if code == "tekun" else ("dibao", "single_person")
        if Enrolment.objects.filter(household=household, exited_on__isnull=True,
                                    programme__in=(held,) if isinstance(held, str) else held).exists():
            raise GuardFailed(f"户 {household.household_number} 已在{PROGRAMMES[code]}保障中")
        data = {"programme": code, "programme_label": PROGRAMMES[code], "member_ids": ids}
        case = open_case(kind=KIND, household=household, actor=actor, on=on, channel="application", reason=reason,
                         data=data, attachments=attachments)
        if consent:
            if not str(consent.get("signer_name", "")).strip():
                raise GuardFailed("承诺授权书须写明签署人")
            Consent.objects.create(household=household, case=case, signed_on=consent.get("signed_on") or on,
                                   signer_name=consent["signer_name"], document=str(consent.get("document", "")),
                                   recorded_by=actor)
    return case


# ---- the re-check ------------------------------------------------------------------------------

def _enrolment(case: Case):
    from fangfan.lowincome.models import Enrolment

    return Enrolment.objects.select_related("household").get(pk=case.data["enrolment"])


def _continue_effect(ctx: Context) -> None:
    from fangfan.lowincome.services import enrolment_checked

    enrolment_checked(actor=ctx.actor, enrolment=_enrolment(ctx.case), on=ctx.on, comment=ctx.comment)


def _phase_out_dates(ctx: Context):
    """C2 from the re-check's income: (calc result, kept monthly fen) or a reason it cannot apply."""
    from fangfan.policy.calc import CalcError, phase_out

    enrolment = _enrolment(ctx.case)
    if enrolment.programme == "tekun":
        return None, "特困供养不适用低保渐退 (C2)"
    rr = (ctx.case.data.get("recheck") or {}).get("rule_result") or {}
    pcd = rr.get("per_capita_dibao_income")
    if pcd is None:
        return None, "复核没有低保口径人均收入, 不能计算渐退期"
    above = ctx.data.get("income_above_on") or ctx.on
    if isinstance(above, str):
        above = dt.date.fromisoformat(above)
    try:
        result = phase_out(profile.parameter_set(), ctx.case.village_code, ctx.on, income_above_line_on=above,
                           per_capita_dibao_income=Decimal(int(pcd)) / 100)
    except CalcError as exc:
        return None, str(exc)
    return result, None


def _phase_out_check(ctx: Context) -> str | None:
    return _phase_out_dates(ctx)[1]


def _phase_out_effect(ctx: Context) -> None:
    from fangfan.lowincome.payments import kept_amount
    from fangfan.lowincome.services import enrolment_phase_out

    result, _ = _phase_out_dates(ctx)
    enrolment = _enrolment(ctx.case)
    kept, how = kept_amount(enrolment, result.starts_on)
    enrolment_phase_out(actor=ctx.actor, enrolment=enrolment, starts_on=result.starts_on, ends_on=result.ends_on,
                        kept_month=kept, comment=ctx.comment)
    ctx.result.update({"ends_on": result.ends_on, "months": result.months, "arithmetic": list(result.arithmetic),
                       "kept_month": kept, "kept_how": how})


def _exit_check(ctx: Context) -> str | None:
    if ctx.data.get("exit_reason") not in EXIT_REASONS:
        return f"退出原因须为: {'、'.join(EXIT_REASONS.values())}"
    return None


def _exit_effect(ctx: Context) -> None:
    from fangfan.lowincome.services import enrolment_exit

    reason = EXIT_REASONS[ctx.data["exit_reason"]] + (f": {ctx.comment}" if ctx.comment else "")
    enrolment_exit(actor=ctx.actor, enrolment=_enrolment(ctx.case), on=ctx.on, reason=reason)


def _recheck_effect(ctx: Context) -> None:
    rr = results.rule_result(ctx.case.household, ctx.on)
    keep = ("household_size", "per_capita_dibao_income", "low_income_class", "single_person_dibao", "year")
    ctx.result["rule_result"] = {k: rr.get(k) for k in keep if k in rr}
    if Consent.objects.filter(household=ctx.case.household).exists():
        ctx.result["assets"] = asset_findings(ctx.case.household)


REVIEW_WORKFLOW = register(Workflow(
    kind=REVIEW_KIND,
    label="低保特困复核",
    states=REVIEW_STATES,
    initial="rechecking",
    terminal=frozenset({"continued", "phasing_out", "exited"}),
    open_roles=frozenset({Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY_CA}),
    level_of_state=REVIEW_LEVEL,
    transitions=(
        Transition("recheck", "入户复核", ("rechecking",), "decision", VILLAGE_STEP,
                   requires=("investigators", "findings"), checks=(_investigators_check,), effect=_recheck_effect),
        Transition("continue", "继续保障", ("decision",), "continued", CIVIL_STEP, effect=_continue_effect),
        Transition("phase_out", "进入渐退期 (C2)", ("decision",), "phasing_out", CIVIL_STEP,
                   requires=("income_above_on",), checks=(_phase_out_check,), effect=_phase_out_effect),
        Transition("exit", "退出保障", ("rechecking", "decision"), "exited", CIVIL_STEP,
                   requires=("exit_reason",), checks=(_exit_check,), effect=_exit_effect),
        Transition("send_back_county", "退回重新复核", ("decision",), "rechecking", CIVIL_STEP, needs_comment=True),
    ),
))


def lowincome_review_open(*, actor, household, on: dt.date, reason: str = "", programme: str = "") -> Case:
    """Open the re-check (annual or on a change) of the household's active enrolment."""
    from fangfan.lowincome.models import Enrolment

    with transaction.atomic():
        qs = Enrolment.objects.filter(household=household, exited_on__isnull=True)
        if programme:
            qs = qs.filter(programme=PROGRAMME_LOOKUP.get(programme, programme))
        enrolments = list(qs.order_by("id"))
        if not enrolments:
            raise GuardFailed(f"户 {household.household_number} 没有在保的低保或特困记录, 不能复核")
        if len(enrolments) > 1:
            raise GuardFailed("该户同时享受低保和特困, 请选择复核的保障类别")
        enrolment = enrolments[0]
        if enrolment.phase_out_ends_on:
            raise GuardFailed(f"该户已在渐退期 (至 {enrolment.phase_out_ends_on:%Y-%m-%d} 起停发)")
        return open_case(kind=REVIEW_KIND, household=household, actor=actor, on=on, channel="recheck", reason=reason,
                         data={"enrolment": enrolment.pk, "programme": enrolment.programme,
                               "programme_label": PROGRAMMES[enrolment.programme]})


def recheck_due_on(enrolment) -> dt.date:
    """The annual re-check is due a year after the last check (or the approval)."""
    from fangfan.common.dates import add_months

    return add_months(enrolment.last_checked_on or enrolment.approved_on, 12)
