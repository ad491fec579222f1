"""`fangfan holidays`: the holiday table for years the official calendar does not know."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from fangfan.accounts.models import User
from fangfan.common.dates import DateError, parse_date
from fangfan.workflows import services
from fangfan.workflows.calendar import CalendarUnknown, WorkCalendar
from fangfan.workflows.errors import WorkflowError
from fangfan.workflows.models import HolidayEntry

HELP = """节假日安排 (用于 chinesecalendar 未收录的年份, 或县内调整).

  fangfan holidays list [--year YYYY] [--prefix CODE]
  fangfan holidays set DATE (--rest | --work) --prefix CODE --as USER [--note TEXT]
  fangfan holidays check DATE [--village CODE]

A year the library does not know counts as entered for a region once it has at least one entry
(every year has 元旦); days not listed are then ordinary weekdays or weekends. Until then a
working-day deadline in that year reports "无法计算: YYYY年节假日安排未录入"."""


class Command(BaseCommand):
    help = HELP

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{list,set,check}")
        p = sub.add_parser("list")
        p.add_argument("--year", type=int)
        p.add_argument("--prefix", default=None)
        p = sub.add_parser("set")
        p.add_argument("date")
        kind = p.add_mutually_exclusive_group(required=True)
        kind.add_argument("--rest", action="store_true", help="休息日 (节假日)")
        kind.add_argument("--work", action="store_true", help="工作日 (调休上班)")
        p.add_argument("--prefix", required=True, help="区划前缀, 如 130126; 空串为全国")
        p.add_argument("--as", dest="as_user", required=True)
        p.add_argument("--note", default="")
        p = sub.add_parser("check")
        p.add_argument("date")
        p.add_argument("--village", default="")

    def _date(self, text):
        try:
            return parse_date(text)
        except DateError as exc:
            raise CommandError(str(exc)) from None

    def handle(self, *args, **o):
        try:
            getattr(self, f"do_{o['action']}")(o)
        except WorkflowError as exc:
            raise CommandError(exc.reason) from None

    def do_list(self, o):
        qs = HolidayEntry.objects.all()
        if o["year"]:
            qs = qs.filter(date__year=o["year"])
        if o["prefix"] is not None:
            qs = qs.filter(region_prefix=o["prefix"])
        n = 0
        for e in qs:
            self.stdout.write(f"{e.date}  {'班' if e.is_workday else '休'}  {e.region_prefix or '全国'}  {e.note}")
            n += 1
        self.stdout.write(f"共 {n} 条")

    def do_set(self, o):
        user = User.objects.filter(username=o["as_user"], is_active=True).first()
        if user is None:
            raise CommandError(f"用户 {o['as_user']} 不存在或已停用")
        day = self._date(o["date"])
        entry = services.holiday_set(actor=user, region_prefix=o["prefix"], date=day, is_workday=o["work"],
                                     note=o["note"])
        self.stdout.write(f"已录入: {entry}")

    def do_check(self, o):
        day = self._date(o["date"])
        try:
            work = WorkCalendar(o["village"]).is_workday(day)
        except CalendarUnknown as exc:
            raise CommandError(exc.reason) from None
        self.stdout.write(f"{day}: {'工作日' if work else '休息日'}")
