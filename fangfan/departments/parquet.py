"""The Parquet export the national engine reads (fangfan.policy.national), from two sources:

    export_folders(FOLDERS, OUT)     interchange + department CSV folders (no Django needed):
        python -m fangfan.departments.parquet OUT FOLDER [FOLDER …]
    export_database(OUT, region)     the database: `fangfan dept export-parquet OUT [--region CODE]`

A folder is what `fangfan generate` writes for a county (the interchange tables, departments/
<部门>.csv or .xlsx beside them), or a folder of such folders. Every file is read and checked
exactly as the imports do (read_interchange, feeds.read_feed); any problem, and nothing is
written: the export is built in OUT.tmp-<pid> and renamed to OUT only when every folder is done.
Feed rows go to the county of the person they name (水利: of the village); rows matching no one
to the folder's county (the one with most households).

No personal numbers in the export (fangfan.common.pii): members' `id_number` and the feed rows'
`key` are blind indexes from either source (the database holds only those; the folders' plain
IDs are indexed here, a file at a time, as the imports index them) and households carry no
phone, so both sources give the same export and the national run matches index to index."""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl

from fangfan.common import pii
from fangfan.departments.feeds import SPECS, VILLAGE, feed_frame, read_feed
from fangfan.policy import national
from fangfan.registry.interchange.sources import SourceError

FEED_SUFFIXES = (".csv", ".xlsx")


class ExportProblems(ValueError):
    """The inputs have problems (each with file, row, column); nothing was written."""

    def __init__(self, problems: list):
        self.problems = [str(p) for p in problems]
        super().__init__(f"输入有 {len(self.problems)} 个问题, 未导出")


def county_folders(path: str | Path) -> list[Path]:
    from fangfan.registry.interchange.parts import partition_folders

    path = Path(path)
    return partition_folders(path) or [path]


def read_folder(folder: Path) -> tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame], list]:
    """(registry tables, typed feeds by department, problems) of one county folder."""
    from fangfan.registry.interchange.read import read_interchange

    read = read_interchange(folder)
    problems = list(read.problems)
    tables = blind(read.tables)
    feeds: dict[str, pl.DataFrame] = {}
    for department in SPECS:
        path = next((folder / "departments" / f"{department}{s}" for s in FEED_SUFFIXES
                     if (folder / "departments" / f"{department}{s}").exists()), None)
        if path is None:
            continue
        try:
            feed = read_feed(department, path, name=f"{folder.name}/departments/{path.name}")
        except SourceError as exc:
            problems.append(f"{folder.name}/departments/{path.name}: {exc}")
            continue
        problems.extend(feed.problems)
        feeds[department] = feed_frame(department, [(line.row_key, line.key, line.values) for line in feed.lines])
    return tables, feeds, problems


def blind(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Interchange tables as the database gives them (dbframes.read_tables): members' IDs as
    their blind index (one pass over the column), households without the phone."""
    out = dict(tables)
    members = out.get("members")
    if members is not None and "id_number" in members.columns:
        indexes = pii.keyring().index_all(members.get_column("id_number").to_list())
        out["members"] = members.with_columns(pl.Series("id_number", indexes, dtype=pl.String))
    if "households" in out:
        out["households"] = out["households"].drop("phone", strict=False)
    return out


def feeds_by_county(tables: dict[str, pl.DataFrame], feeds: dict[str, pl.DataFrame],
                    counties: list[str]) -> dict[str, dict[str, pl.DataFrame]]:
    """county → department → rows: the county of the person (or village) a row names."""
    households = tables["households"]
    county_of_household = households.select("household_id", national.county_of_households(households).alias("_c"))
    person = (tables["members"].select("id_number", "household_id")
              .join(county_of_household, on="household_id", how="inner")
              .select(pl.col("id_number").alias("key"), "_c").unique("key", keep="first"))
    main = (county_of_household.group_by("_c").len().sort(["len", "_c"], descending=[True, False])
            .get_column("_c")[0]) if households.height else (counties[0] if counties else "")
    out: dict[str, dict[str, pl.DataFrame]] = {c: {} for c in counties}
    for department, frame in feeds.items():
        if SPECS[department].key == VILLAGE:
            tagged = frame.with_columns(pl.col("key").str.slice(0, 6).alias("_c"))
        else:
            tagged = frame.join(person, on="key", how="left", maintain_order="left")
        tagged = tagged.with_columns(
            pl.when(pl.col("_c").is_in(list(out))).then(pl.col("_c")).otherwise(pl.lit(main)).alias("_c"))
        for county in out:
            out[county][department] = tagged.filter(pl.col("_c") == county).drop("_c")
    return out


def export_folder(folder: Path, out: str | Path) -> dict[str, dict[str, int]]:
    """One folder's counties into the export at `out` (other counties there are kept); raises
    ExportProblems before writing anything when a file has a problem. county → rows written."""
    tables, feeds, problems = read_folder(Path(folder))
    if problems:
        raise ExportProblems(problems)
    if "households" not in tables or tables["households"].is_empty():
        raise ExportProblems([f"{Path(folder).name}: 没有户表或户表为空"])
    registry = national.split_by_county(tables)
    by_county = feeds_by_county(tables, feeds, list(registry))
    return {county: national.write_county(out, county, registry[county], by_county[county]) for county in registry}


def export_folders(folders: list[str | Path], out: str | Path,
                   step: Callable[[str], None] | None = None) -> dict[str, dict[str, int]]:
    """Every folder (or folder of county folders) into a new export at `out`, all or nothing."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ExportProblems([f"输出文件夹 {out} 已存在且不为空(请换一个或先删除)"])
    parts = [p for folder in folders for p in county_folders(folder)]
    missing = [str(p) for p in parts if not p.is_dir()]
    if missing:
        raise ExportProblems([f"找不到文件夹: {m}" for m in missing])
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    written: dict[str, dict[str, int]] = {}
    try:
        for i, part in enumerate(parts):
            done = export_folder(part, tmp)
            overlap = sorted(set(done) & set(written))
            if overlap:
                raise ExportProblems([f"{part.name}: 县 {'、'.join(overlap)} 已在前面的文件夹中出现(一个县只能有一个文件夹)"])
            written.update(done)
            if step:
                step(f"{part.name}({i + 1}/{len(parts)}): 县 {'、'.join(done)}")
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return written


def export_database(out: str | Path, region: str = "", step: Callable[[str], None] | None = None) -> dict[str, dict[str, int]]:
    """The registry (or a region's subtree) and every stored feed row into a new export at `out`,
    a county at a time (registry through dbframes.read_tables, feed rows from FeedRow.values).
    A row goes to the county of its matched household, else of its village (水利), of its batch,
    or of the birthplace code of its ID; rows of a county without households are left out. The
    members' IDs and the rows' keys are blind indexes (read_tables' default; FeedRow.id_index)."""
    from fangfan.departments.models import FeedRow
    from fangfan.regions.scope import code_range_q
    from fangfan.registry import dbframes
    from fangfan.registry.models import Household

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ExportProblems([f"输出文件夹 {out} 已存在且不为空(请换一个或先删除)"])
    villages = Household.objects.filter(code_range_q("village_id", region)).values_list("village_id", flat=True).distinct()
    counties = sorted({v[:6] for v in villages})
    if not counties:
        raise ExportProblems([f"区划 {region or '全部'} 中没有登记户"])
    orphans = _orphans_by_birthplace()
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    written: dict[str, dict[str, int]] = {}
    try:
        for i, county in enumerate(counties):
            tables = dbframes.read_tables(county)
            rows = (FeedRow.objects.filter(code_range_q("household__village_id", county))
                    | FeedRow.objects.filter(household__isnull=True).filter(code_range_q("village_code", county))
                    | FeedRow.objects.filter(household__isnull=True, village_code="", batch__county=county))
            found = list(rows.values_list(*_EXPORT_FIELDS).iterator(chunk_size=5000)) + orphans.get(county, [])
            found.sort(key=lambda r: (r[0], r[1]))  # batch, row: the order the rows were imported in
            records: dict[str, list[tuple[str, str, dict]]] = {d: [] for d in SPECS}
            for _, _, department, row_key, index, village, values in found:
                if department in records:
                    records[department].append((row_key, village if SPECS[department].key == VILLAGE else index, values))
            feeds = {d: feed_frame(d, r) for d, r in records.items() if r}
            written[county] = national.write_county(tmp, county, tables, feeds)
            if step:
                step(f"{county}({i + 1}/{len(counties)}): {tables['households'].height} 户, "
                     f"{sum(f.height for f in feeds.values())} 行部门数据")
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return written


_EXPORT_FIELDS = ("batch_id", "row_number", "department", "row_key", "id_index", "village_code", "values")


def _orphans_by_birthplace() -> dict[str, list[tuple]]:
    """Rows of the shell's imports that matched no one, with no village and no county: by the
    birthplace code of their ID (the first 6 digits; the ciphers opened once, in one pass). A
    department's keyed-hash row of that kind names no county and is left out."""
    from fangfan.departments.models import FeedRow

    rows = list(FeedRow.objects.filter(household__isnull=True, village_code="", batch__county="")
                .exclude(id_cipher="").values_list(*_EXPORT_FIELDS, "id_cipher").iterator(chunk_size=5000))
    numbers = pii.keyring().decrypt_all([r[-1] for r in rows], pii.ID_FIELD)
    out: dict[str, list[tuple]] = {}
    for row, number in zip(rows, numbers):
        out.setdefault(number[:6], []).append(row[:-1])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fangfan.departments.parquet",
                                     description="互换文件和部门数据文件夹 → 按县分区的 Parquet 导出(供全省/全国筛查)")
    parser.add_argument("out", metavar="OUT", help="新的输出文件夹")
    parser.add_argument("folders", metavar="FOLDER", nargs="+", help="县文件夹(或县文件夹所在的文件夹)")
    args = parser.parse_args(argv)
    try:
        written = export_folders(args.folders, args.out, step=lambda text: print("  " + text, flush=True))
    except ExportProblems as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(str(exc), file=sys.stderr)
        return 1
    rows = sum(sum(v.values()) for v in written.values())
    print(f"已导出 {len(written)} 个县({rows} 行)→ {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
