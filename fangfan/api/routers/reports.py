"""GET /api/v1/reports/ (the reports) and GET /api/v1/reports/{name}: one report's tables for the
token user's region, the same cells as the 报表 page and its downloads (fangfan.reports.selectors),
scoped the same way. Each table gives at most `limit` rows (default 1000) and its total."""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from django.utils import timezone
from ninja import Router, Schema

from fangfan.reports.selectors import REPORTS, build, kind

router = Router(tags=["reports"])


class ReportKindOut(Schema):
    name: str
    title: str
    source: str


class TableOut(Schema):
    key: str
    title: str
    note: str
    columns: list[str]
    rows: list[list[Any]]
    total: int


class ReportOut(Schema):
    name: str
    title: str
    region: str
    region_name: str
    as_of: dt.date
    basis: str
    tables: list[TableOut]


@router.get("/", response=list[ReportKindOut], summary="报表列表")
def report_kinds(request):
    return [{"name": r.name, "title": r.title, "source": r.source} for r in REPORTS.values()]


class CampaignPhaseOut(Schema):
    kind: str
    label: str
    opens_on: Optional[dt.date]
    due: str
    state: str


class CampaignOut(Schema):
    id: int
    name: str
    region: str
    year: int
    target_groups: list[dict]
    coverage_target: int
    source: str
    current: str
    entry_closed: bool
    closed_from: Optional[dt.datetime]
    closed_until: Optional[dt.datetime]
    phases: list[CampaignPhaseOut]
    coverage: list[TableOut] = []


@router.get("/campaigns", response=list[CampaignOut], summary="集中排查(阶段、录入窗口、入户覆盖)")
def campaigns(request, year: Optional[int] = None, coverage: bool = False, limit: int = 1000):
    """本账号辖区的集中排查。year: 年度。coverage=true 时附各级入户覆盖表(每表最多 limit 行)。"""
    from fangfan.reports import campaigns as C

    found = C.campaigns_for(request.auth).prefetch_related("phases")
    if year is not None:
        found = found.filter(year=year)
    limit = max(0, min(limit, 100_000))
    out = []
    for campaign in found[:200]:
        row = C.summary(campaign, request.auth)
        if coverage:
            tables, _ = C.coverage(campaign, prefix=_prefix(request.auth))
            row["coverage"] = [{"key": t.key, "title": t.title, "note": t.note, "columns": t.columns,
                                "rows": [list(r) for r in t.frame.head(limit).rows()], "total": t.frame.height}
                               for t in tables]
        out.append(row)
    return out


def _prefix(actor):
    from fangfan.regions.scope import prefix_for

    return prefix_for(actor)


@router.get("/{name}", response=ReportOut, summary="报表数据(各表的列名与行)")
def report(request, name: str, region: str = "", as_of: Optional[dt.date] = None, year: Optional[int] = None,
           limit: int = 1000):
    """region: 区划代码 (12 位或 2/4/6/9 位前缀), 默认本账号的区划; 超出管辖范围返回 404。
    as_of: 统计日期, 默认今天。year: 收入年度(收入变化排查、数据质量)。limit: 每表最多返回的行数。"""
    kind(name)
    as_of = as_of or timezone.localdate()
    result = build(name=name, actor=request.auth, region=region, as_of=as_of, year=year)
    limit = max(0, min(limit, 100_000))
    return {
        "name": result.name, "title": result.title, "region": result.prefix, "region_name": result.place_name,
        "as_of": as_of, "basis": result.basis,
        "tables": [{"key": t.key, "title": t.title, "note": t.note, "columns": t.columns,
                    "rows": [list(r) for r in t.frame.head(limit).rows()], "total": t.frame.height}
                   for t in result.tables],
    }
