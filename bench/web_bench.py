"""The web benchmark (issue 8): pages under load on PostgreSQL, 20 concurrent clients.

    python bench/web_bench.py [--households 1000000] [--counties 4] [--county 610902] [--seed 1]
                              [--clients 20] [--spawn-rate 5] [--duration 60s] [--port 8765]
                              [--reuse] [--prepare-only]

1. Generates the households over several real counties (one folder each, the layout of
   `evaluate_bench.py --counties`, shared with it under bench/out/), or reuses them.
2. Fresh PostgreSQL database `fangfan_webbench`: migrate, `fangfan import` (all counties at
   once), `fangfan screen`; then users (per county: 县乡村振兴局; its biggest township; the two
   biggest villages of that township) with a known password, and identification cases opened for
   the rule candidates of those villages, so the worklists have rows. --reuse skips this step
   when the database already holds this data set (a marker file under bench/out/).
3. Starts the application on 127.0.0.1 under gunicorn (2 processes × 4 threads: one process per
   core; Django's runserver is one process, and its wsgiref server writes headers and body in
   separate packets, so each keep-alive request waits ~40 ms for a delayed ACK; --server
   runserver measures it anyway) and runs locust headless on the loopback
   (bench/locustfile_web.py, bounded by --duration), each client logged in as one of the users:
   household pages (random households of its scope), the home page (worklists with counts),
   a worklist page, search (household number, name, pinyin initials, ID number).
4. Prints requests, failures, median and p95 per page kind from locust's CSV and compares with
   the targets in the same run: household page p95 ≤ 150 ms; worklists and search p95 ≤ 300 ms;
   0 errors.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-Fangfan-2026"
TARGETS_MS = {"household": 150, "home": 300, "worklist": 300, "search": 300}
SAMPLE = 2000  # households per user handed to locust (random pages of its scope)
CASES_PER_VILLAGE = 25


def bench_env(db: str) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}",
        "DJANGO_SETTINGS_MODULE": "fangfan.settings",
        "FANGFAN_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "FANGFAN_DATA_DIR": str(OUT / "webbench-data"),
    })
    env.pop("FANGFAN_DEBUG", None)  # measure the production settings
    return env


def fangfan(*argv: str, env: dict, log: Path | None = None) -> float:
    started = time.perf_counter()
    cmd = [str(Path(sys.executable).with_name("fangfan")), *argv]
    with open(log or os.devnull, "a") as handle:
        proc = subprocess.run(cmd, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
    if proc.returncode:
        sys.exit(f"`fangfan {' '.join(argv)}` failed (exit {proc.returncode}); see {log}")
    return time.perf_counter() - started


# ------------------------------------------------------------------------------ data
def generate(households: int, counties: int, first: str, seed: int) -> Path:
    sys.path.insert(0, str(ROOT / "bench"))
    from evaluate_bench import county_codes

    folder = OUT / f"counties_{counties}_{first}_{households}_s{seed}"
    codes = county_codes(first, counties)
    shares = [households // counties + (i < households % counties) for i in range(counties)]
    started = time.perf_counter()
    made = 0
    for code, share in zip(codes, shares):
        part = folder / f"county_{code}"
        if part.exists():
            continue
        subprocess.run([sys.executable, str(ROOT / "bench" / "evaluate_bench.py"), "--child", "generate", code,
                        str(share), str(seed), str(part)], check=True, cwd=ROOT)
        made += 1
    if made:
        print(f"generated {households:,} households in {counties} counties ({', '.join(codes)}) "
              f"in {time.perf_counter() - started:.0f} s")
    else:
        print(f"reusing {folder}")
    return folder


def fresh_database(db: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db}"')


def analyze(db: str) -> None:
    """Planner statistics as autovacuum would have them on a server in use (not yet, right
    after a bulk import)."""
    import psycopg

    with psycopg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{db}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def prepare(args, folder: Path) -> dict:
    marker = OUT / f"webbench_{args.db}.json"
    key = {"folder": folder.name, "as_of": args.as_of}
    if args.reuse and marker.exists():
        state = json.loads(marker.read_text())
        if state.get("key") == key:
            # the code may have new migrations since the database was prepared
            fangfan("migrate", "--no-input", env=bench_env(args.db), log=OUT / f"webbench_{args.db}_prepare.log")
            print(f"reusing database {args.db} ({state['households']:,} households, {len(state['users'])} users)")
            return state
    env = bench_env(args.db)
    log = OUT / f"webbench_{args.db}_prepare.log"
    log.write_text("")
    fresh_database(args.db)
    fangfan("migrate", "--no-input", env=env, log=log)
    seconds = fangfan("import", str(folder), env=env, log=log)
    print(f"import: {seconds:.0f} s")
    seconds = fangfan("screen", "--as-of", args.as_of, env=env, log=log)
    print(f"screen: {seconds:.0f} s")
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child-setup", args.db, args.as_of, str(args.seed)],
                          env=env, cwd=ROOT, capture_output=True, text=True)
    with open(log, "a") as handle:
        handle.write(proc.stdout + proc.stderr)
    if proc.returncode:
        sys.exit(f"set-up failed; see {log}:\n{proc.stderr[-3000:]}")
    state = json.loads(proc.stdout.strip().splitlines()[-1])
    analyze(args.db)
    state["key"] = key
    marker.write_text(json.dumps(state, ensure_ascii=False))
    print(f"users and cases: {time.perf_counter() - started:.0f} s ({len(state['users'])} users, "
          f"{state['cases']} cases opened)")
    return state


def bench_user(username: str, role: str, region: str):
    """A user of the benchmark with the known password (inside a child with Django set up)."""
    from fangfan.accounts.models import User

    user, _ = User.objects.update_or_create(username=username, defaults={"role": role, "region_code": region})
    user.set_password(PASSWORD)
    user.save()
    return user


def scope_sample(prefix: str, rng: random.Random) -> dict:
    """Household numbers (for household pages) and search terms (name, pinyin initials, ID
    number, household number) of a region, picked at random (inside a child with Django)."""
    from pypinyin import Style, lazy_pinyin

    from fangfan.common.pii import decrypt_id
    from fangfan.regions.scope import code_range_q
    from fangfan.registry.models import Household, Member

    ids = list(Household.objects.filter(code_range_q("village_id", prefix)).values_list("id", flat=True))
    picked = rng.sample(ids, min(SAMPLE, len(ids)))
    numbers = list(Household.objects.filter(id__in=picked).values_list("household_number", flat=True))
    members = list(Member.objects.filter(household_id__in=picked[:200]).values_list("name", "id_cipher"))
    terms = []
    for name, cipher in members[:50]:  # a user types the whole ID: the search goes through the blind index
        terms += [name, "".join(lazy_pinyin(name, style=Style.FIRST_LETTER)), decrypt_id(cipher)]
    terms += numbers[:50]
    return {"households": numbers, "search": terms}


def child_setup(db: str, as_of: str, seed: int) -> None:
    """In the benchmark database: users with a known password, cases for the rule candidates of
    their villages, and per user a sample of households and search terms of its scope."""
    import datetime as dt

    import django

    django.setup()
    from django.db.models import Count

    from fangfan.accounts.models import Role
    from fangfan.regions.scope import code_range_q
    from fangfan.registry.models import Household
    from fangfan.screening.models import ScreeningResult
    from fangfan.workflows import services
    from fangfan.workflows.errors import WorkflowError

    rng = random.Random(seed)
    on = dt.date.fromisoformat(as_of)
    users, cases = [], 0

    counties = sorted({code[:6] for code in Household.objects.values_list("village_id", flat=True).distinct()})
    # (villages of the county, biggest first; the busiest township is that of the biggest village)
    for county in counties:
        by_village = (Household.objects.filter(code_range_q("village_id", county))
                     .values("village_id").annotate(n=Count("id")).order_by("-n"))
        villages = [row["village_id"] for row in by_village]
        township = villages[0][:9]
        own = [v for v in villages if v.startswith(township)][:2]
        accounts = [(f"xian{county}", Role.COUNTY_RR, county.ljust(12, "0"), county),
                    (f"xiang{township}", Role.TOWNSHIP, township.ljust(12, "0"), township)]
        accounts += [(f"cun{v}", Role.VILLAGE, v, v) for v in own]
        for username, role, region, prefix in accounts:
            user = bench_user(username, role, region)
            users.append({"username": username, "role": role, "region": region,
                          **scope_sample(prefix, rng)})
            if role != Role.VILLAGE:
                continue
            candidates = (ScreeningResult.objects.filter(household__village_id=region)
                          .exclude(candidate_category="").values_list("household_id", flat=True).distinct())
            for household in Household.objects.filter(id__in=list(candidates)[:CASES_PER_VILLAGE]):
                try:
                    services.identification_open(actor=user, household=household, channel="big_data", on=on,
                                                 consent={"signer_name": "户主"})
                    cases += 1
                except WorkflowError:
                    pass
    print(json.dumps({"households": Household.objects.count(), "users": users, "cases": cases,
                      "password": PASSWORD}, ensure_ascii=False))


def sessions(db: str, state_file: Path) -> None:
    """A logged-in session per user, made in the database beforehand: 20 simultaneous logins
    (PBKDF2 by design slow) would otherwise fill the first seconds of the measured run."""
    proc = subprocess.run([sys.executable, __file__, "--child-sessions", str(state_file)], env=bench_env(db),
                          cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"sessions failed:\n{proc.stderr[-3000:]}")


def child_sessions(state_file: Path) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils.module_loading import import_string
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from fangfan.accounts.models import User
    from fangfan.accounts.otp import otp_required

    # The backend a real login records: the first that loads users (django-axes' LockoutBackend,
    # first in the list, only refuses locked-out logins and has no get_user).
    backend = next(path for path in settings.AUTHENTICATION_BACKENDS if hasattr(import_string(path), "get_user"))
    state = json.loads(state_file.read_text())
    for account in state["users"]:
        user = User.objects.get(username=account["username"])
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        if otp_required(user):
            # The county roles must pass the second factor (FANGFAN_REQUIRE_OTP, on in production):
            # an enrolled device and a session verified with it, as after entering a code.
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
                user=user, name="bench", confirmed=True)
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.create()
        account["session"] = session.session_key
    state["session_cookie"] = settings.SESSION_COOKIE_NAME
    state_file.write_text(json.dumps(state, ensure_ascii=False))


# ------------------------------------------------------------------------------ load
def free_port(preferred: int) -> int:
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", preferred)) != 0:
            return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(args, env: dict, port: int, log_name: str | None = None,
                 keep_alive: int | None = None) -> subprocess.Popen:
    # Every run starts with an empty cache (worklist results are kept until the data changes):
    # the figures include computing them, not a cache warmed by an earlier run.
    shutil.rmtree(Path(env["FANGFAN_DATA_DIR"]) / "cache", ignore_errors=True)
    log = open(OUT / (log_name or f"webbench_{args.db}_server.log"), "w")
    if args.server == "gunicorn":
        cmd = [sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "gthread", "--threads", "4",
               "--bind", f"127.0.0.1:{port}", "--access-logfile", "-", "fangfan.wsgi"]
        if keep_alive is not None:
            cmd[-1:-1] = ["--keep-alive", str(keep_alive)]
    elif args.server == "runserver":
        cmd = [str(Path(sys.executable).with_name("fangfan")), "runserver", f"127.0.0.1:{port}", "--noreload"]
    else:  # any WSGI server command line with {port}
        cmd = args.server.format(port=port).split()
    server = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return server
        if server.poll() is not None:
            sys.exit(f"the server stopped (exit {server.returncode}); see {log.name}")
        time.sleep(0.3)
    stop(server)
    sys.exit("the server did not start within 60 s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: the server and its threads only
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def run_locust(args, state_file: Path, port: int, prefix: Path) -> None:
    env = dict(os.environ, WEBBENCH_STATE=str(state_file))
    locust = str(Path(sys.executable).with_name("locust"))
    cmd = [locust, "-f", str(ROOT / "bench" / "locustfile_web.py"), "--headless", "-u", str(args.clients),
           "-r", str(args.spawn_rate), "-t", args.duration, "--host", f"http://127.0.0.1:{port}",
           "--csv", str(prefix), "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING"]
    with open(prefix.with_suffix(".log"), "w") as handle:
        proc = subprocess.run(cmd, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
                              timeout=_seconds(args.duration) + 120)
    if proc.returncode not in (0, 1):  # 1: some requests failed (reported below)
        sys.exit(f"locust failed (exit {proc.returncode}); see {prefix.with_suffix('.log')}")


def sequential(state: dict, port: int, rounds: int) -> dict[str, list[float]]:
    """One client, one request at a time: what a page costs without queueing (the floor under
    the concurrent figures), per page kind, over the first county and village users."""
    import re

    import requests

    base = f"http://127.0.0.1:{port}"
    times: dict[str, list[float]] = {}
    accounts = [a for a in state["users"] if a["role"] in ("village", "county_rr")][:2]
    for account in accounts:
        session = requests.Session()
        session.cookies.set(state["session_cookie"], account["session"], domain="127.0.0.1", path="/")
        rng = random.Random(account["username"])
        home = session.get(base + "/")
        lists = sorted(set(re.findall(r'href="(/worklists/[\w.-]+/)', home.text)))
        for _ in range(rounds):
            for kind, path, params in (
                ("household", f"/households/{rng.choice(account['households'])}/", None),
                ("home", "/", None),
                ("worklist", rng.choice(lists) if lists else None, None),
                ("search", "/households/", {"q": rng.choice(account["search"])}),
            ):
                if path is None:
                    continue
                started = time.perf_counter()
                session.get(base + path, params=params)
                times.setdefault(f"{kind} ({account['role']})", []).append((time.perf_counter() - started) * 1000)
    return times


def _seconds(duration: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    return int(duration[:-1]) * units[duration[-1]] if duration[-1] in units else int(duration)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def report(prefix: Path, clients: int, alone: dict[str, list[float]]) -> bool:
    rows = list(csv.DictReader(open(f"{prefix}_stats.csv", encoding="utf-8")))
    failures = list(csv.DictReader(open(f"{prefix}_failures.csv", encoding="utf-8")))
    if alone:
        print("\none client, one request at a time (no queueing):")
        for kind, values in alone.items():
            print(f"  {kind:<22} {len(values):>4} requests  median {_pct(values, .5):6.0f} ms  "
                  f"p95 {_pct(values, .95):6.0f} ms")
    print(f"\n{clients} concurrent clients:")
    print(f"{'page':<34} {'requests':>9} {'failures':>9} {'req/s':>7} {'median ms':>10} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'target p95':>11}  ok")
    ok = True
    for row in rows:
        name = row["Name"]
        if name == "Aggregated":
            continue
        kind = name.split(" ")[0]
        target = TARGETS_MS.get(kind)
        p95 = float(row["95%"] or 0)
        fails = int(row["Failure Count"])
        good = fails == 0 and (target is None or p95 <= target)
        ok &= good or target is None
        print(f"{name:<34} {row['Request Count']:>9} {fails:>9} {float(row['Requests/s']):>7.1f} "
              f"{float(row['Median Response Time']):>10.0f} {p95:>8.0f} {float(row['99%'] or 0):>8.0f} "
              f"{(str(target) + ' ms') if target else '-':>11}  {'yes' if good else 'NO'}")
    total = next(r for r in rows if r["Name"] == "Aggregated")
    errors = int(total["Failure Count"])
    print(f"errors: {errors} of {total['Request Count']} requests (target 0)")
    for f in failures[:10]:
        print(f"  {f['Method']} {f['Name']}: {f['Occurrences']}× {f['Error'][:160]}")
    return ok and errors == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--counties", type=int, default=4)
    parser.add_argument("--county", default="610902", help="first county code (it has a 低保 line)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", default="2026-04-30", help="screening date (the generator's reference date)")
    parser.add_argument("--db", default="fangfan_webbench")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--duration", default="60s")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--server", default="gunicorn",
                        help="gunicorn (default: 2 processes × 4 threads, one per core), runserver, or a "
                             "WSGI server command line with {port}")
    parser.add_argument("--sequential", type=int, default=10,
                        help="rounds of one-at-a-time requests per page kind before the load (0: none)")
    parser.add_argument("--reuse", action="store_true", help="reuse the prepared database when it matches")
    parser.add_argument("--prepare-only", action="store_true")
    parser.add_argument("--child-setup", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--child-sessions", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_sessions:
        child_sessions(Path(args.child_sessions))
        return 0
    if args.child_setup:
        child_setup(args.child_setup[0], args.child_setup[1], int(args.child_setup[2]))
        return 0

    OUT.mkdir(exist_ok=True)
    folder = generate(args.households, args.counties, args.county, args.seed)
    state = prepare(args, folder)
    if args.prepare_only:
        return 0
    state_file = OUT / f"webbench_{args.db}.json"
    sessions(args.db, state_file)
    port = free_port(args.port)
    server = start_server(args, bench_env(args.db), port)
    prefix = OUT / f"webbench_{args.households}"
    state = json.loads(state_file.read_text())
    try:
        alone = sequential(state, port, args.sequential) if args.sequential else {}
        run_locust(args, state_file, port, prefix)
    finally:
        stop(server)
    print(f"{state['households']:,} households in {args.counties} counties on PostgreSQL; server: {args.server}")
    return 0 if report(prefix, args.clients, alone) else 1


if __name__ == "__main__":
    raise SystemExit(main())
