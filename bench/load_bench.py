"""The load test (issue 11 item 6): 50 users reading and writing at once on PostgreSQL, and a
count afterwards that no workflow step was lost, duplicated or skipped.

    python bench/load_bench.py [--households 1000000] [--users 50] [--duration 120s] [--reuse]
                               [--prepare-only] [--port 8766] [--db fangfan_webbench]

1. The data set and database of bench/web_bench.py (its functions, imported): 1,000,000
   households over 4 counties in `fangfan_webbench`, screened. `--reuse` keeps it.
2. Per county: the 县乡村振兴局, its two biggest townships and two villages of each, with two
   village accounts per village (colleagues who may take the same case). Each village gets open
   识别纳入 cases in every state a user can act on today: village ones (待入户核实, 待村评议,
   村级公示中) and, fired with past dates so their notices are over, 待乡镇审核, 待县级比对,
   待县级审定 (topped up before every run), and candidate households without a case (for
   opening new ones). Sessions are made beforehand (as web_bench does; the county sessions are
   verified with an enrolled TOTP device, so FANGFAN_REQUIRE_OTP stays on).
3. gunicorn (2 processes × 4 threads) on 127.0.0.1; `locust --headless` (bench/locustfile_load.py)
   with --users clients for --duration: worklists, household pages, searches, the case list,
   the warnings list, and W1 steps posted through the case page's forms (CSRF token and the
   version seen taken from the page), with colleagues sometimes on the same case at once. The
   clients log every POST (case, transition, version seen, outcome) to a JSON-lines file.
   The server is stopped at the end whatever happens.
4. Counts from the database: every step a client saw succeed has exactly one CaseEvent and one
   audit row; no step the clients did not see succeed was written; no case has two events of
   one version, a gap in its versions, or an event whose from-state is not the state before it;
   every "请刷新" answer was given on a case someone else had changed. Prints requests, failures
   and p50/p95 per kind, the transitions expected and found, and the errors (0, or listed).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import web_bench as wb  # noqa: E402 - the data set, database, sessions and server of issue 8

ROOT, OUT = wb.ROOT, wb.OUT
VILLAGE_OPEN = 24  # open cases per village in the village states (applied / checked / notice)
ADVANCED = {"township_review": 4, "county_comparison": 2, "county_approval": 2}  # per village
OPENABLE = 30  # candidate households without a case, per village
TARGETS_MS = {"household": 150, "home": 300, "worklist": 300, "search": 300}


# ------------------------------------------------------------------------------ set-up (child)
def child_setup(as_of: str, seed: int) -> None:
    """Accounts, cases in every actionable state and openable households (Django set up)."""
    import datetime as dt
    import random

    import django

    django.setup()
    from django.db.models import Count, Max

    from fangfan.accounts.models import Role
    from fangfan.audit.models import AuditEvent
    from fangfan.common import codes as C
    from fangfan.regions.scope import code_range_q
    from fangfan.registry.models import Household
    from fangfan.screening.models import ScreeningResult
    from fangfan.workflows import identification, notices, services
    from fangfan.workflows.errors import WorkflowError
    from fangfan.workflows.models import Case, CaseEvent, Notice

    rng = random.Random(seed)
    on = dt.date.fromisoformat(as_of)
    risk = next(code for code in C.RISK.codes if code.startswith("R0"))
    category = C.CATEGORY.codes[0]
    home_check = {"investigators": ["张三", "李四"],
                  "form": {"household_size": 3, "net_income_estimate": 800000, "labour": "able",
                           "findings": "入户核实, 情况属实"}}
    review = {"members": ["王五", "赵六", "孙七"], "decision": "include", "category": category, "risks": risk,
              "negative_list_decision": "经评议, 情况属实"}

    def fire(case, name, actor, when, data=None, comment=""):
        case.refresh_from_db()
        services.case_advance(actor=actor, case_id=case.pk, transition=name, seen_version=case.version,
                              on=when, data=data or {}, comment=comment)
        case.refresh_from_db()  # the caller reads the new state

    def notice_end(case, level):
        notice = case.notices.filter(level=level).order_by("-id").first()
        return max(notices.closable_from(notice), on)

    def advance(case, target, village_user, township_user, county_user):
        """Fire the steps from 待入户核实 to `target`, dated so that every notice is over."""
        when = on
        if case.state == "applied":
            fire(case, "home_check", village_user, when, home_check)
        if case.state == "checked":
            fire(case, "village_review", village_user, when, review)
        if case.state == "village_notice":
            when = notice_end(case, Notice.Level.VILLAGE)
            fire(case, "close_village_notice", village_user, when)
        if target == "township_review":
            return
        if case.state == "township_review":
            fire(case, "township_approve", township_user, when, {"signed_by": "乡镇负责人"})
        if case.state == "township_notice":
            when = notice_end(case, Notice.Level.TOWNSHIP)
            fire(case, "close_township_notice", township_user, when)
        if target == "county_comparison":
            return
        if case.state == "county_comparison":
            fire(case, "record_comparison", county_user, when, {"departments": ["公安", "不动产"], "hits": []})

    accounts, villages_out = [], {}
    counties = sorted({code[:6] for code in Household.objects.values_list("village_id", flat=True).distinct()})
    opened = advanced = 0
    for county in counties:
        by_village = (Household.objects.filter(code_range_q("village_id", county))
                      .values("village_id").annotate(n=Count("id")).order_by("-n"))
        villages = [row["village_id"] for row in by_village]
        townships = list(dict.fromkeys(v[:9] for v in villages))[:2]
        county_user = wb.bench_user(f"xian{county}", Role.COUNTY_RR, county.ljust(12, "0"))
        county_villages = []
        plan = []
        for township in townships:
            township_user = wb.bench_user(f"xiang{township}", Role.TOWNSHIP, township.ljust(12, "0"))
            own = [v for v in villages if v.startswith(township)][:2]
            county_villages += own
            accounts.append({"username": township_user.username, "role": township_user.role,
                             "region": township_user.region_code, "villages": own,
                             **wb.scope_sample(township, rng)})
            for village in own:
                users = []
                for suffix in ("", "b"):
                    user = wb.bench_user(f"cun{village}{suffix}", Role.VILLAGE, village)
                    users.append(user)
                    accounts.append({"username": user.username, "role": user.role, "region": village,
                                     "villages": [village], "colleague": f"cun{village}{'' if suffix else 'b'}",
                                     **wb.scope_sample(village, rng)})
                plan.append((village, users[0], township_user))
        accounts.append({"username": county_user.username, "role": county_user.role,
                         "region": county_user.region_code, "villages": county_villages,
                         **wb.scope_sample(county, rng)})
        for village, village_user, township_user in plan:
            cases = Case.objects.filter(village_code=village, kind=Case.Kind.IDENTIFICATION,
                                        state__in=identification.OPEN_STATES)
            have = Counter(cases.values_list("state", flat=True))
            # households that are rule candidates, not monitored, with no open case
            candidates = list(ScreeningResult.objects.filter(household__village_id=village)
                              .exclude(candidate_category="").values_list("household_id", flat=True).distinct())
            busy = set(cases.values_list("household_id", flat=True))
            free = list(Household.objects.filter(id__in=candidates, category="")
                        .exclude(id__in=busy).order_by("id").values_list("id", flat=True))
            rng.shuffle(free)
            want_advanced = sum(max(0, n - have[s]) for s, n in ADVANCED.items())
            want_village = max(0, VILLAGE_OPEN - sum(have[s] for s in ("applied", "checked", "village_notice")))
            fresh = []
            for household in Household.objects.filter(id__in=free[:want_advanced + want_village]):
                try:
                    fresh.append(services.identification_open(
                        actor=village_user, household=household, channel="big_data", on=on,
                        consent={"signer_name": "户主"}))
                    opened += 1
                except WorkflowError:
                    pass
            for target, n in ADVANCED.items():
                for _ in range(max(0, n - have[target])):
                    if not fresh:
                        break
                    case = fresh.pop()
                    try:
                        advance(case, target, village_user, township_user, county_user)
                        advanced += 1
                    except WorkflowError as exc:
                        print(f"case {case.pk} not advanced to {target}: {exc}", file=sys.stderr)
            # a third of the fresh village cases checked, a third reviewed (村级公示中)
            for i, case in enumerate(fresh):
                try:
                    if i % 3 >= 1:
                        fire(case, "home_check", village_user, on, home_check)
                    if i % 3 == 2:
                        fire(case, "village_review", village_user, on, review)
                except WorkflowError as exc:
                    print(f"case {case.pk}: {exc}", file=sys.stderr)
            busy = set(cases.values_list("household_id", flat=True))
            openable = list(Household.objects.filter(id__in=[h for h in free if h not in busy][:OPENABLE])
                            .values_list("household_number", flat=True))
            villages_out[village] = {
                "cases": sorted(cases.values_list("id", flat=True)),
                "openable": openable,
                "states": dict(Counter(cases.values_list("state", flat=True))),
            }
    print(json.dumps({
        "households": Household.objects.count(), "users": accounts, "villages": villages_out,
        "opened": opened, "advanced": advanced, "password": wb.PASSWORD,
        "event_before": CaseEvent.objects.aggregate(m=Max("id"))["m"] or 0,
        "audit_before": AuditEvent.objects.aggregate(m=Max("id"))["m"] or 0,
    }, ensure_ascii=False))


# ------------------------------------------------------------------------------ the count (child)
def child_check(state_file: Path, log_file: Path) -> None:
    """Compare what the clients saw with what the database holds; print one JSON line."""
    import django

    django.setup()
    from fangfan.audit.models import AuditEvent
    from fangfan.workflows.models import Case, CaseEvent

    state = json.loads(state_file.read_text())
    posts = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    print(json.dumps(check(posts, state["event_before"], state["audit_before"],
                           events=CaseEvent.objects, audits=AuditEvent.objects, cases=Case.objects),
                     ensure_ascii=False))


def check(posts: list[dict], event_before: int, audit_before: int, *, events, audits, cases) -> dict:
    """The transaction count. `posts`: the clients' log, one dict per POST (case, transition,
    seen = the version the form carried, outcome: ok | stale | moved | open_conflict | error).
    `events`, `audits`, `cases`: the CaseEvent, AuditEvent and Case managers (or querysets).

    Errors: a step seen as done without exactly one event and one audit row of that version;
    an event or audit row since the run started that no client saw succeed (a write the user
    was told failed); two events of one case and version; a gap in a case's versions or a
    from-state that is not the state before; a case whose state or version is not its last
    event's; a "请刷新" answer on a case nobody else had changed."""
    errors: list[str] = []
    ok = [p for p in posts if p["outcome"] == "ok"]
    touched = {p["case"] for p in posts if p.get("case")}
    new_events = list(events.filter(id__gt=event_before).values(
        "id", "case_id", "transition", "version", "from_state", "to_state"))
    new_audits = list(audits.filter(id__gt=audit_before, object_type="case", action__startswith="case.").values(
        "id", "object_key", "action", "after"))
    by_key = defaultdict(list)
    for e in new_events:
        by_key[(e["case_id"], e["transition"], e["version"])].append(e)
    audit_key = defaultdict(list)
    for a in new_audits:
        audit_key[(int(a["object_key"]), a["action"].rsplit(".", 1)[1], (a["after"] or {}).get("version"))].append(a)

    seen_ok = set()
    for p in ok:
        version = 1 if p["transition"] == "open" else p["seen"] + 1
        key = (p["case"], p["transition"], version)
        if key in seen_ok:
            errors.append(f"case {p['case']}: {p['transition']} v{version} reported done twice by the clients")
        seen_ok.add(key)
        found = len(by_key.get(key, ()))
        if found != 1:
            errors.append(f"case {p['case']}: {p['transition']} (v{version}) seen done, {found} case events")
        found = len(audit_key.get(key, ()))
        if found != 1:
            errors.append(f"case {p['case']}: {p['transition']} (v{version}) seen done, {found} audit rows")
    for key, rows in by_key.items():
        if key not in seen_ok:
            errors.append(f"case {key[0]}: {key[1]} v{key[2]} written (event {rows[0]['id']}) but no client saw it done")
    for key in audit_key:
        if key not in seen_ok:
            errors.append(f"case {key[0]}: audit row of {key[1]} v{key[2]} without a step a client saw done")

    # every touched case, its whole history: one event per version, 1..n, states chained
    history = defaultdict(list)
    for e in events.filter(case_id__in=touched).order_by("case_id", "version", "id").values(
            "case_id", "transition", "version", "from_state", "to_state"):
        history[e["case_id"]].append(e)
    final = {c["id"]: c for c in cases.filter(id__in=touched).values("id", "state", "version")}
    for case_id in sorted(touched):
        chain = history.get(case_id, [])
        versions = [e["version"] for e in chain]
        if len(versions) != len(set(versions)):
            dup = sorted(v for v, n in Counter(versions).items() if n > 1)
            errors.append(f"case {case_id}: version(s) {dup} written twice (duplicated transition)")
        if versions and sorted(set(versions)) != list(range(1, max(versions) + 1)):
            errors.append(f"case {case_id}: versions {versions} have a gap (a skipped step)")
        for before, after in zip(chain, chain[1:]):
            if after["from_state"] != before["to_state"]:
                errors.append(f"case {case_id}: v{after['version']} {after['transition']} from "
                              f"{after['from_state']} but the case was {before['to_state']}")
        row = final.get(case_id)
        if row is None:
            errors.append(f"case {case_id}: in the clients' log but not in the database")
        elif chain and (row["state"], row["version"]) != (chain[-1]["to_state"], chain[-1]["version"]):
            errors.append(f"case {case_id}: is {row['state']} v{row['version']}, its last event "
                          f"{chain[-1]['to_state']} v{chain[-1]['version']}")
    # a stale answer must be true: someone else wrote the next version
    for p in posts:
        if p["outcome"] in ("stale", "moved", "stale_choice") and p.get("seen"):
            if not any(e["version"] == p["seen"] + 1 for e in history.get(p["case"], [])):
                errors.append(f"case {p['case']}: {p['transition']} answered {p['outcome']} at v{p['seen']} "
                              "but nobody had changed it")
    for p in posts:
        if p["outcome"] == "error":
            errors.append(f"case {p.get('case')}: {p['transition']} → HTTP {p.get('status')}: {p.get('detail', '')[:200]}")
    return {
        "posts": len(posts),
        "outcomes": dict(Counter(p["outcome"] for p in posts)),
        "expected": dict(Counter(p["transition"] for p in ok)),
        "found": dict(Counter(e["transition"] for e in new_events)),
        "audit_found": len(new_audits),
        "cases_touched": len(touched),
        "post_ms": [p["ms"] for p in posts if p.get("ms") is not None],
        "errors": errors,
    }


# ------------------------------------------------------------------------------ run
def child(args_list: list[str], db: str, log: Path) -> str:
    proc = subprocess.run([sys.executable, __file__, *args_list], env=wb.bench_env(db), cwd=ROOT,
                          capture_output=True, text=True)
    with open(log, "a") as handle:
        handle.write(proc.stderr)
    if proc.returncode:
        sys.exit(f"{args_list[0]} failed; see {log}:\n{proc.stderr[-3000:]}")
    return proc.stdout.strip().splitlines()[-1]


def run_locust(args, state_file: Path, log_file: Path, port: int, prefix: Path) -> None:
    env = dict(os.environ, LOADBENCH_STATE=str(state_file), LOADBENCH_LOG=str(log_file),
               LOADBENCH_READ_ONLY="1" if args.read_only else "")
    locust = str(Path(sys.executable).with_name("locust"))
    cmd = [locust, "-f", str(ROOT / "bench" / "locustfile_load.py"), "--headless", "-u", str(args.users),
           "-r", str(args.spawn_rate), "-t", args.duration, "--host", f"http://127.0.0.1:{port}",
           "--csv", str(prefix), "--only-summary", "--stop-timeout", "15", "--loglevel", "WARNING"]
    with open(prefix.with_suffix(".log"), "w") as handle:
        proc = subprocess.run(cmd, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
                              timeout=wb._seconds(args.duration) + 120)
    if proc.returncode not in (0, 1):  # 1: some requests failed (reported below)
        sys.exit(f"locust failed (exit {proc.returncode}); see {prefix.with_suffix('.log')}")


def report(prefix: Path, users: int, result: dict, server_log: Path) -> bool:
    rows = list(csv.DictReader(open(f"{prefix}_stats.csv", encoding="utf-8")))
    failures = list(csv.DictReader(open(f"{prefix}_failures.csv", encoding="utf-8")))
    print(f"\n{users} concurrent users:")
    print(f"{'request':<40} {'requests':>9} {'failures':>9} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'max ms':>8}")
    for row in rows:
        if row["Name"] == "Aggregated":
            continue
        print(f"{row['Name'][:40]:<40} {row['Request Count']:>9} {row['Failure Count']:>9} "
              f"{float(row['Requests/s']):>7.1f} {float(row['50%'] or 0):>8.0f} {float(row['95%'] or 0):>8.0f} "
              f"{float(row['99%'] or 0):>8.0f} {float(row['Max Response Time'] or 0):>8.0f}")
    if result["post_ms"]:
        ms = result["post_ms"]
        print(f"{'step POST (all steps, from the log)':<40} {len(ms):>9} {result['outcomes'].get('error', 0):>9} "
              f"{'':>7} {wb._pct(ms, .5):>8.0f} {wb._pct(ms, .95):>8.0f} {wb._pct(ms, .99):>8.0f} {max(ms):>8.0f}")
    total = next(r for r in rows if r["Name"] == "Aggregated")
    print(f"{'all':<40} {total['Request Count']:>9} {total['Failure Count']:>9} "
          f"{float(total['Requests/s']):>7.1f} {float(total['50%'] or 0):>8.0f} {float(total['95%'] or 0):>8.0f} "
          f"{float(total['99%'] or 0):>8.0f} {float(total['Max Response Time'] or 0):>8.0f}")
    failed = int(total["Failure Count"])
    for f in failures[:10]:
        print(f"  {f['Method']} {f['Name']}: {f['Occurrences']}× {f['Error'][:200]}")
    # 5xx in gunicorn's access log, and Django's "Internal Server Error" lines (the 403s of
    # steps no longer offered are logged with a traceback too: those are not errors)
    server_errors = [line for line in server_log.read_text(errors="replace").splitlines()
                     if line.startswith("Internal Server Error")
                     or re.search(r'" 5\d\d \d+ "', line)]
    print(f"\nworkflow POSTs: {result['posts']}  outcomes: {result['outcomes']}  cases touched: "
          f"{result['cases_touched']}")
    print(f"{'transition':<24} {'expected':>9} {'found':>7}")
    for name in sorted(set(result["expected"]) | set(result["found"])):
        expected, found = result["expected"].get(name, 0), result["found"].get(name, 0)
        print(f"{name:<24} {expected:>9} {found:>7}{'' if expected == found else '  MISMATCH'}")
    print(f"{'(audit rows)':<24} {sum(result['expected'].values()):>9} {result['audit_found']:>7}")
    errors = result["errors"]
    print(f"\nrequest failures: {failed}; server errors (5xx / tracebacks in {server_log.name}): "
          f"{len(server_errors)}; transaction-count errors: {len(errors)}")
    for line in errors[:30]:
        print(f"  {line}")
    for line in server_errors[:10]:
        print(f"  server: {line[:200]}")
    return failed == 0 and not errors and not server_errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--counties", type=int, default=4)
    parser.add_argument("--county", default="610902")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", default="2026-04-30", help="screening date, and the date of the prepared steps")
    parser.add_argument("--db", default="fangfan_webbench")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--duration", default="120s")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--keep-alive", type=int, default=75,
                        help="seconds gunicorn keeps an idle connection open (75: nginx's default toward browsers; "
                             "gunicorn's own 2 s races with a client reusing the connection: a POST sent as "
                             "the server closes it never arrives)")
    parser.add_argument("--read-only", action="store_true",
                        help="the same users and pages without any POST (to compare the reads with and without writes)")
    parser.add_argument("--reuse", action="store_true", help="reuse the prepared database when it matches")
    parser.add_argument("--prepare-only", action="store_true")
    parser.add_argument("--child-setup", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--child-check", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_setup:
        child_setup(args.child_setup[0], int(args.child_setup[1]))
        return 0
    if args.child_check:
        child_check(Path(args.child_check[0]), Path(args.child_check[1]))
        return 0

    OUT.mkdir(exist_ok=True)
    folder = wb.generate(args.households, args.counties, args.county, args.seed)
    wb.prepare(args, folder)
    if args.prepare_only:
        return 0
    log = OUT / f"loadbench_{args.db}_prepare.log"
    started = time.perf_counter()
    state = json.loads(child(["--child-setup", args.as_of, str(args.seed)], args.db, log))
    state_file = OUT / f"loadbench_{args.db}.json"
    state_file.write_text(json.dumps(state, ensure_ascii=False))
    print(f"set-up: {time.perf_counter() - started:.0f} s ({len(state['users'])} accounts, "
          f"{len(state['villages'])} villages, {state['opened']} cases opened, {state['advanced']} advanced)")
    wb.sessions(args.db, state_file)
    args.server = "gunicorn"
    port = wb.free_port(args.port)
    server_log_name = f"loadbench_{args.db}_server.log"
    client_log = OUT / f"loadbench_{args.db}_posts.jsonl"
    client_log.write_text("")
    prefix = OUT / f"loadbench_{args.households}"
    load_before = os.getloadavg()
    server = wb.start_server(args, wb.bench_env(args.db), port, server_log_name, keep_alive=args.keep_alive)
    try:
        run_locust(args, state_file, client_log, port, prefix)
        load_after = os.getloadavg()
    finally:
        wb.stop(server)
    result = json.loads(child(["--child-check", str(state_file), str(client_log)], args.db, log))
    print(f"{state['households']:,} households in {args.counties} counties on PostgreSQL; gunicorn 2×4 on "
          f"127.0.0.1; {args.users} users for {args.duration}; load average before "
          f"{load_before[0]:.1f}, at the end {load_after[0]:.1f} / {load_after[1]:.1f} (1 / 5 min), "
          f"{os.cpu_count()} cores")
    good = report(prefix, args.users, result, OUT / server_log_name)
    print("\nresult:", "no errors" if good else "ERRORS (above)")
    return 0 if good else 1


if __name__ == "__main__":
    raise SystemExit(main())
