"""Tables of the supervision features: the problem ledger rolled up by level (W8: open and overdue
problems by village, township and county) and the latest spot check of each county (Q4)."""
from __future__ import annotations

import polars as pl

from fangfan.reports.data import Snapshot, problems_frame, spot_check_items
from fangfan.reports.models import Problem, SpotCheckItem
from fangfan.reports.tables import ReportTable, full_code, levels_for, pct, region_codes, rollup

SOURCE = dict(Problem.Source.choices)
STATUS = dict(Problem.Status.choices)
RESULT = dict(SpotCheckItem.Result.choices)


def ledger(snap: Snapshot) -> list[ReportTable]:
    found = problems_frame(snap)
    on = snap.as_of
    is_open = (pl.col("status") == "open") | (pl.col("closed_on") > on)
    overdue = is_open & (pl.col("deadline") < on)
    names = snap.names()
    out = []
    for digits, level, label in reversed(levels_for(snap.prefix)):
        frame = rollup(found, [pl.len().alias("问题数"), is_open.sum().alias("未销号"), overdue.sum().alias("逾期未销号"),
                               (~is_open).sum().alias("已销号")], digits, names,
                       region_codes(snap, level) if level != "village" else None)
        out.append(ReportTable(f"ledger_{level}", f"问题台账汇总(按{label})", frame))
    detail = found.filter(is_open).sort("deadline", "village_code", "id").select(
        pl.col("id").alias("编号"), pl.col("village_code").alias("村代码"),
        pl.col("village_code").replace_strict(names, default="").alias("村名"),
        pl.col("household_number").fill_null("").alias("户编号"),
        pl.col("source").replace_strict(SOURCE, default="").alias("来源"), pl.col("rule").alias("规则"),
        pl.col("description").alias("问题"), pl.col("owner").alias("责任人/单位"),
        pl.col("deadline").dt.strftime("%Y-%m-%d").alias("整改期限"),
        pl.when(pl.col("deadline") < on).then(pl.lit("逾期")).otherwise(pl.lit("未到期")).alias("期限状态"))
    out.append(ReportTable("open_problems", "未销号问题", detail))
    return out


def spot_check(snap: Snapshot) -> list[ReportTable]:
    items = spot_check_items(snap)
    latest = items.group_by("county").agg(pl.col("spot_check").max())
    items = items.join(latest, on=["county", "spot_check"])
    names = snap.names()
    checks = items.group_by("spot_check").agg(pl.all().exclude("spot_check").first(), pl.len().alias("n")).sort("county")
    summary = checks.select(
        pl.col("spot_check").alias("抽查编号"), full_code(pl.col("county")).alias("区划代码"),
        full_code(pl.col("county")).replace_strict(names, default="").alias("名称"),
        pl.col("as_of").dt.strftime("%Y-%m-%d").alias("抽样日期"), pl.col("seed").cast(pl.String).alias("随机种子"),
        pl.col("ratio").alias("抽查比例"), pl.col("frame_households").alias("抽样框户数"),
        pl.col("n").alias("抽中户数"), pl.col("frame_sha256").alias("抽样框SHA-256"))
    by_township = items.group_by("township_code").agg(
        pl.len().alias("抽中户数"), (pl.col("result") != "").sum().alias("已抽查"),
        (pl.col("result") == "problem").sum().alias("发现问题")).sort("township_code").select(
        full_code(pl.col("township_code")).alias("区划代码"),
        full_code(pl.col("township_code")).replace_strict(names, default="").alias("名称"), "抽中户数", "已抽查",
        "发现问题", pct(pl.col("已抽查"), pl.col("抽中户数")).alias("完成比例"))
    detail = items.sort("township_code", "village_code", "household_number").select(
        pl.col("household_number").alias("户编号"), pl.col("village_code").alias("村代码"),
        pl.col("village_code").replace_strict(names, default="").alias("村名"),
        pl.col("result").replace_strict({"": "待抽查", **RESULT}, default="").alias("抽查结果"),
        pl.col("note").alias("抽查情况"))
    return [ReportTable("spot_checks", "抽查样本(各县最近一次)", summary),
            ReportTable("spot_check_townships", "抽查完成情况(按乡镇)", by_township),
            ReportTable("spot_check_households", "抽查户名单", detail)]
