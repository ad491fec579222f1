"""`fangfan campaign plan --year YYYY [--region CODE] [--as USER]`: create the campaigns (集中排查,
workflows.md W7) a profile's calendar implies for a year — 营口 (campaign.calendar of 篇二 五) one
campaign, 湖南 (reviews.sweeps_per_year 2) two sweeps; campaigns already planned are left alone.
`fangfan campaign list [--year YYYY]` shows the campaigns with their phases."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from fangfan.accounts.actors import acting_user
from fangfan.workflows.errors import WorkflowError


class Command(BaseCommand):
    help = "集中排查: plan 按各地配置的排查日历生成当年的集中排查; list 列出集中排查"

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["plan", "list"], help="plan 生成, list 列出")
        parser.add_argument("--year", type=int, default=None, help="年度 YYYY (plan 必填)")
        parser.add_argument("--region", default="", help="区划代码或前缀: 只生成该区划内的配置(或为该区划生成)")
        parser.add_argument("--as", dest="as_user", default=None, help="以该用户身份设置(县乡村振兴局账号)")

    def handle(self, *args, action, year, region, as_user, **options):
        from fangfan.reports import campaigns as C

        actor = acting_user(as_user)
        if action == "list":
            found = C.campaigns_for(actor).prefetch_related("phases")
            for campaign in (found.filter(year=year) if year else found):
                s = C.summary(campaign)
                phases = "; ".join(f"{p['label']} {p['due']}" for p in s["phases"])
                self.stdout.write(f"{s['id']:>5} {s['region']:<12} {s['year']} {s['name']} — {phases}")
            return
        if year is None or not 2000 <= year <= 2100:
            raise CommandError("请用 --year YYYY 给出年度")
        try:
            created, existing = C.campaign_plan(actor=actor, year=year, region=region)
        except WorkflowError as exc:
            raise CommandError(str(exc)) from None
        for campaign in created:
            s = C.summary(campaign)
            phases = "; ".join(f"{p['label']} {p['due']}" for p in s["phases"])
            self.stdout.write(f"已生成 {campaign.region} {campaign.name}: {phases}")
        for plan in existing:
            self.stdout.write(f"已存在, 未重复生成: {plan.region} {plan.name}")
        if not created and not existing:
            self.stdout.write("所选区划没有配置集中排查日历或每年多次排查, 未生成; 可在 /reports/campaigns/ 设置")
