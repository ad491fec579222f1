"""`fangfan generate OUT --county CODE --households N --seed S [--format csv|xlsx] [--year YYYY]`:
a synthetic county in the interchange format of data.md, with department feeds and planted hits."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fangfan.registry.synthetic import GenerationError, generate_county, write_county

GENERATION_STEPS = 7  # progress labels that generate_county reports


class Command(BaseCommand):
    help = "生成一个模拟县的采集数据(户表、人表、收支表、村表、帮扶措施)及部门比对数据"

    def add_arguments(self, parser):
        parser.add_argument("out", help="输出文件夹")
        parser.add_argument("--county", required=True, help="6位县级行政区划代码,如 341225")
        parser.add_argument("--households", type=int, required=True, help="户数")
        parser.add_argument("--seed", type=int, default=1, help="随机种子(相同种子生成相同文件)")
        parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
        parser.add_argument("--year", type=int, default=2025, help="收入年度(同时生成上一年度)")

    def handle(self, *args, **opts):
        out = Path(opts["out"])
        if out.exists() and not out.is_dir():
            raise CommandError(f"输出路径 {out} 已存在且不是文件夹")
        interactive = sys.stderr.isatty()
        started = time.perf_counter()
        try:
            if interactive:
                county, written = self._with_progress(out, opts)
            else:
                county = generate_county(opts["county"], opts["households"], opts["seed"], opts["year"])
                written = write_county(county, out, opts["format"])
        except GenerationError as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            raise CommandError(f"无法写入 {out}: {exc.strerror or exc}") from exc
        if interactive:
            self._summary(county, written, time.perf_counter() - started)

    def _with_progress(self, out: Path, opts):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(stderr=True)
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), TimeElapsedColumn(), console=console, transient=True
        ) as bar:
            task = bar.add_task("生成", total=GENERATION_STEPS + 1)

            def step(label: str) -> None:
                bar.update(task, description=label, advance=1)

            county = generate_county(opts["county"], opts["households"], opts["seed"], opts["year"], progress=step)
            bar.update(task, description="写文件")
            written = write_county(county, out, opts["format"])
            bar.update(task, completed=GENERATION_STEPS + 1)
        return county, written

    def _summary(self, county, written, seconds: float) -> None:
        from rich.console import Console
        from rich.table import Table

        s = county.summary()
        table = Table(title=f"{county.county_name}({county.county_code}) 模拟数据, {county.year - 1}-{county.year} 年度")
        table.add_column("项目")
        table.add_column("数量", justify="right")
        for label, value in (
            ("村", s["villages"]), ("户", s["households"]), ("人", s["members"]), ("收支记录", s["income_rows"]),
            ("监测对象户", s["monitored"]), ("帮扶措施", s["measures"]), ("部门数据行", s["feed_rows"]),
            ("预埋比对线索", s["planted_hits"]), ("文件", len(written)),
        ):
            table.add_row(label, f"{value:,}")
        console = Console(stderr=True)
        console.print(table)
        console.print(f"用时 {seconds:.1f} 秒")
