"""fangfan export OUT [--region CODE] [--as USER]: the registry as interchange files."""
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from fangfan.accounts.actors import acting_user
from fangfan.regions.codes import is_digits
from fangfan.registry.services import registry_export


class Command(BaseCommand):
    help = "导出户表/人表/收支表/帮扶措施/村表: OUT 为文件夹(CSV)或 .xlsx 文件"

    def add_arguments(self, parser):
        parser.add_argument("out", help="输出文件夹(CSV)或 .xlsx 文件")
        parser.add_argument("--region", default="", help="区划代码(2/4/6/9/12位或12位补零),只导出其下的户")
        parser.add_argument("--as", dest="username", help="以该用户身份导出(按其管辖范围,记入日志)")
        parser.add_argument("--reason", default="命令行导出", help="导出事由(记入日志)")

    def handle(self, *args, out, region, username, reason, verbosity, **options):
        if region and not is_digits(region):
            raise CommandError(f"区划代码应为数字: {region}")
        actor = acting_user(username)
        try:
            counts = registry_export(actor=actor, out=out, region=region, reason=reason)
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        if verbosity:
            self.stdout.write("已导出: " + ",".join(f"{k} {v} 行" for k, v in counts.items()) + f" → {out}")
