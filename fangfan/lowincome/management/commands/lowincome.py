"""fangfan lowincome payments --month YYYY-MM [--region CODE] [--as USER] [--out DIR]
fangfan lowincome paid --month YYYY-MM --region TOWNSHIP [--as USER]

Builds (or rebuilds, while not paid) the monthly 低保/特困 payment lists per township, prints the
totals and, with --out, writes each list as XLSX and CSV. Without --as it acts as the system."""
from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from fangfan.common.money import format_yuan
from fangfan.lowincome import payments
from fangfan.lowincome.models import PaymentList
from fangfan.lowincome.services import LowIncomeError, payment_list_mark_paid, phase_outs_expire


class Command(BaseCommand):
    help = "低保、特困: 每月发放名单 (payments), 确认发放 (paid)"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{payments,paid}")
        pay = sub.add_parser("payments", help="生成或重算某月发放名单")
        pay.add_argument("--month", required=True, help="月份 YYYY-MM")
        pay.add_argument("--region", default="", help="县 (6位) 或乡镇 (9位) 代码; 默认本账号辖区或全部")
        pay.add_argument("--as", dest="as_user", metavar="USER", help="以该用户 (县民政局) 身份生成")
        pay.add_argument("--out", default="", help="把每份名单写成 XLSX 和 CSV 到该目录")
        paid = sub.add_parser("paid", help="确认某乡镇某月已发放 (此后不再改动)")
        paid.add_argument("--month", required=True)
        paid.add_argument("--region", required=True, help="乡镇代码 (9位)")
        paid.add_argument("--as", dest="as_user", metavar="USER")

    def handle(self, *args, **options):
        from fangfan.accounts.actors import acting_user

        actor = acting_user(options["as_user"])
        try:
            month = payments.month_of(options["month"])
            if options["action"] == "paid":
                township = options["region"][:9]
                found = PaymentList.objects.filter(township_code=township, month=month).first()
                if found is None:
                    raise CommandError(f"乡镇 {township} 没有 {month:%Y-%m} 的发放名单")
                p = payment_list_mark_paid(actor=actor, payment_list_id=found.pk, seen_version=found.version,
                                           on=timezone.localdate())
                self.stdout.write(f"{p.township_code} {p.month:%Y-%m} 已确认发放: {p.households} 户 {format_yuan(p.total)} 元")
                return
            started = time.perf_counter()
            expired = phase_outs_expire(actor=actor, on=month, prefix=options["region"][:9])
            built = payments.payment_lists_build(actor=actor, month=month, region=options["region"])
            seconds = time.perf_counter() - started
        except LowIncomeError as exc:
            raise CommandError(str(exc)) from None
        for p in built:
            self.stdout.write(f"{p.township_code} {p.month:%Y-%m} {p.get_state_display()}: {p.households} 户 "
                              f"{format_yuan(p.total)} 元 (第{p.version}版)")
        self.stdout.write(f"共 {len(built)} 份名单, {sum(p.households for p in built)} 户, "
                          f"{format_yuan(sum(p.total for p in built))} 元; 渐退期满退出 {expired} 户; {seconds:.2f} 秒")
        if options["out"]:
            self._write(built, Path(options["out"]))

    def _write(self, built, folder: Path):
        import csv

        from fangfan.common.safe import safe_row
        from fangfan.web.views.common import Sheet, xlsx_sheets
        from fangfan.web.views.lowincome import COLUMNS, _rows, _title

        folder.mkdir(parents=True, exist_ok=True)
        for p in built:
            rows = list(_rows(p))
            stem = folder / f"低保特困发放名单-{p.township_code}-{p.month:%Y%m}"
            stem.with_suffix(".xlsx").write_bytes(xlsx_sheets([Sheet(_title(p), COLUMNS, rows, name="发放名单")]))
            with open(stem.with_suffix(".csv"), "w", newline="", encoding="utf-8-sig") as f:
                writer = csv.writer(f)
                writer.writerow(COLUMNS)
                writer.writerows(safe_row(r) for r in rows)
        self.stdout.write(f"已写入 {folder}")
