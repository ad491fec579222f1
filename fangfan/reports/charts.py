"""Report charts for the dashboard (统计图表): Q1 减收户, Q2 未消除风险监测人口占比 against the 2%
line, Q3 数据质量得分, by the level below the region looked at (a county sees its townships, a
township and a village see villages). The numbers are the report tables' own (selectors.build on
one shared Snapshot), regrouped only where the report has no table at that level (Q2 by township:
the village rows summed), so the chart and the report cannot disagree.

Each chart is a dashboard chart dict (fangfan.registry.stats) with three additions:
  extras: [label] and each row's `extras: [text]` (and `extra_totals`): columns the table shows
      beside the series (the 一票否决 flag, the persons a ratio is made of);
  unit: "%" for a ratio chart, whose values are Decimal percentages (None where the denominator
      is 0) and whose `totals` is the ratio of the whole region, not a sum;
  line: {label, value} a threshold drawn across the chart (the 2% line).
Computed only when the dashboard asks for them (a section loaded when revealed): the data-quality
report reads every member of the region."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl

from fangfan.reports.data import Snapshot
from fangfan.reports.selectors import build
from fangfan.reports.tables import pct_value

KEYS = ("income_decline", "scale_ratio", "quality_score")
TITLES = {"income_decline": "收入变化排查: 减收户数", "scale_ratio": "未消除风险监测人口占比",
          "quality_score": "数据质量得分"}
LEVEL = {"county": "县", "township": "乡镇", "village": "村"}


def row_level(prefix: str) -> str:
    """The level of the rows: the one below the region (a village shows itself)."""
    if len(prefix) < 6:
        return "county"
    return "township" if len(prefix) == 6 else "village"


def percent(text: str) -> Decimal | None:
    """The report's exact percentage text ("12.34%", "—") as a Decimal for the chart."""
    return None if not text or text == "—" else Decimal(text.rstrip("%"))


def _chart(key: str, level: str, kind: str, series, rows, totals, *, extras=(), extra_totals=(), note="",
           unit="", line=None) -> dict:
    return {"key": key, "title": f"{TITLES[key]}(按{LEVEL[level]})", "kind": kind, "row_label": LEVEL[level],
            "series": [{"key": k, "label": label} for k, label in series], "rows": rows, "totals": totals,
            "total": None, "note": note, "available": True, "extras": list(extras),
            "extra_totals": list(extra_totals), "unit": unit, "line": line}


def _row(code: str, name: str, values: list, extras: list) -> dict:
    return {"key": code, "label": name or code, "region": code, "values": values, "total": None,
            "extras": [str(e) for e in extras]}


def income_decline(report, level: str) -> dict:
    table = report.table(f"by_{level}").frame
    flagged = "一票否决风险" in table.columns
    rows = [_row(r["区划代码"], r["名称"], [r["比较户数"], r["减收户数"]],
                 [r["减收比例"], *([r["一票否决风险"]] if flagged else [])]) for r in table.iter_rows(named=True)]
    compared, down = sum(r["values"][0] for r in rows), sum(r["values"][1] for r in rows)
    note = report.table("decline_households").note
    if flagged:
        names = [r["label"] for r in rows if r["extras"][-1] == "是"]
        note += f"; 本次标为一票否决风险: {'、'.join(names) if names else '无'}"
    return _chart("income_decline", level, "bars", (("compared", "比较户数"), ("declining", "减收户数")), rows,
                  [compared, down], extras=["减收比例", *(["一票否决风险"] if flagged else [])],
                  extra_totals=[pct_value(down, compared), *([""] if flagged else [])],
                  note="; ".join(p for p in (report.basis, note) if p))


def scale_ratio(report, level: str, line: Decimal | None) -> dict:
    villages = report.table("villages").frame
    over = (pl.col("超过警戒线") == "是")
    if level == "village":
        frame = villages.with_columns(over.cast(pl.Int64).alias("over"))
    else:
        digits = 6 if level == "county" else 9
        names = dict(zip(report.table(f"guide_{level}").frame["区划代码"], report.table(f"guide_{level}").frame["名称"]))
        frame = (villages.with_columns(pl.col("区划代码").str.slice(0, digits).str.pad_end(12, "0"), over.alias("o"))
                 .group_by("区划代码").agg(pl.col("农村户籍人口").sum(), pl.col("未消除风险监测人口").sum(),
                                           pl.col("o").sum().alias("over"))
                 .with_columns(pl.col("区划代码").replace_strict(names, default="").alias("名称")).sort("区划代码"))
    rows = []
    for r in frame.iter_rows(named=True):
        extras = [r["农村户籍人口"], r["未消除风险监测人口"]]
        extras += [r["超过警戒线"], r["出列村"]] if level == "village" else [r["over"]]
        rows.append(_row(r["区划代码"], r["名称"], [percent(pct_value(r["未消除风险监测人口"], r["农村户籍人口"]))], extras))
    persons = int(frame["农村户籍人口"].sum()) if frame.height else 0
    monitored = int(frame["未消除风险监测人口"].sum()) if frame.height else 0
    over_total = int(frame["over"].sum()) if frame.height else 0
    shown = f"{line:.2f}%" if line is not None else ""
    return _chart(
        "scale_ratio", level, "ratio", (("ratio", "监测人口占比"),), rows,
        [percent(pct_value(monitored, persons))],
        extras=["农村户籍人口", "未消除风险监测人口",
                *(["超过警戒线", "出列村"] if level == "village" else ["超过警戒线村数"])],
        extra_totals=[str(persons), str(monitored), *(["", ""] if level == "village" else [str(over_total)])],
        unit="%", line={"label": f"警戒线 {shown}", "value": line} if line is not None else None,
        note=(f"各村占比超过{shown}(恰为{shown}不计)标为超过警戒线; " if line is not None else "")
        + ("" if level == "village" else "上级占比为辖内各村人口合计之比; ") + report.basis)


def quality_score(report, level: str) -> dict:
    table = report.table(f"score_{level}").frame
    rows = [_row(r["区划代码"], r["名称"], [percent(r["数据质量得分(无问题户占比)"])], [r["户数"], r["有问题户数"], r["问题数"]])
            for r in table.iter_rows(named=True)]
    households, with_problems, problems = (int(table[c].sum()) if table.height else 0 for c in ("户数", "有问题户数", "问题数"))
    return _chart("quality_score", level, "ratio", (("score", "数据质量得分(无问题户占比)"),), rows,
                  [percent(pct_value(households - with_problems, households))],
                  extras=["户数", "有问题户数", "问题数"], extra_totals=[str(households), str(with_problems), str(problems)],
                  unit="%", note="得分为无数据质量问题的户所占比例; " + report.basis)


def report_charts(*, actor, region: str = "", as_of: dt.date, only: tuple[str, ...] = KEYS) -> list[dict]:
    """The report charts named in `only`, for the actor's region (scope as the reports: a region
    outside it is "not found"). The reports share one read of the registry."""
    from fangfan.reports.selectors import place

    prefix, _ = place(actor=actor, region=region)
    snap = Snapshot(prefix=prefix, as_of=as_of)
    level = row_level(prefix)
    out = []
    for key in KEYS:
        if key not in only:
            continue
        if key == "income_decline":
            out.append(income_decline(build(name="income-change", actor=actor, region=region, as_of=as_of,
                                            snapshot=snap), level))
        elif key == "scale_ratio":
            ratio = snap.value("scale_risk.village_ratio")
            line = (Decimal(ratio) * 100).quantize(Decimal("0.01")) if ratio is not None else None
            out.append(scale_ratio(build(name="scale-risk", actor=actor, region=region, as_of=as_of, snapshot=snap),
                                   level, line))
        else:
            out.append(quality_score(build(name="data-quality", actor=actor, region=region, as_of=as_of,
                                           snapshot=snap), level))
    return out
