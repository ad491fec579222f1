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
    # 证件号码 of the members covered (every 正常 member for a whole-household 低保).
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
    members = models.JSONField("保障成员证件号码", default=list)
    amount = models.BigIntegerField("金额(分)")  # negative for a correction that takes money back
    arithmetic = models.TextField("计算过程")

    class Meta:
        ordering = ["payment_list_id", "village_code", "household_id", "programme", "for_month", "id"]
        indexes = [models.Index(fields=["household", "for_month"])]
