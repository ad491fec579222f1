"""`fangfan report NAME --as-of DATE [--region CODE] [--year YYYY] [--as USER] --out FILE`:
one report of reports.md as XLSX (FILE.xlsx) or CSV (FILE.csv; --table KEY for one table).
`fangfan report --list` names the reports and their tables."""
from __future__ import annotations

from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from fangfan.common.dates import DateError, parse_date


class Command(BaseCommand):
    help = "生成报表(收入变化排查、规模性返贫风险、数据质量、汇总表、乡镇月报、6月/12月报表), 输出 XLSX 或 CSV"

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="报表名称 (--list 列出)")
        parser.add_argument("--as-of", dest="as_of", help="统计日期 YYYY-MM-DD")
        parser.add_argument("--region", default="", help="区划代码: 12 位或其 2/4/6/9 位前缀; 默认全部(或 --as 用户的区划)")
        parser.add_argument("--year", type=int, default=None, help="收入年度(默认: 统计日期所在年及以前最近的年度)")
        parser.add_argument("--out", help="输出文件 .xlsx 或 .csv")
        parser.add_argument("--table", default=None, help="CSV 只输出这一张表(表键, 见 --list)")
        parser.add_argument("--as", dest="as_user", default=None, help="以该用户的身份和管辖范围生成")
        parser.add_argument("--list", action="store_true", dest="list_reports", help="列出全部报表")

    def handle(self, *args, name, as_of, region, year, out, table, as_user, list_reports, **options):
        from fangfan.reports import export
        from fangfan.reports.selectors import REPORTS, ReportError, build

        if list_reports:
            for spec in REPORTS.values():
                self.stdout.write(f"{spec.name:18} {spec.title} ({spec.source})")
            return
        if not name:
            raise CommandError("请给出报表名称, 可用: " + ", ".join(REPORTS))
        if name not in REPORTS:
            raise CommandError(f"没有名为 {name} 的报表; 可用: {', '.join(REPORTS)}")
        if not as_of or not out:
            raise CommandError("需要 --as-of 日期和 --out 输出文件")
        try:
            on = parse_date(as_of)
        except DateError as exc:
            raise CommandError(f"--as-of 无效: {exc}") from None
        path = Path(out)
        if path.suffix.lower() not in (".xlsx", ".csv"):
            raise CommandError(f"--out 须以 .xlsx 或 .csv 结尾: {out}")
        if table and path.suffix.lower() != ".csv":
            raise CommandError("--table 只用于 CSV 输出")
        actor = None
        if as_user:
            from fangfan.accounts.models import User

            actor = User.objects.filter(username=as_user, is_active=True).first()
            if actor is None:
                raise CommandError(f"没有启用的用户 {as_user}")
        try:
            report = build(name=name, actor=actor, region=region, as_of=on, year=year)
        except (ReportError, Http404, PermissionDenied) as exc:
            raise CommandError(str(exc) or "不在本账号的管辖范围内") from None
        if table and table not in [t.key for t in report.tables]:
            raise CommandError(f"报表 {name} 没有表 {table}; 可用: {', '.join(t.key for t in report.tables)}")
        data = export.xlsx(report) if path.suffix.lower() == ".xlsx" else export.csv_bytes(report, table)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as exc:
            raise CommandError(f"无法写入 {out}: {exc.strerror}") from None
        rows = ", ".join(f"{t.title} {t.frame.height}行" for t in report.tables)
        self.stdout.write(f"{report.place_name} {report.title} 截至{on:%Y-%m-%d} → {out} ({rows})")
