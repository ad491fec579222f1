"""`fangfan case`: run cases from the shell (demos, support)."""
from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from fangfan.accounts.models import User
from fangfan.common.dates import DateError, parse_date
from fangfan.registry.models import Household
from fangfan.workflows import engine, identification, selectors, services
from fangfan.workflows.errors import WorkflowError

HELP = """识别纳入、风险消除、回退、清退案件 (workflows.md W1/W2).

  fangfan case list [--region CODE] [--state S] [--kind K] [--overdue] [--as USER] [--on DATE]
  fangfan case show ID [--as USER]
  fangfan case open --household NUMBER --as USER [--kind identification|elimination|rollback|removal]
                    [--channel 农户自主申报|代为申报|干部走访排查|部门筛查预警|大数据预警]
                    [--consent-signer NAME] [--green R01|R04|R05] [--reason TEXT] [--on DATE]
  fangfan case transitions ID --as USER [--on DATE]
  fangfan case advance ID TRANSITION --as USER [--comment TEXT] [--data JSON] [--attach FILE ...]
                    [--on DATE] [--version N]

--as runs the step with that user's role and region (its scope). Without --as, list and show
see every region (shell access is operator access). --on is the business date (default today).
--version is the case version you looked at (default: the current one); a stale version is refused.
Example: fangfan case advance 12 home_check --as cun1 --data '{"investigators":["李四","王五"],"form":{}}'"""

# The shell without --as: operator access to every region. Its role is no user role ("system"),
# so it is neither the household-blind administrator nor allowed any case decision.
OPERATOR = SimpleNamespace(is_authenticated=True, is_system_admin=True, role="system", username="shell")


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name, subcommand, **kwargs):
        from argparse import RawDescriptionHelpFormatter

        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{list,show,open,transitions,advance}")

        p = sub.add_parser("list", help="案件列表")
        p.add_argument("--region", default="")
        p.add_argument("--state", default="")
        p.add_argument("--kind", default="")
        p.add_argument("--overdue", action="store_true", help="只列超期案件 (识别时限、比对时限)")
        p.add_argument("--as", dest="as_user")
        p.add_argument("--on")

        p = sub.add_parser("show", help="案件详情与全部记录")
        p.add_argument("case_id", type=int)
        p.add_argument("--as", dest="as_user")
        p.add_argument("--on")

        p = sub.add_parser("open", help="发起案件")
        p.add_argument("--household", required=True)
        p.add_argument("--kind", default="identification",
                       choices=["identification", "elimination", "rollback", "removal"])
        p.add_argument("--channel", default="")
        p.add_argument("--consent-signer", default="")
        p.add_argument("--green", default=None)
        p.add_argument("--reason", default="")
        p.add_argument("--as", dest="as_user", required=True)
        p.add_argument("--on")

        p = sub.add_parser("transitions", help="该用户现在可办理的操作")
        p.add_argument("case_id", type=int)
        p.add_argument("--as", dest="as_user", required=True)
        p.add_argument("--on")

        p = sub.add_parser("advance", help="办理一步")
        p.add_argument("case_id", type=int)
        p.add_argument("transition")
        p.add_argument("--as", dest="as_user", required=True)
        p.add_argument("--comment", default="")
        p.add_argument("--data", default="{}")
        p.add_argument("--attach", nargs="*", default=[])
        p.add_argument("--on")
        p.add_argument("--version", type=int)

    # ---------------------------------------------------------------------------------------
    def handle(self, *args, **options):
        try:
            return getattr(self, f"do_{options['action']}")(options)
        except WorkflowError as exc:
            raise CommandError(exc.reason) from None

    def _actor(self, name, required=False):
        if not name:
            if required:
                raise CommandError("须用 --as 指定办理人")
            return OPERATOR
        user = User.objects.filter(username=name, is_active=True).first()
        if user is None:
            raise CommandError(f"用户 {name} 不存在或已停用")
        return user

    def _on(self, text) -> dt.date:
        if not text:
            return timezone.localdate()
        try:
            return parse_date(text)
        except DateError as exc:
            raise CommandError(f"--on: {exc}") from None

    def _line(self, case) -> str:
        return (f"{case.pk:>6}  {case.get_kind_display():<8} {case.household.household_number:<20} "
                f"{case.village_code}  {selectors.state_label(case)}  发起{case.opened_on}  v{case.version}"
                + ("  [绿色通道]" if case.green_channel else ""))

    def do_list(self, o):
        actor, on = self._actor(o["as_user"]), self._on(o["on"])
        if o["overdue"]:
            rows = selectors.overdue(actor=actor, as_of=on)
            if o["region"]:
                rows = [r for r in rows if r["case"].village_code.startswith(o["region"].rstrip("0")[:12])]
            for r in rows:
                self.stdout.write(f"{self._line(r['case'])}  {r['level_label']}  {r['what']}: {r['message']}")
            self.stdout.write(f"共 {len(rows)} 条超期 (截至 {on})")
            return
        qs = selectors.case_list(actor=actor, region=o["region"], state=o["state"], kind=o["kind"])
        count = 0
        for case in qs:
            self.stdout.write(self._line(case))
            count += 1
        self.stdout.write(f"共 {count} 件")

    def do_show(self, o):
        actor, on = self._actor(o["as_user"]), self._on(o["on"])
        case = selectors.case_get(actor=actor, case_id=o["case_id"])
        self.stdout.write(self._line(case))
        if case.channel:
            self.stdout.write(f"来源渠道: {identification.CHANNELS.get(case.channel, case.channel)}")
        if case.reason:
            self.stdout.write(f"事由: {case.reason}")
        if case.kind == "identification":
            self.stdout.write(identification.deadline_status(case, on)["message"])
        rule = (case.data.get("home_check") or {}).get("rule_result")
        if rule:
            self.stdout.write(
                f"规则结果 ({rule.get('as_of')}): 拟类别 {rule.get('candidate_category') or '无'}, "
                f"风险 {rule.get('detected_risks') or '无'}, 负面清单 {rule.get('negative_list_hits') or '无'}; "
                f"{rule.get('explanation', '')}"
            )
        check = case.data.get("precheck")
        if check:
            failed = "; ".join(f"{f['rule']} {f['label']}" for f in check.get("failed", []))
            self.stdout.write(f"风险消除预检 ({check.get('on')}): {check.get('result')}" + (f" — {failed}" if failed else "")
                              + (f", 跟踪至 {check['tracking_until']}" if check.get("tracking_until") else ""))
        for n in case.notices.all():
            end = n.starts_on + dt.timedelta(days=n.days - 1)
            self.stdout.write(f"公示: {n.get_level_display()} {n.starts_on}~{end} {n.proposal}"
                              + (" (已撤回)" if n.cancelled else ""))
        for obj in case.objections.all():
            self.stdout.write(f"异议 {obj.pk}: {obj.content} → {obj.answer or '未答复'}")
        for e in case.events.all():
            self.stdout.write(
                f"  {e.effective_on} {e.actor_name:<12} {e.label or e.transition}: "
                f"{engine.workflow_for(case.kind).state_label(e.from_state) if e.from_state else '-'} → "
                f"{engine.workflow_for(case.kind).state_label(e.to_state)}" + (f"  意见: {e.comment}" if e.comment else "")
                + (f"  附件: {', '.join(e.attachments)}" if e.attachments else "")
            )

    def do_open(self, o):
        actor, on = self._actor(o["as_user"], required=True), self._on(o["on"])
        household = Household.objects.filter(household_number=o["household"]).first()
        if household is None:
            raise CommandError(f"户编号 {o['household']} 不存在")
        kind = o["kind"]
        if kind == "identification":
            consent = {"signer_name": o["consent_signer"]} if o["consent_signer"] else None
            case = services.identification_open(actor=actor, household=household, channel=o["channel"] or "干部走访排查",
                                                on=on, reason=o["reason"], consent=consent,
                                                green_channel_risk=o["green"])
        elif kind == "elimination":
            case = services.elimination_propose(actor=actor, household=household, on=on, reason=o["reason"])
        elif kind == "rollback":
            case = services.rollback_request(actor=actor, household=household, on=on, reason=o["reason"])
        else:
            case = services.removal_request(actor=actor, household=household, on=on, reason=o["reason"])
        self.stdout.write(f"已发起案件 {case.pk}: {self._line(case)}")

    def do_transitions(self, o):
        actor, on = self._actor(o["as_user"], required=True), self._on(o["on"])
        case = selectors.case_get(actor=actor, case_id=o["case_id"])
        options = engine.available(case, actor, on)
        if not options:
            self.stdout.write(f"用户 {actor.username} 现在不能办理案件 {case.pk} 的任何操作 ({selectors.state_label(case)})")
            return
        for t, reasons in options:
            needs = (" 需记录: " + ", ".join(t.requires)) if t.requires else ""
            needs += " 需填写理由" if t.needs_comment else ""
            state = "可办理" if not reasons else "暂不可办理: " + "; ".join(reasons)
            self.stdout.write(f"{t.name:<22} {t.label}  [{state}]{needs}")

    def do_advance(self, o):
        actor, on = self._actor(o["as_user"], required=True), self._on(o["on"])
        try:
            data = json.loads(o["data"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"--data 不是合法的 JSON: {exc}") from None
        if not isinstance(data, dict):
            raise CommandError("--data 须为 JSON 对象, 如 '{\"signed_by\": \"乡长\"}'")
        case = selectors.case_get(actor=actor, case_id=o["case_id"])
        version = o["version"] if o["version"] is not None else case.version
        case = services.case_advance(actor=actor, case_id=case.pk, transition=o["transition"], seen_version=version,
                                     on=on, comment=o["comment"], attachments=o["attach"], data=data)
        self.stdout.write(f"已办理: {self._line(case)}")
