"""fangfan import PATH [--check] [--as USER]: interchange files (data.md) into the registry."""
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from fangfan.accounts.actors import acting_user
from fangfan.registry.services import ImportRejected, registry_import

_LABELS = {"households": "户", "members": "成员", "incomes": "收支", "measures": "帮扶措施"}


class Command(BaseCommand):
    help = "导入户表/人表/收支表/帮扶措施/村表 (CSV 文件夹或 XLSX 工作簿); 有任何问题则全部不写入"

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV 文件夹、.xlsx 工作簿,或以县为单位的子文件夹所在的文件夹")
        parser.add_argument("--check", action="store_true", help="只校验并报告,不写入")
        parser.add_argument("--as", dest="username", help="以该用户身份导入(记入变更记录)")

    def handle(self, *args, path, check, username, verbosity, **options):
        actor = acting_user(username)
        try:
            summary = registry_import(actor=actor, path=path, check_only=check, progress=verbosity > 0)
        except ImportRejected as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(f"共 {len(exc.problems)} 个问题,未写入任何数据") from None
        except PermissionDenied as exc:
            raise CommandError(f"{exc},未写入任何数据") from None
        except FileNotFoundError as exc:
            raise CommandError(f"找不到文件: {exc.filename or path}") from None
        if verbosity == 0:
            return
        verb = "校验通过,将" if check else "已"
        for name, label in _LABELS.items():
            if name in summary.rows_read:
                self.stdout.write(
                    f"{label}: 读取 {summary.rows_read[name]} 行,{verb}新增 {summary.created.get(name, 0)},"
                    f"修改 {summary.updated.get(name, 0)},未变 {summary.unchanged.get(name, 0)}"
                )
        self.stdout.write(f"行政区划{verb}新增 {summary.regions_created};用时 {summary.seconds:.1f}s;批次 {summary.batch}")
