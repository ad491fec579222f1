"""Payment-list benchmark (issue 12 item 3): the monthly 低保/特困 payment lists of a generated
100,000-household county on PostgreSQL, beside a naive per-household ORM baseline, in one run.

    python bench/payment_bench.py [--households 100000] [--county 610902] [--seed 1]
                                  [--month 2026-04] [--runs 2] [--skip-baseline]

The county is the folder of evaluate_bench.py (bench/out/county_<code>_<N>_s<seed>), imported
once into its own PostgreSQL database fangfan_paymentbench_<code>_<N>_s<seed> (reused later).
Each measurement is a fresh child process (Django start-up not counted); the month's lists are
deleted beforehand (untimed), so every run builds them whole:

- **engine with the month before paid**: the same with the previous month built and marked paid
  first (untimed), so the build also recomputes that month for the people it paid and compares;
- **engine**: `payment_lists_build` (what `fangfan lowincome payments --month` runs): one read of
  the county's 低保/特困 households, the I4 income accounting of the rules (evaluate_tables), the
  C1 / 特困 arithmetic per household in integer fen, one list per township, bulk insert;
- **baseline**: the obvious ORM code: the households with a member in 低保/特困, then per household
  its members and income rows by query, I4 in Python, `fangfan.policy.calc.dibao_topup` with its
  parameter look-ups, and one INSERT per line.

Both must give the same amount for every household (checked). Target: ≤ 10 s for the engine.
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
TARGET = 10.0


def database_url(county: str, households: int, seed: int) -> str:
    return f"{PG_SERVER}/fangfan_paymentbench_{county}_{households}_s{seed}"


def _setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangfan.settings")
    import django

    django.setup()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_prepare(url: str, folder: str) -> dict:
    _setup(url)
    from django.core.management import call_command

    from fangfan.registry.models import Household, Member
    from fangfan.registry.services import registry_import

    call_command("migrate", verbosity=0)
    imported = False
    if not Household.objects.exists():
        registry_import(actor=None, path=folder)
        imported = True
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # statistics as autovacuum keeps them on a running server
    flagged = Member.objects.filter(status="normal").filter(dibao=True).values("household").distinct().count()
    tekun = Member.objects.filter(status="normal", tekun=True).values("household").distinct().count()
    return {"households": Household.objects.count(), "dibao_households": flagged, "tekun_households": tekun,
            "imported": imported}


def _clear(month) -> None:
    from fangfan.lowincome.models import PaymentLine, PaymentList

    PaymentLine.objects.filter(payment_list__month=month).delete()
    PaymentList.objects.filter(month=month).delete()


def child_engine(url: str, county: str, month_text: str, with_paid: str = "0") -> dict:
    _setup(url)
    from fangfan.common.dates import add_months
    from fangfan.lowincome.models import PaymentLine, PaymentList
    from fangfan.lowincome.payments import month_of, payment_lists_build
    from fangfan.screening.parameters import current_parameters

    month = month_of(month_text)
    _clear(month)
    params = current_parameters()
    previous = add_months(month, -1)
    _clear(previous)
    if with_paid == "1":
        # The month before built and marked paid (untimed): the timed build then recomputes it for
        # the people it paid and compares (the correction check).
        payment_lists_build(actor=None, month=previous, region=county, params=params)
        PaymentList.objects.filter(month=previous).update(state=PaymentList.State.PAID, paid_on=previous)
    started = time.perf_counter()
    built = payment_lists_build(actor=None, month=month, region=county, params=params)
    seconds = time.perf_counter() - started
    amounts = {f"{hh}:{p}": a for hh, p, a in PaymentLine.objects.filter(payment_list__month=month).values_list(
        "household__household_number", "programme", "amount")}
    return {"seconds": seconds, "lists": len(built), "lines": len(amounts), "total": sum(amounts.values()),
            "amounts": amounts, "peak_rss_mb": _peak_mb()}


def child_baseline(url: str, county: str, month_text: str) -> dict:
    """The naive version: a query per household for members and incomes, calc per household."""
    _setup(url)
    import datetime as dt
    from decimal import ROUND_HALF_UP, Decimal

    from django.db.models import Max

    from fangfan.common.dates import add_months
    from fangfan.lowincome.models import PaymentLine, PaymentList
    from fangfan.lowincome.payments import month_of
    from fangfan.policy.calc import KeyMember, dibao_topup
    from fangfan.registry.models import Household, IncomeYear
    from fangfan.screening.parameters import current_parameters

    month = month_of(month_text)
    _clear(month)
    params = current_parameters()
    last = add_months(month, 1) - dt.timedelta(days=1)
    started = time.perf_counter()
    year = IncomeYear.objects.filter(household__village_id__gte=county, household__village_id__lt=str(int(county) + 1)
                                     ).aggregate(y=Max("year"))["y"]
    households = (Household.objects.filter(village_id__gte=county, village_id__lt=str(int(county) + 1))
                  .filter(members__status="normal").filter(members__dibao=True) | Household.objects.filter(
                      village_id__gte=county, village_id__lt=str(int(county) + 1), members__status="normal",
                      members__tekun=True)).distinct()
    lists: dict[str, PaymentList] = {}
    amounts = {}
    for h in households:
        members = list(h.members.filter(status="normal"))
        income = h.incomes.filter(year=year).first()
        code = h.village_id
        township = code[:9]
        if township not in lists:
            lists[township] = PaymentList.objects.create(township_code=township, month=month,
                                                         generated_at=dt.datetime.now(dt.UTC), generated_by="baseline")
        line = params.get("dibao.line_rural_year", code, last).value
        tekun = [m for m in members if m.tekun]
        if tekun:
            ratio = params.get("dibao.tekun_living_ratio", code, last).value
            each = (Decimal(str(ratio)) * Decimal(str(line)) / 12).quantize(Decimal("0.01"), ROUND_HALF_UP)
            amount = int(each * 100) * len(tekun)
            PaymentLine.objects.create(payment_list=lists[township], household=h, village_code=code, programme="tekun",
                                       for_month=month, persons=len(tekun), amount=amount, arithmetic="baseline")
            amounts[f"{h.household_number}:tekun"] = amount
        if any(m.dibao and not m.tekun for m in members):
            size = len(members)
            if income is None:
                amount = 0
            else:
                rate = params.get("dibao.employment_cost_rate", code, last).value or 0
                i4 = (income.wage + income.business_income - income.business_cost + income.property_income
                      + income.transfer_income - income.basic_pension - income.veteran_benefits
                      - income.disability_allowances - income.guaranteed_dividend - income.dibao_payment
                      - income.tekun_payment) - Decimal(str(rate)) * income.wage
                pcd = (Decimal(i4) / size / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
                result = dibao_topup(params, code, last, size=size, per_capita_dibao_income=pcd, members=[
                    KeyMember(m.name, m.birth_date, m.disability_grade,
                              "serious_illness" in (m.health or "").split(";")) for m in members])
                amount = int(result.total_month * 100)
            PaymentLine.objects.create(payment_list=lists[township], household=h, village_code=code, programme="dibao",
                                       for_month=month, persons=size, amount=amount, arithmetic="baseline")
            amounts[f"{h.household_number}:dibao"] = amount
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "lists": len(lists), "lines": len(amounts), "total": sum(amounts.values()),
            "amounts": amounts, "peak_rss_mb": _peak_mb()}


def run_child(args: list[str]) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, cwd=ROOT)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise SystemExit(f"benchmark child failed ({' '.join(args)}):\n{proc.stdout}\n{proc.stderr}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--county", default="610902")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--month", default="2026-04")
    parser.add_argument("--runs", type=int, default=2, help="engine runs; the fastest counts")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, url, *rest = args.child
        out = {"prepare": lambda: child_prepare(url, rest[0]), "engine": lambda: child_engine(url, rest[0], rest[1]),
               "engine_paid": lambda: child_engine(url, rest[0], rest[1], "1"),
               "baseline": lambda: child_baseline(url, rest[0], rest[1])}[kind]()
        print("RESULT " + json.dumps(out))
        return 0

    sys.path.insert(0, str(ROOT / "bench"))
    from evaluate_bench import county_folder
    from screen_bench import ensure_postgres_database

    folder = county_folder(args.county, args.households, args.seed)
    if not folder.exists():
        OUT.mkdir(exist_ok=True)
        subprocess.run([sys.executable, str(ROOT / "bench" / "evaluate_bench.py"), "--child", "generate", args.county,
                        str(args.households), str(args.seed), str(folder)], check=True, cwd=ROOT)
    url = database_url(args.county, args.households, args.seed)
    ensure_postgres_database(url)
    print(f"county {folder.name}; load average {os.getloadavg()[0]:.2f} at start", flush=True)
    prepared = run_child(["prepare", url, str(folder)])
    print(f"postgres: {prepared['households']:,} households ({'imported now' if prepared['imported'] else 'reused'}), "
          f"{prepared['dibao_households']:,} with a member in 低保, {prepared['tekun_households']:,} in 特困", flush=True)
    runs = [run_child(["engine", url, args.county, args.month]) for _ in range(args.runs)]
    best = min(runs, key=lambda r: r["seconds"])
    times = ", ".join(f"{r['seconds']:.2f}" for r in runs)
    print(f"engine    {best['seconds']:6.2f} s  (runs: {times})  "
          f"{best['lists']} lists, {best['lines']:,} lines, total {best['total'] / 100:,.2f} 元  "
          f"peak RSS {best['peak_rss_mb']:.0f} MB  target ≤ {TARGET:.0f} s: "
          f"{'met' if best['seconds'] <= TARGET else 'NOT met'}", flush=True)
    paid = run_child(["engine_paid", url, args.county, args.month])
    print(f"engine with the month before paid (every paid line recomputed and compared): {paid['seconds']:6.2f} s  "
          f"{paid['lines']:,} lines (corrections: {paid['lines'] - best['lines']})", flush=True)
    if not args.skip_baseline:
        base = run_child(["baseline", url, args.county, args.month])
        print(f"baseline  {base['seconds']:6.2f} s  {base['lists']} lists, {base['lines']:,} lines, "
              f"total {base['total'] / 100:,.2f} 元  peak RSS {base['peak_rss_mb']:.0f} MB  "
              f"speed-up {base['seconds'] / best['seconds']:.1f}×", flush=True)
        differ = [k for k in set(best["amounts"]) | set(base["amounts"])
                  if best["amounts"].get(k) != base["amounts"].get(k)]
        print("amounts agree for every household" if not differ else
              f"amounts DIFFER for {len(differ)} lines, e.g. " + ", ".join(
                  f"{k}: engine {best['amounts'].get(k)} baseline {base['amounts'].get(k)}" for k in differ[:5]))
    print(f"load average {os.getloadavg()[0]:.2f} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
