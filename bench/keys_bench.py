"""Key rotation on 1,000,000 members (issue 11 item 2), and the migration that encrypted them.

    python bench/keys_bench.py [--members 1000000] [--databases postgres,sqlite] [--batch 20000]
                               [--baseline 30000] [--reuse] [--db fangfan_keysbench]

Per database (PostgreSQL `fangfan_keysbench`, SQLite bench/out/keysbench/keys.sqlite3), each step
in a child process of its own (its peak RSS read with os.wait4):

1. **fill**: the schema as it was before encryption (`migrate registry 0005`), then the plain
   rows written straight into it (COPY / executemany): one household per 3 members, each with a
   phone, every member with a plain 18-character ID (not a valid one: the migration does not
   care). Not a figure, only the set-up.
2. **migration**: `migrate registry 0006`, the step that encrypted existing databases: the
   timed part is its data step (index and encrypt every ID and phone, written back in batches);
   the whole migration (adding and dropping columns, the unique index on id_index) is printed
   too. Then `migrate` for the rest.
3. **baseline**: the naive rotation, the Django ORM way: `--baseline` members read as model
   instances, decrypted and encrypted one by one, saved with `bulk_update(batch_size=1000)`
   (CASE WHEN per row); members/s extrapolated to all members.
4. **rotation**: `fangfan keys rotate --batch N`, the real command (Django start-up included):
   a new key, then every member ID and household phone re-encrypted under it.

`--reuse` keeps an existing database (steps 1-2 skipped); every run of the rotation is a full one
(a new key each time). Prints members, values, seconds, members/s and peak RSS per step.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "keysbench"
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
BEFORE = "0005_measure_unique_content"
VILLAGE = "610902103208"
CHUNK = 200_000


# ------------------------------------------------------------------------------------- children
def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangfan.settings")
    import django

    django.setup()


def _complete(table: str, frame):
    """`frame` plus a plain value for every NOT NULL column without a default it lacks."""
    import polars as pl
    from django.db import connection

    with connection.cursor() as cursor:
        columns = connection.introspection.get_table_description(cursor, table)
    extra = []
    for col in columns:
        if col.name in frame.columns or col.null_ok or col.default is not None or col.name == "id":
            continue
        kind = connection.introspection.get_field_type(col.type_code, col)
        if col.name == "extra" or kind == "JSONField":
            extra.append(pl.lit("{}").alias(col.name))
        elif kind == "BooleanField":
            extra.append(pl.lit(False).alias(col.name))
        elif kind == "DateField":
            extra.append(pl.lit(dt.date(1980, 1, 1)).alias(col.name))
        elif kind == "DateTimeField":
            extra.append(pl.lit(dt.datetime(2026, 1, 1)).alias(col.name))
        elif "Integer" in kind or kind in ("AutoField", "BigAutoField", "DecimalField", "FloatField"):
            extra.append(pl.lit(0).alias(col.name))
        else:
            extra.append(pl.lit("").alias(col.name))
    return frame.with_columns(extra) if extra else frame


def child_fill(members: int) -> dict:
    """Plain rows into the schema of registry 0005 (already migrated by the parent)."""
    _django()
    import polars as pl
    from django.db import connection, transaction

    from fangfan.registry.bulk import bulk_insert

    t0 = time.perf_counter()
    households = (members + 2) // 3
    chain = [VILLAGE[:n].ljust(12, "0") for n in (2, 4, 6, 9)] + [VILLAGE]
    levels = ["province", "city", "county", "township", "village"]
    with transaction.atomic():
        regions = pl.DataFrame({"code": chain, "level": levels, "name": ["", "", "", "", "测试村"],
                                "parent_id": [None, *chain[:-1]]})
        bulk_insert("regions_region", _complete("regions_region", regions))
        for start in range(0, households, CHUNK):
            ids = pl.int_range(start + 1, min(start + CHUNK, households) + 1, eager=True, dtype=pl.Int64)
            frame = pl.DataFrame({"id": ids}).with_columns(
                pl.format("B{}", ids.cast(pl.String).str.zfill(9)).alias("household_number"),
                pl.lit(VILLAGE).alias("village_code"),
                pl.lit("lifted").alias("household_type"),
                pl.format("138{}", ids.cast(pl.String).str.zfill(8)).alias("phone"),
                pl.lit(True).alias("housing_safe"),
                pl.lit(True).alias("water_safe"),
            )
            bulk_insert("registry_household", _complete("registry_household", frame))
        for start in range(0, members, CHUNK):
            ids = pl.int_range(start + 1, min(start + CHUNK, members) + 1, eager=True, dtype=pl.Int64)
            frame = pl.DataFrame({"id": ids}).with_columns(
                ((ids - 1) // 3 + 1).alias("household_id"),
                pl.format("成员{}", ids.cast(pl.String)).alias("name"),
                pl.format("6109021{}X", ids.cast(pl.String).str.zfill(10)).alias("id_number"),
                pl.lit(dt.date(1980, 1, 1)).alias("birth_date"),
                pl.lit("M").alias("sex"),
                pl.lit("head").alias("relation"),
            )
            bulk_insert("registry_member", _complete("registry_member", frame))
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for table in ("registry_household", "registry_member"):
                    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    return {"seconds": time.perf_counter() - t0, "households": households, "members": members}


def child_migrate() -> dict:
    """`migrate registry 0006` with its data step timed on its own."""
    _django()
    import importlib

    from django.core.management import call_command
    from django.db import migrations

    module = importlib.import_module("fangfan.registry.migrations.0006_personal_data_encrypted")
    timing = {}
    for op in module.Migration.operations:
        if isinstance(op, migrations.RunPython):
            code = op.code

            def timed(apps, schema_editor, code=code):
                t0 = time.perf_counter()
                code(apps, schema_editor)
                timing["data_step_seconds"] = time.perf_counter() - t0

            op.code = timed
    t0 = time.perf_counter()
    call_command("migrate", "registry", "0006", verbosity=0)
    timing["migration_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    timing["rest_seconds"] = time.perf_counter() - t0
    return timing


def child_baseline(count: int) -> dict:
    """The ORM way: instances, one value at a time, bulk_update (CASE WHEN)."""
    _django()
    from django.db import transaction

    from fangfan.common import pii
    from fangfan.registry.models import Member

    ring = pii.keyring()
    t0 = time.perf_counter()
    with transaction.atomic():
        members = list(Member.objects.order_by("pk").only("pk", "id_cipher")[:count])
        for m in members:
            m.id_cipher = ring.encrypt(ring.decrypt(m.id_cipher, pii.ID_FIELD), pii.ID_FIELD)
        Member.objects.bulk_update(members, ["id_cipher"], batch_size=1000)
    return {"seconds": time.perf_counter() - t0, "members": len(members), "total": Member.objects.count()}


def child_count() -> dict:
    _django()
    from django.db import connection

    with connection.cursor() as cursor:
        try:
            cursor.execute("SELECT count(*) FROM registry_member WHERE id_cipher <> ''")
            return {"members": cursor.fetchone()[0]}
        except Exception:  # noqa: BLE001 - not migrated
            return {"members": 0}


# --------------------------------------------------------------------------------------- parent
def run_rss(argv: list[str], env: dict, label: str) -> tuple[dict, float, float, str]:
    """A child (output kept in bench/out/keysbench/<label>.out/.err): its RESULT line as a dict,
    wall seconds, its own peak RSS in MB (os.wait4 on its pid) and its output."""
    t0 = time.perf_counter()
    out_path, err_path = OUT / f"{label}.out", OUT / f"{label}.err"
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    text = out_path.read_text()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{label} failed:\n{text}\n{err_path.read_text()[-4000:]}")
    result = {}
    for line in text.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
    return result, seconds, usage.ru_maxrss / 1024, text


def child_argv(step: str, *args: str) -> list[str]:
    return [sys.executable, __file__, "--child", step, *args]


def fangfan_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "fangfan.cli", *args]


def environment(db_url: str, key_file: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FANGFAN_", "DJANGO_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": db_url, "FANGFAN_DATA_DIR": str(OUT / "data"), "FANGFAN_PII_KEY_FILE": str(key_file),
                "FANGFAN_SECRET_KEY": "b" * 60, "PYTHONPATH": str(ROOT)})
    return env


def fresh_postgres(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def postgres_exists(name: str) -> bool:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def bench(vendor: str, args) -> list[tuple]:
    rows: list[tuple] = []
    OUT.mkdir(parents=True, exist_ok=True)
    key_file = OUT / f"pii_keys_{vendor}.json"
    if vendor == "postgres":
        db_url = f"postgres://postgres@127.0.0.1:5432/{args.db}"
        exists = postgres_exists(args.db)
    else:
        path = OUT / "keys.sqlite3"
        db_url = f"sqlite:///{path}"
        exists = path.exists()
    env = environment(db_url, key_file)
    members = 0
    if args.reuse and exists and key_file.exists():
        members = run_rss(child_argv("count"), env, f"{vendor}-count")[0]["members"]
    if members != args.members:
        if vendor == "postgres":
            fresh_postgres(args.db)
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        key_file.unlink(missing_ok=True)
        run_rss(fangfan_argv("keys", "init"), env, f"{vendor}-init")
        run_rss(fangfan_argv("migrate", "registry", BEFORE, "-v0"), env, f"{vendor}-migrate0005")
        fill, seconds, rss, _ = run_rss(child_argv("fill", str(args.members)), env, f"{vendor}-fill")
        print(f"[{vendor}] {fill['members']:,} plain members in {fill['households']:,} households written in "
              f"{seconds:.1f}s (set-up)", flush=True)
        timing, seconds, rss, _ = run_rss(child_argv("migrate"), env, f"{vendor}-migrate")
        n = args.members
        rows.append((vendor, "migration 0006 data step (index + encrypt IDs, encrypt phones)", n,
                     timing["data_step_seconds"], rss))
        rows.append((vendor, "migration 0006 whole (columns, data, unique index)", n, timing["migration_seconds"], rss))
        print(f"[{vendor}] migration 0006: data step {timing['data_step_seconds']:.1f}s, whole "
              f"{timing['migration_seconds']:.1f}s; other migrations {timing['rest_seconds']:.1f}s", flush=True)
    else:
        print(f"[{vendor}] reusing {members:,} members", flush=True)
    base, seconds, rss, _ = run_rss(child_argv("baseline", str(args.baseline)), env, f"{vendor}-baseline")
    per_second = base["members"] / base["seconds"]
    rows.append((vendor, f"naive: ORM + bulk_update, {base['members']:,} members extrapolated", args.members,
                 args.members / per_second, rss))
    print(f"[{vendor}] baseline: {base['members']:,} members in {base['seconds']:.1f}s ({per_second:,.0f}/s)", flush=True)
    _, seconds, rss, out = run_rss(fangfan_argv("keys", "rotate", "--batch", str(args.batch)), env, f"{vendor}-rotate")
    total = int(re.search(r"重新加密 ([\d,]+) 个值", out).group(1).replace(",", ""))
    rows.append((vendor, f"fangfan keys rotate --batch {args.batch} ({total:,} values)", args.members, seconds, rss))
    print(f"[{vendor}] rotation: {total:,} values in {seconds:.1f}s\n{out.strip()}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--databases", default="postgres,sqlite")
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--baseline", type=int, default=30_000)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--db", default="fangfan_keysbench")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.child:
        step = {"fill": lambda: child_fill(int(rest[0])), "migrate": child_migrate,
                "baseline": lambda: child_baseline(int(rest[0])), "count": child_count}[args.child]
        print("RESULT " + json.dumps(step()), flush=True)
        return
    print(f"load before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores", flush=True)
    rows = []
    for vendor in args.databases.split(","):
        rows += bench(vendor, args)
    print(f"\n{'database':<9} {'what':<68} {'members':>10} {'seconds':>8} {'members/s':>10} {'peak RSS':>9}")
    for vendor, what, n, seconds, rss in rows:
        print(f"{vendor:<9} {what:<68} {n:>10,} {seconds:>8.1f} {n / seconds:>10,.0f} {rss:>7.0f}MB")
    print(f"load after: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
