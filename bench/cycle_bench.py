"""Monthly cycle benchmark (issue 10): one county of 100,000 households with its twelve department
feeds (≈ 250,000 rows) through one `fangfan cycle` on SQLite and on PostgreSQL.

    python bench/cycle_bench.py [--households 100000] [--county 341225] [--seed 1]
                                [--feed-rows 250000] [--month 2026-03] [--databases sqlite,postgres]
                                [--baseline-rows 20000] [--profile]

Data: `fangfan generate` writes the county and its feeds once (bench/out/cycle_<county>_<N>_s<seed>);
the generator's feeds hold ≈ 1.1 rows per household, so the feed folder of the cycle
(bench/out/cyclefeeds_<county>_<N>_s<seed>_<rows>/) takes them as they are and adds to each dated
feed (all but 金融, 市场监管) copies of its rows with the date moved back a week per copy (a
settlement, a registration or an appraisal of another week: new rows, matched like the
originals) until the folder holds --feed-rows rows.

Databases: the county is imported once into a template per database (bench/out/cyclebench_<tag>.sqlite3,
PostgreSQL database fangfan_cyclebench_<tag>), reused by later runs; each measurement starts from
a fresh copy of it (a file copy, CREATE DATABASE … TEMPLATE), so every cycle imports every feed.

Timed, each in its own child process (wall time of the whole command, Django start-up included;
peak RSS of that process):

- **cycle**: `fangfan cycle --month M --folder F` (import + match + warnings of the twelve feeds,
  screening of the registry, visit and deadline lists);
- **again**: the same command straight after: nothing may change (it must say so);
- **baseline** (naive, same run, same fresh copy): each feed read by the same reader, then per
  row `Member.objects.filter(id_index=…).first()` (水利: the village's first household), a
  check that the row was not imported before and `FeedRow.objects.create(…)` (the ID encrypted
  per row), one transaction
  per file; no warnings, no screening. It runs on the first --baseline-rows rows (spread over
  the feeds in proportion) and its time for all rows is the reading time plus the rows at the
  measured per-row rate.

Target (issue 10): the cycle in ≤ 30 s on each database on this 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
TARGET_SECONDS = 30.0
UNDATED = ("金融", "市场监管", "水利")  # copies of these would be the same rows (skipped), or 水利's 20 villages


# ------------------------------------------------------------------------------------------ data
def generate(county: str, households: int, seed: int) -> Path:
    folder = OUT / f"cycle_{county}_{households}_s{seed}"
    if not (folder / "departments" / "planted.csv").exists():
        OUT.mkdir(exist_ok=True)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "fangfan.cli", "generate", str(folder), "--county", county,
                        "--households", str(households), "--seed", str(seed)], check=True, cwd=ROOT)
        print(f"generated {households:,} households in {time.perf_counter() - t0:.1f} s → {folder}")
    return folder


def pad_feeds(folder: Path, target: int) -> Path:
    """The cycle's feed folder: the generated feeds plus week-shifted copies of the dated ones."""
    import polars as pl

    sys.path.insert(0, str(ROOT))
    from fangfan.departments.feeds import SPECS

    out = OUT / f"{folder.name.replace('cycle_', 'cyclefeeds_')}_{target}"
    if out.exists():
        return out
    source = folder / "departments"
    frames = {p.stem: pl.read_csv(p, infer_schema_length=0) for p in sorted(source.glob("*.csv")) if p.stem != "planted"}
    fixed = sum(f.height for d, f in frames.items() if d in UNDATED)
    dated = sum(f.height for d, f in frames.items() if d not in UNDATED)
    factor = max(1.0, (target - fixed) / dated)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    total = 0
    for department, frame in frames.items():
        if department not in UNDATED:
            column = SPECS[department].dates[0]
            wanted = round(frame.height * factor)
            parts, have, week = [frame], frame.height, 1
            while have < wanted:
                take = frame.head(wanted - have).with_columns(
                    (pl.col(column).str.to_date("%Y-%m-%d", strict=False) - pl.duration(days=7 * week))
                    .dt.strftime("%Y-%m-%d").fill_null(pl.col(column)).alias(column))
                parts.append(take)
                have += take.height
                week += 1
            frame = pl.concat(parts)
        frame.write_csv(tmp / f"{department}.csv")
        total += frame.height
    tmp.rename(out)
    print(f"feed folder: {total:,} rows in {len(frames)} files → {out}")
    return out


# ------------------------------------------------------------------------------------------ databases
def _tag(county: str, households: int, seed: int) -> str:
    return f"{county}_{households}_s{seed}"


def template_url(kind: str, tag: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{OUT / f'cyclebench_{tag}.sqlite3'}"
    return f"{PG_SERVER}/fangfan_cyclebench_{tag}"


def _pg(sql: str, *args) -> list:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres".replace("postgres://", "postgresql://"), autocommit=True) as conn:
        cur = conn.execute(sql, args or None)
        return cur.fetchall() if cur.description else []


def ensure_template(kind: str, tag: str) -> str:
    url = template_url(kind, tag)
    if kind == "postgres":
        name = url.rsplit("/", 1)[1]
        if not _pg("SELECT 1 FROM pg_database WHERE datname = %s", name):
            _pg(f'CREATE DATABASE "{name}"')
    return url


def fresh_copy(kind: str, template: str, work: Path) -> str:
    if kind == "sqlite":
        source = Path(template.removeprefix("sqlite:///"))
        target = work / "cycle.sqlite3"
        for suffix in ("-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        shutil.copyfile(source, target)
        return f"sqlite:///{target}"
    name = template.rsplit("/", 1)[1]
    _pg("DROP DATABASE IF EXISTS fangfan_cyclebench_run")
    _pg(f'CREATE DATABASE fangfan_cyclebench_run TEMPLATE "{name}"')
    return f"{PG_SERVER}/fangfan_cyclebench_run"


def _env(url: str, work: Path) -> dict:
    env = dict(os.environ, DATABASE_URL=url, FANGFAN_DATA_DIR=str(work), FANGFAN_CACHE_DIR=str(work / "cache"))
    env.pop("FANGFAN_CYCLE_PAUSE", None)
    return env


def timed(cmd: list[str], env: dict) -> dict:
    """Run a command; wall seconds, the child's own peak RSS, its output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err)
        # wait4: this child's own rusage (RUSAGE_CHILDREN would be the largest of all children so far).
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"seconds": seconds, "rc": proc.returncode, "stdout": out.read().decode(), "stderr": err.read().decode(),
                "peak_rss_mb": usage.ru_maxrss / 1024}


def run_child(args: list[str], env: dict) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise SystemExit(f"benchmark child failed ({' '.join(args)}):\n{proc.stdout}\n{proc.stderr}")


# ------------------------------------------------------------------------------------------ children
def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangfan.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def child_prepare(folder: str) -> dict:
    _setup()
    from django.core.management import call_command

    from fangfan.registry.models import Household
    from fangfan.registry.services import registry_import

    call_command("migrate", verbosity=0)
    if Household.objects.exists():
        return {"imported": False, "households": Household.objects.count()}
    t0 = time.perf_counter()
    registry_import(actor=None, path=folder)
    return {"imported": True, "households": Household.objects.count(), "seconds": time.perf_counter() - t0}


def child_counts() -> dict:
    _setup()
    from fangfan.departments.models import DeptWarning, FeedBatch, FeedRow
    from fangfan.screening.models import ScreeningResult

    return {"batches": FeedBatch.objects.count(), "rows": FeedRow.objects.count(),
            "matched": FeedRow.objects.filter(matched=True).count(), "warnings": DeptWarning.objects.count(),
            "results": ScreeningResult.objects.count()}


def child_baseline(feeds: str, month: str, sample: int) -> dict:
    """The naive path: per-row ORM lookup and per-row insert (see the module docstring)."""
    _setup()
    from django.db import transaction

    from fangfan.common import pii
    from fangfan.departments.cycle import feeds_in
    from fangfan.departments.feeds import SPECS, VILLAGE, read_feed
    from fangfan.departments.models import FeedBatch, FeedRow
    from fangfan.registry.models import Household, Member

    found, _ = feeds_in(Path(feeds), month)
    t0 = time.perf_counter()
    read = [(f, read_feed(f.department, f.path)) for f in found]
    read_seconds = time.perf_counter() - t0
    total = sum(len(r.lines) for _, r in read)
    share = min(1.0, sample / total)
    rows = matched = 0
    t0 = time.perf_counter()
    for feed, file in read:
        lines = file.lines[: math.ceil(len(file.lines) * share)]
        water = SPECS[feed.department].key == VILLAGE
        with transaction.atomic():
            batch = FeedBatch.objects.create(department=feed.department, period=feed.period, county="",
                                             file_name=feed.path.name, sha256=file.sha256, rows=len(lines))
            for line in lines:
                if FeedRow.objects.filter(department=feed.department, row_key=line.row_key).exists():
                    continue
                household_id = member_id = None
                if water:
                    household = Household.objects.filter(village_id=line.key).first()
                    household_id = household.pk if household else None
                else:
                    member = Member.objects.filter(id_index=line.key).first()
                    if member is not None:
                        household_id, member_id = member.household_id, member.pk
                FeedRow.objects.create(batch=batch, department=feed.department, row_number=line.row,
                                       id_index="" if water else line.key, id_cipher=pii.encrypt_id(line.plain),
                                       village_code=line.key if water else "",
                                       row_key=line.row_key, values=line.values, matched=household_id is not None,
                                       household_id=None if water else household_id, member_id=member_id)
                rows += 1
                matched += household_id is not None
    row_seconds = time.perf_counter() - t0
    return {"read_seconds": read_seconds, "sample_rows": rows, "sample_seconds": row_seconds, "all_rows": total,
            "estimated_seconds": read_seconds + total * row_seconds / max(rows, 1), "matched": matched,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child_profile(feeds: str, month: str, out: str) -> dict:
    """The cycle in-process under cProfile (the stats written to `out`)."""
    _setup()
    import cProfile
    import pstats

    from fangfan.departments.cycle import cycle_run

    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    cycle_run(actor=None, month=month, folder=feeds)
    profiler.disable()
    seconds = time.perf_counter() - t0
    profiler.dump_stats(out)
    pstats.Stats(out).sort_stats("cumulative").print_stats(45)
    return {"seconds": seconds}


# ------------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--county", default="341225")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--feed-rows", type=int, default=250_000)
    parser.add_argument("--month", default="2026-03")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true", help="also run the cycle under cProfile (not timed)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, *rest = args.child
        out = {"prepare": lambda: child_prepare(rest[0]), "counts": child_counts,
               "baseline": lambda: child_baseline(rest[0], rest[1], int(rest[2])),
               "profile": lambda: child_profile(rest[0], rest[1], rest[2])}[kind]()
        print("RESULT " + json.dumps(out))
        return 0

    folder = generate(args.county, args.households, args.seed)
    feeds = pad_feeds(folder, args.feed_rows)
    tag = _tag(args.county, args.households, args.seed)
    print(f"county {folder.name}, feeds {feeds.name}; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    cycle_cmd = [sys.executable, "-m", "fangfan.cli", "cycle", "--month", args.month, "--folder", str(feeds)]
    table = []
    for kind in [k.strip() for k in args.databases.split(",") if k.strip()]:
        template = ensure_template(kind, tag)
        with tempfile.TemporaryDirectory(prefix="ffcycle-") as tmp:
            work = Path(tmp)
            prepared = run_child(["prepare", str(folder)], _env(template, work))
            if prepared["imported"]:
                print(f"{kind}: registry of {prepared['households']:,} households imported in "
                      f"{prepared['seconds']:.1f} s (once) → {template}")
            url = fresh_copy(kind, template, work)
            first = timed(cycle_cmd, _env(url, work))
            if first["rc"] != 0:
                raise SystemExit(f"cycle failed on {kind}:\n{first['stdout']}\n{first['stderr']}")
            counts = run_child(["counts"], _env(url, work))
            again = timed(cycle_cmd, _env(url, work))
            unchanged = again["rc"] == 0 and "没有改变任何数据" in again["stdout"]
            if args.profile:
                url = fresh_copy(kind, template, work)
                run_child(["profile", str(feeds), args.month, str(OUT / f"cycle_{kind}.prof")], _env(url, work))
                print(f"profile: {OUT / f'cycle_{kind}.prof'}")
            url = fresh_copy(kind, template, work)
            base = run_child(["baseline", str(feeds), args.month, str(args.baseline_rows)], _env(url, work))
            if kind == "postgres":
                _pg("DROP DATABASE IF EXISTS fangfan_cyclebench_run")
        took = next((ln for ln in first["stdout"].splitlines() if ln.startswith("用时")), "")
        rows = counts["rows"]
        met = "met" if first["seconds"] <= TARGET_SECONDS else "NOT met"
        base_rate = base["sample_rows"] / base["sample_seconds"]
        line = (f"{kind:<9} cycle {first['seconds']:6.1f} s  {rows / first['seconds']:8,.0f} feed rows/s  "
                f"peak RSS {first['peak_rss_mb']:5.0f} MB  target ≤ {TARGET_SECONDS:.0f} s {met}\n"
                f"{'':<9} inside the command: {took}\n"
                f"{'':<9} again {again['seconds']:6.1f} s  {'changed nothing (said so)' if unchanged else 'CHANGED DATA or did not say so!'}\n"
                f"{'':<9} stored: {counts['batches']} batches, {rows:,} rows ({counts['matched']:,} matched), "
                f"{counts['warnings']:,} warnings, {counts['results']:,} screening results\n"
                f"{'':<9} naive baseline (per-row ORM lookup + insert, no warnings, no screening): "
                f"{base_rate:,.0f} rows/s on {base['sample_rows']:,} rows → all {base['all_rows']:,} rows ≈ "
                f"{base['estimated_seconds']:.0f} s (reading {base['read_seconds']:.1f} s)  "
                f"= {base['estimated_seconds'] / first['seconds']:.1f}× the whole cycle")
        print(line, flush=True)
        table.append(line)
    print(f"load average {os.getloadavg()[0]:.2f} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
