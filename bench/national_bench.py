"""The national benchmark (issue 10): department matching, warnings and the registry rules for
many counties from a Parquet export, on the local engine and on Spark (local[2]), against the
targets ≤ 15 min and ≤ 16 GB for 10,000,000 households and 25,000,000 feed rows.

    python bench/national_bench.py [--households 10000000] [--counties 25] [--county 610902]
                                   [--seed 1] [--feed-rows 2.5] [--engines local,spark] [--no-check]

1. Prepares the export under bench/out/national_<K>x<N>_s<seed>/ (or reuses it), one county
   at a time, each in its own child process: fangfan.registry.synthetic generates the county
   and writes its interchange and department CSV files; the CSV producer
   (fangfan.departments.parquet.export_folder: read_interchange and read_feed, every row
   checked) writes it to parquet/; the CSV folder is deleted, planted.csv kept. The generator
   writes ≈ 1.1 feed rows per household; to reach --feed-rows per household (the issue's 2.5)
   the child adds copies of background rows (rows not naming a planted person, 水利 none)
   dated whole years earlier, with their own row keys. Background rows agree with the
   registry, and moving a row by whole years keeps a person's 医保 year totals as they were,
   so the copies must raise nothing: the check in 4 holds with them.
2. The read floor: every Parquet file of the export read by Polars, nothing else.
3. Each engine as a child: `python -m fangfan.policy.national PARQUET --as-of D --out DIR
   --engine E`. Wall time; peak RSS of the child (os.wait4) and of the whole process tree
   (the Spark JVM and its Python workers included), sampled every 0.25 s with psutil.
4. Checks that both engines wrote identical warnings and rule results, and that the warnings
   are exactly the planted hits of every county (planted.csv, effect != no_match): department,
   kind, ID (village for 水利), each once.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out"
sys.path.insert(0, str(ROOT))
TARGET_SECONDS = 15 * 60
TARGET_BYTES = 16 * 10**9


def gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


# ------------------------------------------------------------------------------ children
def _child_prepare(county: str, households: int, seed: int, data: Path, feed_rows: float) -> None:
    import polars as pl

    from fangfan.common import pii
    from fangfan.departments.parquet import export_folder
    from fangfan.policy import national
    from fangfan.registry.synthetic import generate_county, write_county

    started = time.perf_counter()
    generated = generate_county(county, households, seed)
    csv = data / f"csv_{county}"
    shutil.rmtree(csv, ignore_errors=True)
    write_county(generated, csv)
    del generated
    generated_s = time.perf_counter() - started
    t = time.perf_counter()
    written = export_folder(csv, data / "parquet")[county]
    export_s = time.perf_counter() - t
    planted = pl.read_csv(csv / "departments" / "planted.csv", infer_schema=False)
    (data / "planted").mkdir(exist_ok=True)
    planted.write_csv(data / "planted" / f"{county}.csv")
    shutil.rmtree(csv)

    t = time.perf_counter()
    _, feeds = national.read_county(data / "parquet", county)
    have = sum(f.height for f in feeds.values())
    want = round(feed_rows * households)
    # Feed keys are blind indexes (fangfan.common.pii), as the export writes them.
    planted_ids = pl.Series(pii.keyring().index_all(planted.get_column("id_number_18").drop_nulls().to_list())).implode()
    background = {d: f.filter(~pl.col("key").is_in(planted_ids)) for d, f in feeds.items() if d != "水利"}
    pool = sum(f.height for f in background.values())
    padded = {}
    if want > have and pool:
        for department, rows in background.items():
            need = round((want - have) * rows.height / pool)
            copies, years = [feeds[department]], 1
            dates = [c for c, t in rows.schema.items() if t == pl.Date]
            while need > 0 and rows.height:
                take = rows.head(min(need, rows.height))
                copies.append(take.with_columns(
                    [pl.col(c).dt.offset_by(f"-{years}y") for c in dates]
                    + [pl.col("row_key").map_elements(lambda k, y=years: _rekey(k, y), return_dtype=pl.String)]))
                need -= take.height
                years += 1
            padded[department] = pl.concat(copies, how="vertical")
        national.write_county(data / "parquet", county, {}, padded)
    rows = sum(padded.get(d, f).height for d, f in feeds.items())
    (data / f".done-{county}").write_text(f"{rows}\n")
    print(f"{county}: {households:,} households generated and written as CSV in {generated_s:.1f} s, "
          f"exported to Parquet (read_interchange + read_feed) in {export_s:.1f} s, "
          f"{have:,} feed rows padded to {rows:,} in {time.perf_counter() - t:.1f} s; "
          f"{written.get('members', 0):,} members")


def _rekey(key: str, years: int) -> str:
    import hashlib

    return hashlib.sha256(f"{key}|{years}y".encode()).hexdigest()


def _child_floor(parquet: Path) -> None:
    import polars as pl

    started = time.perf_counter()
    rows = Counter()
    for f in parquet.rglob("*.parquet"):
        rows[f.parts[len(parquet.parts)]] += pl.read_parquet(f).height
    print(f"read {sum(rows.values()):,} rows ({dict(rows)}) in {time.perf_counter() - started:.1f} s")


# ------------------------------------------------------------------------------ parent
def run_child(label: str, argv: list[str], log: Path) -> tuple[float, int, int]:
    """(seconds, peak RSS of the child by os.wait4, peak RSS summed over its whole process tree
    sampled every 0.25 s) of one child; its output goes to `log`."""
    import psutil

    peak_tree = 0
    with open(log, "w") as handle:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT.parent)
        stop = threading.Event()

        def sample():
            nonlocal peak_tree
            try:
                parent = psutil.Process(child.pid)
            except psutil.NoSuchProcess:
                return
            while not stop.is_set():
                total = 0
                try:
                    for proc in [parent, *parent.children(recursive=True)]:
                        try:
                            total += proc.memory_info().rss
                        except psutil.NoSuchProcess:
                            pass
                except psutil.NoSuchProcess:
                    break
                peak_tree = max(peak_tree, total)
                stop.wait(0.25)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        stop.set()
        sampler.join()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{label} failed (exit {code}); see {log}:\n{log.read_text()[-3000:]}")
    return seconds, usage.ru_maxrss * 1024, peak_tree


def check_planted(data: Path, out: Path) -> list[str]:
    import polars as pl

    planted = pl.concat([pl.read_csv(f, infer_schema=False) for f in sorted((data / "planted").glob("*.csv"))])
    planted = planted.filter(pl.col("effect") != "no_match")
    from fangfan.common import pii

    index = pii.keyring().index  # the warnings name persons by their ID's blind index
    expected = Counter(
        (r["department"], r["effect"], index(r["id_number_18"]) or None,
         r["village_code"] if r["department"] == "水利" else None)
        for r in planted.iter_rows(named=True))
    warnings = pl.read_parquet(out / "warnings.parquet")
    got = Counter(
        (r["department"], r["kind"], r["id_number"], r["village_code"] if r["department"] == "水利" else None)
        for r in warnings.select("department", "kind", "id_number", "village_code").iter_rows(named=True))
    problems = []
    if expected != got:
        problems.append(f"missing {list((expected - got).items())[:5]} extra {list((got - expected).items())[:5]}")
    return [f"planted hits {sum(expected.values()):,}, warnings {sum(got.values()):,}"] + problems


def same_outputs(a: Path, b: Path) -> list[str]:
    import polars as pl

    differences = []
    if not pl.read_parquet(a / "warnings.parquet").equals(pl.read_parquet(b / "warnings.parquet")):
        differences.append("warnings differ")
    if not pl.read_parquet(a / "unmatched.parquet").equals(pl.read_parquet(b / "unmatched.parquet")):
        differences.append("unmatched rows differ")
    counties = sorted(p.name for p in (a / "results").iterdir())
    if counties != sorted(p.name for p in (b / "results").iterdir()):
        differences.append("result counties differ")
    for county in counties:
        if not pl.read_parquet(a / "results" / county).equals(pl.read_parquet(b / "results" / county)):
            differences.append(f"results of {county} differ")
    return differences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=10_000_000)
    parser.add_argument("--counties", type=int, default=25)
    parser.add_argument("--county", default="610902", help="the first county code (one county per city from it on)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--feed-rows", type=float, default=2.5, help="feed rows per household (default 2.5)")
    parser.add_argument("--as-of", default="2026-04-30")
    parser.add_argument("--engines", default="local,spark")
    parser.add_argument("--no-check", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        kind, *rest = args.child
        if kind == "prepare":
            _child_prepare(rest[0], int(rest[1]), int(rest[2]), Path(rest[3]), float(rest[4]))
        elif kind == "floor":
            _child_floor(Path(rest[0]))
        return 0

    from evaluate_bench import county_codes

    OUT.mkdir(exist_ok=True)
    me = [sys.executable, str(Path(__file__).resolve())]
    data = OUT / f"national_{args.counties}x{args.households}_s{args.seed}"
    data.mkdir(exist_ok=True)
    parquet = data / "parquet"
    codes = county_codes(args.county, args.counties)
    shares = [args.households // args.counties + (i < args.households % args.counties) for i in range(args.counties)]
    started, peak, made = time.perf_counter(), 0, 0
    for code, share in zip(codes, shares):
        if (data / f".done-{code}").exists():
            continue
        _, rss, _ = run_child("prepare", me + ["--child", "prepare", code, str(share), str(args.seed), str(data),
                                               str(args.feed_rows)], data / "prepare.log.tmp")
        print("  " + (data / "prepare.log.tmp").read_text().strip(), flush=True)
        peak, made = max(peak, rss), made + 1
    if made:
        print(f"prepared {made} counties in {time.perf_counter() - started:.0f} s, one at a time (peak RSS {gib(peak)})")
    else:
        print(f"reusing {data}")
    feed_rows = sum(int((data / f".done-{c}").read_text()) for c in codes)
    size = sum(f.stat().st_size for f in parquet.rglob("*.parquet"))
    print(f"input: {args.households:,} households in {args.counties} counties ({codes[0]}…{codes[-1]}), "
          f"{feed_rows:,} feed rows; {size / 2**20:,.0f} MiB of Parquet")

    seconds, rss, tree = run_child("floor", me + ["--child", "floor", str(parquet)], data / "floor.log")
    print(f"read floor (Polars reads every file):  {seconds:7.1f} s  peak RSS {gib(rss)}  "
          f"({(data / 'floor.log').read_text().strip()})")
    outs = {}
    for engine in [e for e in args.engines.split(",") if e]:
        out = data / f"out_{engine}"
        log = data / f"{engine}.log"
        seconds, rss, tree = run_child(engine, [sys.executable, "-m", "fangfan.policy.national", str(parquet),
                                                "--as-of", args.as_of, "--out", str(out), "--engine", engine], log)
        outs[engine] = out
        verdict = "within" if seconds <= TARGET_SECONDS and tree <= TARGET_BYTES else "OUTSIDE"
        print(f"{engine:<6} engine: {seconds:7.1f} s  {args.households / seconds:,.0f} households/s  "
              f"peak RSS {gib(rss)} (largest process), {gib(tree)} (whole process tree)  "
              f"→ {verdict} the targets (≤ 15 min, ≤ 16 GB)")
        import polars as pl

        stats = pl.read_parquet(out / "counties.parquet")
        sums = stats.select(pl.col("read_s", "match_s", "rules_s", "write_s").sum()).row(0, named=True)
        print("        stages summed over counties: " + ", ".join(f"{k[:-2]} {v:.1f} s" for k, v in sums.items())
              + f"; warnings {stats['warnings'].sum():,}, unmatched rows {stats['unmatched'].sum():,}")
    if not args.no_check:
        for engine, out in outs.items():
            for line in check_planted(data, out):
                print(f"check ({engine}): {line}")
        if len(outs) == 2:
            a, b = outs.values()
            differences = same_outputs(a, b)
            print("local and spark outputs identical: " + ("True" if not differences else f"False {differences}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
