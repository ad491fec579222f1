"""The Spark engine: the same rule code (evaluate_tables) run per county on Apache Spark.

    evaluate_spark(PATH_or_tables, as_of, year=None, params=None, *, spark=None, partitions=None)

1. Reading and validation stay the reader's: a path goes through read_interchange on the
   driver, so problems are exactly those of the local engine (file, row, column, reason) and
   the cross-table checks (members of unknown households, an ID number in two households) see
   the whole registry, which a per-partition reader cannot. Bad input raises InterchangeProblems.
2. Every table that evaluation reads (households, members, incomes, measures) gets a county
   column (village code[:6], through the household for the others) and a table tag; the tables
   are unioned into one long Spark DataFrame and repartitioned by county.
3. groupBy(county).applyInArrow hands each county to a Python worker as one Arrow table; the
   worker splits it back into the canonical typed tables (in their original row order, which
   the engine uses for "first income row wins" and member order) and calls exactly
   fangfan.policy.evaluate.evaluate_tables, returning Arrow.
4. The driver collects the Arrow results into a Polars frame of the local engine's schema,
   ordered by household_id.

The income year (default: the latest year of the WHOLE registry) is fixed on the driver, so
a county whose households lack the latest year is evaluated for the same year as the others.
Parameters (including --set what-if overrides) travel to the workers pickled inside the
task closure; a ParameterSet is plain data. pyspark is imported only when this engine runs.
Workers must be able to import fangfan (in local mode they run this interpreter; on a
cluster ship the package, e.g. spark.submit.pyFiles or the same virtualenv on every node).
"""
from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

# Tables evaluate_tables reads (fangfan.policy.frame.household_frame); villages are not read.
EVALUATED_TABLES = ("households", "members", "incomes", "measures")
COUNTY = "_county"
TABLE_TAG = "_table"
ROW = "_row"

_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


class InterchangeProblems(ValueError):
    """The input files have problems (the reader's list); nothing was evaluated."""

    def __init__(self, problems: list):
        self.problems = list(problems)
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(f"输入有 {len(self.problems)} 个问题,未评估:\n{lines}")


def local_session(cores: int = 2, shuffle_partitions: int = 4) -> "SparkSession":
    """The active Spark session, or a quiet local one (no UI, errors-only logging)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    # Workers run this interpreter (the venv with fangfan installed), not whatever `python` is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    log_config = Path(tempfile.gettempdir()) / "fangfan-spark-log4j2.properties"
    if not log_config.exists():
        log_config.write_text(_LOG4J2, encoding="utf-8")
    spark = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("fangfan-evaluate")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log_config}")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def county_long_frame(tables: dict[str, pl.DataFrame]) -> tuple[pl.DataFrame, dict[str, pl.Schema]]:
    """One long frame: every evaluated table's rows tagged with the table name and the county
    (village_code[:6]; members/incomes/measures through their household). Rows of households
    that do not exist are dropped — the engine joins from households, so they count for
    nothing either way. Returns the frame and each table's own schema (to split it back)."""
    households = tables["households"]
    county_of = households.select(
        "household_id", pl.col("village_code").cast(pl.String).str.slice(0, 6).alias(COUNTY)
    ).unique(subset="household_id", keep="first")
    parts, schemas = [], {}
    for name in EVALUATED_TABLES:
        frame = tables.get(name)
        if frame is None:
            continue
        if ROW not in frame.columns:  # keep the file order the engine relies on across the shuffle
            frame = frame.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias(ROW))
        schemas[name] = frame.schema
        frame = frame.join(county_of, on="household_id", how="inner")
        parts.append(frame.with_columns(pl.lit(name).alias(TABLE_TAG)))
    return pl.concat(parts, how="diagonal_relaxed"), schemas


def split_county(long: pl.DataFrame, schemas: dict[str, pl.Schema]) -> dict[str, pl.DataFrame]:
    """The inverse of county_long_frame for one county: canonical tables in original order."""
    tables = {}
    for name, schema in schemas.items():
        part = long.filter(pl.col(TABLE_TAG) == name).sort(ROW)
        tables[name] = part.select(pl.col(col).cast(dtype) for col, dtype in schema.items())
    return tables


def _arrow_schema(schema: pl.Schema):
    """The Arrow schema Spark expects back (plain string/list types, not Polars' large ones)."""
    import pyarrow as pa

    mapping = {pl.String: pa.string(), pl.Int64: pa.int64(), pl.Boolean: pa.bool_(), pl.Date: pa.date32()}
    fields = []
    for name, dtype in schema.items():
        if dtype not in mapping:
            raise TypeError(f"result column {name} has an unsupported type {dtype}")
        fields.append(pa.field(name, mapping[dtype]))
    return pa.schema(fields)


def _spark_ddl(schema: pl.Schema) -> str:
    names = {pl.String: "string", pl.Int64: "bigint", pl.Boolean: "boolean", pl.Date: "date"}
    return ", ".join(f"`{name}` {names[dtype]}" for name, dtype in schema.items())


def _to_spark_arrow(frame: pl.DataFrame):
    """Polars → Arrow with the plain (non-large) string and list types Spark maps cleanly."""
    import pyarrow as pa

    table = frame.to_arrow()

    def plain(t: pa.DataType) -> pa.DataType:
        if pa.types.is_large_string(t) or pa.types.is_string_view(t):
            return pa.string()
        if pa.types.is_large_list(t) or pa.types.is_list_view(t) or pa.types.is_list(t):
            return pa.list_(plain(t.value_type))
        return t

    return table.cast(pa.schema([pa.field(f.name, plain(f.type)) for f in table.schema]))


def evaluate_spark(
    tables_or_path,
    as_of: dt.date,
    year: int | None = None,
    params=None,
    *,
    spark: "SparkSession | None" = None,
    partitions: int | None = None,
) -> pl.DataFrame:
    """Evaluate on Spark, one task group per county; the result equals evaluate_tables'."""
    from fangfan.policy.evaluate import evaluate_tables
    from fangfan.policy.frame import latest_year
    from fangfan.policy.params import ParameterSet

    if isinstance(tables_or_path, (str, os.PathLike)):
        from fangfan.registry.interchange.read import read_interchange

        read = read_interchange(tables_or_path)
        if not read.ok:
            raise InterchangeProblems(read.problems)
        tables = read.tables
    else:
        tables = tables_or_path
    if params is None:
        params = ParameterSet.load()
    if year is None:
        year = latest_year(tables)
    households = tables.get("households")
    if households is None or households.height == 0:
        # Nothing to distribute: the local engine's answer (and its behaviour) for no households.
        return evaluate_tables(tables, as_of=as_of, year=year, params=params)

    long, schemas = county_long_frame(tables)
    # The result schema, from one household through the same code (a few ms on the driver).
    first = households.get_column("household_id")[0]
    probe = {n: t.filter(pl.col("household_id") == first) for n, t in tables.items() if n in schemas}
    result_schema = evaluate_tables(probe, as_of=as_of, year=year, params=params).schema
    arrow_schema = _arrow_schema(result_schema)

    def evaluate_county(county_rows):  # runs on a worker: one county's rows as an Arrow table
        county_tables = split_county(pl.from_arrow(county_rows), schemas)
        result = evaluate_tables(county_tables, as_of=as_of, year=year, params=params)
        return result.to_arrow().cast(arrow_schema)

    counties = long.get_column(COUNTY).n_unique()
    spark = spark or local_session()
    frame = spark.createDataFrame(_to_spark_arrow(long))
    n = partitions or max(1, min(counties, spark.sparkContext.defaultParallelism * 2))
    results = frame.repartition(n, COUNTY).groupBy(COUNTY).applyInArrow(evaluate_county, _spark_ddl(result_schema))
    collected = pl.from_arrow(results.toArrow())
    if not isinstance(collected, pl.DataFrame) or collected.width == 0:
        collected = pl.DataFrame(schema=result_schema)
    return collected.select(pl.col(c).cast(t) for c, t in result_schema.items()).sort("household_id")


# ------------------------------------------------------------------ a folder of county folders


def part_readers(spark: "SparkSession | None" = None):
    """(read_all, repeated) for fangfan.registry.interchange.parts.read_partitions: every part is read
    and validated by a Spark task (so reading is distributed, one task per part), and keys
    found in several parts are found by a Spark groupBy over the spilled key files. The spill
    folder must be reachable from every worker (local disk in local mode; a shared file
    system on a cluster)."""
    from fangfan.registry.interchange.parts import read_part

    spark = spark or local_session()

    def read_all(items: list[tuple[int, str]], spill: str):
        return (
            spark.sparkContext.parallelize(items, numSlices=max(1, len(items)))
            .map(lambda item: read_part(item[0], item[1], spill))
            .collect()
        )

    def repeated(pattern: str, key: str) -> pl.DataFrame:
        from pyspark.sql import functions as F

        keys = spark.read.parquet(pattern)
        spread = keys.groupBy(key).agg(F.countDistinct("part").alias("parts")).filter("parts > 1").select(key)
        found = pl.from_arrow(keys.join(spread, on=key).toArrow())
        if not isinstance(found, pl.DataFrame) or found.width == 0:
            return pl.DataFrame(schema={key: pl.String, ROW: pl.Int64, "part": pl.Int32})
        return found

    return read_all, repeated


RESULT_FILE = "results_{}.ipc"  # beside a part's spilled tables (which are *.arrow)


def evaluate_parts_spark(data, as_of: dt.date, year: int | None, param_sets: list, spark: "SparkSession | None" = None):
    """Evaluate every part of a PartitionedInput on Spark (one task per part, on its spilled
    tables, once per parameter set), then yield (part, [results per parameter set]) in part
    order from the result files the tasks wrote."""
    from fangfan.policy.evaluate import evaluate_tables
    from fangfan.registry.interchange.parts import read_spilled

    spark = spark or local_session()

    def evaluate_part(item):  # runs on a worker
        index, folder = item
        tables = read_spilled(folder)
        for k, params in enumerate(param_sets):
            result = evaluate_tables(tables, as_of=as_of, year=year, params=params)
            result.write_ipc(Path(folder) / RESULT_FILE.format(k), compression="lz4")
        return index

    items = [(part.index, str(part.folder)) for part in data.parts]
    if items:
        spark.sparkContext.parallelize(items, numSlices=len(items)).map(evaluate_part).collect()
    for part in data.parts:
        yield part, [pl.read_ipc(Path(part.folder) / RESULT_FILE.format(k)) for k in range(len(param_sets))]
