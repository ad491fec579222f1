"""fangfan demo_users --county CODE: one demo login per role (roles.md) for the imported county."""
from django.core.management.base import BaseCommand, CommandError

from fangfan.accounts.models import Role
from fangfan.accounts.services import user_ensure
from fangfan.regions.models import Region

DEMO_PASSWORD = "fangfan-demo"


def _demo_village(county: str) -> Region | None:
    """The village with the most rule candidates of the latest screening (so that the village
    login has households to open cases for; `demo_workload` keeps some of them), else the
    first village with households."""
    from django.db.models import Count, Max

    from fangfan.regions.scope import code_range_q
    from fangfan.screening.models import ScreeningResult

    results = ScreeningResult.objects.filter(code_range_q("household__village_id", county))
    latest = results.aggregate(latest=Max("as_of"))["latest"]
    if latest is not None:
        best = (
            results.filter(as_of=latest).exclude(candidate_category="").values("household__village_id")
            .annotate(n=Count("id")).order_by("-n", "household__village_id").first()
        )
        if best is not None:
            return Region.objects.get(code=best["household__village_id"])
    return Region.objects.filter(
        level="village", code__startswith=county, households__isnull=False
    ).order_by("code").first()


class Command(BaseCommand):
    help = "为演示县创建每个角色的一个演示账号(仅用于 make demo)"

    def add_arguments(self, parser):
        parser.add_argument("--county", required=True, help="县级代码(6位)")
        parser.add_argument("--password", default=DEMO_PASSWORD)

    def handle(self, *args, county, password, **options):
        village = _demo_village(county)
        if village is None:
            raise CommandError(f"县 {county} 没有已导入的村,请先导入数据")
        township = village.code[:9] + "000"
        county_code = county.ljust(12, "0")
        logins = [
            ("village", Role.VILLAGE, village.code, ""),
            ("township", Role.TOWNSHIP, township, ""),
            ("county", Role.COUNTY_RR, county_code, ""),
            ("civil", Role.COUNTY_CA, county_code, ""),
            ("medical", Role.COUNTY_DEPT, county_code, "医保"),
            ("city", Role.CITY, county[:4].ljust(12, "0"), ""),
            ("province", Role.PROVINCE, county[:2].ljust(12, "0"), ""),
            ("admin", Role.ADMIN, "", ""),
        ]
        self.stdout.write("演示账号(密码均为 %s):" % password)
        for username, role, region, dept in logins:
            user_ensure(actor=None, username=username, role=role, region_code=region, password=password, department=dept)
            self.stdout.write(f"  {username:<10} {Role(role).label:<24} {region}")
        self.stdout.write("打开 http://127.0.0.1:8000/ 登录")
