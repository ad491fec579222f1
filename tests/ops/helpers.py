"""Real `fangfan` processes against a database of their own (a SQLite file in a temporary data
folder), for the backup, restore and kill tests."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def env_for(data_dir: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FANGFAN_", "DJANGO_", "DATABASE_URL"))}
    env.update({"FANGFAN_DATA_DIR": str(data_dir), "FANGFAN_SECRET_KEY": "k" * 60, "TMPDIR": str(data_dir)})
    env.update(extra)
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "fangfan.cli", *args]


def fangfan(env: dict, *args: str, check: bool = True, timeout: int = 300) -> subprocess.CompletedProcess:
    done = subprocess.run(command(*args), env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"fangfan {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def county_database(env: dict, folder: Path, county: str, households: int, seed: int, *, imported: bool = True) -> None:
    """The database of `env` migrated, a generated county in folder/input and (imported) its import."""
    fangfan(env, "migrate", "--no-input", "-v", "0")
    fangfan(env, "generate", str(folder / "input"), "--county", county, "--households", str(households), "--seed", str(seed))
    if imported:
        fangfan(env, "import", str(folder / "input"), "-v", "0")


def sqlite_tables(path: Path) -> dict[str, list[tuple]]:
    """Every table of a SQLite database, its rows in rowid order."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {name: db.execute(f'SELECT * FROM "{name}" ORDER BY rowid').fetchall() for name in names}
    finally:
        db.close()


def count(path: Path, table: str) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    finally:
        db.close()
