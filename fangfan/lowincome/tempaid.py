"""临时救助 (temporary assistance; 篇三 8, 篇四 (二), 篇十四): application, 先行救助 and 分级审批.

- The approval level follows the amount: ≤ `dibao.temp_aid_township_limit` → the township approves
  (its decision is final); above → the township reviews and the 县民政局 approves. The limit is
  the dated value on the application day, stored with the arithmetic on the record.
- 先行救助 (“小金额先行救助, 事后补充说明情况”): a township pays an amount ≤ `dibao.temp_aid_urgent_limit`
  at once from its reserve; the papers follow within `dibao.temp_aid_papers_days`.
- Refused when the household was paid for the same cause less than `dibao.temp_aid_repeat_months`
  months before (or has an open application for it).
Each write in one transaction with its audit row; `actor` None is the shell."""
from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F

from fangfan.accounts.models import Role
from fangfan.accounts.permissions import role_of
from fangfan.audit.services import audit_record
from fangfan.common.dates import add_months
from fangfan.common.money import format_yuan
from fangfan.lowincome.models import TempAid
from fangfan.lowincome.services import LowIncomeError
from fangfan.regions.scope import in_scope
from fangfan.reports.campaigns import entry_window_guard

CAUSES = {
    "illness": "重大疾病",
    "accident": "意外事故",
    "disaster": "自然灾害",
    "public_event": "突发公共事件",
    "education": "教育等刚性支出",
    "living": "基本生活暂时困难",
    "other": "其他",
}
APPLY_ROLES = frozenset({Role.VILLAGE, Role.TOWNSHIP})
PAID_STATES = (TempAid.State.URGENT_PAID, TempAid.State.GRANTED)
OPEN_STATES = (TempAid.State.TOWNSHIP, TempAid.State.COUNTY)


def _param(name: str, code: str, on: dt.date):
    from fangfan.screening.parameters import current_parameters

    pv = current_parameters().get(name, code, on)
    if pv is None or pv.value is None:
        raise LowIncomeError(f"参数 {name} 未设定 (区划 {code}, {on:%Y-%m-%d}), 请先在「县级参数」中设定")
    return pv


def _fen(pv) -> int:
    from fangfan.policy.param_types import yuan_to_fen

    return yuan_to_fen(pv.value)


def approval_level(code: str, on: dt.date, amount: int) -> tuple[str, int, str]:
    """(level, township limit in fen, the arithmetic) for an amount in fen on a date."""
    pv = _param("dibao.temp_aid_township_limit", code, on)
    limit = _fen(pv)
    if amount <= limit:
        return (TempAid.Level.TOWNSHIP, limit,
                f"救助金额 {format_yuan(amount)} 元 ≤ 乡镇审批限额 {format_yuan(limit)} 元 [{pv.source}] → 乡镇审批")
    return (TempAid.Level.COUNTY, limit,
            f"救助金额 {format_yuan(amount)} 元 > 乡镇审批限额 {format_yuan(limit)} 元 [{pv.source}] → 乡镇审核后报县民政局审批")


def repeat_refusal(household, cause: str, on: dt.date, exclude: int | None = None) -> str | None:
    """Why a new aid for this cause is refused on `on` (None when it may be given)."""
    label = CAUSES.get(cause, cause)
    others = TempAid.objects.filter(household=household, cause=cause)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    pending = others.filter(state__in=OPEN_STATES).first()
    if pending is not None:
        return f"该户已有办理中的「{label}」临时救助申请 (编号 {pending.pk}, {pending.applied_on:%Y-%m-%d} 申请)"
    last = others.filter(state__in=PAID_STATES, paid_on__isnull=False).order_by("-paid_on").first()
    if last is None:
        return None
    pv = _param("dibao.temp_aid_repeat_months", household.village_id, on)
    months = int(pv.value)
    again = add_months(last.paid_on, months)
    if on < again:
        return (f"该户已于 {last.paid_on:%Y-%m-%d} 因「{label}」获得临时救助 {format_yuan(last.amount)} 元 (编号 {last.pk}); "
                f"同一事由 {months} 个月内不重复救助 [{pv.source}], {again:%Y-%m-%d} 起方可再次申请")
    return None


def _check_actor(actor, code: str, roles, what: str) -> None:
    if actor is None:
        return
    if role_of(actor) not in roles:
        raise LowIncomeError(f"本账号角色不能{what}")
    if not in_scope(actor, code):
        raise LowIncomeError("该户不在本账号的管辖范围内")


def _audit(actor, aid: TempAid, action: str, before: dict | None, after: dict, comment: str = "") -> None:
    audit_record(actor=actor, action=f"temp_aid.{action}", object_type="temp_aid", object_key=str(aid.pk),
                 household_key=aid.household.household_number, region_code=aid.village_code,
                 before=before, after=after, comment=comment[:500])


def temp_aid_apply(*, actor, household, cause: str, amount: int, reason: str, on: dt.date,
                   urgent: bool = False) -> TempAid:
    """申请 (village or township). Urgent (先行救助): only the township, paid on the same day."""
    code = household.village_id
    _check_actor(actor, code, APPLY_ROLES, "申请临时救助")
    entry_window_guard(actor=actor, region_code=code)  # W7: closed after a campaign's entry
    if cause not in CAUSES:
        raise LowIncomeError(f"救助事由类别 {cause!r} 无效, 应为: {'、'.join(CAUSES.values())}")
    if not reason.strip():
        raise LowIncomeError("须写明救助事由 (遭遇的困难及金额的依据)")
    if amount <= 0:
        raise LowIncomeError(f"救助金额须大于 0 元 (填写的是 {format_yuan(amount)} 元)")
    level, limit, arithmetic = approval_level(code, on, amount)
    papers_due = None
    if urgent:
        if actor is not None and role_of(actor) != Role.TOWNSHIP:
            raise LowIncomeError("先行救助由乡镇(街道)从临时救助备用金中发放, 须由乡镇账号登记")
        upv = _param("dibao.temp_aid_urgent_limit", code, on)
        cap = _fen(upv)
        if amount > cap:
            raise LowIncomeError(f"先行救助限小金额: {format_yuan(amount)} 元 > 先行救助上限 {format_yuan(cap)} 元 "
                                 f"[{upv.source}]; 请按分级审批程序申请")
        days = int(_param("dibao.temp_aid_papers_days", code, on).value)
        papers_due = on + dt.timedelta(days=days)
        arithmetic += (f"; 先行救助: {format_yuan(amount)} 元 ≤ 先行救助上限 {format_yuan(cap)} 元 [{upv.source}], "
                       f"当日发放, {papers_due:%Y-%m-%d} 前补齐材料")
    with transaction.atomic():
        # one household at a time: two simultaneous applications must not both pass the repeat rule
        type(household).objects.select_for_update().filter(pk=household.pk).first()
        refusal = repeat_refusal(household, cause, on)
        if refusal:
            raise LowIncomeError(f"不予受理: {refusal}")
        aid = TempAid.objects.create(
            household=household, village_code=code, cause=cause, reason=reason.strip(), amount=amount, urgent=urgent,
            state=TempAid.State.URGENT_PAID if urgent else TempAid.State.TOWNSHIP, level=level, township_limit=limit,
            level_arithmetic=arithmetic, applied_on=on, applied_by=actor if getattr(actor, "pk", None) else None,
            paid_on=on if urgent else None, papers_due_on=papers_due,
        )
        _audit(actor, aid, "apply", None, {"cause": cause, "amount": amount, "urgent": urgent, "level": level,
                                           "state": aid.state, "arithmetic": arithmetic}, reason)
    return aid


def _locked(aid_id: int, seen_version: int | None) -> TempAid:
    aid = TempAid.objects.select_for_update().select_related("household").filter(pk=aid_id).first()
    if aid is None:
        raise LowIncomeError(f"临时救助 {aid_id} 不存在")
    if seen_version is not None and aid.version != seen_version:
        raise LowIncomeError(f"临时救助 {aid.pk} 已被他人处理 (您看到的是第{seen_version}版, 现在是第{aid.version}版), 请刷新")
    return aid


def temp_aid_review(*, actor, aid_id: int, approve: bool, comment: str, on: dt.date,
                    seen_version: int | None = None) -> TempAid:
    """乡镇审核: within the township limit the decision is final (granted and paid, or refused);
    above it an approval passes the case on to the 县民政局."""
    with transaction.atomic():
        aid = _locked(aid_id, seen_version)
        _check_actor(actor, aid.village_code, {Role.TOWNSHIP}, "审核临时救助 (乡镇)")
        entry_window_guard(actor=actor, region_code=aid.village_code)  # W7: closed after a campaign's entry
        if aid.state != TempAid.State.TOWNSHIP:
            raise LowIncomeError(f"临时救助 {aid.pk} 当前为「{aid.get_state_display()}」, 不在乡镇审核环节")
        if not approve and not comment.strip():
            raise LowIncomeError("不予救助须写明理由")
        before = {"state": aid.state}
        if not approve:
            new = {"state": TempAid.State.REFUSED, "decided_on": on, "decided_by": _user(actor)}
        elif aid.level == TempAid.Level.COUNTY:
            new = {"state": TempAid.State.COUNTY}
        else:
            refusal = repeat_refusal(aid.household, aid.cause, on, exclude=aid.pk)
            if refusal:
                raise LowIncomeError(f"不能批准: {refusal}")
            new = {"state": TempAid.State.GRANTED, "decided_on": on, "decided_by": _user(actor), "paid_on": on}
        TempAid.objects.filter(pk=aid.pk).update(reviewed_on=on, reviewed_by=_user(actor), review_comment=comment,
                                                 version=F("version") + 1, **new)
        aid.refresh_from_db()
        _audit(actor, aid, "review", before, {"state": aid.state, "approve": approve}, comment)
    return aid


def temp_aid_decide(*, actor, aid_id: int, approve: bool, comment: str, on: dt.date,
                    seen_version: int | None = None) -> TempAid:
    """县民政局审批 of an amount above the township limit."""
    with transaction.atomic():
        aid = _locked(aid_id, seen_version)
        _check_actor(actor, aid.village_code, {Role.COUNTY_CA}, "审批临时救助 (县民政局)")
        if aid.state != TempAid.State.COUNTY:
            raise LowIncomeError(f"临时救助 {aid.pk} 当前为「{aid.get_state_display()}」, 不在县民政局审批环节")
        if not approve and not comment.strip():
            raise LowIncomeError("不予救助须写明理由")
        new = {"state": TempAid.State.REFUSED}
        if approve:
            refusal = repeat_refusal(aid.household, aid.cause, on, exclude=aid.pk)
            if refusal:
                raise LowIncomeError(f"不能批准: {refusal}")
            new = {"state": TempAid.State.GRANTED, "paid_on": on}
        TempAid.objects.filter(pk=aid.pk).update(decided_on=on, decided_by=_user(actor), decision_comment=comment,
                                                 version=F("version") + 1, **new)
        aid.refresh_from_db()
        _audit(actor, aid, "decide", {"state": TempAid.State.COUNTY}, {"state": aid.state, "approve": approve}, comment)
    return aid


def temp_aid_papers(*, actor, aid_id: int, note: str, on: dt.date, seen_version: int | None = None) -> TempAid:
    """先行救助之后补齐材料 (事后补充说明情况): the urgent payment becomes an ordinary granted one."""
    with transaction.atomic():
        aid = _locked(aid_id, seen_version)
        _check_actor(actor, aid.village_code, APPLY_ROLES, "补齐临时救助材料")
        entry_window_guard(actor=actor, region_code=aid.village_code)  # W7: closed after a campaign's entry
        if aid.state != TempAid.State.URGENT_PAID:
            raise LowIncomeError(f"临时救助 {aid.pk} 当前为「{aid.get_state_display()}」, 不是待补材料的先行救助")
        if not note.strip():
            raise LowIncomeError("须写明补充的材料与情况说明")
        TempAid.objects.filter(pk=aid.pk).update(state=TempAid.State.GRANTED, papers_on=on, papers_note=note,
                                                 version=F("version") + 1)
        aid.refresh_from_db()
        late = aid.papers_due_on is not None and on > aid.papers_due_on
        _audit(actor, aid, "papers", {"state": TempAid.State.URGENT_PAID},
               {"state": aid.state, "papers_on": str(on), "late": late}, note)
    return aid


def _user(actor):
    return actor if getattr(actor, "pk", None) else None
