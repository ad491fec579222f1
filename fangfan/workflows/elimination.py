"""W2 风险消除 (篇九 五(二)) and its undoing: 风险消除回退 and 监测对象清退 (篇二 (二)4, 五(三)).

Elimination: 1 村提名 (pre-check of rules.md E1-E6 shown and stored; refused when they fail) →
2 入户核实 (附件4 measures sheet, 附件5 assessment, signed by the investigators and the household)
→ 3 民主评议 → 4 村公示 (notice.village_days) → 5 乡镇审核 → 6 县级审定 (extra scrutiny for
低保/特困 and multi-risk households) → 已消除, method 帮扶消除 or 自然消除.

Tracking (跟踪关注, 营口 篇二 (二)4): when E1-E6 hold but the earliest implemented measure
started fewer than elimination.min_months_assisted months ago, the rule result is `tracking`.
Such a household can only be proposed as 跟踪关注: the case opens in state `tracking`, with the
date from which it may be proposed (`tracking_until`) stored; it is re-proposed (`repropose`,
which re-runs the pre-check and needs `eligible`) or withdrawn. It never reaches approval as
tracking.

Rollback and removal are requests with reasons, endorsed by the township and approved at the
level of rollback.approval_level (county by default; the province in 营口). The household is
never deleted: rollback clears eliminated_on, removal clears category / identified_on, both
leaving marks in household.extra and their history in the audit."""
from __future__ import annotations

import datetime as dt

from django.db import transaction

from fangfan.accounts.models import Role
from fangfan.common import codes as C
from fangfan.common.dates import add_months
from fangfan.workflows import notices, profile, results
from fangfan.workflows.engine import (
    COUNTY_STEP, TOWNSHIP_STEP, VILLAGE_STEP, Context, Transition, Workflow, open_case, register, same_state,
)
from fangfan.workflows.errors import GuardFailed, WorkflowError
from fangfan.workflows.households import household_update, split_codes
from fangfan.workflows.models import Case, Notice

E_RULES = {
    "E1": "无已落实的帮扶措施",
    "E2": "两不愁三保障及饮水安全未持续巩固",
    "E3": "收入未持续稳定高于风险消除标准",
    "E4": "大额刚性支出未稳定解决",
    "E5": "整户无劳动能力 (落实社会保障后暂不标注风险消除)",
    "E6": "监测时间不足",
}
METHODS = {"assisted": "帮扶消除", "natural": "自然消除"}
METHOD_LOOKUP = {**{k: k for k in METHODS}, **{v: k for k, v in METHODS.items()}}


# ---- pre-check -------------------------------------------------------------------------------

def elimination_precheck(household, on: dt.date) -> dict:
    """E1-E6 for a household at a date: {result, failed: [{rule, label}], tracking_until?, rule_result}."""
    rr = results.rule_result(household, on)
    outcome = str(rr.get("elimination") or "")
    failed = [{"rule": r, "label": E_RULES.get(r, r)} for r in results.failed_rules(rr)]
    check = {"result": outcome, "failed": failed, "on": on.isoformat(), "rule_result": rr}
    if outcome == "tracking":
        check["tracking_until"] = _tracking_until(household, on)
    return check


def _tracking_until(household, on: dt.date) -> str | None:
    months = profile.param("elimination.min_months_assisted", household.village_id, on)
    done = household.measures.filter(status="done").order_by("started_on").first()
    if months is None or done is None:
        return None
    return add_months(done.started_on, int(months)).isoformat()


def _refusal(check: dict, household) -> str:
    if check["result"] == "":
        return f"户 {household.household_number} 不是未消除风险的监测对象, 不能提名风险消除"
    reasons = "; ".join(f"{f['rule']} {f['label']}" for f in check["failed"]) or "规则结果为不符合"
    return f"风险消除预检未通过: {reasons}"


# ---- steps -----------------------------------------------------------------------------------

def _repropose_effect(ctx: Context) -> None:
    check = elimination_precheck(ctx.case.household, ctx.on)
    if check["result"] != "eligible":
        if check["result"] == "tracking":
            raise GuardFailed(f"帮扶措施落实未满规定期限, 仍为跟踪关注 (可于{check.get('tracking_until')}后提名)")
        raise GuardFailed(_refusal(check, ctx.case.household))
    ctx.result["precheck"] = check


def _verify_check(ctx: Context) -> str | None:
    names = {str(n).strip() for n in ctx.data.get("investigators", []) if str(n).strip()}
    if len(names) < 2:
        return "入户核实须不少于2名调查人员"
    if ctx.data.get("investigators_signed") is not True or ctx.data.get("household_signed") is not True:
        return "附件4、附件5须由核实组成员与监测对象分别签字 (investigators_signed, household_signed)"
    return None


def measures_sheet(household) -> list[dict]:
    """附件4 防止返贫监测对象帮扶措施落实情况表: the household's measures as recorded."""
    return [
        {"measure_code": m.measure_code, "measure": C.MEASURE.label(m.measure_code), "content": m.content,
         "started_on": m.started_on.isoformat(), "status": C.MEASURE_STATUS.label(m.status),
         "responsible_unit": m.responsible_unit}
        for m in household.measures.all()
    ]


def _verify_effect(ctx: Context) -> None:
    ctx.result["annex4"] = ctx.data.get("annex4") or measures_sheet(ctx.case.household)


def _review_check(ctx: Context) -> str | None:
    if ctx.data.get("decision") != "eliminate":
        return "评议结论须为 eliminate (拟消除); 评议不通过请用「村级不予通过」"
    return None


def _village_review_effect(ctx: Context) -> None:
    h, on = ctx.case.household, ctx.on
    risks = notices.risk_reason(split_codes(h.declared_risks))
    notice = notices.open_notice(
        case=ctx.case, level=Notice.Level.VILLAGE, on=on, days=profile.village_notice_days(h.village_id, on),
        proposal="拟标注风险消除", reason=f"{risks}风险已稳定消除" if risks else "返贫致贫风险已稳定消除",
    )
    ctx.result["notice"] = {"id": notice.pk, "starts_on": notice.starts_on, "days": notice.days}


def needs_scrutiny(household) -> bool:
    """县级重点审查 (篇九 五(二)第五步): 特困, 低保 or several risks."""
    in_dibao_tekun = household.members.filter(status="normal").filter(dibao=True).exists() or \
        household.members.filter(status="normal", tekun=True).exists()
    return in_dibao_tekun or len(split_codes(household.declared_risks)) >= 2


def _approve_check(ctx: Context) -> str | None:
    if METHOD_LOOKUP.get(str(ctx.data.get("method", ""))) is None:
        return "消除方式须为 帮扶消除 (assisted) 或 自然消除 (natural)"
    if needs_scrutiny(ctx.case.household) and not str(ctx.data.get("scrutiny", "")).strip():
        return "该户为低保/特困或存在多种风险, 须写明重点审查意见 (scrutiny)"
    return None


def _approve_effect(ctx: Context) -> None:
    check = elimination_precheck(ctx.case.household, ctx.on)
    if check["result"] != "eligible":
        raise GuardFailed(_refusal(check, ctx.case.household) if check["result"] != "tracking"
                          else "帮扶措施落实未满规定期限, 只能作为跟踪关注对象")
    method = METHOD_LOOKUP[str(ctx.data["method"])]
    h = ctx.case.household
    ctx.case.household = household_update(
        actor=ctx.actor, household=h, action="household.eliminate",
        changes={"eliminated_on": ctx.on, "extra": {**(h.extra or {}), "elimination_method": method,
                                                    "elimination_case": ctx.case.pk}},
        comment=f"风险消除案件 {ctx.case.pk}: {METHODS[method]}",
    )
    ctx.result["precheck"] = check
    ctx.result["method_label"] = METHODS[method]


PREVIOUS = {
    "checked": "proposed",
    "village_notice": "checked",
    "township_review": "checked",
    "county_approval": "township_review",
}


def _previous_state(ctx: Context) -> str:
    return PREVIOUS[ctx.case.state]


NOTICE_LEVEL_OF_STATE = {"village_notice": Notice.Level.VILLAGE}

ELIMINATION = register(Workflow(
    kind=Case.Kind.ELIMINATION,
    label="风险消除",
    states={
        "tracking": "跟踪关注",
        "proposed": "已提名, 待入户核实",
        "checked": "已入户核实, 待民主评议",
        "village_notice": "村级公示中",
        "township_review": "待乡镇审核",
        "county_approval": "待县级审定",
        "eliminated": "已消除风险",
        "rejected": "未通过",
        "withdrawn": "已撤回",
    },
    initial="proposed",
    terminal=frozenset({"eliminated", "rejected", "withdrawn"}),
    open_roles=VILLAGE_STEP,
    level_of_state={"tracking": "village", "proposed": "village", "checked": "village", "village_notice": "village",
                    "township_review": "township", "county_approval": "county"},
    transitions=(
        Transition("repropose", "跟踪期满重新提名", ("tracking",), "proposed", VILLAGE_STEP, effect=_repropose_effect),
        Transition("verify", "入户核实 (附件4、附件5)", ("proposed",), "checked", VILLAGE_STEP,
                   requires=("investigators", "annex5"), checks=(_verify_check,), effect=_verify_effect),
        Transition("village_review", "村民主评议", ("checked",), "village_notice", VILLAGE_STEP,
                   requires=("members", "decision"), checks=(_review_check,), effect=_village_review_effect),
        *notices.objection_transitions(("village_notice",), NOTICE_LEVEL_OF_STATE, VILLAGE_STEP),
        Transition("close_village_notice", "公示期满上报乡镇", ("village_notice",), "township_review", VILLAGE_STEP,
                   guards=(notices.notice_over_guard(Notice.Level.VILLAGE),
                           notices.objections_answered_guard(Notice.Level.VILLAGE)),
                   effect=notices.close_notice_effect(Notice.Level.VILLAGE)),
        Transition("township_approve", "乡镇审核通过", ("township_review",), "county_approval", TOWNSHIP_STEP,
                   requires=("signed_by",)),
        Transition("approve", "县级审定风险消除", ("county_approval",), "eliminated", COUNTY_STEP,
                   requires=("method",), checks=(_approve_check,), effect=_approve_effect),
        Transition("reject_village", "村级不予通过", ("checked", "village_notice"), "rejected", VILLAGE_STEP,
                   needs_comment=True, effect=notices.cancel_notices_effect),
        Transition("reject_township", "乡镇审核不予通过", ("township_review",), "rejected", TOWNSHIP_STEP,
                   needs_comment=True),
        Transition("reject_county", "县级不予通过", ("county_approval",), "rejected", COUNTY_STEP, needs_comment=True),
        Transition("send_back_village", "村级退回上一步", ("checked", "village_notice"), _previous_state, VILLAGE_STEP,
                   needs_comment=True, effect=notices.cancel_notices_effect),
        Transition("send_back_township", "乡镇退回上一步", ("township_review",), _previous_state, TOWNSHIP_STEP,
                   needs_comment=True),
        Transition("send_back_county", "县级退回上一步", ("county_approval",), _previous_state, COUNTY_STEP,
                   needs_comment=True),
        Transition("withdraw", "撤回提名", ("tracking", "proposed", "checked"), "withdrawn", VILLAGE_STEP,
                   needs_comment=True),
    ),
))


def elimination_propose(*, actor, household, on: dt.date, reason: str = "") -> Case:
    """Step 1 村提名: refused when E1-E6 fail; a `tracking` result opens the case as 跟踪关注."""
    with transaction.atomic():
        if Case.objects.filter(household=household, kind=Case.Kind.ELIMINATION).exclude(
            state__in=ELIMINATION.terminal
        ).exists():
            raise GuardFailed(f"户 {household.household_number} 已有办理中的风险消除案件")
        check = elimination_precheck(household, on)
        if check["result"] == "tracking":
            state = "tracking"
        elif check["result"] == "eligible":
            state = "proposed"
        else:
            raise GuardFailed(_refusal(check, household))
        return open_case(kind=Case.Kind.ELIMINATION, household=household, actor=actor, on=on, reason=reason,
                         data={"precheck": check}, state=state)


# ---- rollback (回退) and removal (清退) ---------------------------------------------------------

# Who decides above the county when the profile says so; at county level the county decides
# (county_approve) and nobody may fire the higher step.
HIGHER_ROLES_OF_LEVEL = {"city": frozenset({Role.CITY}), "province": frozenset({Role.PROVINCE})}


def _approval_level(case: Case) -> str:
    return profile.undo_approval_level(case.village_code, case.opened_on)


def _higher_roles(case: Case) -> frozenset:
    return HIGHER_ROLES_OF_LEVEL.get(_approval_level(case), frozenset())


def _county_decides(ctx: Context) -> str | None:
    level = _approval_level(ctx.case)
    if level != "county":
        return f"本地回退、清退由{ {'city': '市级', 'province': '省级'}.get(level, level)}审批, 县级请报送上级"
    return None


def _county_forwards(ctx: Context) -> str | None:
    if _approval_level(ctx.case) == "county":
        return "本地回退、清退由县级审批, 无需报送上级"
    return None


def _rollback_effect(ctx: Context) -> None:
    h = ctx.case.household
    if h.eliminated_on is None:
        raise GuardFailed(f"户 {h.household_number} 未标注风险消除, 无需回退")
    marks = {**(h.extra or {}), "rolled_back_on": ctx.on.isoformat(), "rollback_case": ctx.case.pk,
             "eliminated_on_before_rollback": h.eliminated_on.isoformat()}
    ctx.case.household = household_update(
        actor=ctx.actor, household=h, action="household.rollback", changes={"eliminated_on": None, "extra": marks},
        comment=f"风险消除回退案件 {ctx.case.pk}: {ctx.case.reason}",
    )


def _removal_effect(ctx: Context) -> None:
    h = ctx.case.household
    if not h.category:
        raise GuardFailed(f"户 {h.household_number} 不是监测对象, 无需清退")
    marks = {**(h.extra or {}), "removed_on": ctx.on.isoformat(), "removal_case": ctx.case.pk,
             "category_before_removal": h.category,
             "identified_on_before_removal": h.identified_on.isoformat() if h.identified_on else None}
    ctx.case.household = household_update(
        actor=ctx.actor, household=h, action="household.remove",
        changes={"category": "", "identified_on": None, "eliminated_on": None, "extra": marks},
        comment=f"监测对象清退案件 {ctx.case.pk}: {ctx.case.reason}",
    )


def _undo_workflow(kind: str, label: str, effect) -> Workflow:
    return Workflow(
        kind=kind,
        label=label,
        states={
            "requested": "已申请, 待乡镇审核",
            "county_review": "待县级审核",
            "higher_review": "待上级审批",
            "approved": "已批准",
            "rejected": "未批准",
            "withdrawn": "已撤回",
        },
        initial="requested",
        terminal=frozenset({"approved", "rejected", "withdrawn"}),
        open_roles=VILLAGE_STEP | COUNTY_STEP,
        level_of_state={"requested": "township", "county_review": "county", "higher_review": "higher"},
        transitions=(
            Transition("township_endorse", "乡镇审核同意", ("requested",), "county_review", TOWNSHIP_STEP,
                       requires=("signed_by",)),
            Transition("county_approve", "县级审批", ("county_review",), "approved", COUNTY_STEP,
                       guards=(_county_decides,), effect=effect),
            Transition("county_forward", "县级审核报送上级", ("county_review",), "higher_review", COUNTY_STEP,
                       guards=(_county_forwards,)),
            Transition("higher_approve", "上级审批", ("higher_review",), "approved", _higher_roles, effect=effect),
            Transition("reject_township", "乡镇不同意", ("requested",), "rejected", TOWNSHIP_STEP, needs_comment=True),
            Transition("reject_county", "县级不同意", ("county_review",), "rejected", COUNTY_STEP, needs_comment=True),
            Transition("reject_higher", "上级不同意", ("higher_review",), "rejected", _higher_roles,
                       needs_comment=True),
            Transition("withdraw", "撤回申请", ("requested",), "withdrawn", VILLAGE_STEP, needs_comment=True),
        ),
    )


ROLLBACK = register(_undo_workflow(Case.Kind.ROLLBACK, "风险消除回退", _rollback_effect))
REMOVAL = register(_undo_workflow(Case.Kind.REMOVAL, "监测对象清退", _removal_effect))


def _undo_request(kind: str, *, actor, household, on: dt.date, reason: str) -> Case:
    if not reason.strip():
        raise GuardFailed("回退、清退申请须写明理由")
    with transaction.atomic():
        if Case.objects.filter(household=household, kind=kind).exclude(
            state__in=("approved", "rejected", "withdrawn")
        ).exists():
            raise GuardFailed(f"户 {household.household_number} 已有办理中的同类申请")
        if kind == Case.Kind.ROLLBACK and household.eliminated_on is None:
            raise GuardFailed(f"户 {household.household_number} 未标注风险消除, 不能申请回退")
        if kind == Case.Kind.REMOVAL and not household.category:
            raise GuardFailed(f"户 {household.household_number} 不是监测对象, 不能申请清退")
        state = "county_review" if actor is not None and actor.role == Role.COUNTY_RR else "requested"
        case = open_case(kind=kind, household=household, actor=actor, on=on, reason=reason, state=state,
                         data={"approval_level": profile.undo_approval_level(household.village_id, on)})
    return case


def rollback_request(*, actor, household, on: dt.date, reason: str) -> Case:
    """风险消除回退: e.g. 整户无劳动能力, 风险消除不稳定 (篇二 (二)4)."""
    return _undo_request(Case.Kind.ROLLBACK, actor=actor, household=household, on=on, reason=reason)


def removal_request(*, actor, household, on: dt.date, reason: str) -> Case:
    """监测对象清退: a household wrongly included."""
    return _undo_request(Case.Kind.REMOVAL, actor=actor, household=household, on=on, reason=reason)


__all__ = ["elimination_precheck", "elimination_propose", "rollback_request", "removal_request", "WorkflowError"]
