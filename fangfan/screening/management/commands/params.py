"""`fangfan params --region CODE --date D [--format table|yaml|json] [--set [PREFIX:]NAME=VALUE ...]`:
the whole parameter set in force for a region at a date — value, unit, prefix used, start and source.
The counties' own values kept in the database (县级参数) are included; with --dir only that directory's
YAML is read. While the region has no 农村低保标准 a warning line says what cannot be judged."""
from __future__ import annotations

import json

import yaml
from django.core.management.base import BaseCommand, CommandError

from fangfan.common.dates import DateError, parse_date
from fangfan.policy.params import ParameterError, ParameterSet, parse_override
from fangfan.screening.parameters import dibao_line_warning, parameters_for_command


class Command(BaseCommand):
    help = "打印某地区在某日适用的全部政策参数(取值、单位、所用前缀、起始日期、出处)"

    def add_arguments(self, parser):
        parser.add_argument("--region", required=True, help="区划代码: 12 位或其前缀(如 210800000000、2108、43)")
        parser.add_argument("--date", required=True, help="适用日期 YYYY-MM-DD")
        parser.add_argument("--format", choices=("table", "yaml", "json"), default="table")
        parser.add_argument(
            "--set",
            action="append",
            default=[],
            dest="overrides",
            metavar="[PREFIX:]NAME=VALUE",
            help="假设情景: 覆盖某参数(可重复), 如 --set 430000:monitoring.income_line=7000",
        )
        parser.add_argument("--dir", default=None, help="参数目录(默认: 随程序发布的参数)")

    def handle(self, *args, region, date, format, overrides, dir, **options):
        try:
            on = parse_date(date)
        except DateError as exc:
            raise CommandError(f"--date 无效: {exc}") from None
        try:
            params = ParameterSet.load(dir) if dir else parameters_for_command(self.stderr.write)
            if overrides:
                params = params.with_overrides([parse_override(text) for text in overrides])
            rows = params.describe(region.strip(), on)
            warning = dibao_line_warning(params, region.strip(), on)
        except ParameterError as exc:
            raise CommandError(str(exc)) from None
        if warning and format != "table":
            self.stderr.write(warning)  # stdout stays parseable JSON/YAML
        title = f"参数 — 区划 {region} — {on.isoformat()}"
        if format == "json":
            self.stdout.write(json.dumps({"region": region, "date": on.isoformat(), "parameters": _records(rows)}, ensure_ascii=False, indent=2))
            return
        if format == "yaml":
            self.stdout.write(
                yaml.safe_dump({"region": region, "date": on.isoformat(), "parameters": _records(rows)}, allow_unicode=True, sort_keys=False)
            )
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, show_lines=False)
        for header in ("参数", "取值", "单位", "前缀", "起始", "出处"):
            table.add_column(header, overflow="fold")
        for row in rows:
            table.add_row(row["name"], row["value"], row["unit_zh"], row["prefix"], row["start"], row["source"])
        console = Console(file=self.stdout, width=max(160, Console().width), soft_wrap=False)
        console.print(table)
        if warning:
            self.stdout.write(warning)


def _records(rows: list[dict]) -> list[dict]:
    return [
        {
            "name": r["name"],
            "value": r["data"],
            "unit": r["unit"],
            "prefix": r["prefix_code"] or None,  # None = national (or no value)
            "start": r["start"] or None,
            "source": r["source"] or None,
            "description": r["description"],
        }
        for r in rows
    ]
