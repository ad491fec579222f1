"""Screen benchmark: `screening_run` of a generated county stored in SQLite and PostgreSQL.

    python bench/screen_bench.py [--households 100000] [--county 610902] [--seed 1]
                                 [--databases sqlite,postgres] [--runs 2] [--profile]

The county is generated once (the folder of evaluate_bench.py, bench/out/county_<code>_<N>_s<seed>)
and imported once into a dedicated SQLite file (bench/out/screenbench_<code>_<N>_s<seed>.sqlite3)
and a dedicated PostgreSQL database (fangfan_screenbench_<code>_<N>_s<seed>); later runs reuse
both. Each measurement runs in a fresh child process (Django start-up not counted) and times
`screening_run` (database → rules → stored results, one transaction per county):

- **first**: no stored results at the as-of date (they are deleted beforehand, untimed), so
  every household's result is written;
- **again**: the same as-of date straight after, so nothing changes and nothing is written;
- **changed**: 1 % of the households' latest income rows edited (untimed, undone afterwards),
  so only their results are rewritten.

Targets (issue 9 item 2): a 100,000-household county in ≤ 3 s on PostgreSQL, ≤ 5 s on SQLite.
`--profile` adds the time spent in each stage of the screening (reading, rules, comparing,
writing), measured by wrapping the functions `screening_run` calls.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
TARGETS = {"sqlite": 5.0, "postgres": 3.0}


def database_url(kind: str, county: str, households: int, seed: int) -> str:
    tag = f"{county}_{households}_s{seed}"
    if kind == "sqlite":
        return f"sqlite:///{OUT / f'screenbench_{tag}.sqlite3'}"
    return f"{PG_SERVER}/fangfan_screenbench_{tag}"


def ensure_postgres_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(f"{PG_SERVER}/postgres".replace("postgres://", "postgresql://"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangfan.settings")
    import django

    django.setup()


# ------------------------------------------------------------------------------ children
def child_prepare(url: str, folder: str) -> dict:
    """Migrate and import the county once (an import is all or nothing, so a count tells)."""
    _setup(url)
    from django.core.management import call_command

    from fangfan.registry.models import Household
    from fangfan.registry.services import registry_import

    call_command("migrate", verbosity=0)
    have = Household.objects.count()
    if have:
        return {"households": have, "imported": False}
    started = time.perf_counter()
    summary = registry_import(actor=None, path=folder)
    return {"households": Household.objects.count(), "imported": True, "rows": summary.rows_read,
            "seconds": time.perf_counter() - started}


class _Timer:
    """Wraps module attributes to add up the time spent in each (calls nested in another wrapped
    call count in both)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def wrap(self, module, name: str, label: str | None = None) -> None:
        original = getattr(module, name)
        label = label or name

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - t0

        setattr(module, name, timed)


def _changed_rows(fraction: float):
    """Edit the latest income row of every n-th household (returned to be put back)."""
    from fangfan.registry.models import IncomeYear

    latest = IncomeYear.objects.order_by("-year").values_list("year", flat=True).first()
    ids = list(IncomeYear.objects.filter(year=latest).order_by("id").values_list("id", flat=True))
    step = max(1, round(1 / fraction))
    picked = ids[::step]
    rows = list(IncomeYear.objects.filter(id__in=picked).values("id", "wage"))
    for start in range(0, len(rows), 5000):
        IncomeYear.objects.bulk_update(
            [IncomeYear(id=r["id"], wage=(r["wage"] or 0) + 123_45) for r in rows[start:start + 5000]],
            ["wage"],
        )
    return rows


def child_screen(url: str, as_of: str, mode: str, profile: bool) -> dict:
    import datetime as dt

    _setup(url)
    from django.db import connection

    from fangfan.registry.models import IncomeYear
    from fangfan.screening import services
    from fangfan.screening.models import ScreeningResult

    day = dt.date.fromisoformat(as_of)
    timer = _Timer()
    if profile:
        from fangfan.registry import bulk

        # The reading as a whole: on PostgreSQL two tables are read at once, on two connections.
        timer.wrap(services, "_read_registry", "read registry (_read_registry)")
        timer.wrap(services, "evaluate_tables", "rules (evaluate_tables)")
        timer.wrap(services, "_stored", "read stored results (_stored)")
        timer.wrap(services, "_parameter_sets", "parameter sets")
        timer.wrap(services, "diff_frames", "compare (diff_frames)")
        for name in ("bulk_insert", "update_rows"):
            if hasattr(services, name):
                timer.wrap(services, name, f"write ({name})")
        for name in ("write_results",):
            if hasattr(services, name):
                timer.wrap(services, name, f"write ({name})")
        timer.wrap(services, "audit_record", "audit")
        timer.wrap(bulk, "fetch_frame", "all fetch_frame calls")
    result: dict = {"mode": mode}
    put_back = []
    if mode == "first":
        ScreeningResult.objects.filter(as_of=day).delete()
    elif mode == "changed":
        put_back = _changed_rows(0.01)
        result["edited_households"] = len(put_back)
    try:
        started = time.perf_counter()
        summary = services.screening_run(actor=None, as_of=day)
        result["seconds"] = time.perf_counter() - started
    finally:
        for start in range(0, len(put_back), 5000):
            IncomeYear.objects.bulk_update(
                [IncomeYear(id=r["id"], wage=r["wage"]) for r in put_back[start:start + 5000]],
                ["wage"],
            )
        if put_back:
            # The stored results back to those of the unedited rows (untimed): else the next
            # "changed" run finds its edit stored already and writes nothing (it reported updated 0).
            services.screening_run(actor=None, as_of=day)
    result.update(households=summary.households, created=summary.created, updated=summary.updated,
                  unchanged=summary.unchanged, stages=timer.seconds, vendor=connection.vendor,
                  peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def run_child(args: list[str]) -> dict:
    from fangfan.cli import JEMALLOC_CONF

    # The allocator setting `fangfan screen` runs with (fangfan.cli), unless one is given.
    env = {"_RJEM_MALLOC_CONF": JEMALLOC_CONF, **os.environ}
    proc = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise SystemExit(f"benchmark child failed ({' '.join(args)}):\n{proc.stdout}\n{proc.stderr}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--county", default="610902")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", default="2026-04-30")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--runs", type=int, default=2, help="runs of each mode; the fastest counts")
    parser.add_argument("--modes", default="first,again,changed")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, url, *rest = args.child
        if kind == "prepare":
            out = child_prepare(url, rest[0])
        else:
            out = child_screen(url, rest[0], rest[1], rest[2] == "1")
        print("RESULT " + json.dumps(out))
        return 0

    sys.path.insert(0, str(ROOT / "bench"))
    from evaluate_bench import county_folder

    folder = county_folder(args.county, args.households, args.seed)
    if not folder.exists():
        OUT.mkdir(exist_ok=True)
        subprocess.run([sys.executable, str(ROOT / "bench" / "evaluate_bench.py"), "--child", "generate", args.county,
                        str(args.households), str(args.seed), str(folder)], check=True, cwd=ROOT)
    print(f"county {folder.name}; load average {os.getloadavg()[0]:.2f} at start")
    lines = []
    for kind in [k.strip() for k in args.databases.split(",") if k.strip()]:
        url = database_url(kind, args.county, args.households, args.seed)
        if kind == "postgres":
            ensure_postgres_database(url)
        prepared = run_child(["prepare", url, str(folder)])
        if prepared["imported"]:
            print(f"{kind}: imported {prepared['households']:,} households "
                  f"in {prepared['seconds']:.1f} s → {url}")
        for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
            runs = [run_child(["screen", url, args.as_of, mode, "1" if args.profile else "0"]) for _ in range(args.runs)]
            best = min(runs, key=lambda r: r["seconds"])
            target = TARGETS.get(kind)
            met = "" if target is None else f"target ≤ {target:.0f} s: {'met' if best['seconds'] <= target else 'NOT met'}"
            line = (f"{kind:<9} {mode:<8} {best['seconds']:6.2f} s  (runs: "
                    + ", ".join(f"{r['seconds']:.2f}" for r in runs)
                    + f")  households {best['households']:,} created {best['created']:,} updated {best['updated']:,} "
                    f"unchanged {best['unchanged']:,}  peak RSS {best['peak_rss_mb']:.0f} MB  {met}")
            print(line, flush=True)
            lines.append(line)
            if args.profile:
                for label, seconds in sorted(best["stages"].items(), key=lambda kv: -kv[1]):
                    print(f"    {label:<40} {seconds:6.2f} s")
    print(f"load average {os.getloadavg()[0]:.2f} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
