"""fangfan screen --as-of D [--year Y] [--region CODE] [--as USER]: evaluate the registry and store results."""
import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from fangfan.accounts.actors import acting_user
from fangfan.screening.services import screening_run

_CATEGORY = {"unstable_lifted": "脱贫不稳定户", "marginal": "边缘易致贫户", "sudden_hardship": "突发严重困难户"}


class Command(BaseCommand):
    help = "按评估日期对库中全部(或某区划)户运行规则并保存结果;相同输入重复运行不产生变化"

    def add_arguments(self, parser):
        parser.add_argument("--as-of", required=True, help="评估日期 YYYY-MM-DD")
        parser.add_argument("--year", type=int, help="收入年度(默认最新)")
        parser.add_argument("--region", default="", help="区划代码前缀")
        parser.add_argument("--as", dest="username")

    def handle(self, *args, as_of, year, region, username, verbosity, **options):
        try:
            as_of_date = dt.date.fromisoformat(as_of)
        except ValueError:
            raise CommandError(f"评估日期格式应为 YYYY-MM-DD: {as_of}") from None
        try:
            summary = screening_run(actor=acting_user(username), as_of=as_of_date, year=year, region=region,
                                    progress=verbosity > 0)
        except PermissionError as exc:
            raise CommandError(str(exc)) from None
        if verbosity:
            self.stdout.write(
                f"{summary.households} 户已评估:新增结果 {summary.created},更新 {summary.updated},"
                f"未变 {summary.unchanged};用时 {summary.seconds:.1f}s"
            )
            cats = summary.counts.get("candidate_category", {})
            self.stdout.write("候选类别: " + ",".join(f"{_CATEGORY.get(k, '无')} {v}" for k, v in sorted(cats.items(), key=str)))
