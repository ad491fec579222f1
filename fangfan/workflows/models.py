"""Cases and their records (workflows.md W1-W4).

States and transitions live in the workflow tables (identification.py, elimination.py);
these models only hold what happened. Nothing here is ever deleted: a rejected or
withdrawn case keeps its events. Deadlines are computed from the profile (calendar.py,
profile.py), never stored as a status."""
from django.conf import settings
from django.db import models


class HolidayEntry(models.Model):
    """A day the county (or a higher level) marks as holiday or working day, for years the
    official calendar library does not know. region_prefix '' applies everywhere; the longest
    matching prefix wins for a village. A year the library does not know counts as entered
once it has at least one entry (every year has 元旦); until then working-day deadlines in it
cannot be computed and say so."""

    region_prefix = models.CharField("适用区划前缀", max_length=12, blank=True)
    date = models.DateField("日期")
    is_workday = models.BooleanField("是否工作日")
    note = models.CharField("说明", max_length=100, blank=True)

    class Meta:
        ordering = ["date", "region_prefix"]
        constraints = [models.UniqueConstraint(fields=["region_prefix", "date"], name="holiday_entry_unique")]

    def __str__(self) -> str:
        return f"{self.date} {'班' if self.is_workday else '休'} {self.note}"


class Case(models.Model):
    class Kind(models.TextChoices):
        IDENTIFICATION = "identification", "识别纳入"
        ELIMINATION = "elimination", "风险消除"
        ROLLBACK = "rollback", "风险消除回退"
        REMOVAL = "removal", "监测对象清退"
        LOWINCOME = "lowincome", "低保特困申请"
        LOWINCOME_REVIEW = "lowincome_review", "低保特困复核"

    kind = models.CharField("类型", max_length=20, choices=Kind.choices)
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="cases")
    # Copied from the household so scoping a case list is a range scan on one column.
    village_code = models.CharField("村区划代码", max_length=12, db_index=True)
    state = models.CharField("状态", max_length=30)
    version = models.PositiveIntegerField("版本", default=1)
    channel = models.CharField("来源渠道", max_length=30, blank=True)
    opened_on = models.DateField("发起日期")
    closed_on = models.DateField("办结日期", null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField("事由", blank=True)
    green_channel = models.BooleanField("绿色通道", default=False)
    # Everything recorded along the way (collection form, rule result, review, comparison hits,
    # pre-check ...), keyed by step; each step's payload is also in its CaseEvent.
    data = models.JSONField("记录", default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_on", "-id"]
        indexes = [models.Index(fields=["kind", "state"])]
        constraints = [
            # One open case of a kind per household, even when two sessions open one at once.
            models.UniqueConstraint(
                fields=["household", "kind"], condition=models.Q(closed_on__isnull=True), name="one_open_case_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} {self.household_id}"


class CaseEvent(models.Model):
    """One fired transition: who, when, what, from which state to which. Append-only."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    transition = models.CharField("操作", max_length=40)
    label = models.CharField("操作名称", max_length=60, blank=True)
    from_state = models.CharField("原状态", max_length=30)
    to_state = models.CharField("新状态", max_length=30)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    actor_name = models.CharField("操作人", max_length=150)
    actor_role = models.CharField("角色", max_length=20, blank=True)
    at = models.DateTimeField("时间", auto_now_add=True)
    effective_on = models.DateField("业务日期")
    comment = models.TextField("意见", blank=True)
    attachments = models.JSONField("附件", default=list, blank=True)
    payload = models.JSONField("记录", default=dict, blank=True)
    version = models.PositiveIntegerField("版本")

    class Meta:
        ordering = ["case_id", "id"]


class Notice(models.Model):
    """A public notice (公示) of one case at one level. S4: starts on D, runs through D+N−1,
    may be closed from D+N. N is copied from the profile when the notice starts."""

    class Level(models.TextChoices):
        VILLAGE = "village", "村级公示"
        TOWNSHIP = "township", "乡镇公示"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notices")
    level = models.CharField("公示级别", max_length=10, choices=Level.choices)
    starts_on = models.DateField("公示开始")
    days = models.PositiveSmallIntegerField("公示天数")
    closed_on = models.DateField("公示结束", null=True, blank=True)
    cancelled = models.BooleanField("已撤回", default=False, help_text="case sent back or rejected during the notice")
    proposal = models.CharField("公示事项", max_length=100)
    reason = models.CharField("理由", max_length=200, blank=True)

    class Meta:
        ordering = ["starts_on", "id"]


class Objection(models.Model):
    """An objection raised during a notice; each must be investigated and answered before the
    case moves on."""

    class Outcome(models.TextChoices):
        DISMISSED = "dismissed", "经核实不成立"
        UPHELD = "upheld", "经核实成立"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="objections")
    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, related_name="objections")
    raised_on = models.DateField("提出日期")
    raised_by = models.CharField("异议人", max_length=60, blank=True)
    content = models.TextField("异议内容")
    investigation = models.TextField("调查核实情况", blank=True)
    answer = models.TextField("答复", blank=True)
    outcome = models.CharField("结论", max_length=10, choices=Outcome.choices, blank=True)
    answered_on = models.DateField("答复日期", null=True, blank=True)

    class Meta:
        ordering = ["raised_on", "id"]

    @property
    def is_answered(self) -> bool:
        return bool(self.answered_on)


class Consent(models.Model):
    """附件1 承诺授权书: the household's promise and authorisation to query deposits, vehicles
    and property. Required before any asset query (identification.require_consent)."""

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="consents")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="consents")
    signed_on = models.DateField("签署日期")
    signer_name = models.CharField("签署人", max_length=60)
    document = models.CharField("文件", max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-signed_on", "-id"]


class Contact(models.Model):
    """监测帮扶联系人 of a household. Re-assigning ends the current row; history is kept."""

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="contacts")
    cadre_name = models.CharField("联系人", max_length=60)
    cadre_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    phone = models.CharField("电话", max_length=40, blank=True)
    unit = models.CharField("单位", max_length=100, blank=True)
    assigned_on = models.DateField("确定日期")
    ended_on = models.DateField("结束日期", null=True, blank=True)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["household_id", "-assigned_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["household"], condition=models.Q(ended_on__isnull=True), name="one_active_contact"
            )
        ]


class AssistancePlan(models.Model):
    """帮扶计划 of a monitored household (W3). Its measures are registry Measure rows
    (Measure.extra['plan'] = this id)."""

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="plans")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="plans")
    made_on = models.DateField("制定日期")
    made_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT)
    note = models.TextField("说明", blank=True)

    class Meta:
        ordering = ["household_id", "-made_on", "-id"]


class Visit(models.Model):
    """回访 (W4, S1)."""

    class Method(models.TextChoices):
        HOME = "home", "入户"
        PHONE = "phone", "电话"
        WECHAT = "wechat", "微信"

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="visits")
    visited_on = models.DateField("回访日期")
    method = models.CharField("方式", max_length=10, choices=Method.choices)
    visitors = models.CharField("回访人", max_length=200)
    findings = models.TextField("情况", blank=True)
    net_income = models.BigIntegerField("家庭纯收入预估(分)", null=True, blank=True)
    new_risks = models.CharField("新发现风险", max_length=100, blank=True, help_text="codes joined by ;")
    raised_case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    warning = models.CharField("预警", max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["household_id", "-visited_on", "-id"]


class Attachment(models.Model):
    """A photo or scan of a signed form (附件1, 附件2 ...) uploaded with a case step. The file
    lives under MEDIA_ROOT/attachments/<yyyy>/<sha256><ext>; identical uploads share one file.
    Rows are never deleted (the case history names their ids)."""

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="attachments")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="attachment_files")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)
    original_name = models.CharField("原文件名", max_length=200)
    content_type = models.CharField("文件类型", max_length=60)
    size = models.PositiveIntegerField("大小(字节)")
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True)
    path = models.CharField("存储路径", max_length=200, help_text="relative to MEDIA_ROOT")

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return f"附件 {self.pk} {self.original_name}"
