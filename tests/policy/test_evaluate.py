"""`fangfan evaluate` on the spec's example files: every contract column of both households
checked against hand-computed values; bad input lists every problem and writes nothing."""
from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from fangfan.policy.evaluate import OUTPUT_COLUMNS

EXAMPLES = Path(__file__).parent.parent / "data" / "examples"

# E001 (341225 阜南, national line 6000, no 低保 line), income year 2025:
#   net = 18000 + (6000 − 2500) + 0 + 3600 = 25100; monitoring = 25100 + 8000 − 21000 = 12100;
#   3 members → 4033.33 < 6000, 脱贫户 → unstable_lifted; rigid 22500 ≤ prev net 33500 and
#   25100 ≥ 0.5 × 33500 → no hardship; 低保 income 25100 − 1200 − 600 = 23300 / 3 = 7766.67;
#   monitored (边缘易致贫户, identified 2026-03-02) with M05 已落实 but 4033.33 < 6000 → E3 fails;
#   last visit 2026-04-10 + 1 month = 2026-05-10.
E001 = {
    "household_id": "E001", "village_code": "341225103208", "household_size": "3", "net_income": "25100.00",
    "monitoring_income": "12100.00", "per_capita_income": "4033.33", "income_line": "6000.00",
    "below_line": "true", "hardship": "false", "candidate_category": "unstable_lifted", "detected_risks": "R01",
    "whole_household_no_labor": "false", "negative_list_hits": "", "elimination": "not_eligible",
    "elimination_failed": "E3", "warning_color": "", "dibao_unserved": "false",
    "per_capita_dibao_income": "7766.67", "low_income_class": "", "single_person_dibao": "",
    "visit_due_on": "2026-05-10", "visit_overdue": "false",
}
# E002: net = 0 + (2000 − 300) + 0 + 9800 = 11500; monitoring = 11500 − 500 = 11000, 1 member;
#   低保 income 11500 − 1800 − 1200 − 6800 = 1700; 二级 disability → R03, only 丧失劳动力 → R08 and
#   whole household without labour, housing 否 → R09; 小轿车 is not on the S list; ordinary, not
#   monitored → no elimination and no visit schedule.
E002 = {
    "household_id": "E002", "village_code": "341225103208", "household_size": "1", "net_income": "11500.00",
    "monitoring_income": "11000.00", "per_capita_income": "11000.00", "income_line": "6000.00",
    "below_line": "false", "hardship": "false", "candidate_category": "", "detected_risks": "R03;R08;R09",
    "whole_household_no_labor": "true", "negative_list_hits": "", "elimination": "",
    "elimination_failed": "", "warning_color": "", "dibao_unserved": "false",
    "per_capita_dibao_income": "1700.00", "low_income_class": "", "single_person_dibao": "",
    "visit_due_on": "", "visit_overdue": "false",
}


def _read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with path.open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def test_it_writes_every_contract_column_for_the_spec_examples(tmp_path):
    out = tmp_path / "results.csv"
    call_command("evaluate", str(EXAMPLES), "--as-of", "2026-05-01", "--out", str(out), verbosity=0)
    header, rows = _read_csv(out)
    assert header[: len(OUTPUT_COLUMNS)] == list(OUTPUT_COLUMNS)
    assert [r["household_id"] for r in rows] == ["E001", "E002"]
    for row, expected in zip(rows, (E001, E002)):
        assert {k: row[k] for k in expected} == expected
    assert rows[0]["explanation"].startswith("人均纯收入4033.33元低于监测线6000.00元")
    assert "脱贫不稳定户" in rows[0]["explanation"] and "E3" in rows[0]["explanation"]
    assert "整户无劳动能力" in rows[1]["explanation"]


def test_it_marks_the_visit_overdue_after_the_due_date(tmp_path):
    out = tmp_path / "r.csv"
    call_command("evaluate", str(EXAMPLES), "--as-of", "2026-05-11", "--year", "2025", "--out", str(out), verbosity=0)
    _, rows = _read_csv(out)
    assert rows[0]["visit_due_on"] == "2026-05-10" and rows[0]["visit_overdue"] == "true"


def test_it_evaluates_the_year_asked_for(tmp_path):
    out = tmp_path / "r.csv"
    call_command("evaluate", str(EXAMPLES), "--as-of", "2026-05-01", "--year", "2024", "--out", str(out), verbosity=0)
    _, rows = _read_csv(out)
    # E001 2024: 26000 + 4500 + 0 + 3000 = 33500; monitoring 33500 − 2000 = 31500 / 3 = 10500.00
    assert (rows[0]["net_income"], rows[0]["per_capita_income"], rows[0]["below_line"]) == ("33500.00", "10500.00", "false")
    assert rows[1]["net_income"] == "" and rows[1]["below_line"] == "false"


def test_it_writes_xlsx_when_the_output_ends_in_xlsx(tmp_path):
    out = tmp_path / "results.xlsx"
    call_command("evaluate", str(EXAMPLES), "--as-of", "2026-05-01", "--out", str(out), verbosity=0)
    sheet = openpyxl.load_workbook(out, read_only=True)["results"]
    header, first, second = [list(r) for r in sheet.iter_rows(max_row=3, values_only=True)]
    assert header[: len(OUTPUT_COLUMNS)] == list(OUTPUT_COLUMNS)
    assert dict(zip(header, first))["per_capita_income"] == "4033.33"
    assert dict(zip(header, second))["detected_risks"] == "R03;R08;R09"


def test_it_reads_an_xlsx_workbook_like_the_csv_folder(tmp_path):
    from fangfan.registry.interchange.read import read_interchange
    from fangfan.registry.interchange.write import write_tables

    workbook = tmp_path / "input.xlsx"
    write_tables(read_interchange(EXAMPLES).tables, workbook)
    from_xlsx, from_csv = tmp_path / "a.csv", tmp_path / "b.csv"
    call_command("evaluate", str(workbook), "--as-of", "2026-05-01", "--out", str(from_xlsx), verbosity=0)
    call_command("evaluate", str(EXAMPLES), "--as-of", "2026-05-01", "--out", str(from_csv), verbosity=0)
    assert from_xlsx.read_text(encoding="utf-8") == from_csv.read_text(encoding="utf-8")


def test_it_evaluates_under_changed_parameters_and_writes_the_comparison(tmp_path, capsys):
    out = tmp_path / "whatif.csv"
    call_command(
        "evaluate", str(EXAMPLES), "--as-of", "2026-05-01", "--out", str(out),
        "--set", "341225:monitoring.income_line=4000", "--compare", verbosity=1,
    )
    _, rows = _read_csv(out)
    assert rows[0]["income_line"] == "4000.00" and rows[0]["candidate_category"] == ""
    assert rows[0]["elimination"] == "eligible"  # the elimination line follows the monitoring line
    _, areas = _read_csv(tmp_path / "whatif_compare.csv")
    total = next(r for r in areas if r["level"] == "total")
    assert (total["households"], total["candidate_category_changed"], total["elimination_changed"]) == ("2", "1", "1")
    assert {r["level"] for r in areas} == {"village", "township", "total"}
    _, transitions = _read_csv(tmp_path / "whatif_transitions.csv")
    assert {(t["field"], t["before"], t["after"], t["households"]) for t in transitions} == {
        ("candidate_category", "unstable_lifted", "none", "1"),
        ("elimination", "not_eligible", "eligible", "1"),
    }
    printed = capsys.readouterr().out
    assert "unstable_lifted→none: 1" in printed


def _broken_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    shutil.copytree(EXAMPLES, folder)
    text = (folder / "households.csv").read_text(encoding="utf-8")
    (folder / "households.csv").write_text(text.replace("E002,341225103208,一般农户,否", "E002,3412251032,一般农户,也许"), encoding="utf-8")
    members = (folder / "members.csv").read_text(encoding="utf-8")
    (folder / "members.csv").write_text(members.replace("341225196805123011", "341225196805123019"), encoding="utf-8")
    return folder


def test_it_lists_every_problem_and_writes_nothing_on_bad_input(tmp_path, capsys):
    folder = _broken_copy(tmp_path)
    out = tmp_path / "results.csv"
    with pytest.raises(CommandError, match="问题"):
        call_command("evaluate", str(folder), "--as-of", "2026-05-01", "--out", str(out), verbosity=0)
    err = capsys.readouterr().err
    assert "households" in err or "户表" in err
    assert err.count("\n") >= 3  # village code, housing_safe and the ID check digit
    assert not out.exists()
    assert list(tmp_path.glob("*.csv")) == [] and list(tmp_path.glob("tmp*")) == []


def test_it_exits_non_zero_from_the_console_script_on_bad_input(tmp_path):
    folder = _broken_copy(tmp_path)
    out = tmp_path / "results.csv"
    fangfan = Path(sys.executable).parent / "fangfan"
    done = subprocess.run([str(fangfan), "evaluate", str(folder), "--as-of", "2026-05-01", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "3412251032" in done.stderr
    assert not out.exists()


def test_it_rejects_an_unknown_parameter_and_a_bad_date(tmp_path):
    out = tmp_path / "r.csv"
    with pytest.raises(CommandError, match="--set"):
        call_command("evaluate", str(EXAMPLES), "--as-of", "2026-05-01", "--out", str(out),
                     "--set", "no.such.parameter=1", verbosity=0)
    with pytest.raises(CommandError, match="--as-of"):
        call_command("evaluate", str(EXAMPLES), "--as-of", "2026-02-30", "--out", str(out), verbosity=0)
    with pytest.raises(CommandError, match="找不到"):
        call_command("evaluate", str(tmp_path / "missing"), "--as-of", "2026-05-01", "--out", str(out), verbosity=0)
    assert not out.exists()


@pytest.mark.slow
def test_it_writes_the_same_results_with_the_spark_engine(tmp_path):
    local, spark = tmp_path / "local.csv", tmp_path / "spark.csv"
    call_command("evaluate", str(EXAMPLES), "--as-of", "2026-05-01", "--out", str(local), verbosity=0)
    call_command("evaluate", str(EXAMPLES), "--as-of", "2026-05-01", "--out", str(spark), "--engine", "spark", verbosity=0)
    assert spark.read_text(encoding="utf-8") == local.read_text(encoding="utf-8")
