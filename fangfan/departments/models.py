"""Department feeds (data.md "Department feeds", workflows.md W6): each imported file is a
FeedBatch, each of its rows a FeedRow matched to the registry at import time. Nothing here
has logic: fangfan.departments.services writes, selectors read."""
from django.conf import settings
from django.db import models

from fangfan.accounts.models import DEPARTMENTS

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
    id_number = models.CharField("证件号码", max_length=18, blank=True)  # 18 digits; "" for 水利
    village_code = models.CharField("村代码", max_length=12, blank=True)  # 水利 only
    # sha256 of the department and the normalised row: the same row in a later file is skipped.
    row_key = models.CharField(max_length=64)
    values = models.JSONField("数据", default=dict)
    matched = models.BooleanField("已匹配", default=False)
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="feed_rows", db_index=False)
    member = models.ForeignKey("registry.Member", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="feed_rows", db_index=False)

    class Meta:
        ordering = ["batch_id", "row_number"]
        constraints = [models.UniqueConstraint(fields=["department", "row_key"], name="feed_row_key_once")]
        indexes = [
            models.Index(fields=["id_number"], name="feed_row_id_number"),
            models.Index(fields=["village_code"], name="feed_row_village"),
            models.Index(fields=["household"], name="feed_row_household"),
        ]

    def __str__(self) -> str:
        return f"{self.department} #{self.row_number}"
