"""fangfan cycle --month YYYY-MM [--region CODE] [--folder DIR] [--as USER]: the monthly cycle
(月比对): import the department feeds waiting in the folder, screen the registry, rebuild the
visit and deadline lists and print a summary. Idempotent; run it again after an interruption.

Exit status 1 when a file had problems (listed, nothing of it imported; the rest went on)."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from fangfan.accounts.actors import acting_user
from fangfan.departments.cycle import CycleError, cycle_run, summary_lines


class Command(BaseCommand):
    help = "月比对: 导入数据目录中的部门数据, 运行规则筛查, 刷新走访与期限清单并输出摘要; 可重复运行"

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="月份 YYYY-MM")
        parser.add_argument("--region", default="", help="区划代码(默认: 全部, 或 --as 用户的管辖县)")
        parser.add_argument("--folder", default=None,
                            help="部门数据所在目录(默认 <FANGFAN_DATA_DIR>/feeds/YYYY-MM/); 文件以部门名开头, 如 医保.csv、医保_2026-05.xlsx")
        parser.add_argument("--as", dest="as_user", metavar="USER", help="以该用户身份运行(县乡村振兴局)")

    def handle(self, *args, **options):
        actor = acting_user(options["as_user"])
        try:
            run = cycle_run(actor=actor, month=options["month"], region=options["region"],
                            folder=options["folder"], progress=options["verbosity"] > 0)
        except CycleError as exc:
            raise CommandError(str(exc)) from None
        except PermissionDenied as exc:
            raise CommandError(f"无权操作: {exc}") from None
        self.stdout.write("\n".join(summary_lines(run)))
        rejected = run.summary.get("rejected") or {}
        if rejected:
            raise CommandError(f"{len(rejected)} 个文件有问题, 未导入(见上); 其余文件已处理")
