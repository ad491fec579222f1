"""The evaluate benchmark (issues 3 and 9): the Polars engine against the Polars text-read floor,
the OpenFisca peer and the plain-Python baseline, end to end from interchange CSV files to the
result CSV, in the same run; then the screen benchmark (bench/screen_bench.py) on both databases.

    python bench/evaluate_bench.py [--households 1000000] [--county 610902] [--seed 1]
                                   [--skip-baseline] [--no-check] [--profile] [--spark] [--engine-runs N]
                                   [--skip-peer] [--peer-python PY] [--no-screen] [--screen-households N]

1. Generates a county (fangfan.registry.synthetic; ≈ 3.1 members and 2 income rows per
   household) as CSV under bench/out/county_<code>_<N>_s<seed>/, or reuses it.
2. Runs, each in its own child process with its peak RSS (os.wait4):
   (a) the engine: `fangfan evaluate FOLDER --as-of D --out FILE` (read_interchange with full
       validation + evaluate_tables with explanations + CSV writer);
   (b) the baseline: `python bench/baseline_rules.py FOLDER --as-of D --out FILE`.
   (c) the text-read floor: Polars reading the same CSV files as text (every column a string,
       no validation, no typing), the least any reader of these files must spend;
   (d) the OpenFisca peer (../shared/peers/openfisca_peer.py: rules I1-I3 and M1-M3 only, floats,
       no validation) with the Python of bench/out/peer-venv, made on first use with
       `pip install "openfisca-core>=46,<47" polars numpy` (or --peer-python);
3. Prints households/s, seconds, peak RSS and the ratios (engine ÷ floor, target ≤ 2.5×; peer ÷
   engine, target > 1; baseline ÷ engine); checks that the engine's and the baseline's outputs
   agree on every contract column except explanation (--no-check skips it).
4. Single-household latency: evaluate_tables on a one-household table set, median of 50 runs.
--profile adds a child that times the engine's stages (read, evaluate_tables cold and warm,
the single plan without / with explanations, write). --engine-runs N runs the engine N times
and counts the fastest (other work on the shared machine skews single runs). --spark adds
`fangfan evaluate --engine spark` (local[2]). Last, unless --no-screen, bench/screen_bench.py
runs as a child on a county of --screen-households (default 100,000, the size of its targets)
and its lines are printed here.

The default county 610902 (安康市汉滨区) has a 低保 line in the shipped profiles, so every
rule family (warnings, low-income classes, single-person candidates) does real work.
Targets (issue 9): engine ≤ 2.5× the text-read floor and faster than the peer, both in the same
run; ≤ 3 GB peak RSS at 1M; ≤ 20 ms for one household.
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
PEER = ROOT.parent.parent / "shared" / "peers" / "openfisca_peer.py"
PEER_VENV = OUT / "peer-venv"
PEER_REQUIREMENTS = ["openfisca-core>=46,<47", "polars", "numpy"]
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
    from fangfan.policy.frame import with_household_keys
    from fangfan.registry.interchange.read import read_interchange

    proc = psutil.Process()
    day = dt.date.fromisoformat(as_of)

    def stage(label, started):
        print(f"  {label:<34} {time.perf_counter() - started:7.2f} s   RSS now {proc.memory_info().rss / 2**30:5.2f} GiB",
              flush=True)

    t = time.perf_counter()
    read = read_interchange(folder)
    assert read.ok, read.problems[:5]
    tables = with_household_keys(read.tables, read.household_keys)  # as the command hands them on
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


def _child_floor(folder: Path) -> None:
    """The text-read floor: every CSV of the folder read by Polars as text, nothing checked."""
    import polars as pl

    started = time.perf_counter()
    rows: dict[str, int] = {}
    for f in sorted(folder.rglob("*.csv")):  # a folder of county folders too
        rows[f.stem] = rows.get(f.stem, 0) + pl.read_csv(f, infer_schema=False).height
    print(f"read {rows} in {time.perf_counter() - started:.2f} s")


def peer_python(given: str | None) -> str | None:
    """The Python that runs the OpenFisca peer: --peer-python, else bench/out/peer-venv (made and
    filled from PyPI on first use); None when it cannot be had (the peer is then skipped)."""
    if given:
        return given
    python = PEER_VENV / "bin" / "python"
    probe = [str(python), "-c", "import openfisca_core, polars, numpy"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return str(python)
    print(f"making {PEER_VENV} for the OpenFisca peer (pip install {' '.join(PEER_REQUIREMENTS)})", flush=True)
    made = subprocess.run([sys.executable, "-m", "venv", "--clear", str(PEER_VENV)], capture_output=True, text=True)
    if made.returncode == 0:
        made = subprocess.run([str(python), "-m", "pip", "install", "-q", *PEER_REQUIREMENTS],
                              capture_output=True, text=True)
    if made.returncode != 0 or subprocess.run(probe, capture_output=True).returncode != 0:
        print(f"OpenFisca peer skipped: could not install it\n{made.stderr[-1500:]}")
        return None
    return str(python)


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
    parser.add_argument("--skip-peer", action="store_true", help="do not run the OpenFisca peer")
    parser.add_argument("--peer-python", help="a Python with openfisca-core 46, polars and numpy "
                                              "(default: bench/out/peer-venv, made on first use)")
    parser.add_argument("--no-screen", action="store_true", help="do not run bench/screen_bench.py afterwards")
    parser.add_argument("--screen-households", type=int, default=100_000)
    parser.add_argument("--screen-args", default="--runs 1",
                        help="more arguments for bench/screen_bench.py (default: %(default)s)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        kind, *rest = args.child
        if kind == "floor":
            _child_floor(Path(rest[0]))
        elif kind == "generate":
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
    print(f"load average {os.getloadavg()[0]:.2f} at start; {os.cpu_count()} cores")
    # Floor and engine alternate, so that a burst of other work on the machine hits both alike.
    runs, floor_runs = [], []
    for _ in range(max(1, args.engine_runs)):
        floor_runs.append(run_child("floor", me + ["--child", "floor", str(folder)], OUT / f"floor_{tag}.log"))
        runs.append(run_child(
            "engine", [fangfan, "evaluate", str(folder), "--as-of", args.as_of, "--out", str(engine_out)],
            OUT / f"engine_{tag}.log",
        ))
    floor_s = min(s for s, _ in floor_runs)
    floor_rss = max(r for _, r in floor_runs)
    engine_s = min(s for s, _ in runs)
    engine_rss = max(r for _, r in runs)
    print(f"floor    (Polars reads as text):  {floor_s:8.1f} s  {n / floor_s:>10,.0f} households/s  "
          f"peak RSS {gib(floor_rss)}")
    print(f"engine   (fangfan evaluate):      {engine_s:8.1f} s  {n / engine_s:>10,.0f} households/s  "
          f"peak RSS {gib(engine_rss)}")
    if len(runs) > 1:
        print("  runs: " + ", ".join(f"{s:.1f} s / {gib(r)}" for s, r in runs)
              + "; floor: " + ", ".join(f"{s:.1f} s" for s, _ in floor_runs))
    ratios = [f"engine ÷ floor {engine_s / floor_s:.1f}× (target ≤ 2.5×)"]
    if not args.skip_peer and not PEER.exists():
        print(f"OpenFisca peer skipped: {PEER} not found")
    elif not args.skip_peer and (python := peer_python(args.peer_python)):
        year = str(int(args.as_of[:4]) - 1)  # the income year the as-of date's rules read
        peer_log = OUT / f"peer_{tag}.log"
        peers = []
        for _ in range(max(1, args.engine_runs)):
            peers.append(run_child("peer", [python, str(PEER), str(folder), year], peer_log))
        peer_s = min(s for s, _ in peers)
        peer_rss = max(r for _, r in peers)
        print(f"peer     (OpenFisca, I1-3 M1-3):  {peer_s:8.1f} s  {n / peer_s:>10,.0f} households/s  "
              f"peak RSS {gib(peer_rss)}")
        print("  " + "; ".join(peer_log.read_text().strip().splitlines()))
        ratios.append(f"peer ÷ engine {peer_s / engine_s:.2f}× (target > 1)")
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
        ratios.append(f"baseline ÷ engine {base_s / engine_s:.1f}×")
        if not args.no_check:
            differences = compare_outputs(engine_out, baseline_out)
            print("outputs agree on every contract column except explanation" if not differences
                  else "OUTPUTS DIFFER: " + "; ".join(differences))
    print("ratios: " + "; ".join(ratios) + f"; engine peak RSS {gib(engine_rss)} (target ≤ 3 GiB at 1M)")
    median_ms, worst_ms = single_household_latency(args.county, args.seed, args.latency_runs)
    print(f"one household (evaluate_tables): median {median_ms:.1f} ms, worst {worst_ms:.1f} ms "
          f"of {args.latency_runs} runs (target ≤ 20 ms)")
    print(f"load average {os.getloadavg()[0]:.2f} after evaluate", flush=True)
    if not args.no_screen:
        print(f"screen benchmark (bench/screen_bench.py --households {args.screen_households:,} {args.screen_args}):",
              flush=True)
        screen = subprocess.run(
            [sys.executable, str(ROOT / "screen_bench.py"), "--households", str(args.screen_households),
             "--county", args.county, "--seed", str(args.seed), "--as-of", args.as_of, *args.screen_args.split()],
            cwd=ROOT.parent,
        )
        if screen.returncode != 0:
            print(f"screen benchmark failed (exit {screen.returncode})")
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
