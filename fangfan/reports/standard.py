"""Q5 standard tables (reports.md Q5): the county summary (附件2/附件3 style), the township monthly
report (due the 20th, 篇十二 (一)) and the June and December reports (篇十四).

Stocks (households, persons, monitored by category) are at the as-of date; flows (identified,
eliminated, rolled back, removed, measures started, visits, warnings) are counted over the period:
the county summary from 1 January to the as-of date; the monthly report over the as-of date's
month (from its 1st to the as-of date); the June report over 1 January - 30 June and the December
report over 1 July - 31 December of the as-of year (up to the as-of date when earlier)."""
from __future__ import annotations

import datetime as dt

import polars as pl

from fangfan.common import codes as C
from fangfan.reports.data import Snapshot, monitored_expr
from fangfan.reports.tables import ReportTable, full_code, levels_for, pct, region_codes, rollup

CLASS_LABELS = (("tekun", "特困"), ("dibao", "低保"), ("dibao_eligible", "符合低保条件"),
                ("dibao_marginal", "低保边缘"), ("expense_hardship", "支出型困难"))
COLOR_LABELS = (("red", "红色预警"), ("orange", "橙色预警"), ("yellow", "黄色预警"))


def period(name: str, as_of: dt.date) -> tuple[dt.date, dt.date]:
    if name == "township-monthly":
        return as_of.replace(day=1), as_of
    if name == "june":
        return dt.date(as_of.year, 1, 1), min(as_of, dt.date(as_of.year, 6, 30))
    if name == "december":
        return dt.date(as_of.year, 7, 1), min(as_of, dt.date(as_of.year, 12, 31))
    return dt.date(as_of.year, 1, 1), as_of


def _households(snap: Snapshot, since: dt.date, until: dt.date) -> pl.DataFrame:
    on = snap.as_of
    hh = snap.households.join(snap.member_facts.select("hid", "persons"), on="hid", how="left").with_columns(
        pl.col("persons").fill_null(0), monitored_expr(on).alias("monitored"))
    visits = snap.visit_facts
    months = snap.village_parameters(["visits.monitored_months"])
    hh = hh.join(visits, on="hid", how="left").join(months, on="village_code", how="left")
    last = pl.max_horizontal("last_visit_on", "visited_last", "identified_on")
    due = last.dt.offset_by(pl.format("{}mo", pl.col("visits.monitored_months")))
    return hh.with_columns(
        (pl.col("household_type") == "lifted").alias("lifted"),
        (pl.col("monitored") & last.is_not_null() & (due < on)).alias("visit_overdue"),
        pl.col("identified_on").is_between(since, until).fill_null(False).alias("identified_in"),
        pl.col("eliminated_on").is_between(since, until).fill_null(False).alias("eliminated_in"),
    )


STOCK = [
    pl.len().alias("总户数"), pl.col("persons").sum().alias("总人数"),
    pl.col("lifted").sum().alias("脱贫户数"), pl.col("persons").filter(pl.col("lifted")).sum().alias("脱贫人口"),
    pl.col("monitored").sum().alias("监测户数"), pl.col("persons").filter(pl.col("monitored")).sum().alias("监测人口"),
    *[(pl.col("monitored") & (pl.col("category") == code)).sum().alias(label) for code, label in C.CATEGORY.items],
    pl.col("identified_in").sum().alias("本期识别户数"), pl.col("eliminated_in").sum().alias("本期风险消除户数"),
    pl.col("visit_overdue").sum().alias("回访逾期户数"),
]


def _by_level(snap: Snapshot, data: pl.DataFrame, aggs: list[pl.Expr], extra: list[pl.DataFrame],
              levels: list[tuple[int, str, str]]) -> list[tuple[str, str, pl.DataFrame]]:
    """Roll up `data` with `aggs`, then join per-village count frames (village_code + columns)."""
    names = snap.names()
    out = []
    for digits, level, label in levels:
        frame = rollup(data, aggs, digits, names, region_codes(snap, level))
        for counts in extra:
            cols = [c for c in counts.columns if c != "village_code"]
            if counts.height:
                part = counts.group_by(full_code(pl.col("village_code").str.slice(0, digits)).alias("区划代码")).agg(
                    [pl.col(c).sum() for c in cols])
            else:
                part = pl.DataFrame(schema={"区划代码": pl.String, **{c: pl.Int64 for c in cols}})
            frame = frame.join(part, on="区划代码", how="left").with_columns(pl.col(cols).fill_null(0))
        out.append((level, label, frame))
    return out


def _cases(snap: Snapshot, since: dt.date, until: dt.date) -> pl.DataFrame:
    cases = snap.closed_cases(since, until)
    return pl.DataFrame({"village_code": cases["village_code"],
                         "本期回退户数": (cases["kind"] == "rollback").cast(pl.Int64) * cases["cases"],
                         "本期清退户数": (cases["kind"] == "removal").cast(pl.Int64) * cases["cases"]},
                        schema={"village_code": pl.String, "本期回退户数": pl.Int64, "本期清退户数": pl.Int64})


def _warning_counts(snap: Snapshot, since: dt.date, until: dt.date, department: str | None = None) -> pl.DataFrame:
    w = snap.warnings(since, until)
    if department:
        w = w.filter(pl.col("department") == department)
    return w.group_by("village_code").agg(
        pl.len().alias("部门预警交办数"), (pl.col("state") == "verified").sum().alias("已核查数"),
        ((pl.col("state") != "verified") & (pl.col("deadline") < snap.as_of)).sum().alias("逾期未核查数"))


def _rate(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pct(pl.col("监测户数"), pl.col("脱贫户数")).alias("监测率(监测户÷脱贫户)"))


def _wide(snap: Snapshot, long: pl.DataFrame, codes: tuple, key: str, digits: int) -> pl.DataFrame:
    """(village_code, <key>, households) → one row per region at `digits`, one column per code."""
    names = snap.names()
    regions = region_codes(snap, {6: "county", 9: "township", 12: "village"}[digits])
    base = pl.DataFrame({"区划代码": regions.unique().sort()}) if regions.len() else pl.DataFrame(
        {"区划代码": long["village_code"].str.slice(0, digits).str.pad_end(12, "0").unique().sort()})
    grouped = long.group_by(full_code(pl.col("village_code").str.slice(0, digits)).alias("区划代码"), key).agg(
        pl.col("households").sum())
    for code, label in codes:
        part = grouped.filter(pl.col(key) == code).select("区划代码", pl.col("households").alias(f"{code} {label}"))
        base = base.join(part, on="区划代码", how="left").with_columns(pl.col(f"{code} {label}").fill_null(0))
    return base.with_columns(pl.col("区划代码").replace_strict(names, default="").alias("名称")).select(
        "区划代码", "名称", *[f"{code} {label}" for code, label in codes])


def county_summary(snap: Snapshot) -> list[ReportTable]:
    since, until = period("county-summary", snap.as_of)
    data = _households(snap, since, until)
    levels = [lv for lv in levels_for(snap.prefix) if lv[1] != "village"] or levels_for(snap.prefix)
    tables = []
    warnings = _warning_counts(snap, since, until)
    for level, label, frame in _by_level(snap, data, STOCK, [_cases(snap, since, until), warnings], levels):
        frame = _rate(frame)
        guide = snap.value("monitoring.scale_guide")
        tables.append(ReportTable(f"summary_{level}", f"防返贫监测帮扶情况汇总表(按{label})", frame,
                                  note=f"监测率参考规模{guide * 100:.0f}%(M7, 只提示不阻止)" if guide is not None else ""))
    digits = 9 if len(snap.prefix) <= 9 else 12
    risks = (data.filter(pl.col("monitored") & (pl.col("declared_risks") != ""))
             .select("hid", "village_code", pl.col("declared_risks").str.split(";").alias("risk")).explode("risk")
             .unique(["hid", "risk"]).group_by("village_code", "risk").agg(pl.len().alias("households")))
    tables.append(ReportTable("by_risk", "未消除风险监测户数(按风险类型)", _wide(snap, risks, C.RISK.items, "risk", digits),
                              note="一户有多项风险时在每项中各计一次"))
    measures = snap.measures_by_code(since, until).rename({"measure_code": "code"})
    tables.append(ReportTable("by_measure", f"本期落实帮扶措施户数(按措施类别, {since:%Y-%m-%d}至{until:%Y-%m-%d})",
                              _wide(snap, measures, C.MEASURE.items, "code", digits)))
    return tables


def township_monthly(snap: Snapshot) -> list[ReportTable]:
    since, until = period("township-monthly", snap.as_of)
    data = _households(snap, since, until)
    measures = snap.measures_by_code(since, until)
    measures = (measures.group_by("village_code").agg(pl.col("households").sum().alias("本月新落实措施户次"))
                if measures.height else pl.DataFrame(schema={"village_code": pl.String, "本月新落实措施户次": pl.Int64}))
    visits = snap.visits_between(since, until).rename({"households": "本月回访户数"})
    levels = [lv for lv in levels_for(snap.prefix) if lv[1] in ("township", "village")] or levels_for(snap.prefix)
    out = []
    for level, label, frame in _by_level(snap, data, STOCK, [_cases(snap, since, until), measures, visits,
                                                             _warning_counts(snap, since, until)], levels):
        frame = _rate(frame).rename({"本期识别户数": "本月识别户数", "本期风险消除户数": "本月风险消除户数",
                                     "本期回退户数": "本月回退户数", "本期清退户数": "本月清退户数"})
        out.append(ReportTable(f"monthly_{level}", f"防返贫监测月报(按{label}, {since:%Y年%m月})", frame,
                               note=f"统计期 {since:%Y-%m-%d} 至 {until:%Y-%m-%d}; 每月20日前上报(篇十二)"))
    return out


def half_year(snap: Snapshot, name: str) -> list[ReportTable]:
    since, until = period(name, snap.as_of)
    data = _households(snap, since, until).join(snap.screening, on="hid", how="left").with_columns(
        pl.col("low_income_class", "warning_color").fill_null(""))
    aggs = [pl.len().alias("总户数"), pl.col("persons").sum().alias("总人数"), pl.col("monitored").sum().alias("监测户数"),
            *[(pl.col("low_income_class") == code).sum().alias(label) for code, label in CLASS_LABELS],
            *[(pl.col("warning_color") == code).sum().alias(label) for code, label in COLOR_LABELS],
            pl.col("identified_in").sum().alias("本期识别户数"), pl.col("eliminated_in").sum().alias("本期风险消除户数"),
            pl.col("visit_overdue").sum().alias("回访逾期户数")]
    civil = _warning_counts(snap, since, until, "民政").rename(
        {"部门预警交办数": "民政预警交办数", "已核查数": "民政预警已核查数", "逾期未核查数": "民政预警逾期未核查数"})
    levels = [lv for lv in levels_for(snap.prefix) if lv[1] != "village"] or levels_for(snap.prefix)
    label_of = {"june": "6月", "december": "12月"}[name]
    out = []
    for level, label, frame in _by_level(snap, data, aggs, [civil, _warning_counts(snap, since, until)], levels):
        out.append(ReportTable(f"half_{level}", f"低收入人口动态监测和常态化帮扶工作{label_of}报表(按{label})", frame,
                               note=f"统计期 {since:%Y-%m-%d} 至 {until:%Y-%m-%d}; 低收入类别和三色预警依据各户最近一次规则筛查结果"))
    return out

