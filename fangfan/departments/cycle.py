"""The monthly cycle (月比对, issue 10 item 5): import the department feeds waiting in a folder
(each matched and its warnings raised by services.feed_import), screen the region's registry
(screening_run), rebuild the visit and deadline lists, and record what was done in a CycleRun.

Every step is its own transaction and idempotent, so a cycle killed half way is finished by
running it again: a feed already committed is found by its file hash and reported as imported,
the screening only writes results that differ, the lists are recomputed. An unfinished CycleRun
of the same month and region is resumed rather than a second one started.

Where the feeds wait: `--folder DIR`, else `<FANGFAN_DATA_DIR>/feeds/YYYY-MM/` (FANGFAN_DATA_DIR
defaults to ./var). A file is named by its department, optionally followed by a separator or
digits: `医保.csv`, `医保_2026-05.xlsx`, `市场监管-5月.csv`. A period in the name (2026-05,
202605) is the batch's data period, otherwise the cycle's month."""
from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from fangfan.accounts.models import DEPARTMENTS, Role
from fangfan.accounts.permissions import require, role_of
from fangfan.audit.services import audit_record
from fangfan.departments.feeds import FeedFile, parse_period, period_from_name, read_feed
from fangfan.departments.models import CycleRun, DeptWarning, FeedBatch
from fangfan.departments.services import FeedRejected, feed_import
from fangfan.regions.codes import is_digits
from fangfan.regions.scope import code_range_q
from fangfan.registry.models import Household

FEED_SUFFIXES = (".csv", ".xlsx", ".xlsm")
# Test-only: seconds to sleep after each committed step, so a test can kill the process between
# two of them (tests/departments/test_cycle.py). Unset in real use.
PAUSE_ENV = "FANGFAN_CYCLE_PAUSE"
_CJK = re.compile(r"[\u3400-\u9fff]")


class CycleError(Exception):
    """The cycle could not start (bad month, region, folder or user); nothing was written."""


@dataclass(frozen=True)
class FeedFound:
    path: Path
    department: str
    period: str


def default_folder(month: str) -> Path:
    return Path(settings.DATA_DIR) / "feeds" / month


def department_of(name: str) -> str | None:
    """The department a file name starts with ('医保_2026-05.xlsx' → 医保); None if it names
    none ('医保局.csv' is not 医保: the name goes on in Chinese)."""
    stem = Path(name).stem.strip()
    for department in sorted(DEPARTMENTS, key=len, reverse=True):
        if stem.startswith(department):
            rest = stem[len(department):]
            if not rest or not _CJK.match(rest[0]):
                return department
    return None


def feeds_in(folder: Path, month: str) -> tuple[list[FeedFound], list[str]]:
    """The department files of a folder in department order, and the names it does not know."""
    first_day = dt.date.fromisoformat(f"{month}-01")
    found: list[FeedFound] = []
    unknown: list[str] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "~$")) or path.is_dir():
            continue  # hidden files, Excel's lock files, subfolders
        department = department_of(path.name) if path.suffix.lower() in FEED_SUFFIXES else None
        if department is None:
            unknown.append(path.name)
        else:
            found.append(FeedFound(path, department, period_from_name(path.name, first_day)))
    order = {d: i for i, d in enumerate(DEPARTMENTS)}
    found.sort(key=lambda f: (order[f.department], f.path.name))
    return found, unknown


def _month_end(month: str) -> dt.date:
    year, number = int(month[:4]), int(month[5:])
    return dt.date(year, number, calendar.monthrange(year, number)[1])


def _check(actor, month: str, region: str) -> tuple[str, str, str]:
    """(month, region, county of the feeds) or CycleError / PermissionDenied."""
    try:
        month = parse_period(month)
    except ValueError as exc:
        raise CycleError(str(exc)) from None
    region = (region or "").strip()
    if region and (not is_digits(region) or len(region) > 12):
        raise CycleError(f"区划代码应为不超过12位的数字, 收到 {region!r}")
    if len(region) == 12:
        region = region.rstrip("0") or region  # a full code names the region, as screening reads it
    if actor is None:
        return month, region, region[:6] if len(region) >= 6 else ""
    require(role_of(actor) == Role.COUNTY_RR, "只有县乡村振兴局(或系统)可以运行月比对")
    county = getattr(actor, "region_prefix", "")
    require(len(county) == 6, "账号未设置县级管辖区划, 不能运行月比对")
    require(not region or region.startswith(county), "所选区划不在本账号的管辖范围内")
    return month, region or county, county


def cycle_run(*, actor, month: str, region: str = "", folder: str | Path | None = None,
              today: dt.date | None = None, progress: bool = False) -> CycleRun:
    """Run (or finish) the month's cycle for a region; returns the CycleRun whose `summary` says
    what each step did. A file with problems imports nothing and is listed with every problem
    (summary["rejected"]); the other files and steps go on."""
    month, region, county = _check(actor, month, region)
    folder = Path(folder) if folder else default_folder(month)
    if not folder.is_dir():
        raise CycleError(f"数据目录不存在: {folder}(用 --folder 指定, 默认为 <数据目录>/feeds/{month}/)")
    feeds, unknown = feeds_in(folder, month)
    today = today or timezone.localdate()
    # The month's last day once it is over (a re-run next week screens the same date and changes
    # nothing), today while it runs.
    as_of = min(_month_end(month), today)
    run = CycleRun.objects.filter(month=month, region=region, finished_at__isnull=True).order_by("id").first()
    if run is None:
        run = CycleRun.objects.create(month=month, region=region, folder=str(folder), as_of=as_of,
                                      who=actor if getattr(actor, "pk", None) else None, summary={})
    summary = run.summary
    summary.update(as_of=as_of.isoformat(), folder=str(folder), unknown=unknown)
    summary.setdefault("files", {})
    summary["rejected"] = {}
    bar = _Bar(progress, total=len(feeds) + 2)
    pause = float(os.environ.get(PAUSE_ENV) or 0)
    started = time.perf_counter()
    seconds = summary["seconds"] = {}
    try:
        # The next file is read (parsed and checked: CPU) in a thread while this one is written
        # (mostly the database's time); files imported before are not read at all.
        todo = [feed for feed in feeds if not _already_imported(run, feed)]
        with ThreadPoolExecutor(max_workers=1) as reader:
            ahead = reader.submit(_read, todo[0]) if todo else None
            for index, feed in enumerate(todo):
                bar.label(f"导入 {feed.path.name}")
                read = ahead.result()
                ahead = reader.submit(_read, todo[index + 1]) if index + 1 < len(todo) else None
                _import_one(actor, run, feed, county, today, read)
                bar.advance()
                _pause(pause)
        bar.advance(len(feeds) - len(todo))
        seconds["feeds"] = round(time.perf_counter() - started, 2)
        bar.label("规则筛查")
        _screen(actor, run, region, as_of, progress and not bar.enabled)
        seconds["screening"] = round(time.perf_counter() - started - seconds["feeds"], 2)
        bar.advance()
        _pause(pause)
        summary["changed"] = _changed(summary)
        with transaction.atomic():
            run.save(update_fields=["summary", "folder", "as_of"])
            audit_record(actor=actor, action="dept.cycle", object_type="cycle_run", object_key=run.pk,
                         region_code=region or county,
                         after={"month": month, "as_of": as_of.isoformat(), "changed": summary["changed"],
                                "files": len(feeds), "rejected": sorted(summary["rejected"])})
        # The lists are built after the audit row above, the cycle's last one: it starts the data
        # version (workflows.worklists.data_version) the pages opened after the cycle will ask for.
        bar.label("刷新走访与期限清单")
        mark = time.perf_counter()
        summary["lists"] = _refresh_lists(region, today)
        seconds["lists"] = round(time.perf_counter() - mark, 2)
        seconds["total"] = round(time.perf_counter() - started, 2)
        bar.advance()
    finally:
        bar.close()
    run.finished_at = timezone.now()
    # No audit row here: it would start a new data version and make the lists just built stale.
    run.save(update_fields=["summary", "finished_at"])
    return run


def _pause(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _batch_figures(batch: FeedBatch) -> dict:
    return {"batch": batch.pk, "rows": batch.rows, "new_rows": batch.new_rows, "skipped": batch.skipped,
            "matched": batch.matched, "unmatched": batch.unmatched, "warnings": batch.warnings_raised}


def _already_imported(run: CycleRun, feed: FeedFound) -> bool:
    """Whether the file (by its SHA-256) is imported already, recorded as such in the run; an
    unreadable file is recorded as rejected (True: nothing more to do with it)."""
    files = run.summary["files"]
    name = feed.path.name
    try:
        earlier = FeedBatch.objects.filter(department=feed.department, sha256=_file_sha256(feed.path)).first()
    except OSError as exc:
        run.summary["rejected"][name] = [f"{name}: 无法读取文件: {exc.strerror or exc}"]
        return True
    if earlier is None:
        return False
    mine = files.get(name, {}).get("status") == "imported" and files[name].get("batch") == earlier.pk
    if not mine:  # imported by an earlier cycle or by hand: nothing to do
        files[name] = {"department": feed.department, "status": "already", **_batch_figures(earlier),
                       "new_rows": 0, "warnings": 0, "period": earlier.period}
    return True


def _read(feed: FeedFound) -> FeedFile | None:
    try:
        return read_feed(feed.department, feed.path)
    except Exception:  # noqa: BLE001 - feed_import reads the file again and reports why it cannot
        return None


def _import_one(actor, run: CycleRun, feed: FeedFound, county: str, today: dt.date, read: FeedFile | None) -> None:
    """Import one file in one transaction with the run's record of it: after a kill, the file is
    either imported and recorded, or neither."""
    if _already_imported(run, feed):  # the same file under another name earlier in this folder
        return
    files = run.summary["files"]
    name = feed.path.name
    base = {"department": feed.department, "period": feed.period}
    try:
        with transaction.atomic():
            result = feed_import(actor=actor, department=feed.department, path=feed.path, period=feed.period,
                                 county=county if actor is None else "", today=today, feed=read)
            files[name] = {**base, "status": "imported", **_batch_figures(result.batch)}
            run.save(update_fields=["summary"])
    except FeedRejected as exc:
        files.pop(name, None)
        run.summary["rejected"][name] = [str(exc), *(str(p) for p in exc.problems)]


def _screen(actor, run: CycleRun, region: str, as_of: dt.date, progress: bool) -> None:
    from fangfan.screening.services import screening_run

    try:
        result = screening_run(actor=actor, as_of=as_of, region=region, progress=progress)
    except PermissionError as exc:
        raise CycleError(str(exc)) from None
    earlier = run.summary.get("screening") or {}
    counts = result.counts.get("candidate_category", {})
    run.summary["screening"] = {
        "as_of": as_of.isoformat(), "households": result.households,
        # A resumed run adds its screening to the part done before the kill.
        "created": result.created + (earlier.get("created", 0) if earlier.get("as_of") == as_of.isoformat() else 0),
        "updated": result.updated + (earlier.get("updated", 0) if earlier.get("as_of") == as_of.isoformat() else 0),
        "unchanged": result.unchanged, "this_run_changed": result.changed,
        "candidates": {str(k or ""): v for k, v in counts.items() if k},
        "warning_colors": {str(k): v for k, v in result.counts.get("warning_color", {}).items() if k},
    }
    run.save(update_fields=["summary"])


def _counties(region: str) -> list[str]:
    """The counties (6 digits) with households in the region (its own county when narrower)."""
    if len(region) >= 6:
        return [region[:6]]
    villages = Household.objects.filter(code_range_q("village_id", region)) if region else Household.objects.all()
    codes = villages.values_list("village_id", flat=True).order_by("village_id").distinct()
    return sorted({code[:6] for code in codes})


def _refresh_lists(region: str, today: dt.date) -> dict:
    """Build each county's visit schedule into the worklist cache (the lists of the current data
    version) and count the visit and warning deadlines for the summary."""
    from fangfan.workflows import worklists

    empty = pl.DataFrame(schema={"household_id": pl.String, "village_code": pl.String, "visit_due_on": pl.Date,
                                 "visit_overdue": pl.Boolean})
    due = overdue = 0
    for county in _counties(region):
        schedule = worklists.cached("visits", county, today,
                                    lambda c=county: worklists._compute_visit_schedule(c, today, empty))
        if len(region) > 6:
            schedule = schedule.filter(pl.col("village_code").str.starts_with(region))
        late = int(schedule.get_column("visit_overdue").sum() or 0)
        overdue += late
        due += schedule.height - late
    warnings = DeptWarning.objects.exclude(state=DeptWarning.State.VERIFIED)
    if region:
        warnings = warnings.filter(code_range_q("village_code", region))
    late = warnings.filter(deadline__lt=today)
    by_level = {DeptWarning.State(r["state"]).label: r["n"] for r in late.values("state").annotate(n=Count("id"))}
    by_department = {r["department"]: r["n"] for r in
                     late.values("department").annotate(n=Count("id")).order_by("department")}
    return {"visits_overdue": overdue, "visits_due_week": due, "warnings_open": warnings.count(),
            "warnings_overdue": late.count(), "warnings_overdue_by_level": by_level,
            "warnings_overdue_by_department": by_department}


def _changed(summary: dict) -> bool:
    """Whether this run (with the attempts before it, if it was resumed) changed any data."""
    imported = any(f["status"] == "imported" for f in summary["files"].values())
    screening = summary.get("screening") or {}
    return imported or bool(screening.get("created") or screening.get("updated"))


class _Bar:
    """A rich progress bar over the cycle's steps, on a terminal only (silent in tests, pipes)."""

    def __init__(self, enabled: bool, total: int):
        self.enabled = False
        if not enabled:
            return
        from rich.console import Console

        console = Console(stderr=True)
        if not console.is_terminal:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.enabled = True
        self.progress = Progress(TextColumn("[bold]月比对[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console)
        self.progress.start()
        self.task = self.progress.add_task("", total=total)

    def label(self, text: str) -> None:
        if self.enabled:
            self.progress.update(self.task, description=text)

    def advance(self, steps: int = 1) -> None:
        if self.enabled:
            self.progress.advance(self.task, steps)

    def close(self) -> None:
        if self.enabled:
            self.progress.stop()
            self.enabled = False


# ------------------------------------------------------------------------------------------ summary text
def summary_lines(run: CycleRun) -> list[str]:
    """The cycle's summary as the command prints it (Chinese)."""
    s = run.summary
    lines = [f"月比对 {run.month}{' 区划 ' + run.region if run.region else ''}: 数据目录 {s.get('folder', run.folder)}, "
             f"筛查日期 {s.get('as_of', '')}"]
    files = s.get("files", {})
    if files:
        lines.append("部门\t文件\t状态\t行数\t新增\t匹配\t未匹配\t新增预警")
        order = {d: i for i, d in enumerate(DEPARTMENTS)}
        for name, f in sorted(files.items(), key=lambda item: (order.get(item[1]["department"], 99), item[0])):
            state = "已导入" if f["status"] == "imported" else f"此前已导入(批次 {f['batch']}), 未重复导入"
            lines.append("\t".join(str(v) for v in (f["department"], name, state, f["rows"], f["new_rows"],
                                                      f["matched"], f["unmatched"], f["warnings"])))
        imported = [f for f in files.values() if f["status"] == "imported"]
        lines.append(f"合计: 导入 {len(imported)} 个文件, 新增 {sum(f['new_rows'] for f in imported)} 行, "
                     f"新增预警 {sum(f['warnings'] for f in imported)} 条")
    else:
        lines.append("数据目录中没有部门数据文件")
    for name in s.get("unknown", []):
        lines.append(f"未识别的文件(文件名应以部门名开头, 如 医保.csv、医保_{run.month}.xlsx), 已跳过: {name}")
    for name, problems in s.get("rejected", {}).items():
        lines.append(f"文件未导入: {name}")
        lines.extend(f"  {p}" for p in problems)
    sc = s.get("screening")
    if sc:
        cats = "、".join(f"{_CATEGORY.get(k, k)} {v}" for k, v in sorted(sc["candidates"].items()))
        lines.append(f"规则筛查({sc['as_of']}): {sc['households']} 户, 新增结果 {sc['created']}, 更新 {sc['updated']}, "
                     f"未变 {sc['unchanged']}; 疑似对象: {cats or '无'}")
    li = s.get("lists")
    if li:
        levels = "、".join(f"{k} {v}" for k, v in li["warnings_overdue_by_level"].items())
        depts = "、".join(f"{k} {v}" for k, v in li["warnings_overdue_by_department"].items())
        lines.append(f"走访: 逾期 {li['visits_overdue']} 户, 一周内到期 {li['visits_due_week']} 户")
        lines.append(f"部门预警: 待核查 {li['warnings_open']} 条, 超期 {li['warnings_overdue']} 条"
                     + (f"(按层级: {levels}; 按部门: {depts})" if li["warnings_overdue"] else ""))
    took = s.get("seconds") or {}
    if "total" in took:
        lines.append(f"用时 {took['total']:.1f} 秒(导入 {took['feeds']:.1f}, 筛查 {took['screening']:.1f}, "
                     f"清单 {took['lists']:.1f})")
    if not s.get("changed", False):
        lines.append("本次运行没有改变任何数据: 文件均已导入过, 筛查结果无变化")
    return lines


_CATEGORY = {"unstable_lifted": "脱贫不稳定户", "marginal": "边缘易致贫户", "sudden_hardship": "突发严重困难户"}
