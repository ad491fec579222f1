"""Writes of the low-income app: who is in 低保/特困 (registry member flags + Enrolment), the
payment lists. Each in a transaction with its audit rows; `actor` None is the shell."""
from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from fangfan.accounts.models import Role
from fangfan.audit.services import audit_record
from fangfan.common import pii
from fangfan.regions.scope import code_range_q
from fangfan.lowincome.models import Enrolment, PaymentList, Programme
from fangfan.registry.models import Household, Member
from fangfan.reports.campaigns import entry_window_guard


class LowIncomeError(ValueError):
    """Refused input or state, with a Chinese message for the user."""


def member_keys(values) -> list[str]:
    """The members' keys as stored (Enrolment.members, PaymentLine.members): the blind index of
    the ID (registry.Member.id_index, the key the screening results use too), never the plain ID.
    A plain ID is indexed here; a blind index (32 hex characters, never a valid ID) is kept."""
    return [v if pii.is_index(v) else pii.id_index(v) for v in (str(x) for x in values)]


def member_assistance_set(*, actor, household: Household, members: list[str], dibao: bool | None = None,
                          tekun: bool | None = None, reason: str) -> int:
    """Set or clear 低保 / 特困 on members of one household (the registry flags the rules read),
    bump the household's version (its figures change) and record before/after per member.
    `members`: their keys (blind indexes; plain IDs are indexed, member_keys)."""
    changes = {k: v for k, v in (("dibao", dibao), ("tekun", tekun)) if v is not None}
    if not changes:
        return 0
    keys = member_keys(members)
    entry_window_guard(actor=actor, region_code=household.village_id)  # W7: closed after a campaign's entry
    with transaction.atomic():
        found = list(Member.objects.select_for_update().filter(household=household, id_index__in=keys))
        missing = set(keys) - {m.id_index for m in found}
        if missing:
            raise LowIncomeError(f"户 {household.household_number} 没有证件号码为 {len(missing)} 个所列号码的成员")
        changed = 0
        for m in found:
            before = {k: getattr(m, k) for k in changes}
            if before == changes:
                continue
            Member.objects.filter(pk=m.pk).update(**changes, updated_at=timezone.now())
            audit_record(
                actor=actor, action="member.assistance", object_type="member", object_key=str(m.pk),
                household_key=household.household_number, region_code=household.village_id,
                before=before, after=changes, comment=reason[:500],
            )
            changed += 1
        if changed:
            Household.objects.filter(pk=household.pk).update(version=F("version") + 1, updated_at=timezone.now())
        return changed


def enrolment_enter(*, actor, household: Household, case, programme: str, members: list[str], starts_on: dt.date,
                    on: dt.date, own_income_year: int = 0) -> Enrolment:
    """Entry (纳入) after the county's approval: the flags on the covered members and the enrolment.
    `members`: the covered members' keys (blind indexes; plain IDs are indexed, member_keys)."""
    if programme not in Programme.values:
        raise LowIncomeError(f"保障类别 {programme!r} 无效, 应为 {'、'.join(Programme.labels)}")
    members = member_keys(members)
    with transaction.atomic():
        if Enrolment.objects.filter(household=household, programme=programme, exited_on__isnull=True).exists():
            raise LowIncomeError(f"户 {household.household_number} 已在「{Programme(programme).label}」保障中")
        flag = {"tekun": True} if programme == Programme.TEKUN else {"dibao": True}
        member_assistance_set(actor=actor, household=household, members=members, reason=f"低保特困案件 {case.pk if case else ''} 审批纳入", **flag)
        enrolment = Enrolment.objects.create(
            household=household, case=case, programme=programme, members=list(members), own_income_year=own_income_year,
            starts_on=starts_on.replace(day=1), approved_on=on, approved_by=actor if getattr(actor, "pk", None) else None,
            last_checked_on=on,
        )
        audit_record(actor=actor, action="lowincome.enter", object_type="enrolment", object_key=str(enrolment.pk),
                     household_key=household.household_number, region_code=household.village_id,
                     after={"programme": programme, "members": len(members), "starts_on": str(enrolment.starts_on)})
    return enrolment


def active_enrolment(household: Household, programme: str | None = None) -> Enrolment | None:
    qs = Enrolment.objects.filter(household=household, exited_on__isnull=True)
    if programme:
        qs = qs.filter(programme=programme)
    return qs.order_by("-starts_on", "-id").first()


def enrolment_checked(*, actor, enrolment: Enrolment, on: dt.date, comment: str = "") -> Enrolment:
    with transaction.atomic():
        Enrolment.objects.filter(pk=enrolment.pk).update(last_checked_on=on)
        audit_record(actor=actor, action="lowincome.recheck", object_type="enrolment", object_key=str(enrolment.pk),
                     household_key=enrolment.household.household_number, region_code=enrolment.household.village_id,
                     after={"last_checked_on": str(on)}, comment=comment)
    enrolment.refresh_from_db()
    return enrolment


def enrolment_phase_out(*, actor, enrolment: Enrolment, starts_on: dt.date, ends_on: dt.date, kept_month: int,
                        comment: str = "") -> Enrolment:
    """C2: the allowance is kept (kept_month fen a month) until ends_on (paid no more from that day)."""
    with transaction.atomic():
        Enrolment.objects.filter(pk=enrolment.pk).update(
            phase_out_from=starts_on, phase_out_ends_on=ends_on, kept_month=kept_month, last_checked_on=starts_on)
        audit_record(actor=actor, action="lowincome.phase_out", object_type="enrolment", object_key=str(enrolment.pk),
                     household_key=enrolment.household.household_number, region_code=enrolment.household.village_id,
                     after={"phase_out_from": str(starts_on), "ends_on": str(ends_on), "kept_month": kept_month},
                     comment=comment)
    enrolment.refresh_from_db()
    return enrolment


def enrolment_exit(*, actor, enrolment: Enrolment, on: dt.date, reason: str) -> Enrolment:
    """退出: the flags cleared, the household marked as former 低保/特困 (the yellow colour reads it)."""
    if not reason.strip():
        raise LowIncomeError("退出须写明原因")
    household = enrolment.household
    with transaction.atomic():
        flag = {"tekun": False} if enrolment.programme == Programme.TEKUN else {"dibao": False}
        present = list(Member.objects.filter(household=household, id_index__in=member_keys(enrolment.members))
                       .values_list("id_index", flat=True))
        member_assistance_set(actor=actor, household=household, members=present, reason=f"退出: {reason}", **flag)
        Enrolment.objects.filter(pk=enrolment.pk).update(exited_on=on, exit_reason=reason[:200])
        if not household.former_dibao_tekun:
            Household.objects.filter(pk=household.pk).update(former_dibao_tekun=True)
        audit_record(actor=actor, action="lowincome.exit", object_type="enrolment", object_key=str(enrolment.pk),
                     household_key=household.household_number, region_code=household.village_id,
                     before={"exited_on": None}, after={"exited_on": str(on), "former_dibao_tekun": True},
                     comment=reason)
    enrolment.refresh_from_db()
    return enrolment


def phase_outs_expire(*, actor, on: dt.date, prefix: str = "") -> int:
    """Exit every enrolment whose phase-out ended on or before `on` (run with the monthly list)."""
    qs = Enrolment.objects.filter(exited_on__isnull=True, phase_out_ends_on__lte=on).select_related("household")
    if prefix:
        qs = qs.filter(code_range_q("household__village_id", prefix))
    n = 0
    for enrolment in qs:
        enrolment_exit(actor=actor, enrolment=enrolment, on=enrolment.phase_out_ends_on,
                       reason=f"渐退期满 ({enrolment.phase_out_ends_on:%Y-%m-%d} 起停发)")
        n += 1
    return n


def payment_list_mark_paid(*, actor, payment_list_id: int, seen_version: int, on: dt.date) -> PaymentList:
    """县民政局 marks a month paid: from now on the list is never rewritten."""
    from fangfan.regions.scope import in_scope

    if actor is not None and getattr(actor, "role", None) != Role.COUNTY_CA:
        raise LowIncomeError("发放名单须由县民政局确认发放")
    with transaction.atomic():
        pl_ = PaymentList.objects.select_for_update().filter(pk=payment_list_id).first()
        if pl_ is None or (actor is not None and not in_scope(actor, pl_.township_code.ljust(12, "0"))):
            raise LowIncomeError(f"发放名单 {payment_list_id} 不存在或不在本账号的管辖范围内")
        if pl_.state == PaymentList.State.PAID:
            raise LowIncomeError(f"{pl_.month:%Y年%m月} 的发放名单已于 {pl_.paid_on:%Y-%m-%d} 确认发放, 不能重复确认")
        if pl_.version != seen_version:
            raise LowIncomeError(f"发放名单已重新生成 (您看到的是第{seen_version}版, 现在是第{pl_.version}版), 请刷新后核对再确认")
        PaymentList.objects.filter(pk=pl_.pk).update(state=PaymentList.State.PAID, paid_on=on,
                                                     paid_by=actor if getattr(actor, "pk", None) else None,
                                                     version=F("version") + 1)
        audit_record(actor=actor, action="lowincome.paid", object_type="payment_list", object_key=str(pl_.pk),
                     region_code=pl_.township_code, before={"state": "draft"},
                     after={"state": "paid", "paid_on": str(on), "total": pl_.total, "households": pl_.households})
    pl_.refresh_from_db()
    return pl_
