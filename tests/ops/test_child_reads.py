"""On a SQLite file, a region's registry read by child processes (registry.sqlite_arrow, from
FANGFAN_CHILD_READ_HOUSEHOLDS households on) is the registry read through Django, frame for frame,
and the screening stores the same results either way."""
from __future__ import annotations

import pytest

from tests.ops.helpers import ROOT, county_database, env_for, fangfan

COUNTY = "341225"
DUMP = """
import sys, django
django.setup()
from fangfan.registry import dbframes, sqlite_arrow
calls = []
real = sqlite_arrow.fetch_tables
sqlite_arrow.fetch_tables = lambda *a: calls.append(1) or real(*a)
for prefix in ("", "341225", "341225100"):
    for name, frame in dbframes.read_tables(prefix).items():
        frame.write_parquet(f"{sys.argv[1]}/{prefix or 'all'}_{name}.parquet")
print("children" if calls else "django")
"""


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    data = tmp_path_factory.mktemp("child-reads")
    env = env_for(data)
    county_database(env, data, COUNTY, 1500, 3)
    return env, data


def _dump(env: dict, out, households: str) -> str:
    import subprocess
    import sys

    out.mkdir()
    done = subprocess.run([sys.executable, "-c", DUMP, str(out)], env={**env, "DJANGO_SETTINGS_MODULE": "fangfan.settings",
                          "FANGFAN_CHILD_READ_HOUSEHOLDS": households}, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_it_reads_the_same_registry_in_child_processes_as_through_django(county, tmp_path):
    import polars as pl

    env, _ = county

    assert _dump(env, tmp_path / "children", "0") == "children"
    assert _dump(env, tmp_path / "django", "1000000000") == "django"

    files = sorted(p.name for p in (tmp_path / "django").iterdir())
    assert len(files) == 12
    for name in files:
        children, django = pl.read_parquet(tmp_path / "children" / name), pl.read_parquet(tmp_path / "django" / name)
        assert children.height > 0 and children.equals(django), name


def test_it_screens_alike_with_either_reading(county):
    import sqlite3

    env, data = county
    fangfan({**env, "FANGFAN_CHILD_READ_HOUSEHOLDS": "0"}, "screen", "--as-of", "2026-06-30", "-v", "0")
    fangfan({**env, "FANGFAN_CHILD_READ_HOUSEHOLDS": "1000000000"}, "screen", "--as-of", "2026-06-30", "-v", "0")

    db = sqlite3.connect(data / "fangfan.sqlite3")
    try:
        runs = [r[0] for r in db.execute("SELECT summary FROM screening_screeningrun ORDER BY id")]
        results = db.execute("SELECT count(*) FROM screening_screeningresult").fetchone()[0]
    finally:
        db.close()
    # The second screening, reading through Django, found nothing to change: no second run.
    assert len(runs) == 1 and '"created": 1500' in runs[0] and results == 1500
