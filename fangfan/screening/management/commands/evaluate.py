"""fangfan evaluate PATH --as-of YYYY-MM-DD [--year YYYY] --out FILE [--set NAME=VALUE …]
[--set PREFIX:NAME=VALUE …] [--compare] [--engine local|spark]

Evaluates every household of interchange files (rules.md, the `evaluate` contract) and writes
one row per household (CSV, or XLSX when FILE ends in .xlsx). Bad input: every problem is
listed, exit non-zero, no output file. With --compare, the shipped parameters are evaluated
too and the changes are written beside the results (OUT_compare.csv and OUT_transitions.csv,
or sheets of the workbook)."""
from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

import polars as pl
from django.core.management.base import BaseCommand, CommandError

from fangfan.common.dates import DateError, parse_date
from fangfan.registry.progress import Progress


def parse_set(text: str) -> tuple[str, str | None, str]:
    """'NAME=VALUE' or 'PREFIX:NAME=VALUE' → (name, prefix | None, value)."""
    if "=" not in text:
        raise CommandError(f"--set 应写作 NAME=VALUE 或 PREFIX:NAME=VALUE: {text!r}")
    left, value = text.split("=", 1)
    prefix = None
    if ":" in left:
        prefix, left = left.split(":", 1)
        prefix = prefix.strip()
        if not prefix.isdigit():
            raise CommandError(f"--set 的区划前缀应为数字: {text!r}")
    name = left.strip()
    if not name:
        raise CommandError(f"--set 缺少参数名: {text!r}")
    return name, prefix, value.strip()


def _write_atomic(out: Path, sheets: dict[str, pl.DataFrame]) -> None:
    """CSV: the first frame to OUT and the others to OUT_<name>.csv; XLSX: one sheet each.
    CSV files are written from the typed frames as the contract's text (csv_columns);
    workbook sheets as given. Every file goes to a temporary file first and is renamed only
    when all are written."""
    from fangfan.policy.evaluate import csv_columns

    targets: list[tuple[Path, Path]] = []
    try:
        if out.suffix.lower() == ".xlsx":
            fd, tmp = tempfile.mkstemp(suffix=".xlsx", dir=out.parent)
            os.close(fd)
            import xlsxwriter

            with xlsxwriter.Workbook(tmp) as wb:
                for name, frame in sheets.items():
                    frame.write_excel(wb, worksheet=name, autofit=True)
            targets.append((Path(tmp), out))
        else:
            for i, (name, frame) in enumerate(sheets.items()):
                target = out if i == 0 else out.with_name(f"{out.stem}_{name}{out.suffix or '.csv'}")
                fd, tmp = tempfile.mkstemp(suffix=".csv", dir=out.parent)
                os.close(fd)
                targets.append((Path(tmp), target))
                # Streamed from the typed frame: no text copy of the results in memory.
                csv_columns(frame).sink_csv(tmp)
        for tmp, target in targets:
            os.replace(tmp, target)
    finally:
        for tmp, _ in targets:
            if tmp.exists():
                tmp.unlink()


class Command(BaseCommand):
    help = "按 rules.md 评估互换文件中的每一户(收入核算、监测类别、风险消除、预警、低收入类别、回访),输出一户一行"

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV 文件夹或 .xlsx 工作簿")
        parser.add_argument("--as-of", dest="as_of", required=True, help="评估日期 YYYY-MM-DD")
        parser.add_argument("--year", type=int, default=None, help="收入年度(默认:文件中最近的年度)")
        parser.add_argument("--out", required=True, help="输出文件 .csv 或 .xlsx")
        parser.add_argument("--set", dest="overrides", action="append", default=[],
                            help="改动参数: NAME=VALUE 或 PREFIX:NAME=VALUE(可多次)")
        parser.add_argument("--compare", action="store_true", help="同时按现行参数评估并输出变化统计")
        parser.add_argument("--engine", choices=("local", "spark"), default="local")

    def handle(self, *args, path, as_of, year, out, overrides, compare, engine, verbosity, **options):
        from fangfan.policy.evaluate import evaluate_tables, format_results
        from fangfan.policy.params import ParameterSet
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
        params = shipped
        if overrides:
            parsed = [parse_set(text) for text in overrides]
            try:
                params = shipped.with_overrides(parsed)
            except Exception as exc:  # the parameter module says what is wrong with a value
                raise CommandError(f"--set 参数无效: {exc}") from None

        if engine == "spark" and importlib.util.find_spec("fangfan.policy.spark") is None:
            raise CommandError("spark engine not available yet")

        from fangfan.registry.interchange.read import read_interchange

        with progress.step("读取并校验"):
            read = read_interchange(path)
        if not read.ok:
            for problem in read.problems:
                self.stderr.write(str(problem))
            raise CommandError(f"输入有 {len(read.problems)} 个问题,未写出结果")
        # Only the typed tables are needed from here on; holding nothing else of the reader
        # lets the tables go as soon as the last evaluation is done (peak memory at 1M).
        tables = read.tables
        del read

        if engine == "spark":
            from fangfan.policy.spark import evaluate_spark

            def run(p):
                return evaluate_spark(tables, as_of_date, year, p)
        else:

            def run(p):
                return evaluate_tables(tables, as_of=as_of_date, year=year, params=p)

        with progress.step("评估"):
            results = run(params)
        comparison = None
        if compare:
            with progress.step("按现行参数评估并比较"):
                comparison = compare_results(run(shipped), results)
        tables.clear()
        # A workbook gets the contract's text; a CSV is written straight from the typed frame.
        sheets = {"results": format_results(results) if out_path.suffix.lower() == ".xlsx" else results}
        if comparison is not None:
            sheets["compare"] = comparison.by_area
            sheets["transitions"] = comparison.transitions
        with progress.step("写出"):
            _write_atomic(out_path, sheets)
        if verbosity:
            self._summary(results, out_path, comparison)

    def _summary(self, results: pl.DataFrame, out: Path, comparison) -> None:
        def count(expr):
            return int(results.select(expr.sum()).item() or 0)

        self.stdout.write(
            f"已评估 {results.height} 户 → {out};"
            f"建议纳入监测 {count(pl.col('candidate_category').is_not_null())} 户,"
            f"可风险消除 {count(pl.col('elimination') == 'eligible')} 户,"
            f"预警 {count(pl.col('warning_color').is_not_null())} 户,"
            f"应保未保 {count(pl.col('dibao_unserved'))} 户,"
            f"回访逾期 {count(pl.col('visit_overdue'))} 户"
        )
        if comparison is not None:
            total = comparison.by_area.filter(pl.col("level") == "total").row(0, named=True)
            self.stdout.write(f"参数改动后有变化的户: {total['any_changed']} / {total['households']}")
            for line in comparison.transition_lines():
                self.stdout.write("  " + line)
