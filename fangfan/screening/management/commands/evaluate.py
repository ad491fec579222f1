"""fangfan evaluate PATH --as-of YYYY-MM-DD [--year YYYY] --out FILE [--set NAME=VALUE …]
[--set PREFIX:NAME=VALUE …] [--compare] [--engine local|spark] [--county-params]

Evaluates every household of interchange files (rules.md, the `evaluate` contract) and writes
one row per household (CSV, or XLSX when FILE ends in .xlsx). Bad input: every problem is
listed, exit non-zero, no output file. With --compare, the shipped parameters are evaluated
too and the changes are written beside the results (OUT_compare.csv and OUT_transitions.csv,
or sheets of the workbook). The shipped parameters are used unless --county-params adds the counties'
own dated values from the database (县级参数): by default the results depend on the files alone."""
from __future__ import annotations

import gc
import importlib.util
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl
from django.core.management.base import BaseCommand, CommandError

from fangfan.common.dates import DateError, parse_date
from fangfan.regions.codes import is_digits
from fangfan.registry.progress import Progress

XLSX_MAX_ROWS = 1_048_576  # rows of a worksheet, the header included


def parse_set(text: str) -> tuple[str, str | None, str]:
    """'NAME=VALUE' or 'PREFIX:NAME=VALUE' → (name, prefix | None, value)."""
    if "=" not in text:
        raise CommandError(f"--set 应写作 NAME=VALUE 或 PREFIX:NAME=VALUE: {text!r}")
    left, value = text.split("=", 1)
    prefix = None
    if ":" in left:
        prefix, left = left.split(":", 1)
        prefix = prefix.strip()
        if not is_digits(prefix):
            raise CommandError(f"--set 的区划前缀应为数字: {text!r}")
    name = left.strip()
    if not name:
        raise CommandError(f"--set 缺少参数名: {text!r}")
    return name, prefix, value.strip()


def _write_atomic(out: Path, sheets: dict) -> None:
    """CSV: the first sheet to OUT and the others to OUT_<name>.csv; XLSX: one sheet each.
    A sheet is a frame, an iterator of frames (a partitioned input's results, written as they
    come) or a function giving a frame once the sheets before it are written. CSV files are
    written from the typed frames as the contract's text (csv_columns); workbook sheets as
    given. Every file goes to a temporary file first and is renamed only when all are written."""
    from fangfan.policy.evaluate import csv_columns

    targets: list[tuple[Path, Path]] = []

    def frames(sheet) -> Iterator[pl.DataFrame]:
        if callable(sheet):
            sheet = sheet()
        if isinstance(sheet, pl.DataFrame):
            yield sheet
        else:
            yield from sheet

    try:
        if out.suffix.lower() == ".xlsx":
            fd, tmp = tempfile.mkstemp(suffix=".xlsx", dir=out.parent)
            os.close(fd)
            targets.append((Path(tmp), out))
            import xlsxwriter

            from fangfan.common.safe import XLSX_OPTIONS

            with xlsxwriter.Workbook(tmp, XLSX_OPTIONS) as wb:  # text as text, never a formula (common.safe)
                for name, sheet in sheets.items():
                    frame = pl.concat(list(frames(sheet)), how="vertical")
                    if frame.height >= XLSX_MAX_ROWS:
                        raise CommandError(
                            f"XLSX 工作表最多 {XLSX_MAX_ROWS} 行(含表头),结果有 {frame.height} 行: 请输出 .csv"
                        )
                    frame.write_excel(wb, worksheet=name, autofit=True)
        else:
            for i, (name, sheet) in enumerate(sheets.items()):
                target = out if i == 0 else out.with_name(f"{out.stem}_{name}{out.suffix or '.csv'}")
                fd, tmp = tempfile.mkstemp(suffix=".csv", dir=out.parent)
                os.close(fd)
                targets.append((Path(tmp), target))
                if isinstance(sheet, pl.DataFrame):
                    # Streamed from the typed frame: no text copy of the results in memory.
                    csv_columns(sheet).sink_csv(tmp)
                    continue
                with open(tmp, "wb") as fh:
                    for n, frame in enumerate(frames(sheet)):
                        csv_columns(frame).collect().write_csv(fh, include_header=n == 0)
        for tmp, target in targets:
            os.replace(tmp, target)
    finally:
        for tmp, _ in targets:
            if tmp.exists():
                tmp.unlink()


class Command(BaseCommand):
    help = "按 rules.md 评估互换文件中的每一户(收入核算、监测类别、风险消除、预警、低收入类别、回访),输出一户一行"
    # Files in, a file out: Django's system checks (URL conf, models) add 0.35 s of imports to
    # every run and check nothing this command uses; `fangfan check` and migrate still run them.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV 文件夹、.xlsx 工作簿,或以县为单位的子文件夹所在的文件夹")
        parser.add_argument("--as-of", dest="as_of", required=True, help="评估日期 YYYY-MM-DD")
        parser.add_argument("--year", type=int, default=None, help="收入年度(默认:文件中最近的年度)")
        parser.add_argument("--out", required=True, help="输出文件 .csv 或 .xlsx")
        parser.add_argument("--set", dest="overrides", action="append", default=[],
                            help="改动参数: NAME=VALUE 或 PREFIX:NAME=VALUE(可多次)")
        parser.add_argument("--compare", action="store_true", help="同时按现行参数评估并输出变化统计")
        parser.add_argument("--engine", choices=("local", "spark"), default="local")
        parser.add_argument("--county-params", dest="county_params", action="store_true",
                            help="同时使用数据库中的县级参数(默认只用随程序发布的参数,结果只取决于文件)")

    def handle(self, *args, **options):
        # The objects loaded so far (Django, Polars, the rules) are never garbage: left out of the
        # collector's full passes while this runs, which otherwise walk them all (1M: 0.12 s with
        # the GIL held).
        gc.freeze()
        try:
            return self._evaluate(*args, **options)
        finally:
            gc.unfreeze()

    def _evaluate(self, *args, path, as_of, year, out, overrides, compare, engine, verbosity, county_params=False,
                  **options):
        from fangfan.policy.evaluate import format_results
        from fangfan.policy.params import ParameterSet
        from fangfan.policy.parts import evaluator, result_counts
        from fangfan.policy.whatif import compare as compare_results

        try:
            as_of_date = parse_date(as_of)
        except DateError as exc:
            raise CommandError(f"--as-of 日期无效: {exc}") from None
        out_path = Path(out)
        if out_path.suffix.lower() not in (".csv", ".xlsx"):
            raise CommandError(f"--out 应为 .csv 或 .xlsx 文件: {out}")
        if not out_path.parent.exists():
            raise CommandError(f"输出目录不存在: {out_path.parent}")
        if not Path(path).exists():
            raise CommandError(f"找不到输入: {path}")
        progress = Progress(enabled=verbosity > 0)

        shipped = ParameterSet.load()
        if county_params:
            from fangfan.screening.parameters import current_parameters

            shipped = current_parameters()
        params = shipped
        if overrides:
            parsed = [parse_set(text) for text in overrides]
            try:
                params = shipped.with_overrides(parsed)
            except Exception as exc:  # the parameter module says what is wrong with a value
                raise CommandError(f"--set 参数无效: {exc}") from None

        if engine == "spark" and importlib.util.find_spec("fangfan.policy.spark") is None:
            raise CommandError("spark engine not available yet")

        from fangfan.registry.interchange.parts import partition_folders

        folders = partition_folders(path)
        if folders:
            try:
                self._partitioned(
                    folders, out_path, engine, as_of_date, params, shipped if compare else None, year, progress,
                    verbosity,
                )
            except OSError as exc:  # the spill or the output could not be written: say where, no traceback
                raise CommandError(f"无法写入 {exc.filename or out_path.parent}: {exc.strerror or exc}") from None
            return

        from fangfan.registry.interchange.read import read_interchange

        run = evaluator(engine, as_of_date)
        with progress.step("读取并校验"):
            read = read_interchange(path)
        if not read.ok:
            self._fail(read.problems)
        # Only the typed tables are needed from here on; holding nothing else of the reader
        # lets the tables go as soon as the last evaluation is done (peak memory at 1M).
        tables = read.tables
        if engine == "local":  # the household IDs as integers, as the reader's checks found them
            from fangfan.policy.frame import with_household_keys

            tables = with_household_keys(tables, read.household_keys)
        del read

        with progress.step("评估"):
            results = run(tables, params, year)
        comparison = None
        if compare:
            with progress.step("按现行参数评估并比较"):
                comparison = compare_results(run(tables, shipped, year), results)
        tables.clear()
        # A workbook gets the contract's text; a CSV is written straight from the typed frame.
        sheets = {"results": format_results(results) if out_path.suffix.lower() == ".xlsx" else results}
        if comparison is not None:
            sheets["compare"] = comparison.by_area
            sheets["transitions"] = comparison.transitions
        with progress.step("写出"):
            try:
                _write_atomic(out_path, sheets)
            except OSError as exc:
                raise CommandError(f"无法写入 {exc.filename or out_path}: {exc.strerror or exc}") from None
        if verbosity:
            self._summary(result_counts(results), results.height, out_path, comparison)

    def _fail(self, problems) -> None:
        for problem in problems:
            self.stderr.write(str(problem))
        raise CommandError(f"输入有 {len(problems)} 个问题,未写出结果")

    def _partitioned(self, folders, out_path: Path, engine, as_of, params, shipped, year, progress, verbosity) -> None:
        """A folder of interchange folders, read and evaluated part by part (fangfan.policy.parts),
        the results appended to the output as each part is done."""
        from fangfan.policy.evaluate import format_results
        from fangfan.policy.parts import PartsEvaluation, read_parts

        step = progress.update if progress.enabled else None
        with progress.step(f"读取并校验 {len(folders)} 个部分"):
            data = read_parts(folders, engine=engine, spill_dir=out_path.parent, step=step)
        with data:
            if not data.ok:
                self._fail(data.problems)
            evaluation = PartsEvaluation(data, as_of, params, shipped=shipped, year=year, engine=engine)
            xlsx = out_path.suffix.lower() == ".xlsx"

            def results_by_part():
                for done in evaluation:
                    if step:
                        step(f"评估 {done.part.name}({done.index + 1}/{len(data.parts)},{done.part.households} 户)")
                    yield format_results(done.results) if xlsx else done.results

            sheets: dict = {"results": results_by_part()}
            if shipped is not None:
                sheets["compare"] = lambda: evaluation.comparison().by_area
                sheets["transitions"] = lambda: evaluation.comparison().transitions
            with progress.step("评估并写出"):
                _write_atomic(out_path, sheets)
        if verbosity:
            self._summary(evaluation.counts, evaluation.households, out_path, evaluation.comparison())

    def _summary(self, counts: dict[str, int], households: int, out: Path, comparison) -> None:
        self.stdout.write(
            f"已评估 {households} 户 → {out};"
            f"建议纳入监测 {counts['candidates']} 户,"
            f"可风险消除 {counts['eliminations']} 户,"
            f"预警 {counts['warnings']} 户,"
            f"应保未保 {counts['dibao_unserved']} 户,"
            f"回访逾期 {counts['visits_overdue']} 户"
        )
        if comparison is not None:
            total = comparison.by_area.filter(pl.col("level") == "total").row(0, named=True)
            self.stdout.write(f"参数改动后有变化的户: {total['any_changed']} / {total['households']}")
            for line in comparison.transition_lines():
                self.stdout.write("  " + line)

