"""Matching, warnings and the rules for many counties from a Parquet export (issue 10 item 7):
the local engine raises exactly the planted hits of every generated county and evaluates each
county as the interchange files evaluate; Spark gives identical warnings and rule results.

Three small generated counties are exported once for the module through the CSV producer
(fangfan.departments.parquet, which checks every file as the imports do)."""
from __future__ import annotations

import subprocess
import sys
from collections import Counter

import polars as pl
import pytest

from fangfan.common import pii
from fangfan.policy import national
from fangfan.policy.evaluate import evaluate_tables
from fangfan.registry.interchange.read import read_interchange
from fangfan.registry.synthetic import generate_county, write_county

COUNTIES = (("341225", 400, 3), ("341222", 300, 4), ("610902", 250, 5))


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    from fangfan.departments.parquet import export_folders

    base = tmp_path_factory.mktemp("national")
    as_of = None
    for code, n, seed in COUNTIES:
        generated = generate_county(code, n, seed)
        as_of = generated.reference_date
        write_county(generated, base / "src" / f"county_{code}")
    export_folders([base / "src"], base / "parquet")
    return base, as_of


@pytest.fixture(scope="module")
def local_run(export):
    base, as_of = export
    done = national.run_local(base / "parquet", base / "out_local", as_of)
    return base, as_of, done


def _planted(base) -> tuple[Counter, pl.DataFrame]:
    planted = pl.concat([pl.read_csv(base / "src" / f"county_{code}" / "departments" / "planted.csv", infer_schema=False)
                         for code, _, _ in COUNTIES])
    hits = planted.filter(pl.col("effect") != "no_match")
    # The export and its outputs name persons by their ID's blind index, never the number.
    index = pii.keyring().index
    expected = Counter(
        (r["department"], r["effect"], index(r["id_number_18"]) or None,
         r["village_code"] if r["department"] == "水利" else None)
        for r in hits.iter_rows(named=True))
    return expected, planted.filter(pl.col("effect") == "no_match")


def _got(out) -> Counter:
    warnings = pl.read_parquet(out / "warnings.parquet")
    return Counter(
        (r["department"], r["kind"], r["id_number"], r["village_code"] if r["department"] == "水利" else None)
        for r in warnings.iter_rows(named=True))


def test_it_exports_every_county_into_its_own_partition(export):
    base, _ = export
    assert national.list_counties(base / "parquet") == sorted(code for code, _, _ in COUNTIES)
    assert len(national.list_departments(base / "parquet")) == 12
    tables, feeds = national.read_county(base / "parquet", "341222")
    assert tables["households"].height == 300
    assert tables["households"]["village_code"].str.starts_with("341222").all()
    assert feeds["医保"].schema["结算日期"] == pl.Date and feeds["医保"].schema["合规自付"] == pl.Int64


def test_it_raises_exactly_the_planted_hits_of_every_county(local_run):
    base, _, done = local_run
    expected, _ = _planted(base)
    got = _got(base / "out_local")
    assert sum(expected.values()) >= 60  # 2 hits per kind and county at this size
    assert got == expected
    assert done.warnings == sum(expected.values())
    warnings = pl.read_parquet(base / "out_local" / "warnings.parquet")
    assert (warnings["county"] == warnings["village_code"].str.slice(0, 6)).all()
    assert warnings.filter(pl.col("kind") == "dropout")["urgent"].all()


def test_it_lists_the_rows_that_match_no_registered_person(local_run):
    base, _, done = local_run
    _, no_match = _planted(base)
    unmatched = pl.read_parquet(base / "out_local" / "unmatched.parquet")
    assert sorted(unmatched["key"].to_list()) == sorted(pii.keyring().index_all(no_match["id_number_18"].to_list()))
    assert done.unmatched == no_match.height > 0


def test_it_evaluates_each_county_as_its_interchange_files_do(local_run):
    from fangfan.departments.parquet import blind

    base, as_of, done = local_run
    for code, n, _ in COUNTIES:
        # The files as the export holds them: IDs as blind indexes (the rules' member key), no phone.
        tables = blind(read_interchange(base / "src" / f"county_{code}").tables)
        expected = evaluate_tables(tables, as_of=as_of, year=national.national_year(base / "parquet"))
        got = pl.read_parquet(base / "out_local" / "results" / f"county={code}" / "part-0.parquet")
        assert got.height == n
        assert got.equals(expected)
    assert done.counties["households"].to_list() == [300, 400, 250]  # sorted by county code


def test_it_runs_from_the_command_line_without_django(export, tmp_path):
    base, as_of = export
    code = (
        "import sys; from fangfan.policy import national; "
        f"code = national.main([{str(base / 'parquet')!r}, '--as-of', {as_of.isoformat()!r}, '--out', {str(tmp_path)!r}]); "
        "print('django loaded' if 'django' in sys.modules else 'no django'); sys.exit(code)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "3 个县, 950 户" in out.stdout
    assert out.stdout.strip().endswith("no django")
    assert (tmp_path / "warnings.parquet").exists()


def test_it_says_what_is_wrong_when_the_export_is_missing(tmp_path, capsys):
    assert national.main([str(tmp_path / "nowhere"), "--as-of", "2026-04-30", "--out", str(tmp_path / "o")]) == 1
    assert "找不到 Parquet 导出" in capsys.readouterr().err
    assert national.main([str(tmp_path), "--as-of", "2026-13-01", "--out", str(tmp_path / "o")]) == 2
    assert "--as-of 日期无效" in capsys.readouterr().err


@pytest.mark.slow
def test_it_gives_identical_warnings_and_rule_results_on_spark(local_run):
    from fangfan.policy.spark import local_session

    base, as_of, local = local_run
    spark = local_session(cores=2, shuffle_partitions=2)
    try:
        on_spark = national.run_spark(base / "parquet", base / "out_spark", as_of, spark=spark)
    finally:
        spark.stop()
    a, b = base / "out_local", base / "out_spark"
    assert pl.read_parquet(b / "warnings.parquet").equals(pl.read_parquet(a / "warnings.parquet"))
    assert pl.read_parquet(b / "unmatched.parquet").equals(pl.read_parquet(a / "unmatched.parquet"))
    for code, _, _ in COUNTIES:
        part = f"results/county={code}/part-0.parquet"
        assert pl.read_parquet(b / part).equals(pl.read_parquet(a / part))
    assert on_spark.counties.select("county", "households", "warnings").equals(
        local.counties.select("county", "households", "warnings"))
    assert on_spark.warnings == local.warnings >= 60


def test_it_refuses_an_export_whose_county_lacks_a_table_before_running_any(export, tmp_path):
    import shutil

    base, as_of = export
    shutil.copytree(base / "parquet", tmp_path / "pq")
    shutil.rmtree(tmp_path / "pq" / "registry" / "members" / "county=341222")

    with pytest.raises(national.NationalInputError, match="县 341222 没有成员表"):
        national.run_local(tmp_path / "pq", tmp_path / "out", as_of)
    assert not (tmp_path / "out" / "results").exists()
