"""W1 识别纳入 (workflows.md; 篇九 (五), 篇八, 篇二 (一)5, 篇十二 (四)).

1 申请 (consent, 附件1) → 2 入户核实 (≥2 investigators, 附件2 form, rule result beside it) →
3 村评议 (members, decision; a negative-list hit needs a reasoned decision) → 4 村公示
(notice.village_days; objections answered) → 5 乡镇审核 (+ 乡镇公示 when notice.township_days
> 0, 灵寿) → 6 县级比对 (comparison.days; department hits attached) → 7 县级审定 → 已纳入.
Any review step may reject with a reason or send back one step; the time limit
identification.time_limit runs from step 1 to step 7."""
from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q

from fangfan.common import codes as C
from fangfan.workflows import profile, results
from fangfan.workflows.calendar import CalendarUnknown, WorkCalendar
from fangfan.workflows.engine import (
    COUNTY_STEP, TOWNSHIP_STEP, VILLAGE_STEP, Context, Transition, Workflow, open_case, register, same_state,
)
from fangfan.workflows.errors import ConsentMissing, GuardFailed, WorkflowError
from fangfan.workflows.households import household_update, split_codes
from fangfan.workflows.models import Case, Consent, Notice
from fangfan.workflows import notices

KIND = Case.Kind.IDENTIFICATION

# 篇九 (四), 篇十二 (三): how a case was raised.
CHANNELS = {
    "self_declared": "农户自主申报",
    "proxy": "代为申报",
    "cadre_visit": "干部走访排查",
    "department_warning": "部门筛查预警",
    "big_data": "大数据预警",
}
CHANNEL_LOOKUP = {**{k: k for k in CHANNELS}, **{v: k for k, v in CHANNELS.items()}}

# 篇二 (一)5: 因病因灾因意外事故 cases may use the green channel.
GREEN_CHANNEL_RISKS = ("R01", "R04", "R05")

STATES = {
    "applied": "已申请, 待入户核实",
    "checked": "已入户核实, 待村评议",
    "village_notice": "村级公示中",
    "township_review": "待乡镇审核",
    "township_notice": "乡镇公示中",
    "county_comparison": "待县级比对",
    "county_approval": "待县级审定",
    "identified": "已纳入",
    "rejected": "不予纳入",
    "withdrawn": "已撤回",
}
OPEN_STATES = tuple(s for s in STATES if s not in ("identified", "rejected", "withdrawn"))
# Whose desk a pending case is on (overdue lists by level).
LEVEL_OF_STATE = {
    "applied": "village", "checked": "village", "village_notice": "village",
    "township_review": "township", "township_notice": "township",
    "county_comparison": "county", "county_approval": "county",
}
# Send back one step: to the step that produced what is under review. Sending a case back from
# the township to the village means a new village review and notice (篇九 第三步 is one step).
PREVIOUS = {
    "checked": "applied",
    "village_notice": "checked",
    "township_review": "checked",
    "township_notice": "township_review",
    "county_comparison": "township_review",
    "county_approval": "county_comparison",
}
NOTICE_LEVEL_OF_STATE = {"village_notice": Notice.Level.VILLAGE, "township_notice": Notice.Level.TOWNSHIP}


# ---- consent ---------------------------------------------------------------------------------

def require_consent(household) -> Consent:
    """Call before querying a household's deposits, vehicles or property (roles.md, 篇八 2)."""
    consent = Consent.objects.filter(household=household).order_by("-signed_on", "-id").first()
    if consent is None:
        raise ConsentMissing(
            f"户 {household.household_number} 未签署《承诺授权书》(附件1), 不能查询其存款、车辆、房产等信息"
        )
    return consent


def _consent_guard(ctx: Context) -> str | None:
    if not Consent.objects.filter(household=ctx.case.household).exists():
        return "未签署《承诺授权书》(附件1), 案件不能继续"
    return None


def _record_consent(ctx: Context) -> None:
    consent = Consent.objects.create(
        household=ctx.case.household, case=ctx.case, signed_on=ctx.data.get("signed_on") or ctx.on,
        signer_name=str(ctx.data["signer_name"]), document=str(ctx.data.get("document", "")),
        recorded_by=ctx.actor,
    )
    ctx.result["consent"] = consent.pk


# ---- steps -----------------------------------------------------------------------------------

def _investigators_check(ctx: Context) -> str | None:
    names = {str(n).strip() for n in ctx.data.get("investigators", []) if str(n).strip()}
    if len(names) < 2:
        return "入户核实须不少于2名调查人员"
    return None


def _home_check_effect(ctx: Context) -> None:
    # The rule result (M1-M7) is stored beside the collection form, as it was on that day.
    ctx.result["rule_result"] = results.rule_result(ctx.case.household, ctx.on)


def _latest_rule_result(case: Case) -> dict:
    return (case.data.get("home_check") or {}).get("rule_result") or {}


def _proposal_check(ctx: Context) -> str | None:
    if ctx.data.get("decision") not in ("include",):
        return "评议结论须为 include (拟纳入); 评议不通过请用「村级不予通过」"
    if ctx.data.get("category") not in C.CATEGORY.codes:
        return f"拟纳入类别须为 {', '.join(C.CATEGORY.codes)}"
    risks = split_codes(ctx.data.get("risks"))
    if not risks or set(risks) - set(C.RISK.codes):
        return "须列明返贫致贫风险 (R01-R99), 无风险的不能纳入 (篇九)"
    hits = results.negative_list_hits(_latest_rule_result(ctx.case))
    if hits and not str(ctx.data.get("negative_list_decision", "")).strip():
        return f"该户命中负面清单 ({', '.join(hits)}), 原则上不予认定, 须在评议中写明认定理由"
    return None


def _village_review_effect(ctx: Context) -> None:
    on, code = ctx.on, ctx.case.village_code
    risks = split_codes(ctx.data["risks"])
    notice = notices.open_notice(
        case=ctx.case, level=Notice.Level.VILLAGE, on=on, days=profile.village_notice_days(code, on),
        proposal=f"拟纳入监测对象 ({C.CATEGORY.label(ctx.data['category'])})", reason=notices.risk_reason(risks),
    )
    ctx.result["notice"] = {"id": notice.pk, "starts_on": notice.starts_on, "days": notice.days}
    ctx.result["negative_list_hits"] = results.negative_list_hits(_latest_rule_result(ctx.case))


def _after_township(ctx: Context) -> str:
    days = profile.township_notice_days(ctx.case.village_code, ctx.on)
    return "township_notice" if days > 0 else "county_comparison"


def _township_approve_effect(ctx: Context) -> None:
    on, code = ctx.on, ctx.case.village_code
    days = profile.township_notice_days(code, on)
    if days > 0:
        review = ctx.case.data.get("village_review", {})
        notice = notices.open_notice(
            case=ctx.case, level=Notice.Level.TOWNSHIP, on=on, days=days,
            proposal=f"拟纳入监测对象 ({C.CATEGORY.label(review['category'])})",
            reason=notices.risk_reason(split_codes(review.get("risks"))),
        )
        ctx.result["notice"] = {"id": notice.pk, "starts_on": notice.starts_on, "days": notice.days}


def _comparison_check(ctx: Context) -> str | None:
    hits = ctx.data.get("hits", [])
    if not isinstance(hits, list) or any(not isinstance(h, dict) or not h.get("department") for h in hits):
        return "比对结果 hits 须为列表, 每项写明 department (部门) 和 finding (比对发现)"
    return None


def _approve_check(ctx: Context) -> str | None:
    if ctx.data.get("category") not in C.CATEGORY.codes:
        return f"审定类别须为 {', '.join(C.CATEGORY.codes)}"
    risks = split_codes(ctx.data.get("risks"))
    if not risks or set(risks) - set(C.RISK.codes):
        return "须列明返贫致贫风险 (R01-R99)"
    hits = (ctx.case.data.get("record_comparison") or {}).get("hits") or []
    if hits and not str(ctx.data.get("hits_decision", "")).strip():
        return f"部门比对发现 {len(hits)} 项问题, 审定时须写明处理意见 (hits_decision)"
    return None


def _approve_effect(ctx: Context) -> None:
    risks = split_codes(ctx.data["risks"])
    household = household_update(
        actor=ctx.actor, household=ctx.case.household, action="household.identify",
        changes={
            "category": ctx.data["category"], "identified_on": ctx.on, "eliminated_on": None,
            "declared_risks": ";".join(risks),
        },
        comment=f"识别纳入案件 {ctx.case.pk}",
    )
    ctx.case.household = household
    due = ctx.on + dt.timedelta(days=profile.plan_days(ctx.case.village_code, ctx.on))
    ctx.result["plan_due_on"] = due


def _green_check(ctx: Context) -> str | None:
    if ctx.data.get("risk") not in GREEN_CHANNEL_RISKS:
        return "绿色通道仅适用于因病 (R01)、因灾 (R04)、因意外事故 (R05) 的情形"
    return None


def _green_effect(ctx: Context) -> None:
    ctx.case.green_channel = True


def _previous_state(ctx: Context) -> str:
    return PREVIOUS[ctx.case.state]


WORKFLOW = register(Workflow(
    kind=KIND,
    label="识别纳入",
    states=STATES,
    initial="applied",
    terminal=frozenset({"identified", "rejected", "withdrawn"}),
    open_roles=VILLAGE_STEP,
    level_of_state=LEVEL_OF_STATE,
    transitions=(
        Transition("record_consent", "签署承诺授权书 (附件1)", ("applied",), same_state, VILLAGE_STEP,
                   requires=("signer_name",), effect=_record_consent),
        Transition("green_channel", "启用绿色通道", OPEN_STATES, same_state, VILLAGE_STEP,
                   requires=("risk",), checks=(_green_check,), effect=_green_effect),
        Transition("home_check", "入户核实 (附件2)", ("applied",), "checked", VILLAGE_STEP,
                   guards=(_consent_guard,), requires=("investigators", "form"),
                   checks=(_investigators_check,), effect=_home_check_effect),
        Transition("village_review", "村民主评议", ("checked",), "village_notice", VILLAGE_STEP,
                   guards=(_consent_guard,), requires=("members", "decision", "category", "risks"),
                   checks=(_proposal_check,), effect=_village_review_effect),
        *notices.objection_transitions(("village_notice", "township_notice"), NOTICE_LEVEL_OF_STATE, VILLAGE_STEP),
        Transition("close_village_notice", "村级公示期满上报乡镇", ("village_notice",), "township_review",
                   VILLAGE_STEP,
                   guards=(notices.notice_over_guard(Notice.Level.VILLAGE),
                           notices.objections_answered_guard(Notice.Level.VILLAGE)),
                   effect=notices.close_notice_effect(Notice.Level.VILLAGE)),
        Transition("township_approve", "乡镇审核通过", ("township_review",), _after_township, TOWNSHIP_STEP,
                   requires=("signed_by",), effect=_township_approve_effect),
        Transition("close_township_notice", "乡镇公示期满报县", ("township_notice",), "county_comparison",
                   TOWNSHIP_STEP,
                   guards=(notices.notice_over_guard(Notice.Level.TOWNSHIP),
                           notices.objections_answered_guard(Notice.Level.TOWNSHIP)),
                   effect=notices.close_notice_effect(Notice.Level.TOWNSHIP)),
        Transition("record_comparison", "县级部门信息比对", ("county_comparison",), "county_approval", COUNTY_STEP,
                   requires=("departments",), checks=(_comparison_check,)),
        Transition("approve", "县级审定纳入", ("county_approval",), "identified", COUNTY_STEP,
                   requires=("category", "risks"), checks=(_approve_check,), effect=_approve_effect),
        Transition("reject_village", "村级不予通过", ("checked", "village_notice"), "rejected", VILLAGE_STEP,
                   needs_comment=True, effect=notices.cancel_notices_effect),
        Transition("reject_township", "乡镇审核不予通过", ("township_review", "township_notice"), "rejected",
                   TOWNSHIP_STEP, needs_comment=True, effect=notices.cancel_notices_effect),
        Transition("reject_county", "县级不予纳入", ("county_comparison", "county_approval"), "rejected",
                   COUNTY_STEP, needs_comment=True, effect=notices.cancel_notices_effect),
        Transition("send_back_village", "村级退回上一步", ("checked", "village_notice"), _previous_state,
                   VILLAGE_STEP, needs_comment=True, effect=notices.cancel_notices_effect),
        Transition("send_back_township", "乡镇退回上一步", ("township_review", "township_notice"), _previous_state,
                   TOWNSHIP_STEP, needs_comment=True, effect=notices.cancel_notices_effect),
        Transition("send_back_county", "县级退回上一步", ("county_comparison", "county_approval"), _previous_state,
                   COUNTY_STEP, needs_comment=True, effect=notices.cancel_notices_effect),
        Transition("withdraw", "撤回申请", ("applied", "checked"), "withdrawn", VILLAGE_STEP, needs_comment=True),
    ),
))


# ---- opening ---------------------------------------------------------------------------------

def identification_open(
    *,
    actor,
    household,
    channel: str,
    on: dt.date,
    reason: str = "",
    consent: dict | None = None,
    green_channel_risk: str | None = None,
    attachments=(),
) -> Case:
    """Step 1 申请. `consent` = {signer_name, signed_on?, document?} when 附件1 is signed now."""
    code = CHANNEL_LOOKUP.get(channel)
    if code is None:
        raise WorkflowError(f"来源渠道 {channel!r} 无效, 应为: {', '.join(CHANNELS.values())}")
    if green_channel_risk is not None and green_channel_risk not in GREEN_CHANNEL_RISKS:
        raise GuardFailed("绿色通道仅适用于因病 (R01)、因灾 (R04)、因意外事故 (R05) 的情形")
    with transaction.atomic():
        if household.is_monitored:
            raise GuardFailed(f"户 {household.household_number} 已是监测对象")
        if Case.objects.filter(household=household, kind=KIND, state__in=OPEN_STATES).exists():
            raise GuardFailed(f"户 {household.household_number} 已有办理中的识别纳入案件")
        data = {"channel_label": CHANNELS[code]}
        if green_channel_risk:
            data["green_channel_risk"] = green_channel_risk
        case = open_case(
            kind=KIND, household=household, actor=actor, on=on, channel=code, reason=reason, data=data,
            green_channel=bool(green_channel_risk), attachments=attachments,
        )
        if consent:
            if not str(consent.get("signer_name", "")).strip():
                raise GuardFailed("承诺授权书须写明签署人")
            Consent.objects.create(
                household=household, case=case, signed_on=consent.get("signed_on") or on,
                signer_name=consent["signer_name"], document=str(consent.get("document", "")), recorded_by=actor,
            )
    return case


# ---- deadlines (computed, never stored) ------------------------------------------------------

def time_limit_deadline(case: Case) -> dt.date:
    """Last day to finish step 7 (S2): the start day is not counted (民法典 §201)."""
    limit = profile.identification_limit(case.village_code, case.opened_on)
    return WorkCalendar(case.village_code).deadline(case.opened_on, limit)


def deadline_status(case: Case, as_of: dt.date) -> dict:
    """{deadline, limit, overdue, level, message}; a deadline that cannot be computed says so."""
    limit = profile.identification_limit(case.village_code, case.opened_on)
    try:
        deadline = WorkCalendar(case.village_code).deadline(case.opened_on, limit)
    except CalendarUnknown as exc:
        return {"deadline": None, "limit": limit.label, "overdue": None, "level": LEVEL_OF_STATE.get(case.state),
                "message": exc.reason}
    finished = case.closed_on if case.state in ("identified", "rejected", "withdrawn") else None
    overdue = (finished or as_of) > deadline
    return {"deadline": deadline, "limit": limit.label, "overdue": overdue, "level": LEVEL_OF_STATE.get(case.state),
            "message": f"时限{limit.label}, 截止{deadline:%Y-%m-%d}" + (" (已超期)" if overdue else "")}


def comparison_deadline(case: Case) -> dt.date | None:
    """比对 within comparison.days (篇二 四(二)) of the case reaching the county."""
    event = case.events.filter(to_state="county_comparison").order_by("-id").first()
    if event is None:
        return None
    return event.effective_on + dt.timedelta(days=profile.comparison_days(case.village_code, event.effective_on))


def open_identification_q() -> Q:
    return Q(kind=KIND, state__in=OPEN_STATES)
