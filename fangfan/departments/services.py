"""Importing a department feed (workflows.md W6 step 1): check the whole file, then store the
batch and its new rows and match them to the registry, all in one transaction."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from fangfan.accounts.models import DEPARTMENTS, Role
from fangfan.accounts.permissions import require, role_of
from fangfan.audit.services import audit_record
from fangfan.common import pii
from fangfan.departments.feeds import (
    SPECS, VILLAGE, FeedFile, FeedLine, Problem, parse_period, period_from_name, read_feed,
)
from fangfan.departments.matching import (  # CHUNK: selectors read it from here
    CHUNK, encode_values, insert_frame, key_filters, people_of, raise_warnings, villages_of,
)
from fangfan.departments.models import REFERRAL_LABELS, DeptWarning, FeedBatch, FeedRow, Referral
from fangfan.policy.warnings import KINDS
from fangfan.regions.scope import in_scope
from fangfan.registry.interchange.sources import SourceError
from fangfan.registry.services import member_status_update
from fangfan.reports.campaigns import entry_window_guard
from fangfan.screening.parameters import current_parameters


class FeedRejected(Exception):
    """The file was not imported; `problems` says every reason (file, row, column, masked value)."""

    def __init__(self, problems: list[Problem], message: str = ""):
        self.problems = problems
        super().__init__(message or f"文件有 {len(problems)} 处问题, 未导入任何数据")


@dataclass(frozen=True)
class FeedSummary:
    batch: FeedBatch

    def __str__(self) -> str:
        b = self.batch
        return (f"{b.department} {b.period} {b.file_name}: 共 {b.rows} 行, 新增 {b.new_rows} 行"
                f"(已导入过 {b.skipped} 行), 匹配 {b.matched} 行, 未匹配 {b.unmatched} 行, 新增预警 {b.warnings_raised} 条"
                f" [批次 {b.pk}]")


def feed_county(actor) -> str:
    """The county a user's feeds belong to (6 digits); PermissionDenied without one."""
    prefix = getattr(actor, "region_prefix", "")
    require(len(prefix) == 6, "账号未设置县级管辖区划, 不能导入部门数据")
    return prefix


def check_may_import(actor, department: str) -> None:
    """县行业部门 imports its own department's feed, 县乡村振兴局 any, the shell (None) any."""
    if actor is None:
        return
    role = role_of(actor)
    if role == Role.COUNTY_DEPT:
        require(actor.department == department,
                f"只能导入本部门({actor.department or '未设置部门'})的数据, 不能导入{department}的数据")
    else:
        require(role == Role.COUNTY_RR, "只有县行业部门(本部门数据)或县乡村振兴局可以导入部门数据")
    feed_county(actor)


def feed_import(*, actor, department: str, path: str | Path, period: str | None = None,
                name: str | None = None, county: str = "", today: dt.date | None = None,
                feed: FeedFile | None = None) -> FeedSummary:
    """Import one department file. `name` is the file name shown in messages (an upload's own
    name); `county` limits the shell's matching (a user's is its own county); `feed` is the file
    as read_feed read it, when the caller read it already (the monthly cycle reads the next file
    while this one is written)."""
    if department not in DEPARTMENTS:
        raise FeedRejected([], f"未知的部门: {department!r}(应为: {'、'.join(DEPARTMENTS)})")
    check_may_import(actor, department)
    county = feed_county(actor) if actor is not None else county
    if county and not (len(county) == 6 and county.isdigit()):
        raise FeedRejected([], f"县级区划代码应为6位数字, 收到 {county!r}")
    path = Path(path)
    name = name or path.name
    if period:
        try:
            period = parse_period(period)
        except ValueError as exc:
            raise FeedRejected([], str(exc)) from None
    else:
        period = period_from_name(name, today or timezone.localdate())
    if not path.is_file():
        raise FeedRejected([], f"文件不存在: {path}")
    try:
        feed = feed or read_feed(department, path, name)
    except SourceError as exc:
        raise FeedRejected([Problem(name, 0, "", "", str(exc))]) from None
    if feed.problems:
        raise FeedRejected(feed.problems)
    earlier = FeedBatch.objects.filter(department=department, sha256=feed.sha256).first()
    if earlier is not None:
        raise FeedRejected([Problem(name, 0, "", "", f"该文件已于 {timezone.localtime(earlier.at):%Y-%m-%d %H:%M} 导入"
                                                     f"(批次 {earlier.pk}, 数据期 {earlier.period}), 未重复导入")],
                           "该文件已导入过, 未重复导入")
    params = current_parameters()
    day = today or timezone.localdate()
    with transaction.atomic():
        fresh = _new_lines(department, feed.lines)
        is_water = SPECS[department].key == VILLAGE
        keys = {line.key for line in fresh}
        people = None if is_water else people_of(keys, county)
        villages = villages_of(keys, county) if is_water else set()
        found = villages if is_water else set(people.ids)
        if not county and actor is None:
            county = _county_of(people, villages)
        batch = FeedBatch.objects.create(
            department=department, period=period, county=county, file_name=name[:255], sha256=feed.sha256,
            rows=len(feed.lines), new_rows=len(fresh), skipped=len(feed.lines) - len(fresh),
            matched=sum(1 for line in fresh if line.key in found),
            unmatched=sum(1 for line in fresh if line.key not in found),
            who=actor if getattr(actor, "pk", None) else None,
        )
        ids = {} if is_water else people.ids
        none = (None, None)
        # Only the new rows' IDs are encrypted, in one pass ("" where the department sent the index).
        ciphers = [""] * len(fresh) if is_water else pii.keyring().encrypt_all([line.plain for line in fresh])
        # Written as one frame (COPY / executemany): a model instance per row costs ~10x more.
        insert_frame(FeedRow, pl.DataFrame(
            {
                "row_number": [line.row for line in fresh],
                "id_index": ["" if is_water else line.key for line in fresh],
                "id_cipher": ciphers,
                "village_code": [line.key if is_water else "" for line in fresh],
                "row_key": [line.row_key for line in fresh],
                "values": [line.values_json or encode_values(line.values) for line in fresh],
                "matched": [line.key in found for line in fresh],
                "household_id": [ids.get(line.key, none)[0] for line in fresh],
                "member_id": [ids.get(line.key, none)[1] for line in fresh],
            },
            schema={"row_number": pl.Int64, "id_index": pl.String, "id_cipher": pl.String, "village_code": pl.String,
                    "row_key": pl.String, "values": pl.String, "matched": pl.Boolean, "household_id": pl.Int64, "member_id": pl.Int64},
        ).with_columns(pl.lit(batch.pk, dtype=pl.Int64).alias("batch_id"), pl.lit(department).alias("department")))
        records = [(line.row_key, line.key, line.values) for line in fresh if line.key in found]
        batch.warnings_raised = raise_warnings(batch=batch, records=records, people=people, villages=villages,
                                               params=params, today=day)
        batch.save(update_fields=["warnings_raised"])
        hashed = 0 if is_water else ciphers.count("")  # new rows sent as keyed hashes, not IDs
        audit_record(
            actor=actor, action="dept.import", object_type="feed_batch", object_key=batch.pk, region_code=county,
            after={"department": department, "period": period, "file": batch.file_name, "sha256": feed.sha256,
                   "rows": batch.rows, "new_rows": batch.new_rows, "skipped": batch.skipped,
                   "matched": batch.matched, "unmatched": batch.unmatched, "warnings": batch.warnings_raised,
                   **({"hashed_ids": hashed} if hashed else {})},
        )
    return FeedSummary(batch)


def _new_lines(department: str, lines: list[FeedLine]) -> list[FeedLine]:
    """Lines whose row key no earlier batch (nor an earlier line of this file) holds."""
    keys = list(dict.fromkeys(line.row_key for line in lines))
    seen: set[str] = set()
    if FeedBatch.objects.filter(department=department).exists():  # else no row can have been seen
        for match in key_filters(FeedRow, "row_key", keys):
            seen.update(FeedRow.objects.filter(match, department=department).values_list("row_key", flat=True))
    fresh = []
    for line in lines:
        if line.row_key not in seen:
            seen.add(line.row_key)
            fresh.append(line)
    return fresh


def _county_of(people, villages: set[str]) -> str:
    """The shell's batch belongs to the county most of its matched persons (or villages) lie in."""
    counties = Counter(code[:6] for code in (people.frame["village_code"].to_list() if people else villages))
    return counties.most_common(1)[0][0] if counties else ""


# ---- the warning's life (W6 steps 2-5: 集中交办 → 入户核查 → 结果反馈, 转介) -----------------------

class WarningRefused(Exception):
    """The step cannot be taken (wrong state, missing note, stale page ...); the message says why."""


class WarningStale(WarningRefused):
    """Someone else changed the warning since the page was read: reload and try again."""


# Who verifies at home and who passes to the village: the township and the village of the warning,
# and the county office (县乡村振兴局) for any warning of its county.
VERIFY_ROLES = frozenset({Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY_RR})
PASS_ROLES = frozenset({Role.TOWNSHIP, Role.COUNTY_RR})


def _warning_for_step(actor, warning_id: int, roles, what: str, seen_version: int | None):
    require(role_of(actor) in roles, f"本账号的角色不能{what}")
    warning = DeptWarning.objects.select_for_update().filter(pk=warning_id).first()
    if warning is None or not in_scope(actor, warning.village_code):
        raise PermissionDenied("预警不存在或不在本账号的管辖范围内")
    entry_window_guard(actor=actor, region_code=warning.village_code)  # a campaign's closed entry window
    if seen_version is not None and warning.version != seen_version:
        raise WarningStale("该预警已被他人处理, 请刷新后重试")
    return warning


def _warning_audit(actor, warning, action: str, before: dict, after: dict, comment: str = "") -> None:
    audit_record(
        actor=actor, action=action, object_type="dept_warning", object_key=str(warning.pk),
        household_key=warning.household.household_number if warning.household_id else "",
        region_code=warning.village_code, before=before, after=after, comment=comment,
    )


def warning_pass(*, actor, warning_id: int, on: dt.date | None = None, note: str = "",
                 seen_version: int | None = None):
    """集中交办: the township passes a warning to its village for the home check."""
    on = on or timezone.localdate()
    with transaction.atomic():
        warning = _warning_for_step(actor, warning_id, PASS_ROLES, "转交预警", seen_version)
        if warning.state != DeptWarning.State.TOWNSHIP:
            raise WarningRefused(f"该预警{warning.get_state_display()}, 不能再转交村")
        warning.state, warning.passed_on, warning.passed_by = DeptWarning.State.VILLAGE, on, actor
        warning.version += 1
        warning.save(update_fields=["state", "passed_on", "passed_by", "version"])
        _warning_audit(actor, warning, "dept_warning.pass", {"state": "township"}, {"state": "village", "on": str(on)},
                       note)
    return warning


def warning_verify(*, actor, warning_id: int, outcome: str, note: str, on: dt.date | None = None, file=None,
                   confirm_status: bool | None = None, seen_version: int | None = None):
    """入户核查: the outcome with notes (and a photo or scan). 纳入监测 opens a W1 case on the
    channel 部门筛查预警 with the warning and its evidence in the case; a member status change
    (死亡, 迁出) is applied only when the checker confirms it (confirm_status)."""
    from fangfan.workflows.attachments import attachment_store
    from fangfan.workflows.errors import WorkflowError
    from fangfan.workflows.identification import identification_open

    on = on or timezone.localdate()
    note = (note or "").strip()
    if outcome not in DeptWarning.Outcome.values:
        raise WarningRefused(f"核查结果应为 {'、'.join(DeptWarning.Outcome.labels)}")
    if not note:
        raise WarningRefused("请填写核查情况")
    with transaction.atomic():
        warning = _warning_for_step(actor, warning_id, VERIFY_ROLES, "录入核查结果", seen_version)
        if warning.state == DeptWarning.State.VERIFIED:
            raise WarningRefused(f"该预警已于 {warning.verified_on} 核查({warning.get_outcome_display()})")
        kind = KINDS[warning.kind]
        household = warning.household
        if kind.action == "status" and confirm_status is None:
            raise WarningRefused("人员状态变更须确认: 核实属实则确认变更, 否则不变更")
        if outcome == DeptWarning.Outcome.ENROLLED and household is None:
            raise WarningRefused("村级预警须逐户核查: 对需纳入监测的农户请从该户档案发起识别")
        if outcome == DeptWarning.Outcome.ALREADY and (household is None or not household.is_monitored):
            raise WarningRefused("该户不是监测对象, 不能选“已是监测对象”")
        case = None
        if outcome == DeptWarning.Outcome.ENROLLED:
            try:
                case = identification_open(actor=actor, household=household, channel="department_warning", on=on,
                                           reason=f"{warning.department}预警: {warning.detail}; 核查: {note}"[:500])
            except WorkflowError as exc:
                raise WarningRefused(str(exc)) from None
            case.data["department_warning"] = {
                "warning": warning.pk, "department": warning.department, "kind": warning.kind,
                "detail": warning.detail, "risks": warning.risk_codes,
                "evidence": [{"batch": r.batch_id, "file": r.batch.file_name, "row": r.row_number}
                             for r in warning.evidence.select_related("batch")],
            }
            case.save(update_fields=["data"])
        attachment = None
        if file is not None:
            if household is None:
                raise WarningRefused("村级预警不能上传户附件")
            try:
                attachment = attachment_store(actor=actor, household=household, file=file, case=case)
            except WorkflowError as exc:
                raise WarningRefused(str(exc)) from None
        if kind.action == "status" and confirm_status:
            member_status_update(actor=actor, member_id=warning.member_id, status=kind.member_status, on=on,
                                 reason=f"{warning.department}数据({warning.detail}), 入户核实: {note}",
                                 action="member.status_from_department")
            warning.status_applied = True
        before = {"state": warning.state}
        warning.state, warning.outcome, warning.outcome_note = DeptWarning.State.VERIFIED, outcome, note
        warning.verified_on, warning.verified_by, warning.attachment, warning.case = on, actor, attachment, case
        warning.version += 1
        warning.save()
        _warning_audit(actor, warning, "dept_warning.verify", before,
                       {"state": "verified", "outcome": outcome, "on": str(on), "case": case.pk if case else None,
                        "status_applied": warning.status_applied, "attachment": attachment.pk if attachment else None},
                       note)
    return warning


def warning_refer(*, actor, warning_id: int, to_department: str, reason: str, on: dt.date | None = None):
    """转介: the need lies with another department (医保, 教育, 住建, 人社, 应急, 司法); 民政 hands a
    suspected 低保/特困 case to the 县民政局's list."""
    on = on or timezone.localdate()
    reason = (reason or "").strip()
    if to_department not in REFERRAL_LABELS:
        raise WarningRefused(f"转介部门应为 {'、'.join(REFERRAL_LABELS.values())}")
    if not reason:
        raise WarningRefused("请写明转介事由")
    with transaction.atomic():
        warning = _warning_for_step(actor, warning_id, VERIFY_ROLES, "转介预警", None)
        if Referral.objects.filter(warning=warning, to_department=to_department, answered_on__isnull=True).exists():
            raise WarningRefused(f"已转介{REFERRAL_LABELS[to_department]}, 尚待答复")
        referral = Referral.objects.create(warning=warning, to_department=to_department, reason=reason[:300],
                                           referred_on=on, referred_by=actor, county=warning.county)
        if to_department == "民政" and not warning.dibao_suspected:
            warning.dibao_suspected = True
            warning.version += 1
            warning.save(update_fields=["dibao_suspected", "version"])
        _warning_audit(actor, warning, "dept_warning.refer", {}, {"referral": referral.pk, "to": to_department,
                                                                   "on": str(on)}, reason)
    return referral


def referral_answer(*, actor, referral_id: int, answer: str, on: dt.date | None = None):
    """The department the need was referred to records what it did (县行业部门 for its own
    department, 县民政局 for 民政, 县乡村振兴局 for any of its county)."""
    on = on or timezone.localdate()
    answer = (answer or "").strip()
    if not answer:
        raise WarningRefused("请填写办理结果")
    with transaction.atomic():
        referral = Referral.objects.select_for_update().select_related("warning").filter(pk=referral_id).first()
        role = role_of(actor)
        allowed = referral is not None and referral.county == getattr(actor, "region_prefix", None) and (
            role == Role.COUNTY_RR
            or (role == Role.COUNTY_CA and referral.to_department == "民政")
            or (role == Role.COUNTY_DEPT and actor.department == referral.to_department)
        )
        if not allowed:
            raise PermissionDenied("转介事项不存在或不由本账号答复")
        if referral.answered_on is not None:
            raise WarningRefused(f"该转介已于 {referral.answered_on} 答复")
        referral.answer, referral.answered_on, referral.answered_by = answer, on, actor
        referral.save(update_fields=["answer", "answered_on", "answered_by"])
        audit_record(actor=actor, action="referral.answer", object_type="referral", object_key=str(referral.pk),
                     region_code=referral.warning.village_code, after={"on": str(on)}, comment=answer[:500])
    return referral


def unregistered_id_view(*, actor, department: str, rows: int, reason: str) -> None:
    """A full view of the unregistered list's ID numbers (县乡村振兴局, 县民政局: roles that may
    see full IDs), given a reason: logged as a full ID view (who, when, why, how many) in the
    personal-data log, like one member's (registry.services.member_id_reveal)."""
    from fangfan.accounts.permissions import may_view_full_id

    reason = (reason or "").strip()
    if not may_view_full_id(actor):
        raise PermissionDenied("本角色不能查看完整证件号码")
    if len(reason) < 2:
        raise ValueError("请填写查看完整证件号码的理由")
    with transaction.atomic():
        audit_record(actor=actor, action="member.id_view", object_type="feed_unregistered",
                     object_key="unregistered", region_code=getattr(actor, "region_code", ""),
                     after={"rows": rows, **({"department": department} if department else {})}, comment=reason[:500])
