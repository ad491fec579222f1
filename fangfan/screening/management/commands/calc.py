"""`fangfan calc NAME --region CODE --date D key=value ...` runs one calculator (rules.md C1-C8) and prints
the amount(s) and the arithmetic; `fangfan calc --list` lists the calculators and their inputs."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from fangfan.common.dates import DateError, parse_date
from fangfan.policy.calc import CALCULATORS, CalcError, run
from fangfan.policy.params import ParameterError, parse_override
from fangfan.screening.parameters import parameters_for_command


class Command(BaseCommand):
    help = "政策测算器(低保补差、渐退、医疗救助、危房改造、帮扶车间、教育救助、小额信贷、公益岗): 打印金额与算式"

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # key=value inputs may come after --region/--date (as users type them).
        parser.parse_args = parser.parse_intermixed_args
        return parser

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="计算器名称(见 --list)")
        parser.add_argument("inputs", nargs="*", metavar="key=value", help="输入, 如 size=3")
        parser.add_argument("--list", action="store_true", help="列出计算器及其输入")
        parser.add_argument("--region", help="区划代码: 12 位或其前缀")
        parser.add_argument("--date", help="适用日期 YYYY-MM-DD")
        parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="[PREFIX:]NAME=VALUE")

    def handle(self, *args, name, inputs, list, region, date, overrides, **options):
        if list:
            self._list()
            return
        if not name:
            raise CommandError("请给出计算器名称,或用 --list 查看可用的计算器")
        if name not in CALCULATORS:
            raise CommandError(f"没有计算器 {name!r}(可用: {', '.join(CALCULATORS)})")
        if not region or not date:
            raise CommandError("需要 --region 和 --date")
        try:
            on = parse_date(date)
        except DateError as exc:
            raise CommandError(f"--date 无效: {exc}") from None
        raw: dict[str, str] = {}
        for item in inputs:
            if "=" not in item:
                raise CommandError(f"输入应写作 key=value,得到 {item!r}")
            key, value = item.split("=", 1)
            if key.strip() in raw:
                raise CommandError(f"输入 {key.strip()} 重复")
            raw[key.strip()] = value
        try:
            params = parameters_for_command(self.stderr.write)
            if overrides:
                params = params.with_overrides([parse_override(text) for text in overrides])
            result = run(params, name, region.strip(), on, raw)
        except (CalcError, ParameterError) as exc:
            raise CommandError(str(exc)) from None
        calculator = CALCULATORS[name]
        self.stdout.write(f"{calculator.rule} {calculator.zh} — 区划 {region} — {on.isoformat()}")
        for field in calculator.amount_fields:
            self.stdout.write(f"  {field} = {_show(getattr(result, field))}")
        reasons = getattr(result, "reasons", None) or getattr(result, "violations", None)
        if reasons:
            for reason in reasons:
                self.stdout.write(f"  × {reason}")
        self.stdout.write("算式:")
        for line in result.arithmetic:
            self.stdout.write(f"  {line}")

    def _list(self) -> None:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="计算器")
        for header in ("名称", "规则", "说明", "出处", "输入"):
            table.add_column(header, overflow="fold")
        for c in CALCULATORS.values():
            inputs = "\n".join(f"{i.name}{'' if i.required else '(可选)'}: {i.zh}" for i in c.inputs)
            table.add_row(c.name, c.rule, c.zh, c.source, inputs)
        Console(file=self.stdout, width=160).print(table)


def _show(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return f"{value:.2f} 元"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
