"""Import benchmark: a generated county into SQLite and PostgreSQL.

    python bench/import_bench.py --households 100000 [--seed 1] [--databases sqlite,postgres]

For each database, in a fresh child process (so its peak RSS is its own): migrate an empty
database, import the county (timed: files read, validated, diffed and written), then import
the same files again (timed: nothing may change). Baseline in the same run: the plain Django
ORM path (bulk_create of model instances) for the same members, to show what the COPY/Polars
path buys. Targets (issue 2): ≥ 50,000 member rows/s into PostgreSQL, ≤ 2 GB peak RSS.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"


def generate(households: int, seed: int) -> Path:
    folder = OUT / f"county-{households}-{seed}"
    if not (folder / "households.csv").exists():
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "fangfan.cli", "generate", str(folder), "--county", "341225",
             "--households", str(households), "--seed", str(seed)],
            check=True, cwd=ROOT,
        )
        print(f"generated {households} households in {time.perf_counter() - t0:.1f}s → {folder}")
    return folder


def child(db_url: str, path: str, baseline: bool) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangfan.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    result: dict = {}
    if baseline:
        result.update(orm_baseline(path))
    else:
        from fangfan.registry.services import registry_import

        t0 = time.perf_counter()
        summary = registry_import(actor=None, path=path)
        result["first_seconds"] = time.perf_counter() - t0
        result["rows"] = summary.rows_read
        t0 = time.perf_counter()
        again = registry_import(actor=None, path=path)
        result["again_seconds"] = time.perf_counter() - t0
        result["again_changed"] = again.changed
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


def orm_baseline(path: str, limit: int = 30_000) -> dict:
    """The straightforward ORM way: model instances and bulk_create, first `limit` members."""
    import csv

    from django.db import transaction

    from fangfan.common.ids import birth_date, sex
    from fangfan.regions.models import Region
    from fangfan.registry.models import Household, Member

    with open(Path(path) / "households.csv", encoding="utf-8") as fh:
        households = list(csv.DictReader(fh))
    with open(Path(path) / "members.csv", encoding="utf-8") as fh:
        members = [row for _, row in zip(range(limit), csv.DictReader(fh))]
    wanted = {m["户编号"] for m in members}
    t0 = time.perf_counter()
    with transaction.atomic():
        for code in sorted({h["村代码"] for h in households if h["户编号"] in wanted}):
            Region.objects.get_or_create(code=code, defaults={"level": "village"})
        objs = [
            Household(household_number=h["户编号"], village_id=h["村代码"],
                      household_type="lifted" if h["户类型"] == "脱贫户" else "ordinary",
                      housing_safe=h["住房安全"] == "是", water_safe=h["饮水安全"] == "是")
            for h in households if h["户编号"] in wanted
        ]
        Household.objects.bulk_create(objs, batch_size=2000)
        ids = dict(Household.objects.values_list("household_number", "id"))
        Member.objects.bulk_create(
            [Member(household_id=ids[m["户编号"]], name=m["姓名"], id_number=m["证件号码"],
                    birth_date=birth_date(m["证件号码"]), sex=sex(m["证件号码"]), relation="head")
             for m in members],
            batch_size=2000,
        )
    seconds = time.perf_counter() - t0
    return {"baseline_members": len(members), "baseline_seconds": seconds}


def run_child(db_url: str, path: Path, baseline: bool = False) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", "--db", db_url, "--path", str(path)] + (["--baseline"] if baseline else []),
        capture_output=True, text=True, cwd=ROOT,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise SystemExit(f"benchmark child failed:\n{proc.stdout}\n{proc.stderr}")


def fresh_database(kind: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix='ffbench-')}/bench.sqlite3"
    import psycopg

    with psycopg.connect(PG_ADMIN.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS fangfan_bench")
        conn.execute("CREATE DATABASE fangfan_bench")
    return "postgres://postgres@127.0.0.1:5432/fangfan_bench"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--db")
    parser.add_argument("--path")
    args = parser.parse_args()
    if args.child:
        child(args.db, args.path, args.baseline)
        return
    folder = generate(args.households, args.seed)
    print(f"{'database':<10} {'members':>9} {'rows':>9} {'import s':>9} {'members/s':>10} {'rows/s':>9} "
          f"{'re-import s':>11} {'peak RSS MB':>11} | {'ORM baseline members/s':>22}")
    for kind in args.databases.split(","):
        result = run_child(fresh_database(kind), folder)
        base = run_child(fresh_database(kind), folder, baseline=True)
        members = result["rows"]["members"]
        total = sum(result["rows"].values())
        base_rate = base["baseline_members"] / base["baseline_seconds"]
        print(f"{kind:<10} {members:>9} {total:>9} {result['first_seconds']:>9.1f} "
              f"{members / result['first_seconds']:>10.0f} {total / result['first_seconds']:>9.0f} "
              f"{result['again_seconds']:>11.1f} {result['peak_rss_mb']:>11.0f} | {base_rate:>22.0f}"
              + ("" if not result["again_changed"] else "  (re-import CHANGED data!)"))


if __name__ == "__main__":
    main()
