"""How fast read_interchange reads and validates a county-sized set of files (run by hand).

    python bench/read_speed.py [--households 100000] [--xlsx]
    python bench/read_speed.py --folder bench/out/county_610902_1000000_s1 [--repeat 3]

Generates households (3 members and 2 income years each) as CSV (or one XLSX workbook) in a
temporary folder, reads it back with full validation and prints rows per second. The
target (house rules) is ≥ 50,000 member rows/s for the whole import pipeline.

With --folder it reads an existing interchange folder (e.g. one evaluate_bench.py wrote)
instead, --repeat times, each in a fresh child process, and prints the seconds and the
child's peak RSS (os.wait4) of every run, then the best and the median.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from fangfan.common.ids import check_digit_expr
from fangfan.registry.interchange.read import read_interchange
from fangfan.registry.interchange.write import write_tables


def _id_numbers(n: int) -> pl.Expr:
    """n distinct valid resident IDs: birth date cycles over 25,000 days, a sequence number on top."""
    i = pl.int_range(0, n, dtype=pl.Int64)
    born = (pl.lit(dt.date(1940, 1, 1)) + pl.duration(days=i % 25_000)).dt.strftime("%Y%m%d")
    first17 = pl.concat_str([pl.lit("341225"), born, (i // 25_000).cast(pl.String).str.zfill(3)])
    check = check_digit_expr(first17.cast(pl.Int64))
    return pl.concat_str([first17, check])


def generate(folder: Path, households: int, fmt: str) -> dict[str, int]:
    h = pl.int_range(0, households, dtype=pl.Int64, eager=True).alias("h").to_frame()
    hid = pl.concat_str([pl.lit("H"), pl.col("h").cast(pl.String).str.zfill(7)])
    house = h.select(
        hid.alias("户编号"),
        pl.concat_str([pl.lit("341225103"), (200 + pl.col("h") % 50).cast(pl.String)]).alias("村代码"),
        pl.when(pl.col("h") % 3 == 0).then(pl.lit("脱贫户")).otherwise(pl.lit("一般农户")).alias("户类型"),
        pl.lit("是").alias("住房安全"),
        pl.lit("是").alias("饮水安全"),
        pl.when(pl.col("h") % 10 == 0).then(pl.lit("边缘易致贫户")).otherwise(pl.lit("")).alias("监测对象类别"),
        pl.when(pl.col("h") % 10 == 0).then(pl.lit("2026-03-02")).otherwise(pl.lit("")).alias("识别日期"),
        pl.when(pl.col("h") % 7 == 0).then(pl.lit("因病、因学")).otherwise(pl.lit("")).alias("致贫返贫风险"),
    )
    m = pl.int_range(0, 3 * households, dtype=pl.Int64, eager=True).alias("m").to_frame()
    members = m.select(
        pl.concat_str([pl.lit("H"), (pl.col("m") // 3).cast(pl.String).str.zfill(7)]).alias("户编号"),
        pl.lit("张某").alias("姓名"),
        _id_numbers(3 * households).alias("证件号码"),
        pl.col("m").mod(3).replace_strict({0: "户主", 1: "配偶", 2: "之子"}, return_dtype=pl.String).alias("与户主关系"),
        pl.lit("正常").alias("人员状态"),
        pl.lit("健康").alias("健康状况"),
        pl.lit("普通劳动力").alias("劳动技能"),
        (pl.col("m") % 13).cast(pl.String).alias("务工月数"),
        pl.lit("是").alias("参加基本医保"),
    )
    y = pl.int_range(0, 2 * households, dtype=pl.Int64, eager=True).alias("y").to_frame()
    incomes = y.select(
        pl.concat_str([pl.lit("H"), (pl.col("y") // 2).cast(pl.String).str.zfill(7)]).alias("户编号"),
        (2024 + pl.col("y") % 2).cast(pl.String).alias("年度"),
        pl.format("{}.50", pl.col("y") % 30_000).alias("工资性收入"),
        pl.lit("1,200").alias("生产经营性收入"),
        pl.lit("3600").alias("转移性收入"),
        pl.lit("1200").alias("其中:基础养老金"),
        pl.lit("600.5").alias("其中:低保金"),
        pl.lit("").alias("减收原因"),
    )
    frames = {"households": house, "members": members, "incomes": incomes}
    if fmt == "csv":
        for name, frame in frames.items():
            frame.write_csv(folder / f"{name}.csv")
    else:
        # Through the writer: read the CSVs once, write one workbook.
        tmp = folder / "csv"
        tmp.mkdir()
        for name, frame in frames.items():
            frame.write_csv(tmp / f"{name}.csv")
        write_tables(read_interchange(tmp).tables, folder / "county.xlsx")
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()
    return {name: frame.height for name, frame in frames.items()}


def _child(folder: Path) -> None:
    """One timed read in this (fresh) process; prints seconds, rows and problems on one line."""
    start = time.perf_counter()
    result = read_interchange(folder)
    seconds = time.perf_counter() - start
    rows = {name: frame.height for name, frame in result.tables.items()}
    print(f"{seconds:.3f} {rows.get('members', 0)} {sum(rows.values())} {len(result.problems)}")


def time_folder(folder: Path, repeat: int) -> None:
    runs = []
    for i in range(repeat):
        child = subprocess.Popen(
            [sys.executable, __file__, "--child", str(folder)], stdout=subprocess.PIPE, text=True
        )
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        if status != 0:
            raise SystemExit(f"child failed with status {status}")
        seconds, members, total, problems = out.split()
        peak_gib = usage.ru_maxrss / 1024**2  # ru_maxrss is in KiB on Linux
        runs.append((float(seconds), peak_gib))
        # CPU time of the whole child (imports included): on a shared machine it shows how
        # much work was done even when the wall time suffers from other load.
        cpu = usage.ru_utime + usage.ru_stime
        print(f"run {i + 1}: {float(seconds):.2f} s  (child CPU {cpu:.1f} s)  peak RSS {peak_gib:.2f} GiB  "
              f"({int(members):,} members, {int(total):,} rows, {problems} problems)", flush=True)
    times = [s for s, _ in runs]
    peaks = [p for _, p in runs]
    print(f"read_interchange {folder.name}: best {min(times):.2f} s, median {statistics.median(times):.2f} s; "
          f"peak RSS best {min(peaks):.2f} GiB, median {statistics.median(peaks):.2f} GiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--xlsx", action="store_true")
    parser.add_argument("--folder", type=Path, help="time reading this existing folder instead")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    if args.folder:
        time_folder(args.folder, args.repeat)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        counts = generate(folder, args.households, "xlsx" if args.xlsx else "csv")
        start = time.perf_counter()
        result = read_interchange(folder)
        seconds = time.perf_counter() - start
    assert result.ok, result.problems[:5]
    total = sum(counts.values())
    print(f"{'XLSX' if args.xlsx else 'CSV'}: {counts} read and validated in {seconds:.2f} s")
    print(f"  {counts['members'] / seconds:,.0f} member rows/s; {total / seconds:,.0f} rows/s over all tables")


if __name__ == "__main__":
    main()
