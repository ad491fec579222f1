"""fangfan dept import|batches|export-parquet|national|hash-ids|index-key: department feeds (workflows.md W6)
from the shell.

Without --as the command acts as the system itself (whoever has the shell is trusted) and
matches against the whole registry, or --county; with --as USER it acts as that user.
export-parquet writes the county-partitioned Parquet export (docs/national.md) from the
database or, with --from, from interchange + department CSV folders; national runs matching,
warnings and the rules over such an export (fangfan.policy.national; no database needed).
hash-ids rewrites a department file's 证件号码 column as keyed-hash indexes (fangfan.departments.
hashing), index-key writes the index key alone for a department that hashes its own files."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from fangfan.accounts.actors import acting_user
from fangfan.accounts.models import DEPARTMENTS
from fangfan.departments import selectors
from fangfan.departments.services import FeedRejected, feed_import


class Command(BaseCommand):
    help = ("部门数据: import 导入一个部门的数据文件 / batches 列出已导入的批次 / export-parquet 导出按县分区的 Parquet"
            " / national 对 Parquet 导出做全省或全国的匹配预警和规则评估")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True,
                                    metavar="{import,batches,export-parquet,national,hash-ids,index-key}")
        imp = sub.add_parser("import", help="导入部门数据文件(CSV: UTF-8 或 GB18030; XLSX 可有标题行)")
        imp.add_argument("department", metavar="DEPT", help="部门: " + "、".join(DEPARTMENTS))
        imp.add_argument("path", metavar="PATH", help="数据文件(.csv 或 .xlsx)")
        imp.add_argument("--period", default=None, help="数据期 YYYY-MM(默认取文件名中的年月, 否则本月)")
        imp.add_argument("--county", default="", help="只在该县(6位代码)的登记库中匹配(仅系统身份; 用户按其管辖县)")
        imp.add_argument("--as", dest="as_user", metavar="USER", help="以该用户身份导入(县行业部门或县乡村振兴局)")
        lst = sub.add_parser("batches", help="列出已导入的批次")
        lst.add_argument("--department", default="", help="只列该部门")
        lst.add_argument("--as", dest="as_user", metavar="USER", help="以该用户身份查看")
        exp = sub.add_parser("export-parquet", help="导出按县分区的 Parquet(登记库 + 部门数据), 供全省/全国筛查")
        exp.add_argument("out", metavar="OUT", help="新的输出文件夹")
        exp.add_argument("--region", default="", help="只导出该区划(代码前缀)")
        exp.add_argument("--from", dest="folders", nargs="+", metavar="FOLDER",
                         help="从互换文件和 departments/ 部门数据的县文件夹导出(不读数据库)")
        nat = sub.add_parser("national", help="对 Parquet 导出做部门数据匹配预警和规则评估(本机或 Spark)")
        nat.add_argument("parquet", metavar="PARQUET_DIR", help="export-parquet 的输出(本地路径、hdfs://、s3:// …)")
        nat.add_argument("--as-of", dest="as_of", required=True, help="评估和交办日期 YYYY-MM-DD")
        nat.add_argument("--out", required=True, help="输出文件夹")
        nat.add_argument("--engine", choices=("local", "spark"), default="local")
        nat.add_argument("--year", type=int, default=None, help="收入年度(默认: 导出中最近的年度)")
        hid = sub.add_parser("hash-ids", help="把部门数据文件的证件号码列换成加密索引(部门可只报送加密索引)")
        hid.add_argument("source", metavar="IN_FILE", help="部门数据文件(.csv 或 .xlsx)")
        hid.add_argument("target", metavar="OUT_FILE", help="新文件(.csv 或 .xlsx, 不覆盖已有文件)")
        hid.add_argument("--key", default=None, metavar="KEY_FILE",
                         help="索引密钥文件(index-key 的输出); 默认用本系统的密钥")
        key = sub.add_parser("index-key", help="导出索引密钥(仅用于计算加密索引, 不能解密), 交部门自行转换文件")
        key.add_argument("out", metavar="KEY_FILE", help="新的密钥文件(权限 0600, 不覆盖已有文件)")

    def execute(self, *args, **options):
        # national and hash-ids read files only: Django's system checks check nothing they use.
        if options.get("action") in ("national", "hash-ids"):
            options["skip_checks"] = True
        return super().execute(*args, **options)

    def handle(self, *args, **options):
        if options["action"] == "export-parquet":
            return self._export_parquet(options)
        if options["action"] == "national":
            return self._national(options)
        if options["action"] == "hash-ids":
            return self._hash_ids(options)
        if options["action"] == "index-key":
            return self._index_key(options)
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

    def _export_parquet(self, options):
        from fangfan.departments.parquet import ExportProblems, export_database, export_folders

        step = (lambda text: self.stdout.write("  " + text)) if options["verbosity"] else None
        try:
            if options["folders"]:
                if options["region"]:
                    raise CommandError("--region 只用于从数据库导出; 文件夹按其中的县导出")
                written = export_folders(options["folders"], options["out"], step=step)
            else:
                written = export_database(options["out"], options["region"], step=step)
        except ExportProblems as exc:
            raise CommandError("\n".join([str(exc), *exc.problems])) from None
        except OSError as exc:
            raise CommandError(f"无法写入 {exc.filename or options['out']}: {exc.strerror or exc}") from None
        rows = sum(sum(v.values()) for v in written.values())
        self.stdout.write(f"已导出 {len(written)} 个县({rows} 行)→ {options['out']}")

    def _national(self, options):
        import datetime as dt

        from fangfan.policy import national

        try:
            as_of = dt.date.fromisoformat(options["as_of"])
        except ValueError:
            raise CommandError(f"--as-of 日期无效: {options['as_of']!r}(应为 YYYY-MM-DD)") from None
        step = (lambda text: self.stdout.write("  " + text)) if options["verbosity"] else None
        try:
            spark = national.spark_session() if options["engine"] == "spark" else None
            done = national.run(options["parquet"], options["out"], as_of, engine=options["engine"],
                                year=options["year"], step=step, spark=spark)
        except national.NationalInputError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"无法读写 {exc.filename or options['out']}: {exc.strerror or exc}") from None
        for line in national.summary_lines(done, options["out"]):
            self.stdout.write(line)

    def _hash_ids(self, options):
        from fangfan.common import pii
        from fangfan.departments.hashing import HashError, hash_ids, ring_from_key_file

        try:
            # Never a fresh key made up on the spot (keyring() would create one): its indexes
            # would match nothing in the county's database.
            ring = ring_from_key_file(options["key"]) if options["key"] else pii.load_keyring(create=False)
            summary = hash_ids(options["source"], options["target"], ring=ring)
        except pii.PiiKeyError as exc:
            raise CommandError(f"{exc}; 请用 --key 指定县里提供的索引密钥文件") from None
        except HashError as exc:
            raise CommandError("\n".join([str(exc), *(str(p) for p in exc.problems)])) from None
        except OSError as exc:
            raise CommandError(f"无法读写 {exc.filename or options['target']}: {exc.strerror or exc}") from None
        self.stdout.write(f"{summary} → {options['target']}")

    def _index_key(self, options):
        from django.db import transaction

        from fangfan.audit.services import audit_record
        from fangfan.departments.hashing import HashError, write_index_key

        try:
            write_index_key(options["out"])
        except HashError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"无法写入 {options['out']}: {exc.strerror or exc}") from None
        # Who handed the index key out, and when (it lets its holder recognise IDs, not read them).
        with transaction.atomic():
            audit_record(actor=None, action="dept.index_key_export", object_type="pii_key", object_key="index_key",
                         comment=str(options["out"])[:500])
        self.stdout.write(f"索引密钥已写入 {options['out']}(仅能计算加密索引, 不能解密; 请交部门妥善保管)")
