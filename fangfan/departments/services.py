"""Importing a department feed (workflows.md W6 step 1): check the whole file, then store the
batch and its new rows and match them to the registry, all in one transaction."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from fangfan.accounts.models import DEPARTMENTS, Role
from fangfan.accounts.permissions import require, role_of
from fangfan.audit.services import audit_record
from fangfan.departments.feeds import SPECS, VILLAGE, FeedLine, Problem, parse_period, period_from_name, read_feed
from fangfan.departments.matching import CHUNK, people_of, raise_warnings, villages_of
from fangfan.departments.models import FeedBatch, FeedRow
from fangfan.registry.interchange.sources import SourceError
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
                name: str | None = None, county: str = "", today: dt.date | None = None) -> FeedSummary:
    """Import one department file. `name` is the file name shown in messages (an upload's own
    name); `county` limits the shell's matching (a user's is its own county)."""
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
        feed = read_feed(department, path, name)
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
        rows = FeedRow.objects.bulk_create(
            [
                FeedRow(
                    batch=batch, department=department, row_number=line.row,
                    id_number="" if is_water else line.key, village_code=line.key if is_water else "",
                    row_key=line.row_key, values=line.values, matched=line.key in found,
                    household_id=ids.get(line.key, (None, None))[0], member_id=ids.get(line.key, (None, None))[1],
                )
                for line in fresh
            ],
            batch_size=2000,
        )
        batch.warnings_raised = raise_warnings(batch=batch, rows=rows, people=people, villages=villages,
                                               params=params, today=day)
        batch.save(update_fields=["warnings_raised"])
        audit_record(
            actor=actor, action="dept.import", object_type="feed_batch", object_key=batch.pk, region_code=county,
            after={"department": department, "period": period, "file": batch.file_name, "sha256": feed.sha256,
                   "rows": batch.rows, "new_rows": batch.new_rows, "skipped": batch.skipped,
                   "matched": batch.matched, "unmatched": batch.unmatched, "warnings": batch.warnings_raised},
        )
    return FeedSummary(batch)


def _new_lines(department: str, lines: list[FeedLine]) -> list[FeedLine]:
    """Lines whose row key no earlier batch (nor an earlier line of this file) holds."""
    keys = list(dict.fromkeys(line.row_key for line in lines))
    seen: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        seen.update(FeedRow.objects.filter(department=department, row_key__in=chunk).values_list("row_key", flat=True))
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
