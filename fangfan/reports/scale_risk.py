"""Q2 规模性返贫风险 (reports.md Q2, 篇二 (四)) and the M7 scale guide (rules.md M7, 篇十二).

Per village: monitored persons not eliminated (正常 members of households monitored at the as-of
date) ÷ rural registered persons (正常 members of all its households); flagged when strictly above
`scale_risk.village_ratio` (exactly 2% is not flagged: 篇二 "超过2%"), compared in integers.
出列村 are shown. Per township and county, M7: monitored households ÷ 建档立卡 (脱贫户) households
against `monitoring.scale_guide`, shown (never blocking) as 明显偏高 above twice the guide and
明显偏低 below half of it (a fangfan reading of "far above or below").
The county's risk analysis: department warnings of the last twelve months and monitored households'
risks, by kind and township, biggest concentration first."""
from __future__ import annotations

import datetime as dt

import polars as pl

from fangfan.common import codes as C
from fangfan.policy.warnings import KINDS
from fangfan.reports.data import Snapshot, monitored_expr
from fangfan.reports.tables import ReportTable, full_code, levels_for, pct, region_codes, rollup, yes_no

MICRO = 1_000_000


def _households(snap: Snapshot) -> pl.DataFrame:
    facts = snap.member_facts.select("hid", "persons")
    return (snap.households.join(facts, on="hid", how="left")
            .with_columns(pl.col("persons").fill_null(0), monitored_expr(snap.as_of).alias("monitored")))


def villages(snap: Snapshot) -> pl.DataFrame:
    data = _households(snap)
    names = snap.names()
    ratio = snap.village_parameters(["scale_risk.village_ratio"]).select(
        "village_code",
        (pl.col("scale_risk.village_ratio").cast(pl.Decimal(18, 6)) * MICRO).cast(pl.Int64).alias("ratio_micro"))
    frame = rollup(data, [pl.col("persons").sum().alias("农村户籍人口"),
                          pl.col("persons").filter(pl.col("monitored")).sum().alias("未消除风险监测人口"),
                          pl.col("monitored").sum().alias("监测户数")],
                   12, names, region_codes(snap, "village"))
    delisted = snap.regions.filter(pl.col("level") == "village").select(pl.col("code").alias("区划代码"), "delisted")
    frame = (frame.join(delisted, on="区划代码", how="left")
             .join(ratio.rename({"village_code": "区划代码"}), on="区划代码", how="left"))
    over = pl.col("未消除风险监测人口") * MICRO > pl.col("ratio_micro") * pl.col("农村户籍人口")
    return frame.with_columns(
        full_code(pl.col("区划代码").str.slice(0, 9)).replace_strict(names, default="").alias("乡镇"),
        yes_no(pl.col("delisted")).alias("出列村"),
        pct(pl.col("未消除风险监测人口"), pl.col("农村户籍人口")).alias("监测人口占比"),
        yes_no(over & (pl.col("农村户籍人口") > 0)).alias("超过警戒线"),
    ).select("区划代码", "名称", "乡镇", "出列村", "农村户籍人口", "未消除风险监测人口", "监测户数", "监测人口占比",
             "超过警戒线")


def scale_guide(snap: Snapshot, village_rows: pl.DataFrame) -> list[ReportTable]:
    """M7 per township and county, with the flagged villages counted."""
    data = _households(snap).with_columns((pl.col("household_type") == "lifted").alias("lifted"))
    flags = village_rows.select(pl.col("区划代码").alias("village_code"), (pl.col("超过警戒线") == "是").alias("over"),
                                ((pl.col("超过警戒线") == "是") & (pl.col("出列村") == "是")).alias("over_delisted"))
    names = snap.names()
    out = []
    for digits, level, label in reversed(levels_for(snap.prefix)):
        if level == "village":
            continue
        frame = rollup(data, [pl.col("lifted").sum().alias("脱贫户数"), pl.col("monitored").sum().alias("监测户数")],
                       digits, names, region_codes(snap, level))
        counted = (flags.with_columns(full_code(pl.col("village_code").str.slice(0, digits)).alias("区划代码"))
                   .group_by("区划代码").agg(pl.len().alias("村数"), pl.col("over").sum().alias("超过警戒线村数"),
                                             pl.col("over_delisted").sum().alias("其中出列村")))
        frame = frame.join(counted, on="区划代码", how="left").with_columns(
            pl.col("村数", "超过警戒线村数", "其中出列村").fill_null(0))
        guide = [snap.value("monitoring.scale_guide", c[:digits]) for c in frame["区划代码"]]
        frame = frame.with_columns(pl.Series("guide_micro", [int(g * MICRO) for g in guide], dtype=pl.Int64))
        m, base, g = pl.col("监测户数") * MICRO, pl.col("脱贫户数"), pl.col("guide_micro")
        frame = frame.with_columns(
            pct(pl.col("监测户数"), base).alias("监测率(监测户÷脱贫户)"),
            pct(g, pl.lit(MICRO)).alias("参考规模"),
            pl.when(base == 0).then(pl.lit("—")).when(m > 2 * g * base).then(pl.lit("明显偏高"))
            .when(2 * m < g * base).then(pl.lit("明显偏低")).otherwise(pl.lit("接近参考")).alias("规模提示"),
        )
        out.append(ReportTable(f"guide_{level}", f"监测规模与规模性返贫风险村(按{label})", frame.select(
            "区划代码", "名称", "村数", "超过警戒线村数", "其中出列村", "脱贫户数", "监测户数", "监测率(监测户÷脱贫户)",
            "参考规模", "规模提示")))
    return out


def _concentration(frame: pl.DataFrame, kind_label: str, names: dict[str, str]) -> pl.DataFrame:
    """(township, kind, n) → ranked rows with the share of the kind's total."""
    if frame.height == 0:
        return pl.DataFrame(schema={"乡镇代码": pl.String, "乡镇": pl.String, kind_label: pl.String, "户数": pl.Int64,
                                    "占该类比例": pl.String})
    frame = frame.with_columns(pl.col("n").sum().over("kind").alias("total"))
    return frame.sort(["n", "township", "kind"], descending=[True, False, False]).select(
        pl.col("township").alias("乡镇代码"), pl.col("township").replace_strict(names, default="").alias("乡镇"),
        pl.col("label").alias(kind_label), pl.col("n").alias("户数"), pct(pl.col("n"), pl.col("total")).alias("占该类比例"))


def risk_analysis(snap: Snapshot) -> list[ReportTable]:
    names = snap.names()
    since = snap.as_of - dt.timedelta(days=365)
    warnings = snap.warnings(since, snap.as_of)
    by_kind = (warnings.with_columns(full_code(pl.col("village_code").str.slice(0, 9)).alias("township"))
               .group_by("township", "kind").agg(pl.len().alias("n"))
               .with_columns(pl.col("kind").replace_strict({k: v.label for k, v in KINDS.items()}, default=pl.col("kind"))
                             .alias("label")))
    monitored = _households(snap).filter(pl.col("monitored") & (pl.col("declared_risks") != ""))
    risks = (monitored.select("hid", full_code(pl.col("village_code").str.slice(0, 9)).alias("township"),
                              pl.col("declared_risks").str.split(";").alias("kind")).explode("kind")
             .filter(pl.col("kind") != "").unique(["hid", "kind"]).group_by("township", "kind").agg(pl.len().alias("n")))
    risks = risks.with_columns(pl.col("kind").replace_strict(dict(C.RISK.items), default=pl.col("kind")).alias("label"))
    return [
        ReportTable("warning_concentration", f"部门预警集中情况({since:%Y-%m-%d}至{snap.as_of:%Y-%m-%d}, 按类型和乡镇)",
                    _concentration(by_kind, "预警类型", names).rename({"户数": "预警数"}),
                    note="自然灾害(受灾损失大)、失业登记等预警在某乡镇集中, 提示规模性返贫风险"),
        ReportTable("risk_concentration", "未消除风险监测户的风险类型集中情况(按类型和乡镇)",
                    _concentration(risks, "风险类型", names), note="一户有多项风险时在每项中各计一次"),
    ]


def tables(snap: Snapshot) -> list[ReportTable]:
    rows = villages(snap)
    ratio = snap.value("scale_risk.village_ratio")
    return [
        *scale_guide(snap, rows),
        ReportTable("villages", "各村未消除风险监测人口占比", rows,
                    note=f"占比超过{ratio * 100:.0f}%的村标为超过警戒线(恰为{ratio * 100:.0f}%不标); 出列村单列标明"
                    if ratio is not None else ""),
        *risk_analysis(snap),
    ]
