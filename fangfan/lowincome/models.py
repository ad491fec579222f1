"""低保 and 特困 support (W5; 篇三, 篇四, 篇五, 篇六, 篇十四): who is in it since when, and the
monthly payment lists.

Who is in 低保/特困 is also on the registry members (Member.dibao / Member.tekun, what the
rules read); an Enrolment adds what the registry does not hold: the approving case, the members
covered by a single-person 低保 (单人保), the phase-out (C2) and the exit. A payment list is
per township and month; once the 县民政局 marks it paid it is never rewritten: a later change
of members, incomes or the 低保 line gives a correction line in a later month's list."""
from django.conf import settings
from django.db import models


class Programme(models.TextChoices):
    DIBAO = "dibao", "低保"
    SINGLE = "single_person", "低保 (参照单人户)"
    TEKUN = "tekun", "特困供养"


class Enrolment(models.Model):
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="lowincome_enrolments")
    case = models.ForeignKey("workflows.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    programme = models.CharField("保障类别", max_length=16, choices=Programme.choices)
    # The members covered (every 正常 member for a whole-household 低保), by the blind index of
    # their ID (registry.Member.id_index; lowincome.services.member_keys): never the plain ID.
    members = models.JSONField("保障成员", default=list)
    # 单人保: the covered members' own yearly income (fen) used for their top-up.
    own_income_year = models.BigIntegerField("本人年收入(分)", default=0)
    starts_on = models.DateField("起始发放月")
    approved_on = models.DateField("审批日期")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    last_checked_on = models.DateField("最近复核日期", null=True, blank=True)
    phase_out_from = models.DateField("渐退起始", null=True, blank=True)
    phase_out_ends_on = models.DateField("渐退停发日期", null=True, blank=True)
    kept_month = models.BigIntegerField("渐退期每月保持额(分)", null=True, blank=True)
    exited_on = models.DateField("退出日期", null=True, blank=True)
    exit_reason = models.CharField("退出原因", max_length=200, blank=True)

    class Meta:
        ordering = ["household_id", "-starts_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["household", "programme"], condition=models.Q(exited_on__isnull=True),
                                    name="one_active_enrolment_per_programme"),
        ]

    @property
    def active(self) -> bool:
        return self.exited_on is None


class PaymentList(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", "待发放 (随数据变化重算)"
        PAID = "paid", "已发放 (不再改动)"

    township_code = models.CharField("乡镇代码", max_length=9)
    month = models.DateField("月份", help_text="first day of the month")
    state = models.CharField("状态", max_length=8, choices=State.choices, default=State.DRAFT)
    households = models.PositiveIntegerField("户数", default=0)
    total = models.BigIntegerField("合计(分)", default=0)
    generated_at = models.DateTimeField("生成时间")
    generated_by = models.CharField("生成人", max_length=150)
    paid_on = models.DateField("发放日期", null=True, blank=True)
    paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-month", "township_code"]
        constraints = [models.UniqueConstraint(fields=["township_code", "month"], name="one_payment_list_per_month")]


class PaymentLine(models.Model):
    class Kind(models.TextChoices):
        REGULAR = "regular", "当月发放"
        CORRECTION = "correction", "更正 (补发或扣回)"

    payment_list = models.ForeignKey(PaymentList, on_delete=models.PROTECT, related_name="lines")
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="+")
    village_code = models.CharField("村代码", max_length=12)
    programme = models.CharField("保障类别", max_length=16, choices=Programme.choices)
    kind = models.CharField("类型", max_length=12, choices=Kind.choices, default=Kind.REGULAR)
    for_month = models.DateField("所属月份")
    persons = models.PositiveSmallIntegerField("保障人数")
    members = models.JSONField("保障成员", default=list)  # their blind indexes, as Enrolment.members
    amount = models.BigIntegerField("金额(分)")  # negative for a correction that takes money back
    arithmetic = models.TextField("计算过程")

    class Meta:
        ordering = ["payment_list_id", "village_code", "household_id", "programme", "for_month", "id"]
        indexes = [models.Index(fields=["household", "for_month"])]


class TempAid(models.Model):
    """One 临时救助 (temporary assistance; 篇三, 篇四, 篇十四): the amount and its reason, the approval
    level the amount gives (分级审批: township up to `dibao.temp_aid_township_limit`, 县民政局 above, the
    limit as it stood on the application day, kept here with its arithmetic), and 先行救助: a small
    urgent amount (≤ `dibao.temp_aid_urgent_limit`) paid by the township at once, papers supplied after."""

    class State(models.TextChoices):
        TOWNSHIP = "township", "待乡镇审核"
        COUNTY = "county", "待县民政局审批"
        URGENT_PAID = "urgent_paid", "已先行救助, 待补材料"
        GRANTED = "granted", "已批准发放"
        REFUSED = "refused", "不予救助"

    class Level(models.TextChoices):
        TOWNSHIP = "township", "乡镇审批"
        COUNTY = "county", "县民政局审批"

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="temp_aids")
    # Copied from the household so scoping a list is a range scan on one column.
    village_code = models.CharField("村区划代码", max_length=12, db_index=True)
    cause = models.CharField("救助事由类别", max_length=20)
    reason = models.TextField("救助事由")
    amount = models.BigIntegerField("救助金额(分)")
    urgent = models.BooleanField("先行救助", default=False)
    state = models.CharField("状态", max_length=12, choices=State.choices)
    level = models.CharField("审批层级", max_length=10, choices=Level.choices)
    township_limit = models.BigIntegerField("乡镇审批限额(分)")
    level_arithmetic = models.TextField("审批层级依据")
    applied_on = models.DateField("申请日期")
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    reviewed_on = models.DateField("乡镇审核日期", null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    review_comment = models.TextField("乡镇意见", blank=True)
    decided_on = models.DateField("审批日期", null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    decision_comment = models.TextField("审批意见", blank=True)
    paid_on = models.DateField("发放日期", null=True, blank=True)
    papers_due_on = models.DateField("补齐材料期限", null=True, blank=True)
    papers_on = models.DateField("补齐材料日期", null=True, blank=True)
    papers_note = models.TextField("补充材料说明", blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-applied_on", "-id"]
        indexes = [models.Index(fields=["household", "cause", "paid_on"])]

    @property
    def cause_label(self) -> str:
        from fangfan.lowincome.tempaid import CAUSES

        return CAUSES.get(self.cause, self.cause)


class ZeroReport(models.Model):
    """村级零报告 (篇四 (一)二): a village's report for a month of the deaths, suspected wrongly
    included (疑似错保) and suspected missed (疑似漏保) among the people it supports — required
    even when all three are empty (then `nothing` is confirmed). Resubmitting replaces the
    content (the audit keeps the earlier one)."""

    village_code = models.CharField("村区划代码", max_length=12)
    month = models.DateField("月份", help_text="first day of the month")
    deaths = models.JSONField("死亡人员", default=list)
    wrongly_included = models.JSONField("疑似错保", default=list)
    missed = models.JSONField("疑似漏保", default=list)
    nothing = models.BooleanField("本月无上报事项", default=False)
    submitted_on = models.DateField("上报日期")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-month", "village_code"]
        constraints = [models.UniqueConstraint(fields=["village_code", "month"], name="one_zero_report_per_month")]


class DibaoVisit(models.Model):
    """乡镇遍访 (篇四 (一)三): a township's visit of a 低保 household (户户见面、人人碰头)."""

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="dibao_visits")
    village_code = models.CharField("村区划代码", max_length=12)
    visited_on = models.DateField("遍访日期")
    visitors = models.CharField("遍访人员", max_length=200)
    findings = models.TextField("核实情况")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        ordering = ["-visited_on", "-id"]
        indexes = [models.Index(fields=["household", "visited_on"]), models.Index(fields=["village_code", "visited_on"])]
