"""fangfan dept import|batches: department feeds (workflows.md W6) from the shell.

Without --as the command acts as the system itself (whoever has the shell is trusted) and
matches against the whole registry, or --county; with --as USER it acts as that user."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from fangfan.accounts.actors import acting_user
from fangfan.accounts.models import DEPARTMENTS
from fangfan.departments import selectors
from fangfan.departments.services import FeedRejected, feed_import


class Command(BaseCommand):
    help = "部门数据: import 导入一个部门的数据文件 / batches 列出已导入的批次"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{import,batches}")
        imp = sub.add_parser("import", help="导入部门数据文件(CSV: UTF-8 或 GB18030; XLSX 可有标题行)")
        imp.add_argument("department", metavar="DEPT", help="部门: " + "、".join(DEPARTMENTS))
        imp.add_argument("path", metavar="PATH", help="数据文件(.csv 或 .xlsx)")
        imp.add_argument("--period", default=None, help="数据期 YYYY-MM(默认取文件名中的年月, 否则本月)")
        imp.add_argument("--county", default="", help="只在该县(6位代码)的登记库中匹配(仅系统身份; 用户按其管辖县)")
        imp.add_argument("--as", dest="as_user", metavar="USER", help="以该用户身份导入(县行业部门或县乡村振兴局)")
        lst = sub.add_parser("batches", help="列出已导入的批次")
        lst.add_argument("--department", default="", help="只列该部门")
        lst.add_argument("--as", dest="as_user", metavar="USER", help="以该用户身份查看")

    def handle(self, *args, **options):
        actor = acting_user(options["as_user"])
        try:
            if options["action"] == "import":
                self._import(actor, options)
            else:
                self._batches(actor, options)
        except PermissionDenied as exc:
            raise CommandError(f"无权操作: {exc}") from None

    def _import(self, actor, options):
        department = options["department"]
        if department not in DEPARTMENTS:
            raise CommandError(f"未知的部门: {department!r}(应为: {'、'.join(DEPARTMENTS)})")
        if actor is not None and options["county"]:
            raise CommandError("--county 只用于系统身份; 用户按其管辖县匹配")
        try:
            summary = feed_import(actor=actor, department=department, path=options["path"],
                                  period=options["period"], county=options["county"])
        except FeedRejected as exc:
            lines = [str(p) for p in exc.problems]
            raise CommandError("\n".join([str(exc), *lines])) from None
        self.stdout.write(str(summary))

    def _batches(self, actor, options):
        department = options["department"]
        if department and department not in DEPARTMENTS:
            raise CommandError(f"未知的部门: {department!r}(应为: {'、'.join(DEPARTMENTS)})")
        batches = selectors.batch_list(actor=actor, department=department)
        self.stdout.write("批次\t部门\t数据期\t县\t文件\t行数\t新增\t已导入过\t匹配\t未匹配\t导入人\t导入时间")
        for b in batches:
            self.stdout.write("\t".join(str(v) for v in (
                b.pk, b.department, b.period, b.county or "-", b.file_name, b.rows, b.new_rows, b.skipped,
                b.matched, b.unmatched, b.who.username if b.who else "system", f"{b.at:%Y-%m-%d %H:%M}")))
