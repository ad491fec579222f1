"""Whole-database backup and restore, for the configured database.

SQLite: the online backup API (sqlite3.Connection.backup), a consistent copy while the server
and imports keep running. PostgreSQL: pg_dump -Fc (custom format, consistent as one snapshot)
and pg_restore --clean --single-transaction (all or nothing) into the configured database.
The backup is written to FILE.partial and renamed when complete, so a killed backup never
leaves a FILE that looks whole. A restore refuses a database that already holds data unless
forced, and records itself in the audit log of the restored database."""
from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from django.db import connection

log = logging.getLogger("fangfan.ops")

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
# Tables that `migrate` fills by itself: rows there do not make a database "not empty".
BOOKKEEPING = frozenset({"django_migrations", "django_content_type", "auth_permission", "django_session",
                         "sqlite_sequence"})


class OpsError(Exception):
    """A backup or restore that cannot be done; the message is for the operator (Chinese)."""


@dataclass
class Outcome:
    path: Path
    vendor: str
    bytes: int
    seconds: float


def vendor() -> str:
    if connection.vendor not in ("sqlite", "postgresql"):
        raise OpsError(f"不支持的数据库类型: {connection.vendor}(只支持 SQLite 和 PostgreSQL)")
    return connection.vendor


# ------------------------------------------------------------------------------------------ backup
def backup(path: str | Path) -> Outcome:
    path = Path(path)
    if path.is_dir():
        raise OpsError(f"{path} 是文件夹, 请给出备份文件名(如 {path / 'fangfan-backup.db'})")
    if not path.parent.exists():
        raise OpsError(f"文件夹不存在: {path.parent}")
    started = time.perf_counter()
    kind = vendor()
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if kind == "sqlite":
            _sqlite_backup(partial)
        else:
            _pg_dump(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    out = Outcome(path, kind, path.stat().st_size, time.perf_counter() - started)
    log.warning("backup: %s database → %s (%d bytes, %.1fs)", kind, path, out.bytes, out.seconds)
    return out


def _sqlite_backup(target: Path) -> None:
    connection.ensure_connection()
    dst = sqlite3.connect(target)
    try:
        # Copied in steps of 4096 pages so a busy server is not held up for the whole copy.
        connection.connection.backup(dst, pages=4096)
        # A self-contained file: the copy is not left in WAL mode (no -wal/-shm files needed).
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()


def _pg_dump(target: Path) -> None:
    settings = connection.settings_dict
    _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(target),
          "--dbname", settings["NAME"]], settings, "pg_dump")


# ----------------------------------------------------------------------------------------- restore
def occupied_tables() -> list[str]:
    """The tables of the configured database that hold rows of their own (not what `migrate`
    writes by itself)."""
    names = [t for t in connection.introspection.table_names() if t not in BOOKKEEPING]
    quote = connection.ops.quote_name
    occupied = []
    with connection.cursor() as cursor:
        for table in names:
            cursor.execute(f"SELECT 1 FROM {quote(table)} LIMIT 1")
            if cursor.fetchone() is not None:
                occupied.append(table)
    return occupied


def restore(path: str | Path, *, force: bool = False) -> Outcome:
    path = Path(path)
    if not path.is_file():
        raise OpsError(f"找不到备份文件: {path}")
    kind = vendor()
    with path.open("rb") as f:
        head = f.read(16)
    found = "sqlite" if head.startswith(SQLITE_MAGIC) else "postgresql" if head.startswith(PG_MAGIC) else None
    if found is None:
        raise OpsError(f"{path} 不是 fangfan 备份文件(既不是 SQLite 数据库, 也不是 pg_dump -Fc 备份)")
    if found != kind:
        names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
        raise OpsError(f"{path} 是 {names[found]} 备份, 而当前配置的数据库是 {names[kind]}: 不能恢复到不同类型的数据库")
    occupied = occupied_tables()
    if occupied and not force:
        shown = "、".join(occupied[:8]) + (f" 等 {len(occupied)} 张表" if len(occupied) > 8 else "")
        raise OpsError(f"当前数据库不是空的({shown} 中已有数据); 恢复会覆盖全部现有数据。"
                       f"确认要覆盖时请加 --force(建议先用 fangfan backup 备份当前数据)")
    started = time.perf_counter()
    if kind == "sqlite":
        _sqlite_restore(path)
    else:
        _pg_restore(path)
    seconds = time.perf_counter() - started
    from fangfan.audit.services import audit_record

    audit_record(actor=None, action="ops.restore", object_type="database", object_key=path.name,
                 after={"file": str(path.resolve()), "bytes": path.stat().st_size, "overwrote": occupied,
                        "forced": bool(force)})
    log.warning("restore: %s → %s database (%.1fs, overwrote %d tables with data)", path, kind, seconds,
                len(occupied))
    return Outcome(path, kind, path.stat().st_size, seconds)


def _sqlite_restore(path: Path) -> None:
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        check = src.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise OpsError(f"备份文件已损坏, 未恢复任何数据: {check}")
        if not src.execute("SELECT 1 FROM sqlite_master WHERE name='django_migrations'").fetchone():
            raise OpsError(f"{path} 不是 fangfan 数据库的备份(没有 django_migrations 表)")
        connection.ensure_connection()
        # Page by page over the live database in one step: other connections see the old or
        # the new database, never a mix (the backup API takes the write lock for the copy).
        src.backup(connection.connection)
    finally:
        src.close()
    connection.close()  # the next query reopens the file with its usual pragmas (WAL)


def _pg_restore(path: Path) -> None:
    settings = connection.settings_dict
    connection.close()
    # --single-transaction: a failure half way changes nothing; --clean --if-exists drops what
    # the backup holds before recreating it.
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
          "--exit-on-error", "--dbname", settings["NAME"], str(path)], settings, "pg_restore")


def _run(command: list[str], settings: dict, label: str) -> None:
    if shutil.which(command[0]) is None:
        raise OpsError(f"找不到 {command[0]}: 请安装 PostgreSQL 客户端(apt-get install postgresql-client)")
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if settings.get(key):
            env[var] = str(settings[key])
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise OpsError(f"{label} 失败(退出码 {done.returncode}): {done.stderr.strip()[-2000:]}")
