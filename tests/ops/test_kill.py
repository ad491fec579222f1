"""A real `fangfan import` and a real `fangfan screen`, killed with SIGKILL while inside their
transaction, leave no partial data (every row count as before) and run again to completion; a
killed partitioned import leaves its spill folder (names and ID numbers), which the next run
removes."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.ops.helpers import ROOT, command, count, county_database, env_for, fangfan, sqlite_tables

COUNTY = "341225"
TABLES = ("registry_household", "registry_member", "regions_region", "registry_importbatch", "audit_auditevent",
          "screening_screeningresult", "screening_screeningrun")


def counts(db: Path) -> dict[str, int]:
    tables = {t for t in sqlite_tables_names(db)}
    return {t: count(db, t) for t in TABLES if t in tables}


def sqlite_tables_names(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    finally:
        conn.close()


def in_write_transaction(db: Path) -> bool:
    """True while another connection holds the database's write lock, i.e. is inside a write
    transaction: our BEGIN IMMEDIATE cannot start (and is rolled back at once when it can)."""
    conn = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return True
        raise
    finally:
        conn.close()


def kill_inside_transaction(env: dict, db: Path, *args: str, timeout: float = 120) -> None:
    process = subprocess.Popen(command(*args), env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    try:
        while not in_write_transaction(db):
            if process.poll() is not None:
                pytest.fail(f"fangfan {' '.join(args)} ended ({process.returncode}) before it was caught inside "
                            f"its transaction: {process.stderr.read()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"fangfan {' '.join(args)} never started a write transaction")
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    data = tmp_path_factory.mktemp("kill")
    # The screening reads its registry in child processes (as for a county of 20,000 households and
    # more): a killed run and its rerun must leave the file sound.
    env = env_for(data, FANGFAN_CHILD_READ_HOUSEHOLDS="0")
    county_database(env, data, COUNTY, 4000, 5, imported=False)
    return env, data, data / "fangfan.sqlite3"


def test_it_leaves_no_partial_import_after_sigkill_and_a_rerun_completes(county):
    env, data, db = county
    before = counts(db)
    kill_inside_transaction(env, db, "import", str(data / "input"), "-v", "0")
    assert counts(db) == before
    fangfan(env, "import", str(data / "input"), "-v", "0")
    after = counts(db)
    assert after["registry_household"] == before["registry_household"] + 4000
    assert after["registry_importbatch"] == before["registry_importbatch"] + 1


def test_it_leaves_no_partial_screening_after_sigkill_and_a_rerun_completes(county):
    env, data, db = county
    if counts(db)["registry_household"] == 0:
        fangfan(env, "import", str(data / "input"), "-v", "0")
    before = counts(db)
    kill_inside_transaction(env, db, "screen", "--as-of", "2026-06-30", "-v", "0")
    assert counts(db) == before
    fangfan(env, "screen", "--as-of", "2026-06-30", "-v", "0")
    after = counts(db)
    assert after["screening_screeningresult"] == before["screening_screeningresult"] + before["registry_household"]
    assert after["screening_screeningrun"] == before["screening_screeningrun"] + 1


def spills(folder: Path) -> list[Path]:
    return sorted(folder.glob("fangfan-parts-*"))


def test_it_removes_the_spill_of_a_killed_partitioned_import_at_the_next_run(tmp_path):
    env = env_for(tmp_path)
    fangfan(env, "migrate", "--no-input", "-v", "0")
    parts = tmp_path / "city"
    for n, code in enumerate(("341225", "341226")):
        fangfan(env, "generate", str(parts / code), "--county", code, "--households", "1500", "--seed", str(n))
    process = subprocess.Popen(command("import", str(parts), "--check", "-v", "0"), env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not spills(tmp_path) or not list(spills(tmp_path)[0].rglob("*.arrow")):
        assert process.poll() is None, "the import ended before it spilled"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    left = spills(tmp_path)
    assert len(left) == 1 and left[0].name.startswith(f"fangfan-parts-{process.pid}-")

    # (The generated counties share a few migrants' IDs, so the check reports problems: what
    # matters here is the spill, not the outcome.)
    done = fangfan(env, "import", str(parts), "--check", "-v", "0", check=False)
    assert f"removed 1 spill folders left by killed runs: {left[0].name}" in done.stderr
    assert spills(tmp_path) == []  # the leftover removed, and the new run's own spill too


def test_it_keeps_the_spill_of_a_run_still_going(tmp_path):
    import psutil

    from fangfan.registry.interchange.parts import remove_stale_spills

    me = psutil.Process()
    mine = tmp_path / f"fangfan-parts-{os.getpid()}-{int(me.create_time())}-abc"
    reused_pid = tmp_path / f"fangfan-parts-{os.getpid()}-{int(me.create_time()) - 1000}-abc"
    gone = tmp_path / "fangfan-parts-999999999-1-abc"
    for folder in (mine, reused_pid, gone):
        folder.mkdir()
    removed = remove_stale_spills(tmp_path)
    assert sorted(removed) == sorted([reused_pid, gone])
    assert spills(tmp_path) == [mine]
