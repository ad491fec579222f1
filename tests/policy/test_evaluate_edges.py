"""Edge cases of evaluate_tables: no households at all, households without members, income or
measures, tables left out, rows in any order, duplicate income rows; and the `evaluate`
command on a folder whose files hold headers only."""
from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest
from django.core.management import call_command

from fangfan.common.tables import CANONICAL_DTYPES, TABLES
from fangfan.policy.evaluate import OUTPUT_COLUMNS, RESULT_COLUMNS, evaluate_tables, format_results
from fangfan.policy.params import ParameterSet
from tests.policy.casekit import case_tables, frames, merge

PARAMS = ParameterSet.load()
AS_OF = dt.date(2026, 5, 1)
EXAMPLES = Path(__file__).parent.parent / "data" / "examples"


def _empty(name: str) -> pl.DataFrame:
    return pl.DataFrame(schema={c.key: CANONICAL_DTYPES[c.kind] for c in TABLES[name].columns})


def _one_household_schema() -> pl.Schema:
    tables = frames(case_tables({"incomes": {2025: {"wage": 9000}}}))
    return evaluate_tables(tables, as_of=AS_OF, params=PARAMS).schema


def test_it_gives_an_empty_result_with_every_column_for_no_households():
    tables = {name: _empty(name) for name in ("villages", "households", "members", "incomes", "measures")}
    result = evaluate_tables(tables, as_of=AS_OF, params=PARAMS)
    assert result.height == 0
    assert result.columns == list(RESULT_COLUMNS)
    assert result.schema == _one_household_schema()
    assert format_results(result).columns == list(RESULT_COLUMNS)


def test_it_gives_an_empty_result_when_only_an_empty_households_table_is_given():
    result = evaluate_tables({"households": _empty("households")}, as_of=AS_OF, params=PARAMS)
    assert result.height == 0 and result.schema == _one_household_schema()


def test_it_evaluates_a_household_without_members_income_or_measures_tables():
    tables = frames(case_tables({"household": {"category": "边缘易致贫户", "identified_on": "2025-01-10"}}))
    only_households = {"households": tables["households"]}
    row = format_results(evaluate_tables(only_households, as_of=AS_OF, params=PARAMS)).row(0, named=True)
    assert row["household_size"] == "0"
    assert row["net_income"] == "" and row["per_capita_income"] == "" and row["per_capita_dibao_income"] == ""
    assert row["below_line"] == "false" and row["whole_household_no_labor"] == "false"
    # Monitored, no measure done (E1) and no income above the elimination line (E3).
    assert row["elimination"] == "not_eligible"
    assert row["elimination_failed"].split(";")[:2] == ["E1", "E3"]
    # No income file, so no income year either: the explanation still says so.
    assert row["explanation"].startswith("无年度收支数据；")


def test_it_counts_only_members_with_status_normal_and_none_is_size_zero():
    case = {"members": [{"status": "死亡"}, {"status": "死亡"}], "incomes": {2025: {"wage": 9000}}}
    row = evaluate_tables(frames(case_tables(case)), as_of=AS_OF, params=PARAMS).row(0, named=True)
    assert row["household_size"] == 0
    assert row["net_income"] == 900_000 and row["per_capita_income"] is None
    assert row["whole_household_no_labor"] is False


def test_it_orders_rows_by_household_id_whatever_the_input_order():
    parts = [case_tables({"incomes": {2025: {"wage": 1000 * i}}}, household_id=hid) for i, hid in
             enumerate(["H3", "H1", "H2"], start=1)]
    result = evaluate_tables(frames(merge(parts)), as_of=AS_OF, params=PARAMS)
    assert result.get_column("household_id").to_list() == ["H1", "H2", "H3"]
    assert result.get_column("net_income").to_list() == [200_000, 300_000, 100_000]


def test_it_reads_the_first_income_row_of_a_year_in_file_order():
    rows = case_tables({"incomes": {2025: {"wage": 5000}}})
    rows["incomes"].append({**rows["incomes"][0], "wage": 7000})
    result = evaluate_tables(frames(rows), as_of=AS_OF, params=PARAMS)
    assert result.height == 1 and result.row(0, named=True)["net_income"] == 500_000


def test_it_lists_special_members_in_file_order_for_single_person_dibao():
    # 610902 has a 低保 line; per-capita 低保 income just above it makes the household marginal.
    case = {
        "household": {"village_code": "610902001001"},
        "members": [{"health": ["患有大病"]}, {}, {"disability_grade": "一级", "disability_kind": "肢体"}],
        "incomes": {2025: {"wage": 18000}},
    }
    rows = case_tables(case)
    ids = [m["id_number"] for m in rows["members"]]
    row = evaluate_tables(frames(rows), as_of=AS_OF, params=PARAMS).row(0, named=True)
    assert row["low_income_class"] == "dibao_marginal", row
    assert row["single_person_dibao"] == f"{ids[0]};{ids[2]}"


def test_it_writes_a_header_only_file_for_input_files_without_rows(tmp_path):
    folder = tmp_path / "in"
    shutil.copytree(EXAMPLES, folder)
    for path in folder.glob("*.csv"):
        if path.stem != "villages":
            lines = path.read_text(encoding="utf-8").splitlines()
            path.write_text(lines[0] + "\n", encoding="utf-8")
    out = tmp_path / "r.csv"
    call_command("evaluate", str(folder), "--as-of", "2026-05-01", "--out", str(out), verbosity=0)
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][: len(OUTPUT_COLUMNS)] == list(OUTPUT_COLUMNS) and len(rows) == 1


def test_it_reads_the_first_income_row_in_file_order_when_rows_are_not_grouped_by_household():
    rows = merge([case_tables({"incomes": {2025: {"wage": 100}}}, household_id=hid) for hid in ("H2", "H1")])
    rows["incomes"].append({**rows["incomes"][0], "wage": 999})  # H2 again, later in the file
    result = evaluate_tables(frames(rows), as_of=AS_OF, params=PARAMS)
    assert result.get_column("net_income").to_list() == [10_000, 10_000]


def test_it_takes_the_earliest_row_number_when_sorted_rows_were_reordered():
    rows = case_tables({"incomes": {2025: {"wage": 100}}})
    rows["incomes"].append({**rows["incomes"][0], "wage": 999})
    tables = frames(rows)
    # Same household and year twice; the row written later in the file comes first here.
    tables["incomes"] = tables["incomes"].with_columns(pl.Series("_row", [9, 3]))
    assert evaluate_tables(tables, as_of=AS_OF, params=PARAMS).row(0, named=True)["net_income"] == 99_900


def test_it_writes_the_csv_from_typed_results_exactly_as_the_contract_text(tmp_path):
    # Negative money (a loss-making business), empty code lists, null categories and dates.
    parts = [
        case_tables({"incomes": {2025: {"business_income": 100, "business_cost": 2345.67}}}, household_id="H1"),
        case_tables({"household": {"category": "边缘易致贫户", "identified_on": "2025-01-31"},
                     "incomes": {2025: {"wage": 3000.05}}}, household_id="H2"),
        case_tables({}, household_id="H3"),
    ]
    results = evaluate_tables(frames(merge(parts)), as_of=AS_OF, params=PARAMS)
    from fangfan.policy.evaluate import csv_columns

    typed_path, text_path = tmp_path / "typed.csv", tmp_path / "text.csv"
    csv_columns(results).sink_csv(typed_path)
    format_results(results).with_columns(pl.col(pl.String).replace("", None)).write_csv(text_path)
    assert typed_path.read_bytes() == text_path.read_bytes()
    with typed_path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["net_income"] == "-2245.67" and rows[0]["candidate_category"] == "marginal"
    assert rows[1]["per_capita_income"] == "3000.05" and rows[1]["visit_due_on"] == "2025-02-28"
    assert rows[2]["net_income"] == "" and rows[2]["below_line"] == "false" and rows[2]["candidate_category"] == ""


def test_it_gives_large_inputs_the_same_results_through_the_staged_collects(monkeypatch):
    import fangfan.policy.evaluate as evaluate_module
    from fangfan.registry.synthetic import generate_county

    generated = generate_county("610902", 400, 3)
    as_of = dt.date(generated.year + 1, 4, 30)
    single = evaluate_tables(generated.tables, as_of=as_of, params=PARAMS)
    monkeypatch.setattr(evaluate_module, "LARGE", 1)
    staged = evaluate_tables(generated.tables, as_of=as_of, params=PARAMS)
    assert single.height == 400 and staged.equals(single)
    assert single.get_column("candidate_category").drop_nulls().len() > 0
    assert single.get_column("warning_color").drop_nulls().len() > 0


@pytest.mark.parametrize("large", [False, True], ids=["one plan", "three collects"])
def test_it_gives_the_same_results_whether_household_ids_are_plain_integers_or_not(large, monkeypatch):
    # Plain integer IDs are grouped and joined as Int64 (frame.integer_household_ids); any
    # other spelling (here a leading zero) as text: the results must not tell them apart.
    from fangfan.policy import evaluate
    from fangfan.policy.frame import integer_household_ids

    if large:  # the plan used from evaluate.LARGE households on
        monkeypatch.setattr(evaluate, "LARGE", 1)
    from fangfan.registry.synthetic import generate_county

    generated = generate_county("610902", 300, 5)
    as_of = dt.date(generated.year + 1, 4, 30)
    tables = {name: frame for name, frame in generated.tables.items() if name != "villages"}
    padded = {
        name: frame.with_columns(pl.concat_str([pl.lit("0"), pl.col("household_id")]).alias("household_id"))
        for name, frame in tables.items()
    }
    assert integer_household_ids(tables) and not integer_household_ids(padded)

    as_integers = evaluate_tables(tables, as_of=as_of, params=PARAMS)
    as_text = evaluate_tables(padded, as_of=as_of, params=PARAMS)

    assert as_integers.height == 300
    assert as_integers.get_column("candidate_category").drop_nulls().len() > 0
    assert as_text.drop("household_id").equals(as_integers.drop("household_id"))
    assert as_text.get_column("household_id").to_list() == ["0" + h for h in as_integers.get_column("household_id")]


@pytest.mark.parametrize("large", [False, True], ids=["one plan", "three collects"])
@pytest.mark.parametrize("shuffled", [False, True], ids=["in order", "shuffled"])
def test_it_gives_the_same_results_with_the_readers_integer_keys(large, shuffled, monkeypatch, tmp_path):
    # `fangfan evaluate` hands the reader's Int64 household keys on (frame.with_household_keys);
    # sorted keys are joined by merging. In order or not, the results are those without them.
    from fangfan.policy import evaluate
    from fangfan.policy.frame import HOUSEHOLD_KEY, keys_sorted, with_household_keys
    from fangfan.registry.interchange.read import read_interchange
    from fangfan.registry.interchange.write import write_tables
    from fangfan.registry.synthetic import generate_county

    if large:
        monkeypatch.setattr(evaluate, "LARGE", 1)
    generated = generate_county("610902", 300, 7)
    as_of = dt.date(generated.year + 1, 4, 30)
    write_tables(generated.tables, tmp_path, "csv")
    read = read_interchange(tmp_path)
    assert read.ok and read.household_keys is not None
    tables, keys = read.tables, read.household_keys
    if shuffled:  # rows out of household order: the keys are not marked sorted, joins hash
        order = {name: pl.Series(range(frame.height)).shuffle(seed=3) for name, frame in tables.items()}
        tables = {name: frame[order[name]] for name, frame in tables.items()}
        keys = {name: key.gather(order[name]) for name, key in keys.items()}

    keyed = with_household_keys(tables, keys)
    assert all(HOUSEHOLD_KEY in keyed[name].columns for name in ("households", "members", "incomes", "measures"))
    assert keys_sorted(keyed) is not shuffled
    with_keys = evaluate_tables(keyed, as_of=as_of, params=PARAMS)
    without = evaluate_tables(tables, as_of=as_of, params=PARAMS)
    assert with_keys.height == 300 and with_keys.equals(without)
    assert with_keys.get_column("candidate_category").drop_nulls().len() > 0


def test_it_leaves_the_tables_as_they_are_when_the_keys_do_not_fit():
    from fangfan.policy.frame import HOUSEHOLD_KEY, with_household_keys

    tables = frames(case_tables({"incomes": {2025: {"wage": 9000}}}))
    assert with_household_keys(tables, None) is tables
    short = {name: pl.Series([1], dtype=pl.Int64) for name in ("households", "members", "incomes", "measures")}
    assert with_household_keys(tables, {"households": short["households"]}) is tables
    assert all(HOUSEHOLD_KEY not in frame.columns for frame in with_household_keys(tables, {}).values())
