"""Q1 收入变化排查 (reports.md Q1, 篇一): every 脱贫户 and 监测户 with income rows of both the report
year and the year before, compared; rolled up village → township → county; a township with at
least `income_change.veto_households` 减收 households is flagged (一票否决风险, 篇一 (四)).

Net income is I1 (rules.md): wage + (business income − business cost) + property + transfer.
Growth target met: net ≥ (1 + `income_change.growth_target`) × last year's net, compared exactly in
integers (the ratio to six decimals). Suggested reasons from the kinds that fell: wage → 4;
低保金 paid last year and none this year → 6; business with a disaster (a declared R04 risk or a
应急 disaster warning since the start of last year) → 8, otherwise → 1."""
from __future__ import annotations

import datetime as dt

import polars as pl

from fangfan.common import codes as C
from fangfan.reports.data import Snapshot
from fangfan.reports.tables import ReportTable, levels_for, pct, region_codes, rollup, yes_no, yuan

REASONS = C.DECLINE_REASON.items  # (code, label) × 10
KIND_LABELS = (("wage", "工资性"), ("business", "经营性"), ("property", "财产性"), ("transfer", "转移性"))
STATUS = {"up": "增收", "down": "减收", "flat": "持平"}
MICRO = 1_000_000


def compared(snap: Snapshot) -> pl.DataFrame:
    """One row per household compared (both years), with the change, the kinds that fell, the
    growth check and the recorded and suggested reasons (lists of codes)."""
    year = snap.year
    households = snap.households.filter((pl.col("household_type") == "lifted") | (pl.col("category") != ""))
    if year is None or households.height == 0:
        return _empty()
    incomes = snap.incomes.with_columns(
        (pl.col("wage") + pl.col("business_income") - pl.col("business_cost") + pl.col("property_income")
         + pl.col("transfer_income")).alias("net"),
        (pl.col("business_income") - pl.col("business_cost")).alias("business"),
        pl.col("property_income").alias("property"), pl.col("transfer_income").alias("transfer"),
    ).select("hid", "year", "net", "wage", "business", "property", "transfer", "dibao_payment", "decline_reasons")
    cur = incomes.filter(pl.col("year") == year).drop("year")
    prev = incomes.filter(pl.col("year") == year - 1).drop("year", "decline_reasons")
    both = households.join(cur, on="hid").join(prev, on="hid", suffix="_prev")
    if both.height == 0:
        return _empty()
    growth = snap.village_parameters(["income_change.growth_target"]).select(
        "village_code", (pl.col("income_change.growth_target").cast(pl.Decimal(18, 6)) * MICRO)
        .cast(pl.Int64).alias("growth_micro"))
    since = dt.date(year - 1, 1, 1)
    disaster = (snap.warnings(since, max(snap.as_of, since)).filter(pl.col("kind") == "disaster_loss")
                .select("hid").drop_nulls().unique().with_columns(pl.lit(True).alias("disaster_warning")))
    both = both.join(growth, on="village_code", how="left").join(disaster, on="hid", how="left")
    fell = {k: pl.col(k) < pl.col(f"{k}_prev") for k, _ in KIND_LABELS}
    disaster_seen = pl.col("disaster_warning").fill_null(False) | pl.col("declared_risks").str.contains(r"(^|;)R04(;|$)")
    suggested = pl.concat_list(
        pl.when(fell["business"] & ~disaster_seen).then(pl.lit(["1"])).otherwise(pl.lit([], dtype=pl.List(pl.String))),
        pl.when(fell["wage"]).then(pl.lit(["4"])).otherwise(pl.lit([], dtype=pl.List(pl.String))),
        pl.when((pl.col("dibao_payment_prev") > 0) & (pl.col("dibao_payment") == 0)).then(pl.lit(["6"]))
        .otherwise(pl.lit([], dtype=pl.List(pl.String))),
        pl.when(fell["business"] & disaster_seen).then(pl.lit(["8"])).otherwise(pl.lit([], dtype=pl.List(pl.String))),
    )
    change = pl.col("net") - pl.col("net_prev")
    return both.with_columns(
        change.alias("change"),
        pl.when(change > 0).then(pl.lit("up")).when(change < 0).then(pl.lit("down")).otherwise(pl.lit("flat"))
        .alias("status"),
        pl.concat_list([pl.when(e).then(pl.lit([label])).otherwise(pl.lit([], dtype=pl.List(pl.String)))
                        for (k, label), e in ((kl, fell[kl[0]]) for kl in KIND_LABELS)]).alias("kinds_fell"),
        # Fen × 10⁶ stays far inside Int64 for any household income (≤ 9 × 10¹² yuan).
        (pl.col("net") * MICRO >= (MICRO + pl.col("growth_micro").fill_null(0)) * pl.col("net_prev"))
        .alias("target_met"),
        pl.when(pl.col("decline_reasons") == "").then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(pl.col("decline_reasons").str.split(";")).alias("recorded"),
        suggested.alias("suggested"),
    )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema={
        "hid": pl.Int64, "household_number": pl.String, "village_code": pl.String, "household_type": pl.String,
        "category": pl.String, "net": pl.Int64, "net_prev": pl.Int64, "change": pl.Int64, "status": pl.String,
        "kinds_fell": pl.List(pl.String), "target_met": pl.Boolean, "recorded": pl.List(pl.String),
        "suggested": pl.List(pl.String)})


def _labels(codes: pl.Expr) -> pl.Expr:
    mapping = dict(REASONS)
    return codes.list.eval(pl.element().replace_strict(mapping, default=pl.element())).list.join("、")


def tables(snap: Snapshot) -> list[ReportTable]:
    data = compared(snap)
    down = pl.col("status") == "down"
    aggs = [
        pl.len().alias("比较户数"),
        (pl.col("status") == "up").sum().alias("增收户数"),
        down.sum().alias("减收户数"),
        (pl.col("status") == "flat").sum().alias("持平户数"),
        pl.col("target_met").sum().alias("达到增长目标户数"),
        *[(down & pl.col("recorded").list.contains(code)).sum().alias(f"r{code}") for code, _ in REASONS],
    ]
    names = snap.names()
    out = []
    for digits, level, label in reversed(levels_for(snap.prefix)):
        frame = rollup(data, aggs, digits, names, region_codes(snap, level) if level != "village" else None)
        frame = frame.with_columns(
            pct(pl.col("减收户数"), pl.col("比较户数")).alias("减收比例"),
            *[pct(pl.col(f"r{code}"), pl.col("减收户数")).alias(f"p{code}") for code, _ in REASONS],
        )
        cols = ["区划代码", "名称", "比较户数", "增收户数", "减收户数", "持平户数", "减收比例", "达到增长目标户数"]
        reason_cols = []
        for code, text in REASONS:
            frame = frame.rename({f"r{code}": f"{code}.{text}(户)", f"p{code}": f"{code}.{text}占比"})
            reason_cols += [f"{code}.{text}(户)", f"{code}.{text}占比"]
        if level == "township":
            veto = pl.Series([int(snap.value("income_change.veto_households", c[:9])) for c in frame["区划代码"]],
                             dtype=pl.Int64)
            frame = frame.with_columns((pl.col("减收户数") >= veto).alias("flag"))
            frame = frame.with_columns(yes_no(pl.col("flag")).alias("一票否决风险")).drop("flag")
            cols.append("一票否决风险")
        out.append(ReportTable(f"by_{level}", f"收入变化排查汇总(按{label})", frame.select(*cols, *reason_cols)))
    target = snap.value("income_change.growth_target")
    veto = snap.value("income_change.veto_households")
    detail = data.filter(pl.col("status") == "down").sort("village_code", "household_number").select(
        pl.col("household_number").alias("户编号"), pl.col("village_code").alias("村代码"),
        pl.col("village_code").replace_strict(names, default="").alias("村名"),
        pl.col("household_type").replace_strict(dict(C.HOUSEHOLD_TYPE.items), default="").alias("户类型"),
        pl.col("category").replace_strict(dict(C.CATEGORY.items), default="").alias("监测对象类别"),
        yuan(pl.col("net_prev")).alias("上年纯收入(元)"), yuan(pl.col("net")).alias("本年纯收入(元)"),
        yuan(pl.col("change")).alias("增减(元)"),
        pl.col("status").replace_strict(STATUS).alias("状态"),
        pl.col("kinds_fell").list.join("、").alias("减收项目"),
        yes_no(pl.col("target_met")).alias("达到增长目标"),
        _labels(pl.col("recorded")).alias("记录的减收原因"),
        _labels(pl.col("suggested")).alias("系统建议原因"),
    )
    out.append(ReportTable("decline_households", "减收户明细", detail,
                           note=f"增长目标: 较上年增长{target * 100:.0f}%以上; 乡镇减收{veto}户及以上标为一票否决风险"
                           if target is not None and veto is not None else ""))
    return out
