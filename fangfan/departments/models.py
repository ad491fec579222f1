"""Department feeds (data.md "Department feeds", workflows.md W6): each imported file is a
FeedBatch, each of its rows a FeedRow matched to the registry at import time. Nothing here
has logic: fangfan.departments.services writes, selectors read."""
from django.conf import settings
from django.db import models

from fangfan.accounts.models import DEPARTMENTS
from fangfan.common import pii

DEPARTMENT_CHOICES = [(d, d) for d in DEPARTMENTS]


class FeedBatch(models.Model):
    department = models.CharField("部门", max_length=20, choices=DEPARTMENT_CHOICES)
    period = models.CharField("数据期", max_length=7, help_text="YYYY-MM")
    # The county the batch was matched in (6 digits); "" when the shell matched the whole registry.
    county = models.CharField("县级区划代码", max_length=6, blank=True)
    file_name = models.CharField("文件名", max_length=255)
    sha256 = models.CharField("文件SHA-256", max_length=64)
    rows = models.PositiveIntegerField("行数", default=0)
    new_rows = models.PositiveIntegerField("新增行数", default=0)
    skipped = models.PositiveIntegerField("已导入过的行", default=0)
    matched = models.PositiveIntegerField("匹配行数", default=0)
    unmatched = models.PositiveIntegerField("未匹配行数", default=0)
    warnings_raised = models.PositiveIntegerField("新增预警", default=0)
    who = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                            related_name="feed_batches", verbose_name="导入人")
    at = models.DateTimeField("导入时间", auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        # The same file is imported once per department (a second upload is refused).
        constraints = [models.UniqueConstraint(fields=["department", "sha256"], name="feed_batch_file_once")]
        indexes = [models.Index(fields=["county", "department"])]

    def __str__(self) -> str:
        return f"{self.department} {self.period} {self.file_name}"


class FeedRow(models.Model):
    batch = models.ForeignKey(FeedBatch, on_delete=models.PROTECT, related_name="feed_rows")
    department = models.CharField("部门", max_length=20, choices=DEPARTMENT_CHOICES)
    row_number = models.PositiveIntegerField("行号")  # as the spreadsheet shows it (header = row 1)
    # The ID is never stored in clear (fangfan.common.pii): its blind index matches the row to
    # the registry ("" for 水利), the cipher shows an unmatched person to the county (masked, or
    # in a logged full view); "" when the department sent the index itself (a keyed-hash file).
    id_index = models.CharField("证件号码索引", max_length=32, blank=True, default="")
    id_cipher = models.CharField("证件号码(密文)", max_length=120, blank=True, default="")
    village_code = models.CharField("村代码", max_length=12, blank=True)  # 水利 only
    # sha256 of the department, the normalised row and the ID's index (feeds.row_key): the same
    # row in a later file is skipped.
    row_key = models.CharField(max_length=64)
    values = models.JSONField("数据", default=dict)  # the row's other columns; never the ID
    matched = models.BooleanField("已匹配", default=False)
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="feed_rows", db_index=False)
    member = models.ForeignKey("registry.Member", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="feed_rows", db_index=False)

    class Meta:
        ordering = ["batch_id", "row_number"]
        constraints = [models.UniqueConstraint(fields=["department", "row_key"], name="feed_row_key_once")]
        indexes = [
            models.Index(fields=["id_index"], name="feed_row_id_index"),
            models.Index(fields=["village_code"], name="feed_row_village"),
            models.Index(fields=["household"], name="feed_row_household"),
        ]

    def __str__(self) -> str:
        return f"{self.department} #{self.row_number}"

    id_number = pii.sealed_property(
        pii.ID_FIELD, "id_cipher", "id_index",
        doc='The plain ID ("" for 水利 and for a keyed-hash row): for masking and logged full views.',
    )

    @property
    def id_hashed(self) -> bool:
        """The department sent the keyed hash: the number itself is unknown here."""
        return bool(self.id_index) and not self.id_cipher


class DeptWarning(models.Model):
    """A department warning (部门预警, workflows.md W6): raised by a feed row (or a year's rows),
    assigned to the township of the matched household (集中交办), passed to its village, verified
    at home (入户核查) and fed back to the department. `kind` is fangfan.policy.warnings.KINDS."""

    class State(models.TextChoices):
        TOWNSHIP = "township", "已交办乡镇"
        VILLAGE = "village", "已转村核查"
        VERIFIED = "verified", "已核查"

    class Outcome(models.TextChoices):
        ENROLLED = "enrolled", "纳入监测"
        ALREADY = "already_monitored", "已是监测对象"
        NO_RISK = "no_risk", "无风险"
        NOT_ELIGIBLE = "not_eligible", "不符合"

    key = models.CharField(max_length=64, unique=True)  # fangfan.policy.warnings.warning_key
    department = models.CharField("部门", max_length=20, choices=DEPARTMENT_CHOICES)
    kind = models.CharField("预警类型", max_length=24)
    action = models.CharField("处理方式", max_length=12)  # risk / negative / status / attention / grant
    risk_codes = models.CharField("风险类型", max_length=40, blank=True)  # codes joined by ;
    urgent = models.BooleanField("紧急", default=False)
    detail = models.CharField("预警内容", max_length=300)
    batch = models.ForeignKey(FeedBatch, on_delete=models.PROTECT, related_name="warnings")
    evidence = models.ManyToManyField(FeedRow, related_name="warnings", verbose_name="依据数据")
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="dept_warnings", db_index=False)
    member = models.ForeignKey("registry.Member", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="dept_warnings", db_index=False)
    village_code = models.CharField("村代码", max_length=12)
    township_code = models.CharField("乡镇代码", max_length=9)
    county = models.CharField("县级区划代码", max_length=6)
    event_on = models.DateField("事项日期", null=True, blank=True)
    raised_on = models.DateField("交办日期")
    deadline = models.DateField("核查期限")
    # Situation when raised: a negative-list hit on a monitored household is a review for removal.
    monitored_when_raised = models.BooleanField("交办时为监测对象", default=False)
    state = models.CharField("状态", max_length=12, choices=State.choices, default=State.TOWNSHIP)
    passed_on = models.DateField("转村日期", null=True, blank=True)
    passed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    outcome = models.CharField("核查结果", max_length=20, choices=Outcome.choices, blank=True)
    outcome_note = models.TextField("核查情况", blank=True)
    verified_on = models.DateField("核查日期", null=True, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    attachment = models.ForeignKey("workflows.Attachment", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    case = models.ForeignKey("workflows.Case", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="dept_warnings")
    # Member status changes (死亡, 迁出) are applied only when the village confirms them.
    status_applied = models.BooleanField("人员状态已更新", default=False)
    dibao_suspected = models.BooleanField("疑似低保特困对象(已移交县民政局)", default=False)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-urgent", "deadline", "id"]
        indexes = [
            models.Index(fields=["county", "state"], name="dept_warning_county_state"),
            models.Index(fields=["township_code", "state"], name="dept_warning_township"),
            models.Index(fields=["village_code", "state"], name="dept_warning_village"),
            models.Index(fields=["household"], name="dept_warning_household"),
            models.Index(fields=["department", "county"], name="dept_warning_department"),
        ]

    def __str__(self) -> str:
        return f"{self.department} {self.kind} #{self.pk}"


REFERRAL_TARGETS = ("医保", "教育", "住建", "人社", "应急", "司法", "民政")
REFERRAL_LABELS = {"医保": "医保/医疗救助", "教育": "教育", "住建": "住建", "人社": "人社", "应急": "应急",
                   "司法": "司法/法律援助", "民政": "民政(低保/特困)"}


class Referral(models.Model):
    """A warning's need referred to the department that can meet it (转介), tracked to its answer."""

    warning = models.ForeignKey(DeptWarning, on_delete=models.PROTECT, related_name="referrals")
    to_department = models.CharField("转介部门", max_length=20, choices=[(k, v) for k, v in REFERRAL_LABELS.items()])
    reason = models.CharField("转介事由", max_length=300)
    referred_on = models.DateField("转介日期")
    referred_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    answer = models.TextField("办理结果", blank=True)
    answered_on = models.DateField("答复日期", null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    county = models.CharField("县级区划代码", max_length=6)

    class Meta:
        ordering = ["answered_on", "referred_on", "id"]
        indexes = [models.Index(fields=["county", "to_department"], name="referral_county_department")]


class CycleRun(models.Model):
    """One monthly cycle (月比对) of a region: what it did, step by step, so a re-run after a kill
    knows where it stands (each step is its own transaction and idempotent)."""

    month = models.CharField("月份", max_length=7)
    region = models.CharField("区划代码", max_length=12, blank=True)
    folder = models.CharField("数据目录", max_length=500, blank=True)
    as_of = models.DateField("筛查日期", null=True, blank=True)
    who = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                            related_name="+", verbose_name="执行人")
    started_at = models.DateTimeField("开始时间", auto_now_add=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)
    summary = models.JSONField("摘要", default=dict)

    class Meta:
        ordering = ["-started_at", "-id"]
