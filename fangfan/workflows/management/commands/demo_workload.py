"""fangfan demo_workload --county CODE: daily work for every demo login (make demo).

Runs after import, screen and demo_users. In the `village` login's village it opens, through
the real services and on back-dated days, identification cases at each step of W1 (one in its
village notice with an unanswered objection, one long past its time limit), an identified
household whose plan is due, an elimination case, plans, contacts and a visit; rule
candidates are left for the village to open. Idempotent: a village that already has the demo
cases is left as it is."""
from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from fangfan.accounts.models import User
from fangfan.registry.models import Household
from fangfan.workflows import profile, services
from fangfan.workflows.errors import WorkflowError
from fangfan.workflows.models import AssistancePlan, Case, Contact

MARK = "演示数据"
CHECK = {"investigators": ["村信息员", "驻村工作队员"], "form": {"note": "入户核实收入、住房、医疗情况"}}
KEEP_CANDIDATES = 3


def _days(n: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=n)


class Command(BaseCommand):
    help = "为演示账号生成待办: 各步骤的识别纳入案件、公示与异议、超期事项、帮扶计划、回访、风险消除(仅用于 make demo)"

    def add_arguments(self, parser):
        parser.add_argument("--county", required=True, help="县级代码(6位)")

    def handle(self, *args, county, **options):
        users = {u.username: u for u in User.objects.filter(username__in=("village", "township", "county"))}
        if len(users) < 3 or not users["village"].region_code.startswith(county):
            raise CommandError(f"请先运行 fangfan demo_users --county {county}")
        self.village, self.township, self.county = users["village"], users["township"], users["county"]
        code = self.village.region_code
        if Case.objects.filter(village_code=code, reason__startswith=MARK).exists():
            self.stdout.write(f"村 {code} 已有演示待办, 未重复生成")
            return
        with transaction.atomic():
            made = self._make(code)
        self.stdout.write(f"村 {code} 的演示待办:")
        for line in made:
            self.stdout.write(f"  {line}")

    # -- households ----------------------------------------------------------------------------

    def _pools(self, code: str) -> tuple[list[Household], list[Household], dict]:
        from fangfan.screening.models import ScreeningResult

        households = Household.objects.filter(village_id=code)
        free = households.filter(Q(category="") | Q(eliminated_on__isnull=False)).order_by("household_number")
        results = ScreeningResult.objects.filter(household__village_id=code)
        latest = results.aggregate(latest=Max("as_of"))["latest"]
        found = {r.household_id: r for r in results.filter(as_of=latest).exclude(candidate_category="")}
        candidates = [h for h in free if h.pk in found]
        others = [h for h in free if h.pk not in found]
        # Keep a few candidates for the village to open itself; cases take the rest, then others.
        pool = candidates[KEEP_CANDIDATES:] + others
        monitored = list(households.filter(~Q(category=""), eliminated_on__isnull=True).order_by("household_number"))
        return pool, monitored, found

    # -- the work ------------------------------------------------------------------------------

    def _make(self, code: str) -> list[str]:
        pool, monitored, found = self._pools(code)
        if len(pool) < 9:
            raise CommandError(f"村 {code} 的非监测户不足 9 户, 无法生成演示案件")
        made = []

        def review(h):
            r = found.get(h.pk)
            risks = [x for x in (r.detected_risks.split(";") if r else []) if x] or ["R01"]
            return {"members": ["村党支部书记", "村委会主任", "村民代表"], "decision": "include",
                    "category": (r.candidate_category if r else "") or "marginal", "risks": risks,
                    "negative_list_decision": "经民主评议核实, 不属于负面清单不予认定的情形"}

        days = profile.village_notice_days(code, timezone.localdate())
        # Days after opening of each step (the village notice runs its `days` before closing).
        after = {"home_check": 1, "village_review": 2, "close_village_notice": 2 + days,
                 "township_approve": 3 + days, "record_comparison": 5 + days, "approve": 6 + days}
        order = ["applied", "checked", "village_notice", "township_review", "county_comparison", "county_approval",
                 "identified"]

        def case_to(state: str, h, *, lag: int = 1, opened: int | None = None) -> Case:
            """A case brought to `state`, its last step `lag` days ago (or opened `opened` days ago)."""
            v, t, c = self.village, self.township, self.county
            r = review(h)
            steps = [("home_check", v, CHECK), ("village_review", v, r), ("close_village_notice", v, {}),
                     ("township_approve", t, {"signed_by": "乡镇分管负责人"}),
                     ("record_comparison", c, {"departments": ["公安", "不动产", "市场监管"], "hits": []}),
                     ("approve", c, {"category": r["category"], "risks": r["risks"]})][: order.index(state)]
            if opened is None:
                opened = (after[steps[-1][0]] if steps else 0) + lag
            case = services.identification_open(
                actor=v, household=h, channel="big_data" if h.pk in found else "cadre_visit", on=_days(opened),
                reason=f"{MARK}: {state}", consent={"signer_name": "户主"},
            )
            for name, actor, data in steps:
                case = services.case_advance(actor=actor, case_id=case.pk, transition=name, seen_version=case.version,
                                             on=_days(opened - after[name]), data=data)
            return case

        for state in ("applied", "checked", "township_review", "county_comparison", "county_approval"):
            case = case_to(state, pool.pop(0))
            made.append(f"案件 {case.pk} {case.household.household_number}: {case.state}")
        # In the village notice (started two days ago, so it ends soon) with an objection.
        case = case_to("village_notice", pool.pop(0), lag=2)
        case = services.case_advance(actor=self.village, case_id=case.pk, transition="raise_objection",
                                     seen_version=case.version, on=_days(1),
                                     data={"content": "反映该户家庭收入较高, 请核实", "raised_by": "本村村民"})
        made.append(f"案件 {case.pk} {case.household.household_number}: 村级公示中, 有 1 条未答复异议")
        # Past the identification time limit: one still at the village, one at the township.
        for state, opened in (("checked", 40), ("township_review", 35)):
            case = case_to(state, pool.pop(0), opened=opened)
            made.append(f"案件 {case.pk} {case.household.household_number}: {case.state}, 已超过识别认定时限")
        # Identified three days ago: its assistance plan is due (not yet late).
        case = case_to("identified", pool.pop(0), lag=3)
        made.append(f"案件 {case.pk} {case.household.household_number}: 已纳入, 帮扶计划待制定")
        made += self._monitored(monitored)
        made += self._declarations(code, pool)
        return made

    def _declarations(self, code: str, pool: list[Household]) -> list[str]:
        """Two self-declarations (农户自主申报) through the public service: one by a registered
        member (a W1 case on channel 农户自主申报), one by an unregistered person (待登记)."""
        from fangfan.common.ids import check_digit
        from fangfan.declarations.services import declaration_submit
        from fangfan.registry.models import Member

        made = []
        head = Member.objects.filter(household__in=pool[:1], relation="head").first() if pool else None
        if head is not None:
            d = declaration_submit(name=head.name, id_number=head.id_number, phone="13900000001", village_code=code,
                                   risk="R01", text=f"{MARK}: 家中老人住院, 医疗费用负担重", client_ip="127.0.0.1")
            made.append(f"自主申报 {d.receipt}: {head.household.household_number} {d.get_stage_display()}")
        # An ID that no member holds: the village must register the household first.
        for seq in range(900, 1000):
            first17 = f"{code[:6]}19800101{seq:03d}"
            number = first17 + check_digit(first17)
            if not Member.objects.with_id_number(number).exists():
                d = declaration_submit(name="赵未登", id_number=number, phone="13900000002", village_code=code,
                                       risk="R04", text=f"{MARK}: 房屋受灾", client_ip="127.0.0.1")
                made.append(f"自主申报 {d.receipt}: 未登记人员 {d.get_stage_display()}")
                break
        return made

    def _monitored(self, monitored: list[Household]) -> list[str]:
        v, made = self.village, []
        if not monitored:
            return ["本村没有监测户: 未生成帮扶计划、联系人、回访和风险消除"]
        # Plans and contacts for the first households; the rest stay on the lists.
        for h in monitored[:2]:
            if not AssistancePlan.objects.filter(household=h).exists():
                services.plan_record(actor=v, household=h, on=_days(20), note=f"{MARK}: 帮扶计划",
                                     measures=[{"measure_code": "M02", "content": "推荐就近务工"}])
            if not Contact.objects.filter(household=h, ended_on__isnull=True).exists():
                services.contact_assign(actor=v, household=h, cadre_name="王帮扶", unit="县乡村振兴局", on=_days(20),
                                        phone="13800000000")
            made.append(f"户 {h.household_number}: 已制定帮扶计划、确定帮扶联系人")
        # A visit 25 days ago: the next monthly one falls due within the week.
        h = monitored[0]
        services.visit_record(actor=v, household=h, visited_on=_days(25), method="入户", visitors="王帮扶",
                              findings=f"{MARK}: 家庭情况稳定")
        made.append(f"户 {h.household_number}: 已回访, 下次回访一周内到期")
        # An elimination case: the first monitored household whose E1-E6 pre-check passes.
        for h in monitored:
            try:
                case = services.elimination_propose(actor=v, household=h, on=_days(2), reason=f"{MARK}: 风险消除")
            except WorkflowError:
                continue
            made.append(f"案件 {case.pk} {h.household_number}: 风险消除 {case.state}")
            break
        else:
            made.append("本村没有通过风险消除预检 (E1-E6) 的监测户: 未生成风险消除案件")
        return made
