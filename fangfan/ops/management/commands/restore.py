"""fangfan restore FILE [--force]: the database as it was at `fangfan backup FILE`."""
from django.core.management.base import BaseCommand, CommandError

from fangfan.ops.backup import OpsError, restore


class Command(BaseCommand):
    help = "从 fangfan backup 的备份文件恢复整个数据库; 数据库已有数据时须加 --force (将被全部覆盖)"

    def add_arguments(self, parser):
        parser.add_argument("file", help="fangfan backup 生成的备份文件")
        parser.add_argument("--force", action="store_true", help="覆盖已有数据的数据库")

    def handle(self, *args, file, force, verbosity, **options):
        try:
            out = restore(file, force=force)
        except OpsError as exc:
            raise CommandError(str(exc)) from None
        if verbosity:
            self.stdout.write(f"已从 {out.path} 恢复 {out.vendor} 数据库(用时 {out.seconds:.1f}s)")
