from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError

from fangfan.accounts.models import DEPARTMENTS, Role
from fangfan.departments.cycle import CycleError, cycle_run, department_of, feeds_in, summary_lines
from fangfan.departments.models import CycleRun, DeptWarning, FeedBatch, FeedRow
from fangfan.departments.services import feed_import
from fangfan.registry.models import Household
from fangfan.screening.models import ScreeningResult
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
MONTH = "2026-03"
TODAY = dt.date(2026, 4, 15)  # the month is over: screened as of its last day


@pytest.fixture
def folder(county, tmp_path) -> Path:
    """The month's feed folder as a county receives it: the twelve files and one that is no feed."""
    out = tmp_path / "feeds" / MONTH
    out.mkdir(parents=True)
    for path in county.iterdir():
        shutil.copy(path, out / path.name)  # planted.csv included: not a department's name
    return out


def _state() -> tuple:
    return (FeedBatch.objects.count(), FeedRow.objects.count(), DeptWarning.objects.count(),
            sorted(ScreeningResult.objects.values_list("household_id", "as_of", "candidate_category", "warning_color")))


@pytest.mark.django_db
def test_it_imports_every_waiting_feed_screens_the_registry_and_summarises(folder):
    run = cycle_run(actor=None, month=MONTH, folder=folder, today=TODAY)

    files = run.summary["files"]
    assert sorted(f["department"] for f in files.values()) == sorted(DEPARTMENTS)
    for name, figures in files.items():
        batch = FeedBatch.objects.get(pk=figures["batch"])
        assert figures["status"] == "imported" and batch.file_name == name and batch.period == MONTH
        assert (figures["rows"], figures["new_rows"], figures["matched"], figures["unmatched"], figures["warnings"]) == (
            batch.rows, batch.new_rows, batch.matched, batch.unmatched, batch.warnings_raised)
    assert sum(f["warnings"] for f in files.values()) == DeptWarning.objects.count() > 0
    assert run.summary["unknown"] == ["planted.csv"] and run.summary["rejected"] == {}
    households = Household.objects.count()
    assert run.summary["screening"]["households"] == households == run.summary["screening"]["created"]
    assert ScreeningResult.objects.filter(as_of=dt.date(2026, 3, 31)).count() == households
    assert run.summary["lists"]["warnings_open"] == DeptWarning.objects.count()
    assert run.finished_at is not None and run.as_of == dt.date(2026, 3, 31) and run.summary["changed"] is True


@pytest.mark.django_db
def test_it_changes_nothing_when_run_again_and_says_so(folder):
    cycle_run(actor=None, month=MONTH, folder=folder, today=TODAY)
    before = _state()

    again = cycle_run(actor=None, month=MONTH, folder=folder, today=TODAY)

    assert _state() == before
    assert {f["status"] for f in again.summary["files"].values()} == {"already"}
    assert again.summary["changed"] is False and again.summary["screening"]["created"] == 0
    assert "本次运行没有改变任何数据: 文件均已导入过, 筛查结果无变化" in summary_lines(again)


@pytest.mark.django_db
def test_it_reports_a_file_imported_by_hand_as_already_imported(folder):
    by_hand = feed_import(actor=None, department="民政", path=folder / "民政.csv", period=MONTH).batch

    run = cycle_run(actor=None, month=MONTH, folder=folder, today=TODAY)

    assert run.summary["files"]["民政.csv"]["status"] == "already"
    assert run.summary["files"]["民政.csv"]["batch"] == by_hand.pk and run.summary["rejected"] == {}
    assert FeedBatch.objects.filter(department="民政").count() == 1
    assert any(f"此前已导入(批次 {by_hand.pk}), 未重复导入" in line for line in summary_lines(run))


@pytest.mark.django_db
def test_it_lists_every_problem_of_a_bad_feed_imports_nothing_of_it_and_goes_on(folder):
    lines = (folder / "医保.csv").read_text(encoding="utf-8").splitlines()
    first, second = lines[1].split(","), lines[2].split(",")
    first[1] = "2026-02-30"
    second[7] = "外省"
    (folder / "医保.csv").write_text("\n".join([lines[0], ",".join(first), ",".join(second), *lines[3:]]) + "\n",
                                    encoding="utf-8")
    out = StringIO()

    with pytest.raises(CommandError, match="1 个文件有问题, 未导入"):
        call_command("cycle", "--month", MONTH, "--folder", str(folder), stdout=out)

    assert not FeedBatch.objects.filter(department="医保").exists()
    assert not FeedRow.objects.filter(department="医保").exists()
    assert FeedBatch.objects.count() == len(DEPARTMENTS) - 1
    run = CycleRun.objects.get()
    problems = run.summary["rejected"]["医保.csv"]
    assert any("第2行 结算日期 “2026-02-30”: 日期不存在" in p for p in problems)
    assert any("第3行 就医地 “外省”" in p for p in problems)
    assert "文件未导入: 医保.csv" in out.getvalue() and "第2行 结算日期" in out.getvalue()
    assert ScreeningResult.objects.count() == Household.objects.count()  # the other steps went on


@pytest.mark.parametrize(("name", "department"), [
    ("医保.csv", "医保"), ("医保_2026-05.xlsx", "医保"), ("市场监管-5月.csv", "市场监管"), ("民政202605.csv", "民政"),
    ("医保局.csv", None), ("planted.csv", None), ("水利 (3月).xlsx", "水利"),
])
def test_it_knows_a_feed_by_the_department_its_name_starts_with(name, department):
    assert department_of(name) == department


def test_it_takes_the_period_from_the_name_or_the_month_and_lists_unknown_files(tmp_path):
    for name in ("医保_2026-02.csv", "民政.xlsx", "说明.txt", "公安.pdf", ".hidden.csv", "~$民政.xlsx"):
        (tmp_path / name).write_text("x", encoding="utf-8")

    found, unknown = feeds_in(tmp_path, MONTH)

    assert [(f.path.name, f.department, f.period) for f in found] == [
        ("医保_2026-02.csv", "医保", "2026-02"), ("民政.xlsx", "民政", MONTH)]
    assert unknown == ["公安.pdf", "说明.txt"]


@pytest.mark.django_db
@pytest.mark.parametrize(("args", "message"), [
    (["--month", "2026-13"], "数据期应为 YYYY-MM"),
    (["--month", MONTH, "--folder", "/nonexistent/feeds"], "数据目录不存在: /nonexistent/feeds"),
    (["--month", MONTH, "--region", "34A2"], "区划代码应为不超过12位的数字"),
])
def test_it_refuses_a_bad_month_folder_or_region_in_chinese(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("cycle", *args)
    assert not CycleRun.objects.exists()


@pytest.mark.django_db
def test_it_lets_only_the_county_office_run_its_own_county(folder):
    village = UserFactory(role=Role.VILLAGE, region_code="341225101205")
    with pytest.raises(PermissionDenied):
        cycle_run(actor=village, month=MONTH, folder=folder, today=TODAY)
    office = UserFactory(role=Role.COUNTY_RR, region_code="341225000000")
    with pytest.raises(PermissionDenied, match="不在本账号的管辖范围内"):
        cycle_run(actor=office, month=MONTH, region="341226", folder=folder, today=TODAY)

    run = cycle_run(actor=office, month=MONTH, folder=folder, today=TODAY)

    assert run.region == "341225" and run.who == office
    assert FeedBatch.objects.filter(who=office, county="341225").count() == len(DEPARTMENTS)


@pytest.mark.django_db
def test_it_prints_the_summary_from_the_command(folder):
    out = StringIO()
    call_command("cycle", "--month", MONTH, "--folder", str(folder), stdout=out)

    text = out.getvalue()
    assert f"月比对 {MONTH}" in text and "合计: 导入 12 个文件" in text and "规则筛查(" in text
    assert "部门预警: 待核查" in text and "未识别的文件" in text and "planted.csv" in text


def test_it_needs_a_folder_that_exists(db, tmp_path, settings):
    settings.DATA_DIR = tmp_path
    with pytest.raises(CycleError, match=f"数据目录不存在: {tmp_path / 'feeds' / MONTH}"):
        cycle_run(actor=None, month=MONTH)


# ------------------------------------------------------------------------------------------ killed half way
def _fangfan(env: dict, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fangfan.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300, **kwargs)


def _env(tmp: Path, db: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FANGFAN_CYCLE_PAUSE")}
    return {**env, "DATABASE_URL": f"sqlite:///{db}", "FANGFAN_DATA_DIR": str(tmp),
            "FANGFAN_CACHE_DIR": str(tmp / f"cache-{db.stem}"), "DJANGO_SETTINGS_MODULE": "fangfan.settings"}


def _copy_db(source: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")


def _dump(db: Path) -> dict:
    """Everything the cycle writes, by natural keys (database ids of batches may differ)."""
    con = sqlite3.connect(db)
    try:
        batches = con.execute(
            "SELECT department, period, county, file_name, sha256, rows, new_rows, skipped, matched, unmatched, "
            "warnings_raised FROM departments_feedbatch ORDER BY department, sha256").fetchall()
        rows = [(*r[:-1], json.loads(r[-1])) for r in con.execute(
            "SELECT b.sha256, r.department, r.row_number, r.id_index, r.village_code, r.row_key, r.matched, "
            "r.household_id, r.member_id, r.\"values\" FROM departments_feedrow r "
            "JOIN departments_feedbatch b ON b.id = r.batch_id ORDER BY r.department, r.row_key")]
        warnings = con.execute(
            "SELECT w.key, w.department, w.kind, w.action, w.risk_codes, w.urgent, w.detail, w.household_id, "
            "w.member_id, w.village_code, w.township_code, w.event_on, w.raised_on, w.deadline, w.state, "
            "w.monitored_when_raised, b.sha256 FROM departments_deptwarning w "
            "JOIN departments_feedbatch b ON b.id = w.batch_id ORDER BY w.key").fetchall()
        evidence = con.execute(
            "SELECT w.key, r.row_key FROM departments_deptwarning_evidence e "
            "JOIN departments_deptwarning w ON w.id = e.deptwarning_id "
            "JOIN departments_feedrow r ON r.id = e.feedrow_id ORDER BY 1, 2").fetchall()
        columns = [c[1] for c in con.execute("PRAGMA table_info(screening_screeningresult)")
                   if c[1] not in ("id", "run_id")]
        results = con.execute(f"SELECT {', '.join(columns)} FROM screening_screeningresult "
                              "ORDER BY household_id, as_of").fetchall()
        return {"batches": batches, "rows": rows, "warnings": warnings, "evidence": evidence,
                "results": results}
    finally:
        con.close()


def _batches(db: Path) -> int:
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute("SELECT count(*) FROM departments_feedbatch").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


@pytest.mark.slow
def test_it_finishes_a_cycle_killed_half_way_as_if_it_had_never_stopped(written, tmp_path):
    feeds = tmp_path / "feeds" / MONTH
    feeds.mkdir(parents=True)
    for path in (written / "departments").glob("*.csv"):
        shutil.copy(path, feeds / path.name)
    template = tmp_path / "template.sqlite3"
    env = _env(tmp_path, template)
    assert _fangfan(env, "migrate", "-v", "0").returncode == 0
    assert _fangfan(env, "import", str(written)).returncode == 0
    whole, killed = tmp_path / "whole.sqlite3", tmp_path / "killed.sqlite3"
    _copy_db(template, whole)
    _copy_db(template, killed)

    uninterrupted = _fangfan(_env(tmp_path, whole), "cycle", "--month", MONTH, "--folder", str(feeds))
    assert uninterrupted.returncode == 0, uninterrupted.stderr

    # A pause after each committed step (test-only hook) so that the kill lands half way.
    proc = subprocess.Popen([sys.executable, "-m", "fangfan.cli", "cycle", "--month", MONTH, "--folder", str(feeds)],
                            env={**_env(tmp_path, killed), "FANGFAN_CYCLE_PAUSE": "1"}, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _batches(killed) < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    done = _batches(killed)
    assert proc.returncode == -signal.SIGKILL and 1 <= done < len(DEPARTMENTS)

    rerun = _fangfan(_env(tmp_path, killed), "cycle", "--month", MONTH, "--folder", str(feeds))

    assert rerun.returncode == 0, rerun.stderr
    assert _dump(killed) == _dump(whole)
    assert rerun.stdout.count("此前已导入") == 0  # the files of the killed run count as this run's
    con = sqlite3.connect(killed)
    runs = con.execute("SELECT count(*), count(finished_at) FROM departments_cyclerun").fetchone()
    con.close()
    assert runs == (1, 1)  # the unfinished run was resumed, not a second one started


@pytest.mark.django_db
def test_it_imports_the_same_file_under_two_names_once(folder):
    shutil.copy(folder / "民政.csv", folder / "民政_副本.csv")

    run = cycle_run(actor=None, month=MONTH, folder=folder, today=TODAY)

    assert run.summary["files"]["民政.csv"]["status"] == "imported" and run.summary["rejected"] == {}
    assert run.summary["files"]["民政_副本.csv"]["status"] == "already"
    assert FeedBatch.objects.filter(department="民政").count() == 1
