"""fangfan backup FILE: a consistent copy of the whole database (SQLite online backup / pg_dump -Fc)."""
from django.core.management.base import BaseCommand, CommandError

from fangfan.ops.backup import OpsError, backup
from fangfan.ops.keys import key_location


class Command(BaseCommand):
    help = "备份整个数据库到 FILE (SQLite: 在线备份; PostgreSQL: pg_dump -Fc); 运行中的系统无需停止"

    def add_arguments(self, parser):
        parser.add_argument("file", help="备份文件 (已存在则覆盖)")

    def handle(self, *args, file, verbosity, **options):
        try:
            out = backup(file)
        except OpsError as exc:
            raise CommandError(str(exc)) from None
        if verbosity:
            self.stdout.write(f"已备份 {out.vendor} 数据库到 {out.path}({out.bytes / 1e6:.1f} MB, 用时 {out.seconds:.1f}s)")
            # The key is kept apart on purpose (a stolen backup alone gives no ID numbers), so it
            # needs a backup of its own: without it this backup's ID and phone numbers are lost.
            self.stderr.write(f"注意: 个人信息密钥 ({key_location()}) 不在此备份中, 请另行备份 (docs/deploy.md)")
