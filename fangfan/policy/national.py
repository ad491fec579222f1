"""Department screening and the rules for a province or the nation (issue 10 item 7): a Parquet
export partitioned by county, matched and evaluated county by county, in this process (local)
or on Apache Spark. Nothing here imports Django.

    python -m fangfan.policy.national PARQUET --as-of DATE --out DIR [--engine local|spark]
    fangfan dept national PARQUET --as-of DATE --out DIR [--engine local|spark]

The export (written by write_county; producers in fangfan.departments.parquet) is one hive-style
dataset per table, a folder per county::

    PARQUET/registry/{households,members,incomes,measures}/county=XXXXXX/part-0.parquet
    PARQUET/feeds/<部门>/county=XXXXXX/part-0.parquet

Registry tables are typed as the interchange reader gives them; feed rows as
fangfan.departments.feeds.feed_frame types them (row_key, key and the department's columns).
No plain personal number is in an export: members' `id_number` and the feeds' `key` are the
blind indexes of the IDs (fangfan.common.pii; both producers write them), households have no
phone; matching joins index to index and the outputs name persons by index only.
Every file carries `_row`, the order the rows had in their source: the engine's "first income
row wins" and the member order depend on it, and a Parquet reader need not keep file order.

Per county (run_county): its files are read, the registered persons built (people_frame), each
department's rows matched and judged by exactly fangfan.policy.warnings.feed_warnings, the rows
that match nobody listed apart (未登记在册), and the registry evaluated by exactly
fangfan.policy.evaluate.evaluate_tables; the county's outputs are written beside each other.
The income year (default: the latest year of the whole export) is fixed once, before any county
runs, as the Spark engine of spark.py does. Counties are matched on their own: a feed row of one
county whose person is registered in another is listed as unmatched there.

The Spark engine groups a one-row-per-county DataFrame by county (applyInArrow, as spark.py
does) and each task runs run_county, reading its county straight from the export's storage
(pyarrow file systems: a local or shared path, hdfs://, s3://, gs://): the data is already
partitioned by county, so a Spark read and shuffle of every row would only move it to where
it already is. Outputs (DIR, the same layout for both engines)::

    DIR/warnings.parquet    every warning (WARNING_SCHEMA + county, dispatch fields), sorted
    DIR/unmatched.parquet   feed rows matching no registered person (or village, 水利)
    DIR/results/county=XXXXXX/part-0.parquet   evaluate_tables' results of the county
    DIR/counties.parquet    per county: rows read, warnings, seconds per stage
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from fangfan.policy.warnings import KINDS, WARNING_SCHEMA, Thresholds, feed_warnings, people_frame

REGISTRY = "registry"
FEEDS = "feeds"
REGISTRY_TABLES = ("households", "members", "incomes", "measures")
PART = "part-0.parquet"
ROW = "_row"
COUNTY = "county"
ENGINES = ("local", "spark")

WARNINGS_FILE = "warnings.parquet"
UNMATCHED_FILE = "unmatched.parquet"
COUNTIES_FILE = "counties.parquet"
RESULTS_DIR = "results"
_STAGING = ("_warnings", "_unmatched")  # per-county parts, merged into the two files above

OUTPUT_WARNING_SCHEMA = {
    COUNTY: pl.String,
    **WARNING_SCHEMA,
    "township_code": pl.String,
    "action": pl.String,
    "risk_codes": pl.String,
    "urgent": pl.Boolean,
    "monitored_when_raised": pl.Boolean,
    "raised_on": pl.Date,
    "deadline": pl.Date,
}
# key: the ID's blind index (水利: the village code)
UNMATCHED_SCHEMA = {COUNTY: pl.String, "department": pl.String, "key": pl.String, "row_key": pl.String}
STATS_SCHEMA = {
    COUNTY: pl.String,
    "households": pl.Int64,
    "members": pl.Int64,
    "feed_rows": pl.Int64,
    "warnings": pl.Int64,
    "unmatched": pl.Int64,
    "read_s": pl.Float64,
    "match_s": pl.Float64,
    "rules_s": pl.Float64,
    "write_s": pl.Float64,
}


class NationalInputError(ValueError):
    """The export cannot be run (missing, empty, unreadable): a Chinese message for the user."""


# ------------------------------------------------------------------------------ storage
def _filesystem(root: str | os.PathLike):
    """(pyarrow file system, path inside it) of a local path or a URI (hdfs://, s3://, gs://)."""
    import pyarrow.fs as pafs

    text = str(root)
    if "://" in text and not text.startswith("file://"):
        fs, path = pafs.FileSystem.from_uri(text)
        return fs, path.rstrip("/")
    if text.startswith("file://"):
        text = text[len("file://"):]
    return pafs.LocalFileSystem(), str(Path(text).resolve())


def _exists(fs, path: str) -> bool:
    import pyarrow.fs as pafs

    return fs.get_file_info(path).type != pafs.FileType.NotFound


def _children(fs, path: str, *, dirs: bool) -> list[str]:
    """Base names of the folders (or files) directly in path, sorted; [] when it is absent."""
    import pyarrow.fs as pafs

    if not _exists(fs, path):
        return []
    wanted = pafs.FileType.Directory if dirs else pafs.FileType.File
    infos = fs.get_file_info(pafs.FileSelector(path, recursive=False))
    return sorted(i.base_name for i in infos if i.type == wanted and not i.base_name.startswith((".", "_")))


def _write_frame(fs, path: str, frame: pl.DataFrame) -> None:
    """Written to a temporary name and moved into place: a task retried or a run killed half way
    leaves either the old file or the new one, never half of one."""
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    with fs.open_output_stream(tmp) as handle:
        frame.write_parquet(handle, compression="zstd", statistics=False)
    fs.move(tmp, path)


def _read_dir(fs, path: str) -> pl.DataFrame | None:
    """Every Parquet file of one partition folder, in `_row` order; None when there is none."""
    names = [n for n in _children(fs, path, dirs=False) if n.endswith(".parquet")]
    if not names:
        return None
    frames = []
    for name in names:
        with fs.open_input_file(f"{path}/{name}") as handle:
            frames.append(pl.read_parquet(handle))
    frame = frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical_relaxed")
    if ROW in frame.columns and len(frames) > 1:
        frame = frame.sort(ROW)
    return frame


def _partition(county: str) -> str:
    return f"{COUNTY}={county}"


# ------------------------------------------------------------------------------ the export
def county_of_households(households: pl.DataFrame) -> pl.Series:
    return households.get_column("village_code").cast(pl.String).str.slice(0, 6)


def split_by_county(tables: dict[str, pl.DataFrame]) -> dict[str, dict[str, pl.DataFrame]]:
    """county → its registry tables (members, incomes, measures through their household).
    Rows of households that do not exist count for nothing in the engine and are dropped."""
    households = tables["households"]
    if ROW not in households.columns:
        tables = {n: (t.with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64)) if ROW not in t.columns else t)
                  for n, t in tables.items()}
        households = tables["households"]
    county_of = households.select("household_id", county_of_households(households).alias("_c")).unique(
        subset="household_id", keep="first")
    out: dict[str, dict[str, pl.DataFrame]] = {}
    for county in sorted(county_of.get_column("_c").unique().to_list()):
        out[county] = {}
    for name in REGISTRY_TABLES:
        frame = tables.get(name)
        if frame is None:
            continue
        tagged = frame.join(county_of, on="household_id", how="inner", maintain_order="left")
        for county in out:
            out[county][name] = tagged.filter(pl.col("_c") == county).drop("_c")
    return out


def write_county(root: str | os.PathLike, county: str, tables: dict[str, pl.DataFrame],
                 feeds: dict[str, pl.DataFrame]) -> dict[str, int]:
    """One county's registry tables and typed feed rows into the export (replacing what the
    county had there). Tables and feeds keep their row order as `_row`. Returns rows written."""
    fs, base = _filesystem(root)
    written: dict[str, int] = {}
    for name in REGISTRY_TABLES:
        frame = tables.get(name)
        if frame is None:
            continue
        if ROW not in frame.columns:
            frame = frame.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias(ROW))
        _write_frame(fs, f"{base}/{REGISTRY}/{name}/{_partition(county)}/{PART}", frame)
        written[name] = frame.height
    for department, frame in feeds.items():
        path = f"{base}/{FEEDS}/{department}/{_partition(county)}/{PART}"
        if frame.is_empty():
            if _exists(fs, path):
                fs.delete_file(path)
            continue
        if ROW not in frame.columns:
            frame = frame.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias(ROW))
        _write_frame(fs, path, frame)
        written[department] = frame.height
    return written


def list_counties(root: str | os.PathLike) -> list[str]:
    fs, base = _filesystem(root)
    names = _children(fs, f"{base}/{REGISTRY}/households", dirs=True)
    return [n.split("=", 1)[1] for n in names if n.startswith(f"{COUNTY}=")]


def list_departments(root: str | os.PathLike) -> list[str]:
    fs, base = _filesystem(root)
    return _children(fs, f"{base}/{FEEDS}", dirs=True)


def read_county(root: str | os.PathLike, county: str,
                departments: list[str] | None = None) -> tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame]]:
    """(registry tables, typed feeds by department) of one county, in their source order."""
    fs, base = _filesystem(root)
    tables = {}
    for name in REGISTRY_TABLES:
        frame = _read_dir(fs, f"{base}/{REGISTRY}/{name}/{_partition(county)}")
        if frame is not None:
            tables[name] = frame
    feeds = {}
    for department in departments if departments is not None else list_departments(root):
        frame = _read_dir(fs, f"{base}/{FEEDS}/{department}/{_partition(county)}")
        if frame is not None:
            feeds[department] = frame.drop(ROW, strict=False)
    return tables, feeds


def national_year(root: str | os.PathLike) -> int | None:
    """The latest income year of the whole export (the year every county is evaluated for)."""
    import pyarrow.dataset as ds

    fs, base = _filesystem(root)
    path = f"{base}/{REGISTRY}/incomes"
    if not _exists(fs, path):
        return None
    table = ds.dataset(path, filesystem=fs, format="parquet", partitioning="hive").to_table(columns=["year"])
    value = pl.from_arrow(table.column("year")).cast(pl.Int64).max()
    return int(value) if value is not None else None


# ------------------------------------------------------------------------------ one county
_KIND_FRAME = pl.DataFrame(
    {
        "kind": [k.code for k in KINDS.values()],
        "action": [k.action for k in KINDS.values()],
        "risk_codes": [";".join(k.risks) for k in KINDS.values()],
        "urgent": [k.urgent for k in KINDS.values()],
    }
)


@dataclass
class CountyOutputs:
    warnings: pl.DataFrame  # OUTPUT_WARNING_SCHEMA
    unmatched: pl.DataFrame  # UNMATCHED_SCHEMA
    results: pl.DataFrame  # evaluate_tables' RESULT_COLUMNS
    match_s: float = 0.0
    rules_s: float = 0.0


def county_outputs(county: str, tables: dict[str, pl.DataFrame], feeds: dict[str, pl.DataFrame], *,
                   as_of: dt.date, year: int | None, params) -> CountyOutputs:
    """One county's warnings (feed_warnings per department), unmatched rows and rule results
    (evaluate_tables): the whole of what either engine computes."""
    from fangfan.policy.evaluate import evaluate_tables

    started = time.perf_counter()
    households = tables["households"]
    people = people_frame(households, tables["members"]).collect()
    villages = households.get_column("village_code").cast(pl.String).unique().sort()
    thresholds = Thresholds.resolve(params, county, as_of)
    found, keys = [], []
    for department in sorted(feeds):
        feed = feeds[department]
        found.append(feed_warnings(department, feed, people, villages, thresholds))
        keys.append(feed.select(pl.lit(department).alias("department"), "key", "row_key"))
    # One anti-join over every department's keys (blind indexes): a lookup set of the county's
    # IDs per department cost 0.3 s each at 400,000 households.
    unmatched = []
    if keys:
        keys = pl.concat(keys, how="vertical")
        water = pl.col("department") == "水利"
        unmatched = [
            keys.filter(~water).join(people.select(pl.col("id_number").alias("key")), on="key", how="anti"),
            keys.filter(water).join(villages.to_frame("key"), on="key", how="anti"),
        ]
        unmatched = [u.select(pl.lit(county).alias(COUNTY), "department", "key", "row_key") for u in unmatched]
    warnings = pl.concat(found, how="vertical") if found else pl.DataFrame(schema=WARNING_SCHEMA)
    monitored = people.select("household", pl.col("monitored").alias("monitored_when_raised")).unique(
        "household", keep="first")
    warnings = (
        warnings.join(_KIND_FRAME, on="kind", how="left")
        .join(monitored, on="household", how="left")
        .with_columns(
            pl.lit(county).alias(COUNTY),
            pl.col("village_code").str.slice(0, 9).alias("township_code"),
            pl.col("monitored_when_raised").fill_null(False),
            pl.lit(as_of, dtype=pl.Date).alias("raised_on"),
            pl.lit(as_of + dt.timedelta(days=thresholds.verify_days), dtype=pl.Date).alias("deadline"),
        )
        .select(list(OUTPUT_WARNING_SCHEMA)).cast(OUTPUT_WARNING_SCHEMA)
        .sort("department", "warning_key")
    )
    unmatched_frame = (pl.concat(unmatched, how="vertical") if unmatched else pl.DataFrame(schema=UNMATCHED_SCHEMA))
    unmatched_frame = unmatched_frame.cast(UNMATCHED_SCHEMA).sort("department", "row_key")
    del people
    matched = time.perf_counter()
    results = evaluate_tables(tables, as_of=as_of, year=year, params=params)
    return CountyOutputs(warnings, unmatched_frame, results, matched - started, time.perf_counter() - matched)


def run_county(root: str, out: str, county: str, *, as_of: dt.date, year: int | None, params,
               departments: list[str] | None = None) -> dict:
    """Read one county from the export, compute it and write its outputs; its STATS_SCHEMA row."""
    started = time.perf_counter()
    tables, feeds = read_county(root, county, departments)
    if "households" not in tables:
        raise NationalInputError(f"县 {county} 没有户表(registry/households/{_partition(county)})")
    if "members" not in tables:
        raise NationalInputError(f"县 {county} 没有成员表(registry/members/{_partition(county)})")
    read = time.perf_counter()
    done = county_outputs(county, tables, feeds, as_of=as_of, year=year, params=params)
    written = time.perf_counter()
    fs, base = _filesystem(out)
    _write_frame(fs, f"{base}/{RESULTS_DIR}/{_partition(county)}/{PART}", done.results)
    _write_frame(fs, f"{base}/_warnings/{county}.parquet", done.warnings)
    _write_frame(fs, f"{base}/_unmatched/{county}.parquet", done.unmatched)
    return {
        COUNTY: county,
        "households": tables["households"].height,
        "members": tables["members"].height,
        "feed_rows": sum(f.height for f in feeds.values()),
        "warnings": done.warnings.height,
        "unmatched": done.unmatched.height,
        "read_s": read - started,
        "match_s": done.match_s,
        "rules_s": done.rules_s,
        "write_s": time.perf_counter() - written,
    }


# ------------------------------------------------------------------------------ the engines
@dataclass
class NationalRun:
    counties: pl.DataFrame  # STATS_SCHEMA, one row per county
    warnings: int
    unmatched: int
    households: int
    feed_rows: int
    seconds: float
    engine: str


def _prepare(root, out) -> tuple[list[str], list[str]]:
    fs, base = _filesystem(root)
    if not _exists(fs, base):
        raise NationalInputError(f"找不到 Parquet 导出: {root}")
    counties = list_counties(root)
    if not counties:
        raise NationalInputError(
            f"{root} 中没有按县分区的户表(应有 {REGISTRY}/households/{COUNTY}=XXXXXX/*.parquet)")
    with_members = {n.split("=", 1)[1] for n in _children(fs, f"{base}/{REGISTRY}/members", dirs=True) if "=" in n}
    lacking = [c for c in counties if c not in with_members]
    if lacking:  # found here, not by a Spark task half way through the run
        raise NationalInputError(f"县 {'、'.join(lacking[:10])} 没有成员表({REGISTRY}/members/{COUNTY}=XXXXXX)")
    out_fs, out_base = _filesystem(out)
    # Outputs of an earlier run (possibly of other counties) must not mix with this one's.
    for name in (RESULTS_DIR, *_STAGING):
        if _exists(out_fs, f"{out_base}/{name}"):
            out_fs.delete_dir(f"{out_base}/{name}")
    out_fs.create_dir(out_base, recursive=True)
    return counties, list_departments(root)


def _finish(out, stats: pl.DataFrame, started: float, engine: str) -> NationalRun:
    """The per-county parts merged into warnings.parquet and unmatched.parquet (sorted by county
    then as each county sorted them), the per-county figures written, the staging removed."""
    fs, base = _filesystem(out)
    for staging, target, schema in (("_warnings", WARNINGS_FILE, OUTPUT_WARNING_SCHEMA),
                                    ("_unmatched", UNMATCHED_FILE, UNMATCHED_SCHEMA)):
        parts = [_read_dir_file(fs, f"{base}/{staging}/{name}") for name in _children(fs, f"{base}/{staging}", dirs=False)]
        parts = [p for p in parts if p.height]
        frame = pl.concat(parts, how="vertical") if parts else pl.DataFrame(schema=schema)
        _write_frame(fs, f"{base}/{target}", frame.cast(schema))
        if _exists(fs, f"{base}/{staging}"):
            fs.delete_dir(f"{base}/{staging}")
    stats = stats.cast(STATS_SCHEMA).sort(COUNTY)
    _write_frame(fs, f"{base}/{COUNTIES_FILE}", stats)
    total = stats.select(pl.col("warnings", "unmatched", "households", "feed_rows").sum()).row(0, named=True)
    return NationalRun(stats, int(total["warnings"] or 0), int(total["unmatched"] or 0), int(total["households"] or 0),
                       int(total["feed_rows"] or 0), time.perf_counter() - started, engine)


def _read_dir_file(fs, path: str) -> pl.DataFrame:
    with fs.open_input_file(path) as handle:
        return pl.read_parquet(handle)


def _params(params):
    if params is None:
        from fangfan.policy.params import ParameterSet

        return ParameterSet.load()
    return params


def run_local(root, out, as_of: dt.date, *, year: int | None = None, params=None,
              step: Callable[[str], None] | None = None) -> NationalRun:
    """Every county in this process, one after the other (one county's data in memory at a time)."""
    started = time.perf_counter()
    root, out = _absolute(root), _absolute(out)
    counties, departments = _prepare(root, out)
    params = _params(params)
    if year is None:
        year = national_year(root)
    rows = []
    for i, county in enumerate(counties):
        rows.append(run_county(root, out, county, as_of=as_of, year=year, params=params, departments=departments))
        if step:
            step(f"{county}({i + 1}/{len(counties)},{rows[-1]['households']} 户,{rows[-1]['warnings']} 条预警)")
    return _finish(out, pl.DataFrame(rows, schema=STATS_SCHEMA, orient="row"), started, "local")


def run_spark(root, out, as_of: dt.date, *, year: int | None = None, params=None, spark=None,
              partitions: int | None = None) -> NationalRun:
    """Every county as a Spark task group (groupBy county + applyInArrow); each task reads its
    county from the export's storage and writes its outputs there. The root and the output
    must be reachable from every worker (a shared path, HDFS or an object store)."""
    import pyarrow as pa

    started = time.perf_counter()
    root, out = _absolute(root), _absolute(out)
    counties, departments = _prepare(root, out)
    params = _params(params)
    if year is None:
        year = national_year(root)
    if spark is None:
        from fangfan.policy.spark import local_session

        spark = local_session()
    arrow_schema = pa.schema([(name, {pl.String: pa.string(), pl.Int64: pa.int64(), pl.Float64: pa.float64()}[t])
                              for name, t in STATS_SCHEMA.items()])
    ddl = ", ".join(f"`{name}` {({pl.String: 'string', pl.Int64: 'bigint', pl.Float64: 'double'})[t]}"
                    for name, t in STATS_SCHEMA.items())

    def run_group(table):  # on a worker: the county rows of one group
        rows = [run_county(root, out, county, as_of=as_of, year=year, params=params, departments=departments)
                for county in table.column(COUNTY).to_pylist()]
        return pa.Table.from_pylist(rows, schema=arrow_schema)

    # One county per task: range partitioning on the county's position puts each in its own
    # partition (hashing 25 codes into 25 partitions leaves some empty and doubles up others),
    # and adaptive execution must not coalesce them (the rows are tiny; the work is not).
    frame = spark.createDataFrame([(i, c) for i, c in enumerate(counties)], f"{SLOT} int, {COUNTY} string")
    n = partitions or len(counties)
    grouped = frame.repartitionByRange(n, SLOT).groupBy(SLOT, COUNTY)
    previous = spark.conf.get(_COALESCE, None)
    spark.conf.set(_COALESCE, "false")
    try:
        stats = pl.from_arrow(grouped.applyInArrow(run_group, ddl).toArrow())
    finally:
        if previous is None:
            spark.conf.unset(_COALESCE)
        else:
            spark.conf.set(_COALESCE, previous)
    if not isinstance(stats, pl.DataFrame) or stats.width == 0:
        stats = pl.DataFrame(schema=STATS_SCHEMA)
    return _finish(out, stats, started, "spark")


SLOT = "_slot"
_COALESCE = "spark.sql.adaptive.coalescePartitions.enabled"


def _absolute(path) -> str:
    text = str(path)
    return text if "://" in text else str(Path(text).resolve())


def run(root, out, as_of: dt.date, *, engine: str = "local", year: int | None = None, params=None,
        step: Callable[[str], None] | None = None, spark=None) -> NationalRun:
    if engine == "spark":
        return run_spark(root, out, as_of, year=year, params=params, spark=spark)
    if engine != "local":
        raise NationalInputError(f"引擎应为 {'、'.join(ENGINES)} 之一: {engine!r}")
    return run_local(root, out, as_of, year=year, params=params, step=step)


def spark_session(cores: int = 2):
    """Under spark-submit: the session it configured (master, memory, the cluster). Otherwise a
    quiet local one with `cores` cores (spark.local_session)."""
    if os.environ.get("PYSPARK_GATEWAY_PORT"):  # launched by spark-submit: keep its --master
        from pyspark.sql import SparkSession

        return SparkSession.builder.appName("fangfan-national").getOrCreate()
    from fangfan.policy.spark import local_session

    return local_session(cores=cores, shuffle_partitions=cores * 2)


def summary_lines(done: NationalRun, out) -> list[str]:
    by_department = []
    fs, base = _filesystem(_absolute(out))
    warnings = _read_dir_file(fs, f"{base}/{WARNINGS_FILE}")
    for department, n in warnings.group_by("department").len().sort("department").iter_rows():
        by_department.append(f"{department} {n}")
    return [
        f"{done.counties.height} 个县, {done.households} 户, {done.feed_rows} 行部门数据 → {out}"
        f"(引擎 {done.engine}, {done.seconds:.1f} 秒)",
        f"预警 {done.warnings} 条" + (f"({'、'.join(by_department)})" if by_department else ""),
        f"未匹配(未登记在册)的部门数据 {done.unmatched} 行",
    ]


def main(argv: list[str] | None = None) -> int:
    """The Django-free command line (also what spark-submit runs)."""
    parser = argparse.ArgumentParser(
        prog="python -m fangfan.policy.national",
        description="按县分区的 Parquet 导出: 部门数据匹配预警 + 登记库规则评估(本机或 Spark)")
    parser.add_argument("parquet", metavar="PARQUET_DIR", help="Parquet 导出(本地路径、hdfs://、s3:// …)")
    parser.add_argument("--as-of", dest="as_of", required=True, help="评估和交办日期 YYYY-MM-DD")
    parser.add_argument("--out", required=True, help="输出文件夹(warnings.parquet、results/ …)")
    parser.add_argument("--engine", choices=ENGINES, default="local")
    parser.add_argument("--year", type=int, default=None, help="收入年度(默认: 导出中最近的年度)")
    parser.add_argument("--cores", type=int, default=2, help="本机 Spark 的核数(spark-submit 时不用)")
    args = parser.parse_args(argv)
    try:
        as_of = dt.date.fromisoformat(args.as_of)
    except ValueError:
        print(f"--as-of 日期无效: {args.as_of!r}(应为 YYYY-MM-DD)", file=sys.stderr)
        return 2
    try:
        spark = spark_session(args.cores) if args.engine == "spark" else None
        done = run(args.parquet, args.out, as_of, engine=args.engine, year=args.year, spark=spark,
                   step=lambda text: print("  " + text, flush=True))
    except (NationalInputError, OSError) as exc:
        print(f"无法运行: {exc}", file=sys.stderr)
        return 1
    for line in summary_lines(done, args.out):
        print(line)
    return 0


if __name__ == "__main__":
    # Run as the imported module, not as __main__: Spark then ships the tasks' functions by
    # reference (the workers import fangfan) instead of pickling this file's code by value.
    from fangfan.policy.national import main as _main

    sys.exit(_main())
