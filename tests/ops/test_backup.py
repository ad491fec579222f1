"""fangfan backup / fangfan restore: a database with households, screenings and audit rows is
backed up while it is in use and restored into an empty database, where every table equals the
original row for row. A restore refuses a database that holds data unless --force."""
from __future__ import annotations

import os
import shutil
import socket
import uuid
from pathlib import Path

import pytest

from tests.ops.helpers import county_database, env_for, fangfan, sqlite_tables

COUNTY = "341225"


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A SQLite database after migrate, an import of 300 households and a screening."""
    data = tmp_path_factory.mktemp("source")
    env = env_for(data)
    county_database(env, data, COUNTY, 300, 3)
    fangfan(env, "screen", "--as-of", "2026-06-30", "-v", "0")
    return env, data / "fangfan.sqlite3"


def without_restore_audit(tables: dict) -> dict:
    """The restore records itself in the restored audit log: that one row is not the backup's."""
    rows = tables["audit_auditevent"]
    restores = [r for r in rows if "ops.restore" in r]
    assert len(restores) == 1
    tables = {**tables, "audit_auditevent": [r for r in rows if r not in restores]}
    if "sqlite_sequence" in tables:  # and moved the audit table's id counter on by one
        tables["sqlite_sequence"] = [(name, n - 1) if name == "audit_auditevent" else (name, n)
                                     for name, n in tables["sqlite_sequence"]]
    return without_cache_versions(tables)


def without_cache_versions(tables: dict) -> dict:
    """The worklists' cache versions (audit_regionversion) count writes, the restore's too: that is
    what makes every cached list recompute after a restore, so they are not compared."""
    return {name: rows for name, rows in tables.items() if name != "audit_regionversion"}


def test_it_restores_a_backup_into_an_empty_database_row_for_row(source, tmp_path):
    env, db = source
    backup = tmp_path / "fangfan-backup.db"
    done = fangfan(env, "backup", str(backup))
    assert "已备份 sqlite 数据库" in done.stdout and backup.stat().st_size > 0
    assert not list(tmp_path.glob("*.partial"))

    target = tmp_path / "empty"
    target.mkdir()
    done = fangfan(env_for(target), "restore", str(backup))
    assert "恢复 sqlite 数据库" in done.stdout
    original, restored = without_cache_versions(sqlite_tables(db)), without_restore_audit(sqlite_tables(target / "fangfan.sqlite3"))
    assert sorted(restored) == sorted(original)
    assert len(original["registry_household"]) == 300 and original["screening_screeningresult"]
    for table in original:
        assert restored[table] == original[table], f"table {table} differs after restore"
    assert "restore:" in done.stderr  # logged


def test_it_restores_into_a_freshly_migrated_database_without_force(source, tmp_path):
    env, _ = source
    backup = tmp_path / "b.db"
    fangfan(env, "backup", str(backup))
    target = tmp_path / "migrated"
    target.mkdir()
    fangfan(env_for(target), "migrate", "--no-input", "-v", "0")
    fangfan(env_for(target), "restore", str(backup))
    assert len(sqlite_tables(target / "fangfan.sqlite3")["registry_household"]) == 300


def test_it_refuses_to_restore_over_data_unless_forced(source, tmp_path):
    env, db = source
    backup = tmp_path / "b.db"
    fangfan(env, "backup", str(backup))
    target = tmp_path / "busy"
    shutil.copytree(db.parent, target, ignore=shutil.ignore_patterns("input", "cache"))
    before = sqlite_tables(target / "fangfan.sqlite3")
    done = fangfan(env_for(target), "restore", str(backup), check=False)
    assert done.returncode != 0
    assert "当前数据库不是空的" in done.stderr and "--force" in done.stderr and "registry_household" in done.stderr
    assert sqlite_tables(target / "fangfan.sqlite3") == before
    fangfan(env_for(target), "restore", str(backup), "--force")


def test_it_refuses_a_file_that_is_not_a_backup(source, tmp_path):
    env, _ = source
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"PK\x03\x04 not a database")
    done = fangfan(env_for(tmp_path), "restore", str(junk), check=False)
    assert done.returncode != 0 and "不是 fangfan 备份文件" in done.stderr
    done = fangfan(env_for(tmp_path), "restore", str(tmp_path / "missing.db"), check=False)
    assert done.returncode != 0 and "找不到备份文件" in done.stderr


# ------------------------------------------------------------------------------------ PostgreSQL
def _pg_url() -> str | None:
    url = os.environ.get("FANGFAN_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/test")
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        return None
    return url


def _pg_tables(url: str) -> dict[str, list[tuple]]:
    import psycopg

    with psycopg.connect(url) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
        tables = {}
        for name in names:
            rows = conn.execute(f'SELECT * FROM "{name}"').fetchall()
            tables[name] = sorted(rows, key=repr)
        return tables


@pytest.fixture
def pg_databases():
    import psycopg

    url = _pg_url()
    if url is None or shutil.which("pg_dump") is None:
        pytest.skip("PostgreSQL (127.0.0.1:5432) or pg_dump not available")
    base = url.rsplit("/", 1)[0]
    names = [f"fangfan_ops_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("src", "dst")]
    with psycopg.connect(url, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    yield [f"{base}/{name}" for name in names]
    with psycopg.connect(url, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_it_restores_a_postgresql_backup_into_an_empty_database_row_for_row(pg_databases, tmp_path):
    src, dst = pg_databases
    env = env_for(tmp_path, DATABASE_URL=src)
    county_database(env, tmp_path, COUNTY, 200, 4)
    fangfan(env, "screen", "--as-of", "2026-06-30", "-v", "0")
    backup = tmp_path / "pg.dump"
    assert "已备份 postgresql 数据库" in fangfan(env, "backup", str(backup)).stdout
    assert backup.read_bytes()[:5] == b"PGDMP"

    target = env_for(tmp_path, DATABASE_URL=dst)
    fangfan(target, "restore", str(backup))
    original, restored = without_cache_versions(_pg_tables(src)), without_restore_audit(_pg_tables(dst))
    assert sorted(restored) == sorted(original) and len(original["registry_household"]) == 200
    for table in original:
        assert restored[table] == original[table], f"table {table} differs after restore"
    # Over data: refused without --force.
    done = fangfan(target, "restore", str(backup), check=False)
    assert done.returncode != 0 and "当前数据库不是空的" in done.stderr
