"""Writes to the registry. Every write is atomic and leaves history (audit rows) in the same
transaction; bad input is reported whole and writes nothing. The import of interchange files is
in registry.importing (re-exported here for its callers)."""
from __future__ import annotations

from pathlib import Path

import polars as pl
from django.core.exceptions import PermissionDenied
from django.db import transaction

from fangfan.audit.services import audit_record
from fangfan.common import pii
from fangfan.common.ids import mask
from fangfan.regions import codes as region_codes
from fangfan.regions.models import Region
from fangfan.registry import dbframes
from fangfan.reports.campaigns import entry_window_guard
from fangfan.registry.importing import ImportRejected, ImportSummary, history_value, registry_import

__all__ = [
    "ConcurrentEdit", "ExportRefused", "ImportRejected", "ImportSummary", "household_update", "member_id_reveal",
    "registry_export", "registry_import",
]


class ExportRefused(PermissionDenied, PermissionError):
    """This actor may not export (that region): a PermissionDenied for pages and the API
    (403), still a PermissionError for callers written before roles were checked."""


class ConcurrentEdit(Exception):
    """The household changed since the caller read it: reload and try again."""


def household_update(
    *, actor, household, changes: dict, expected_version: int | None = None,
    action: str = "household.update", comment: str = "",
):
    """Change fields of one household (pages, API, cases) with optimistic locking on `version`
    (the caller's `expected_version`, or the row as read now) and before/after in its history.
    Returns the household as stored."""
    from django.db.models import F
    from django.utils import timezone

    from fangfan.registry.models import Household

    entry_window_guard(actor=actor, region_code=household.village_id)  # W7: closed after a campaign's entry
    with transaction.atomic():
        fresh = Household.objects.get(pk=household.pk)
        version = fresh.version if expected_version is None else expected_version
        before = {k: history_value(k, getattr(fresh, k)) for k in changes}
        stored = dict(changes)
        if "phone" in stored:  # kept encrypted (fangfan.common.pii); the history has it masked
            stored["phone_cipher"] = pii.encrypt_phone(stored.pop("phone") or "")
        updated = Household.objects.filter(pk=fresh.pk, version=version).update(
            **stored, version=F("version") + 1, updated_at=timezone.now()
        )
        if updated != 1:
            raise ConcurrentEdit(f"户 {fresh.household_number} 已被他人修改, 请刷新后重试")
        audit_record(
            actor=actor,
            action=action,
            object_type="household",
            object_key=fresh.household_number,
            household_key=fresh.household_number,
            region_code=fresh.village_id,
            before=before,
            after={k: history_value(k, v) for k, v in changes.items()},
            comment=comment,
        )
        fresh.refresh_from_db()
        return fresh


def registry_export(*, actor, out: str | Path, region: str = "", reason: str = "") -> dict[str, int]:
    """Write the registry (within the actor's scope, narrowed to `region`) as interchange files.
    Exports of personal data are logged with who and why."""
    from fangfan.regions.scope import prefix_for
    from fangfan.registry.interchange.write import write_tables

    from fangfan.accounts.permissions import role_of

    if actor is not None and role_of(actor) == "admin":
        # roles.md: the system administrator manages users and roles, not households' personal data.
        raise ExportRefused("系统管理员只管理用户和角色, 不能导出农户数据")
    scope = "" if actor is None else prefix_for(actor)
    if scope is None:
        raise ExportRefused("本账号不能导出农户数据" if role_of(actor) else "请先登录")
    if region and not region_codes.is_digits(region):
        raise ExportRefused("区划代码应为数字")
    wanted = region_codes.prefix_of(region) if len(region) == 12 else region
    if wanted and scope and not wanted.startswith(scope):
        if scope.startswith(wanted):
            wanted = scope
        else:
            raise ExportRefused("所选区划不在本账号的管辖范围内")
    prefix = wanted or scope
    tables = dbframes.read_tables(prefix, personal=True)  # the interchange files carry the plain numbers
    villages = _village_frame(prefix)
    if villages.height:
        tables["villages"] = villages
    write_tables(tables, Path(out))
    counts = {name: frame.height for name, frame in tables.items()}
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="registry.export",
            object_type="export",
            object_key=str(out),
            region_code=prefix,
            after=counts,
            comment=reason,
        )
    return counts


def _village_frame(prefix: str) -> pl.DataFrame:
    """村表 rows for the villages that hold households in the region."""
    from django.db.models import Q

    from fangfan.regions.scope import code_range_q

    villages = Region.objects.filter(Q(level="village") & code_range_q("code", prefix)).filter(
        households__isnull=False
    ).distinct()
    townships = dict(Region.objects.filter(level="township", code__in={v.code[:9] + "000" for v in villages}).values_list("code", "name"))
    rows = [
        {
            "village_code": v.code,
            "village_name": v.name or None,
            "township_name": townships.get(v.code[:9] + "000") or None,
            "delisted": v.delisted,
            "village_kind": v.village_kind or None,
        }
        for v in villages.order_by("code")
    ]
    return pl.DataFrame(
        rows,
        schema={"village_code": pl.String, "village_name": pl.String, "township_name": pl.String,
                "delisted": pl.Boolean, "village_kind": pl.String},
    )


def member_id_reveal(*, actor, member_id: int, reason: str) -> str:
    """One member's full ID number for a role that needs it (permissions.may_view_full_id), given a
    reason; every view is an audit row (member.id_view) with who, when and why. A member outside
    the actor's scope is "not found" (Member.DoesNotExist)."""
    from django.core.exceptions import PermissionDenied

    from fangfan.accounts.permissions import may_view_full_id
    from fangfan.regions.scope import scope_queryset
    from fangfan.registry.models import Member

    reason = (reason or "").strip()
    with transaction.atomic():
        member = scope_queryset(Member.objects.select_related("household"), actor, "household__village_id").get(
            pk=member_id
        )
        if not may_view_full_id(actor):
            raise PermissionDenied("本角色不能查看完整证件号码")
        if len(reason) < 2:
            raise ValueError("请填写查看完整证件号码的理由")
        audit_record(
            actor=actor, action="member.id_view", object_type="member", object_key=mask(member.id_number),
            household_key=member.household.household_number, region_code=member.household.village_id,
            comment=reason[:500],
        )
    return member.id_number


def member_status_update(*, actor, member_id: int, status: str, on, reason: str, action: str = "member.status"):
    """Change one member's 人员状态 (死亡, 迁出 …) after someone confirmed it, with the household's
    version bumped (its figures change) and before/after in its history. Returns the member."""
    from django.db.models import F
    from django.utils import timezone

    from fangfan.common import codes as C
    from fangfan.registry.models import Household, Member

    if status not in C.MEMBER_STATUS.codes:
        raise ValueError(f"人员状态应为 {'、'.join(label for _, label in C.MEMBER_STATUS.items)}, 收到 {status!r}")
    with transaction.atomic():
        member = Member.objects.select_for_update().select_related("household").get(pk=member_id)
        entry_window_guard(actor=actor, region_code=member.household.village_id)  # W7: closed after the entry
        before = member.status
        Member.objects.filter(pk=member.pk).update(status=status, updated_at=timezone.now())
        Household.objects.filter(pk=member.household_id).update(version=F("version") + 1, updated_at=timezone.now())
        audit_record(
            actor=actor, action=action, object_type="member", object_key=str(member.pk),
            household_key=member.household.household_number, region_code=member.household.village_id,
            before={"status": before}, after={"status": status, "on": str(on)}, comment=reason,
        )
        member.refresh_from_db()
        return member
