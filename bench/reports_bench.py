"""The reports benchmark (issue 13): every report of fangfan.reports for a registry of N households on
PostgreSQL, target ≤ 60 s for all of them at 1,000,000 households.

    python bench/reports_bench.py [--households 1000000] [--counties 4] [--county 610902] [--seed 1]
                                  [--as-of 2026-06-30] [--db NAME] [--reuse] [--no-files]

1. Data: the generated counties of bench/web_bench.py (bench/out/counties_<K>_<county>_<N>_s<seed>/),
   generated if missing; a fresh PostgreSQL database (default `fangfan_reportsbench_<N>`): migrate,
   `fangfan import`, `fangfan screen` (the June/December reports read the stored low-income classes
   and colours). --reuse skips this when the database already holds N households (for instance
   `--db fangfan_webbench --reuse`, the web benchmark's database: the reports only read it).
2. In a child process (Django set up, nothing cached): every report for the whole registry, as the
   shell, one after another on one shared registry snapshot (`all reports`: what `--households`
   households cost end to end), each also written as XLSX and CSV unless --no-files; then each report
   alone on a fresh snapshot. Prints seconds, rows per table and the child's peak RSS.
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
TARGET_S = 60.0


def child(as_of: str, files: bool) -> None:
    import datetime as dt

    import django

    django.setup()
    from fangfan.reports import export
    from fangfan.reports.data import Snapshot
    from fangfan.reports.selectors import REPORTS, build

    on = dt.date.fromisoformat(as_of)
    result = {"reports": [], "alone": []}
    snap = Snapshot(prefix="", as_of=on)
    started = time.perf_counter()
    # data-quality first: it reads the members whole, and the member counts of the others are then
    # taken from that frame instead of a second query.
    for name in sorted(REPORTS, key=lambda n: n != "data-quality"):
        t0 = time.perf_counter()
        report = build(name=name, actor=None, region="", as_of=on, snapshot=snap)
        computed = time.perf_counter() - t0
        written = 0.0
        if files:
            t1 = time.perf_counter()
            (OUT / f"report_{name}.xlsx").write_bytes(export.xlsx(report))
            (OUT / f"report_{name}.csv").write_bytes(export.csv_bytes(report))
            written = time.perf_counter() - t1
        result["reports"].append({"name": name, "compute": computed, "write": written,
                                  "tables": {t.key: t.frame.height for t in report.tables}})
    result["all"] = time.perf_counter() - started
    result["households"] = snap.households.height
    for name in REPORTS:
        t0 = time.perf_counter()
        build(name=name, actor=None, region="", as_of=on)
        result["alone"].append({"name": name, "seconds": time.perf_counter() - t0})
    result["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps(result))


def households_in(db: str) -> int | None:
    import psycopg

    try:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{db}") as conn:
            return conn.execute("SELECT count(*) FROM registry_household").fetchone()[0]
    except Exception:
        return None


def prepare(args) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    import web_bench

    found = households_in(args.db) if args.reuse else None
    if found == args.households:
        # Only this app's tables (spot checks, problem ledger) are added to a reused database.
        web_bench.fangfan("migrate", "reports", "--no-input", env=web_bench.bench_env(args.db),
                          log=OUT / f"reportsbench_{args.db}_prepare.log")
        print(f"reusing database {args.db} ({found:,} households)")
        return
    folder = web_bench.generate(args.households, args.counties, args.county, args.seed)
    env = web_bench.bench_env(args.db)
    log = OUT / f"reportsbench_{args.db}_prepare.log"
    log.write_text("")
    web_bench.fresh_database(args.db)
    web_bench.fangfan("migrate", "--no-input", env=env, log=log)
    print(f"import: {web_bench.fangfan('import', str(folder), env=env, log=log):.0f} s")
    print(f"screen: {web_bench.fangfan('screen', '--as-of', args.as_of, env=env, log=log):.0f} s")
    web_bench.analyze(args.db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--counties", type=int, default=4)
    parser.add_argument("--county", default="610902")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", dest="as_of", default="2026-06-30")
    parser.add_argument("--db", default=None)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--no-files", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("AS_OF", "FILES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1] == "1")
        return
    OUT.mkdir(parents=True, exist_ok=True)
    args.db = args.db or f"fangfan_reportsbench_{args.households}"
    prepare(args)
    env = dict(os.environ, DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{args.db}",
               DJANGO_SETTINGS_MODULE="fangfan.settings", _RJEM_MALLOC_CONF="muzzy_decay_ms:0")
    env.pop("FANGFAN_DEBUG", None)
    proc = subprocess.run([sys.executable, __file__, "--child", args.as_of, "0" if args.no_files else "1"],
                          env=env, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"the reports failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"database {args.db}: {result['households']:,} households, as of {args.as_of}")
    for r in result["reports"]:
        tables = ", ".join(f"{k} {v:,}" for k, v in r["tables"].items())
        print(f"  {r['name']:17} compute {r['compute']:6.2f} s  XLSX+CSV {r['write']:6.2f} s  ({tables})")
    computed = sum(r["compute"] for r in result["reports"])
    written = sum(r["write"] for r in result["reports"])
    print(f"all reports computed (one registry read): {computed:.1f} s (target ≤ {TARGET_S:.0f} s: "
          f"{'met' if computed <= TARGET_S else 'NOT met'}); written as XLSX+CSV: {written:.1f} s; "
          f"wall {result['all']:.1f} s; peak RSS {result['peak_rss_gib']:.2f} GiB")
    print("each report alone (its own registry read): "
          + ", ".join(f"{r['name']} {r['seconds']:.1f} s" for r in result["alone"]))


if __name__ == "__main__":
    main()
