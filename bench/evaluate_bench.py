"""The evaluate benchmark (issue 3): the Polars engine against the plain-Python baseline, end to
end from interchange CSV files to the result CSV, in the same run.

    python bench/evaluate_bench.py [--households 1000000] [--county 610902] [--seed 1]
                                   [--skip-baseline] [--no-check] [--profile] [--spark] [--engine-runs N]

1. Generates a county (fangfan.registry.synthetic; ≈ 3.1 members and 2 income rows per
   household) as CSV under bench/out/county_<code>_<N>_s<seed>/, or reuses it.
2. Runs, each in its own child process with its peak RSS (os.wait4):
   (a) the engine: `fangfan evaluate FOLDER --as-of D --out FILE` (read_interchange with full
       validation + evaluate_tables with explanations + CSV writer);
   (b) the baseline: `python bench/baseline_rules.py FOLDER --as-of D --out FILE`.
3. Prints households/s, seconds, peak RSS and the speed-up; checks that both outputs agree on
   every contract column except explanation (--no-check skips it).
4. Single-household latency: evaluate_tables on a one-household table set, median of 50 runs.
--profile adds a child that times the engine's stages (read, evaluate_tables cold and warm,
the single plan without / with explanations, write). --engine-runs N runs the engine N times
and counts the fastest (other work on the shared machine skews single runs). --spark adds
`fangfan evaluate --engine spark` (local[2]).

The default county 610902 (安康市汉滨区) has a 低保 line in the shipped profiles, so every
rule family (warnings, low-income classes, single-person candidates) does real work.
Targets: ≥ 20× the baseline end to end, ≤ 4 GB peak RSS at 1M, ≤ 20 ms for one household.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out"
TABLE_NAMES = ("villages", "households", "members", "incomes", "measures")


def county_folder(county: str, households: int, seed: int) -> Path:
    return OUT / f"county_{county}_{households}_s{seed}"


def county_codes(first: str, k: int) -> list[str]:
    """k real county-level codes (GB/T 2260, as the generator accepts them) from `first` on, one
    per city: the generator gives some married-in spouses IDs of the other counties of their city,
    which another generated county of that city could issue as well."""
    from fangfan.regions.codes import is_known_county

    codes, cities, code = [], set(), int(first)
    while len(codes) < k and code < 999_999:
        text = f"{code:06d}"
        if text[:4] not in cities and not text.endswith("00") and is_known_county(text):
            codes.append(text)
            cities.add(text[:4])
        code += 1
    if len(codes) < k:
        raise SystemExit(f"only {len(codes)} county codes from {first} on")
    return codes


# ------------------------------------------------------------------------------ children
def _child_generate(county: str, households: int, seed: int, folder: Path) -> None:
    from fangfan.registry.interchange.write import write_tables
    from fangfan.registry.synthetic import generate_county

    started = time.perf_counter()
    generated = generate_county(county, households, seed)
    tmp = folder.with_name(folder.name + ".tmp")
    write_tables({n: generated.tables[n] for n in TABLE_NAMES if n in generated.tables}, tmp, "csv")
    tmp.rename(folder)
    s = generated.summary()
    print(f"generated {s['households']:,} households, {s['members']:,} members, {s['income_rows']:,} income rows, "
          f"{s['measures']:,} measures in {time.perf_counter() - started:.1f} s → {folder}")


def _child_profile(folder: Path, as_of: str, out: Path) -> None:
    """The engine's stages one by one, as `fangfan evaluate` runs them, with the process's RSS
    after each."""
    import datetime as dt

    import psutil

    from fangfan.policy.evaluate import ENGINE, RESULT_COLUMNS, csv_columns, evaluate_frame, evaluate_tables
    from fangfan.registry.interchange.read import read_interchange

    proc = psutil.Process()
    day = dt.date.fromisoformat(as_of)

    def stage(label, started):
        print(f"  {label:<34} {time.perf_counter() - started:7.2f} s   RSS now {proc.memory_info().rss / 2**30:5.2f} GiB",
              flush=True)

    t = time.perf_counter()
    read = read_interchange(folder)
    assert read.ok, read.problems[:5]
    tables = read.tables
    del read
    stage("read_interchange (validate)", t)
    rows = {n: f.height for n, f in tables.items()}
    t = time.perf_counter()
    evaluate_tables(tables, as_of=day)
    stage("evaluate_tables (cold)", t)  # includes resolving the parameters (then memoised)
    t = time.perf_counter()
    results = evaluate_tables(tables, as_of=day)
    stage("evaluate_tables (warm)", t)
    no_explanation = [c for c in RESULT_COLUMNS if c != "explanation"]
    t = time.perf_counter()
    evaluate_frame(tables, as_of=day).select(no_explanation).collect(engine=ENGINE)
    stage("one plan, no explanations (warm)", t)
    t = time.perf_counter()
    evaluate_frame(tables, as_of=day).select(RESULT_COLUMNS).collect(engine=ENGINE)
    stage("one plan with explanations (warm)", t)
    tables.clear()
    t = time.perf_counter()
    csv_columns(results).sink_csv(out)
    stage("write CSV (csv_columns + sink_csv)", t)
    print(f"  rows: {rows}")


# ------------------------------------------------------------------------------ parent
def run_child(label: str, argv: list[str], log: Path) -> tuple[float, int]:
    """(seconds, peak RSS bytes) of one child process; its output goes to `log`."""
    with open(log, "w") as handle:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT.parent)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{label} failed (exit {code}); see {log}:\n{log.read_text()[-3000:]}")
    return seconds, usage.ru_maxrss * 1024  # Linux: kilobytes


def compare_outputs(engine_csv: Path, baseline_csv: Path) -> list[str]:
    """Columns (except explanation) on which the two result files differ, with counts."""
    import polars as pl

    engine = pl.scan_csv(engine_csv, infer_schema=False)
    baseline = pl.scan_csv(baseline_csv, infer_schema=False)
    columns = [c for c in baseline.collect_schema().names() if c != "explanation"]
    joined = baseline.select(columns).join(
        engine.select(columns), on="household_id", how="full", suffix="_engine", coalesce=False
    )
    checks = [(pl.col("household_id").is_null() | pl.col("household_id_engine").is_null()).sum().alias("missing")]
    checks += [
        (pl.col(c).fill_null("") != pl.col(f"{c}_engine").fill_null("")).sum().alias(c) for c in columns[1:]
    ]
    counts = joined.select(checks).collect().row(0, named=True)
    return [f"{name}: {n}" for name, n in counts.items() if n]


def single_household_latency(county: str, seed: int, runs: int) -> tuple[float, float]:
    import datetime as dt

    from fangfan.policy.evaluate import evaluate_tables
    from fangfan.policy.params import ParameterSet
    from fangfan.registry.synthetic import generate_county

    generated = generate_county(county, 1, seed)
    params = ParameterSet.load()
    as_of = dt.date(generated.year + 1, 4, 30)
    evaluate_tables(generated.tables, as_of=as_of, params=params)  # warm-up: imports, parameter cache
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        evaluate_tables(generated.tables, as_of=as_of, params=params)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000, max(timings) * 1000


def gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--county", default="610902")
    parser.add_argument("--counties", type=int, default=1,
                        help="split the households over this many real counties (from --county on), one "
                             "folder each under one input folder: the partitioned input of a province or "
                             "a nation (the 10M-household memory check); the baseline reads one folder only")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", default="2026-04-30", help="default: the generator's reference date")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--no-check", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--spark", action="store_true")
    parser.add_argument("--latency-runs", type=int, default=50)
    parser.add_argument("--engine-runs", type=int, default=1,
                        help="run the engine N times (other work on the machine skews single runs); "
                             "the fastest run counts, all are printed")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        kind, *rest = args.child
        if kind == "generate":
            _child_generate(rest[0], int(rest[1]), int(rest[2]), Path(rest[3]))
        elif kind == "profile":
            _child_profile(Path(rest[0]), rest[1], Path(rest[2]))
        return 0

    OUT.mkdir(exist_ok=True)
    me = [sys.executable, str(Path(__file__).resolve())]
    if args.counties > 1:
        folder = OUT / f"counties_{args.counties}_{args.county}_{args.households}_s{args.seed}"
        tag = f"{args.counties}x_{args.households}"
        codes = county_codes(args.county, args.counties)
        shares = [args.households // args.counties + (i < args.households % args.counties) for i in range(args.counties)]
        started, peak = time.perf_counter(), 0
        for code, share in zip(codes, shares):
            part = folder / f"county_{code}"
            if part.exists():
                continue
            _, rss = run_child(
                "generate", me + ["--child", "generate", code, str(share), str(args.seed), str(part)],
                OUT / f"generate_{tag}.log",
            )
            peak = max(peak, rss)
        if peak:
            print(f"generated {args.households:,} households in {args.counties} counties ({codes[0]}…{codes[-1]}) "
                  f"in {time.perf_counter() - started:.0f} s, one county at a time (peak RSS {gib(peak)})")
        else:
            print(f"reusing {folder}")
        files = [f for f in folder.glob("*/*.csv")]
        sizes = {name: sum(f.stat().st_size for f in files if f.stem == name) for name in TABLE_NAMES}
        if not args.skip_baseline:
            print("the baseline reads one folder: skipped for a partitioned input")
            args.skip_baseline = True
    else:
        folder = county_folder(args.county, args.households, args.seed)
        tag = f"{args.county}_{args.households}"
        if folder.exists():
            print(f"reusing {folder}")
        else:
            seconds, rss = run_child(
                "generate", me + ["--child", "generate", args.county, str(args.households), str(args.seed), str(folder)],
                OUT / f"generate_{tag}.log",
            )
            print((OUT / f"generate_{tag}.log").read_text().strip() + f" (peak RSS {gib(rss)})")
        sizes = {name: (folder / f"{name}.csv").stat().st_size for name in TABLE_NAMES if (folder / f"{name}.csv").exists()}
    print(f"input: {sum(sizes.values()) / 2**20:,.0f} MiB of CSV ({', '.join(f'{k} {v / 2**20:,.0f}' for k, v in sizes.items())})")

    n = args.households
    fangfan = str(Path(sys.executable).with_name("fangfan"))
    engine_out = OUT / f"engine_{tag}.csv"
    runs = []
    for _ in range(max(1, args.engine_runs)):
        runs.append(run_child(
            "engine", [fangfan, "evaluate", str(folder), "--as-of", args.as_of, "--out", str(engine_out)],
            OUT / f"engine_{tag}.log",
        ))
    engine_s = min(s for s, _ in runs)
    engine_rss = max(r for _, r in runs)
    print(f"engine   (fangfan evaluate):      {engine_s:8.1f} s  {n / engine_s:>10,.0f} households/s  "
          f"peak RSS {gib(engine_rss)}")
    if len(runs) > 1:
        print("  runs: " + ", ".join(f"{s:.1f} s / {gib(r)}" for s, r in runs))
    if args.profile:
        run_child("profile", me + ["--child", "profile", str(folder), args.as_of, str(OUT / f"profile_{tag}.csv")],
                  OUT / f"profile_{tag}.log")
        print("engine stages:\n" + (OUT / f"profile_{tag}.log").read_text().rstrip())
    if args.spark:
        spark_out = OUT / f"spark_{tag}.csv"
        spark_s, spark_rss = run_child(
            "spark", [fangfan, "evaluate", str(folder), "--as-of", args.as_of, "--out", str(spark_out),
                      "--engine", "spark"],
            OUT / f"spark_{tag}.log",
        )
        same = spark_out.read_bytes() == engine_out.read_bytes()
        print(f"spark    (--engine spark):        {spark_s:8.1f} s  {n / spark_s:>10,.0f} households/s  "
              f"peak RSS (driver) {gib(spark_rss)}  identical output: {same}")
    if not args.skip_baseline:
        baseline_out = OUT / f"baseline_{tag}.csv"
        base_s, base_rss = run_child(
            "baseline", [sys.executable, str(ROOT / "baseline_rules.py"), str(folder), "--as-of", args.as_of,
                         "--out", str(baseline_out)],
            OUT / f"baseline_{tag}.log",
        )
        print(f"baseline (plain Python):          {base_s:8.1f} s  {n / base_s:>10,.0f} households/s  "
              f"peak RSS {gib(base_rss)}")
        print(f"speed-up: {base_s / engine_s:.1f}× (target ≥ 20×); engine peak RSS {gib(engine_rss)} (target ≤ 4 GiB at 1M)")
        if not args.no_check:
            differences = compare_outputs(engine_out, baseline_out)
            print("outputs agree on every contract column except explanation" if not differences
                  else "OUTPUTS DIFFER: " + "; ".join(differences))
    median_ms, worst_ms = single_household_latency(args.county, args.seed, args.latency_runs)
    print(f"one household (evaluate_tables): median {median_ms:.1f} ms, worst {worst_ms:.1f} ms "
          f"of {args.latency_runs} runs (target ≤ 20 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
