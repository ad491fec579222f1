"""The reports (reports.md Q1-Q3, Q5) by name, scoped by the acting user's region.

`build(name=…, actor=…, region=…, as_of=…)` checks the region against the actor's household scope
(fangfan.registry.stats.place_for, itself on fangfan.regions.scope: a region outside it is "not
found", a 县行业部门 or administrator account gets PermissionDenied), reads the registry of that
region in bulk once (fangfan.reports.data.Snapshot) and computes the report's tables. The shell
(actor None) may name any region, or none for the whole registry."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from django.http import Http404

from fangfan.reports import income_change, quality, scale_risk, standard, supervision
from fangfan.reports.data import Snapshot
from fangfan.reports.tables import Report, ReportTable


@dataclass(frozen=True)
class ReportKind:
    name: str
    title: str
    source: str
    build: Callable[[Snapshot], list[ReportTable]]


REPORTS: dict[str, ReportKind] = {k.name: k for k in (
    ReportKind("income-change", "脱贫户和监测户收入变化排查", "reports.md Q1, 篇一", income_change.tables),
    ReportKind("scale-risk", "规模性返贫风险与监测规模", "reports.md Q2, rules.md M7, 篇二 (四)", scale_risk.tables),
    ReportKind("data-quality", "数据质量检查", "reports.md Q3, 篇二 (五)", quality.tables),
    ReportKind("county-summary", "防返贫监测帮扶情况汇总表(附件2/附件3)", "reports.md Q5, 篇二", standard.county_summary),
    ReportKind("township-monthly", "乡镇防返贫监测月报", "reports.md Q5, 篇十二 (一)", standard.township_monthly),
    ReportKind("june", "低收入人口动态监测6月报表", "reports.md Q5, 篇十四", lambda s: standard.half_year(s, "june")),
    ReportKind("december", "低收入人口动态监测12月报表", "reports.md Q5, 篇十四",
               lambda s: standard.half_year(s, "december")),
    ReportKind("spot-check", "抽查", "reports.md Q4, 篇二 三(二)", supervision.spot_check),
    ReportKind("problem-ledger", "问题台账", "workflows.md W8, 篇二 (四)(四)", supervision.ledger),
)}


class ReportError(ValueError):
    """A request the reports cannot answer, with the Chinese reason."""


def kind(name: str) -> ReportKind:
    found = REPORTS.get(name)
    if found is None:
        raise Http404(f"没有名为 {name} 的报表; 可用: {', '.join(REPORTS)}")
    return found


def place(*, actor, region: str = ""):
    """(prefix, name) of the region reported on, inside the actor's scope."""
    from fangfan.registry import stats

    if actor is not None:
        found = stats.place_for(actor=actor, region=region)
        return found.prefix, found.name
    prefix = stats._normalise(region)
    if prefix is None:
        raise ReportError(f"区划代码格式不正确: {region!r} (应为12位区划代码或其2/4/6/9位前缀)")
    return prefix, (stats._names([prefix])[prefix] if prefix else "全部地区")


def build(*, name: str, actor, region: str = "", as_of: dt.date, year: int | None = None,
          snapshot: Snapshot | None = None) -> Report:
    spec = kind(name)
    prefix, place_name = place(actor=actor, region=region)
    snap = snapshot if snapshot is not None and snapshot.prefix == prefix and snapshot.as_of == as_of else (
        Snapshot(prefix=prefix, as_of=as_of, year=year))
    tables = spec.build(snap)
    basis = f"截至{as_of:%Y-%m-%d}; 依据: {spec.source}"
    if name in ("income-change", "data-quality") and snap.year:
        basis += f"; 收入年度 {snap.year}" + (f" 对比 {snap.year - 1}" if name == "income-change" else "")
    if name in ("county-summary", "township-monthly", "june", "december"):
        since, until = standard.period(name, as_of)
        basis += f"; 统计期 {since:%Y-%m-%d} 至 {until:%Y-%m-%d}"
    return Report(name=name, title=spec.title, place_name=place_name, prefix=prefix, as_of=as_of, tables=tables,
                  basis=basis)
