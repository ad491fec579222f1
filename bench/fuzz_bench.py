"""Long fuzz run of the hostile-input properties (issue 11 item 5), bounded in time.

    python bench/fuzz_bench.py [--seconds 300] [--chunk 50]

The short versions run in `make test` (tests/*/test_hostile_*.py, tens of examples each). This
runs the same properties with fresh random seeds, round after round, until the time is up:

- interchange folders with one hostile change (encodings, garbage, huge cells, 10,000
  columns, NUL, formulas) through read_interchange;
- department files (the same kinds of change, CSV and XLSX) through feeds.read_feed;
- fangfan.common.safe.safe_cell over any text, and the attachment type sniffing over any bytes.

Each property gets an equal share of the time. Prints, per property, the cases run and the
failures (with Hypothesis' falsifying example), and exits 1 when any property failed.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangfan.settings")
    os.environ.setdefault("FANGFAN_DATA_DIR", str(ROOT / "bench" / "out" / "fuzz"))
    import django

    django.setup()


def _properties() -> dict:
    """name → (strategy, check(case)); the checks are the test modules' own."""
    from hypothesis import strategies as st

    from tests.common import test_hostile_safe as safe_tests
    from tests.departments import test_hostile_feeds as feed_tests
    from tests.registry import test_hostile_import as import_tests
    from tests.workflows import test_hostile_attachments as upload_tests

    def inner(test):
        # the function under @given, without Hypothesis' wrapper
        return test.hypothesis.inner_test

    return {
        "interchange import (read_interchange)": (
            import_tests.hostile_folders(), inner(import_tests.test_it_reads_any_hostile_change_to_a_folder_without_an_exception)),
        "department feed (read_feed)": (
            feed_tests.hostile_feeds(), inner(feed_tests.test_it_reads_any_hostile_department_file_without_an_exception)),
        "safe_cell (CSV/XLSX formulas)": (
            st.one_of(st.text(), st.builds(lambda t, s: t + s, safe_tests.TRIGGERS, st.text())),
            inner(safe_tests.test_it_leaves_no_text_cell_that_a_spreadsheet_would_run)),
        "attachment sniffing": (
            st.tuples(st.binary(max_size=64), upload_tests.NAMES, st.sampled_from(["image/png", "text/html", ""])),
            lambda args: inner(upload_tests.test_it_accepts_exactly_the_files_that_start_with_an_allowed_magic)(*args)),
    }


def run(name: str, strategy, check, seconds: float, chunk: int) -> tuple[int, list[str]]:
    from hypothesis import HealthCheck, Phase, given, seed, settings

    cases = 0
    failures: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(failures) < 5:
        def counted(case):
            nonlocal cases
            cases += 1
            check(case)

        test = seed(random.getrandbits(64))(
            settings(max_examples=chunk, deadline=None, database=None, suppress_health_check=list(HealthCheck),
                     phases=[Phase.generate, Phase.shrink], print_blob=False)(given(strategy)(counted)))
        try:
            test()
        except Exception as exc:  # a falsified property: keep the message, go on with a new seed
            failures.append(f"{type(exc).__name__}: {str(exc)[:800]}\n{traceback.format_exc(limit=3)[-800:]}")
    return cases, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=300, help="total time budget (default 300)")
    parser.add_argument("--chunk", type=int, default=50, help="examples per Hypothesis run (a fresh seed each)")
    args = parser.parse_args()
    _setup()
    properties = _properties()
    share = args.seconds / len(properties)
    started = time.perf_counter()
    total, failed = 0, 0
    print(f"fuzzing {len(properties)} properties, {share:.0f} s each")
    for name, (strategy, check) in properties.items():
        t0 = time.perf_counter()
        cases, failures = run(name, strategy, check, share, args.chunk)
        total += cases
        failed += len(failures)
        print(f"{name:42} {cases:7d} cases  {len(failures)} failures  {time.perf_counter() - t0:6.1f} s")
        for failure in failures:
            print("    " + failure.replace("\n", "\n    "))
    print(f"total: {total} cases, {failed} failures, {time.perf_counter() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
