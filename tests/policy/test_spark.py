"""The Spark engine gives exactly the local engine's results (issue 3 item 8).

Two generated counties (so Spark has two county groups), evaluated by evaluate_tables and by
evaluate_spark from tables and from interchange files, with and without what-if overrides.
One local Spark session serves the whole module (its start-up is most of the run time)."""
from __future__ import annotations

import subprocess
import sys

import polars as pl
import pytest

from fangfan.policy.evaluate import evaluate_tables
from fangfan.policy.params import ParameterSet
from fangfan.registry.interchange.read import read_interchange
from fangfan.registry.interchange.write import write_tables
from fangfan.registry.synthetic import generate_county

COUNTIES = (("341225", 220, 11), ("341222", 160, 12))


@pytest.fixture(scope="module")
def county_pair():
    generated = [generate_county(code, n, seed) for code, n, seed in COUNTIES]
    tables = {
        name: pl.concat([g.tables[name] for g in generated], how="vertical_relaxed") for name in generated[0].tables
    }
    return tables, generated[0].reference_date


@pytest.fixture(scope="module")
def spark():
    from fangfan.policy.spark import local_session

    session = local_session(cores=2, shuffle_partitions=2)
    yield session
    session.stop()


def _evaluate_spark(*args, **kwargs):
    from fangfan.policy.spark import evaluate_spark

    return evaluate_spark(*args, **kwargs)


def test_it_keeps_pyspark_out_of_the_import_of_the_engine():
    code = (
        "import sys, fangfan.policy.evaluate, fangfan.policy.spark; "
        "print('pyspark' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_it_partitions_every_table_by_county(county_pair):
    from fangfan.policy.spark import COUNTY, TABLE_TAG, county_long_frame, split_county

    tables, _ = county_pair
    long, schemas = county_long_frame(tables)
    assert sorted(long.get_column(COUNTY).unique().to_list()) == ["341222", "341225"]
    one = split_county(long.filter(pl.col(COUNTY) == "341222"), schemas)
    members_341222 = tables["members"].filter(pl.col("household_id").str.starts_with("341222"))
    assert one["members"].drop("_row").equals(members_341222)
    assert set(one) == {"households", "members", "incomes", "measures"}
    assert TABLE_TAG not in one["households"].columns


@pytest.mark.slow
def test_it_gives_identical_results_on_spark_and_locally(county_pair, spark):
    tables, as_of = county_pair
    local = evaluate_tables(tables, as_of=as_of)
    on_spark = _evaluate_spark(tables, as_of, spark=spark, partitions=2)
    assert local.height == 380
    assert on_spark.schema == local.schema
    assert on_spark.equals(local)


@pytest.mark.slow
def test_it_gives_identical_results_with_what_if_overrides(county_pair, spark):
    tables, as_of = county_pair
    shipped = ParameterSet.load()
    what_if = shipped.with_overrides(
        [("monitoring.income_line", None, "9000"), ("dibao.line_rural_year", "341222", "7200")]
    )
    local = evaluate_tables(tables, as_of=as_of, params=what_if)
    on_spark = _evaluate_spark(tables, as_of, params=what_if, spark=spark, partitions=2)
    assert on_spark.equals(local)
    # The overrides reached the workers: the results are not the shipped parameters' results.
    assert set(on_spark.get_column("income_line").unique().to_list()) == {900000}
    assert on_spark.filter(pl.col("village_code").str.starts_with("341222")).get_column("dibao_line").unique().to_list() == [720000]
    assert not on_spark.equals(evaluate_tables(tables, as_of=as_of, params=shipped))


@pytest.mark.slow
def test_it_evaluates_every_county_for_the_latest_year_of_the_whole_registry(county_pair, spark):
    tables, as_of = county_pair
    latest = tables["incomes"].get_column("year").max()
    # One county has only last year's incomes: it is still evaluated for the registry's latest year.
    incomes = tables["incomes"].filter(~(pl.col("household_id").str.starts_with("341222") & (pl.col("year") == latest)))
    trimmed = {**tables, "incomes": incomes}
    local = evaluate_tables(trimmed, as_of=as_of)
    on_spark = _evaluate_spark(trimmed, as_of, spark=spark, partitions=2)
    assert on_spark.equals(local)
    assert on_spark.get_column("year").unique().to_list() == [latest]


@pytest.mark.slow
def test_it_reads_interchange_files_like_the_local_engine(county_pair, spark, tmp_path):
    tables, as_of = county_pair
    write_tables(tables, tmp_path, "csv")
    read = read_interchange(tmp_path)
    assert read.ok
    local = evaluate_tables(read.tables, as_of=as_of, year=2025)
    on_spark = _evaluate_spark(tmp_path, as_of, 2025, spark=spark)
    assert on_spark.equals(local)


@pytest.mark.slow
def test_it_refuses_bad_files_with_the_readers_problems(county_pair, spark, tmp_path):
    from fangfan.policy.spark import InterchangeProblems

    tables, as_of = county_pair
    write_tables(tables, tmp_path, "csv")
    households = tmp_path / "households.csv"
    lines = households.read_text(encoding="utf-8").splitlines()
    first = lines[1].split(",")
    first[1] = "99999"  # not a 12-digit village code
    lines[1] = ",".join(first)
    households.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InterchangeProblems) as caught:
        _evaluate_spark(tmp_path, as_of, spark=spark)
    assert caught.value.problems == read_interchange(tmp_path).problems
    assert "第2行" in str(caught.value)


@pytest.mark.slow
def test_it_writes_the_same_file_with_fangfan_evaluate_engine_spark(county_pair, spark, tmp_path):
    from django.core.management import call_command

    tables, as_of = county_pair
    folder = tmp_path / "county"
    write_tables(tables, folder, "csv")
    local_out, spark_out = tmp_path / "local.csv", tmp_path / "spark.csv"
    common = [str(folder), "--as-of", as_of.isoformat(), "--set", "monitoring.income_line=7000", "--compare"]
    call_command("evaluate", *common, "--out", str(local_out), verbosity=0)
    call_command("evaluate", *common, "--out", str(spark_out), "--engine", "spark", verbosity=0)
    assert spark_out.read_bytes() == local_out.read_bytes()
    assert (tmp_path / "spark_compare.csv").read_bytes() == (tmp_path / "local_compare.csv").read_bytes()
    assert len(spark_out.read_text(encoding="utf-8").splitlines()) == 1 + 380


def _county_folders(tmp_path, duplicate_id: bool = False):
    """The two counties as a folder of county folders (the second one possibly reusing an ID of the first)."""
    from pathlib import Path

    root = Path(tmp_path) / "parts"
    generated = [generate_county(code, n, seed) for code, n, seed in COUNTIES]
    for i, (g, (code, _, _)) in enumerate(zip(generated, COUNTIES)):
        tables = dict(g.tables)
        if duplicate_id and i == 1:
            stolen = generated[0].tables["members"]["id_number"][0]
            tables["members"] = tables["members"].with_columns(
                pl.when(pl.int_range(pl.len()) == 3).then(pl.lit(stolen)).otherwise(pl.col("id_number")).alias("id_number")
            )
        write_tables(tables, root / f"county_{code}", "csv")
    return root, generated[0].reference_date


@pytest.mark.slow
def test_it_reads_validates_and_evaluates_each_county_folder_in_a_spark_task(spark, tmp_path):
    from django.core.management import call_command

    root, as_of = _county_folders(tmp_path)
    for engine in ("local", "spark"):
        call_command("evaluate", str(root), "--as-of", as_of.isoformat(), "--out", str(tmp_path / f"{engine}.csv"),
                     "--engine", engine, "--set", "monitoring.income_line=9000", "--compare", verbosity=0)
    for suffix in ("", "_compare", "_transitions"):
        local = (tmp_path / f"local{suffix}.csv").read_bytes()
        assert local == (tmp_path / f"spark{suffix}.csv").read_bytes(), suffix
    assert local.count(b"\n") > 1


@pytest.mark.slow
def test_it_finds_an_id_in_two_county_folders_with_spark_as_locally(spark, tmp_path):
    from fangfan.registry.interchange.parts import partition_folders, read_partitions
    from fangfan.policy.spark import part_readers

    root, _ = _county_folders(tmp_path, duplicate_id=True)
    folders = partition_folders(root)
    with read_partitions(folders) as local:
        expected = [str(p) for p in local.problems]
    read_all, repeated = part_readers(spark)
    with read_partitions(folders, read_all=read_all, repeated=repeated) as distributed:
        assert [str(p) for p in distributed.problems] == expected
        assert not distributed.parts
    assert len(expected) == 2 and all("证件号码重复" in p for p in expected)
