"""GET /api/v1/dashboard/: every chart's series and the child-region breakdown, the same numbers
as the 统计图表 page (fangfan.registry.stats), scoped the same way."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from django.utils import timezone
from ninja import Router, Schema

from fangfan.registry import stats

router = Router(tags=["dashboard"])


class RegionOut(Schema):
    code: str
    prefix: str
    name: str
    level_label: str


class SeriesOut(Schema):
    key: str
    label: str


class RowOut(Schema):
    key: str
    label: str
    region: Optional[str] = None  # 12-digit code of the child region counted (None for months)
    values: list[int]
    total: Optional[int] = None


class ChartOut(Schema):
    key: str
    title: str
    kind: str
    row_label: str
    note: str
    series: list[SeriesOut]
    rows: list[RowOut]
    totals: list[int]
    total: Optional[int] = None
    available: bool = True  # False: not computed at this level (overdue work above the county), see note


class SummaryOut(Schema):
    households: int
    monitored: int
    lifted: int
    monitoring_rate: Optional[float] = None


class DashboardOut(Schema):
    as_of: dt.date
    region: RegionOut
    breadcrumb: list[RegionOut]
    children: list[RegionOut]
    summary: SummaryOut
    screening_dates: list[dt.date]
    charts: list[ChartOut]


@router.get("/", response=DashboardOut, summary="统计图表数据(各图表系列及下级区划分解)")
def dashboard(request, region: str = "", as_of: Optional[dt.date] = None):
    """region: 区划代码 (12 位或 2/4/6/9 位前缀), 默认为本账号的区划; 超出管辖范围返回 404。
    as_of: 统计日期, 默认今天。"""
    as_of = as_of or timezone.localdate()
    data = stats.dashboard(actor=request.auth, region=region, as_of=as_of)
    place = data["place"]
    return {
        "as_of": as_of,
        "region": {"code": place.code, "prefix": place.prefix, "name": place.name, "level_label": place.level_label},
        "breadcrumb": place.breadcrumb,
        "children": place.children,
        "summary": data["summary"],
        "screening_dates": data["screening_dates"],
        "charts": data["charts"],
    }
