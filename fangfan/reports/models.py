"""Spot checks (抽查, reports.md Q4) and the problem ledger (问题台账, workflows.md W8).
Nothing here has logic: fangfan.reports.services writes, selectors read."""
from django.conf import settings
from django.db import models


class SpotCheck(models.Model):
    """One drawn sample of a county's 脱贫户 and monitored households, stratified by township. The
    frame it was drawn from is stored (Parquet, zstd: household number and township, sorted) with
    its SHA-256, and the seed, so the same draw can be repeated and checked."""

    county = models.CharField("县级区划代码", max_length=6)
    as_of = models.DateField("抽样日期")
    seed = models.BigIntegerField("随机种子")
    ratio = models.CharField("抽查比例", max_length=20)
    frame_households = models.PositiveIntegerField("抽样框户数")
    frame_sha256 = models.CharField("抽样框SHA-256", max_length=64)
    frame = models.BinaryField("抽样框")
    drawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name="抽样人")
    drawn_at = models.DateTimeField("抽样时间", auto_now_add=True)

    class Meta:
        ordering = ["-drawn_at", "-id"]
        indexes = [models.Index(fields=["county", "as_of"], name="spot_check_county")]


class SpotCheckItem(models.Model):
    class Result(models.TextChoices):
        AGREE = "agree", "核实无误"
        PROBLEM = "problem", "发现问题"

    spot_check = models.ForeignKey(SpotCheck, on_delete=models.PROTECT, related_name="items")
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="+")
    village_code = models.CharField("村代码", max_length=12)
    township_code = models.CharField("乡镇代码", max_length=9)
    result = models.CharField("抽查结果", max_length=10, choices=Result.choices, blank=True)
    note = models.TextField("抽查情况", blank=True)
    checked_on = models.DateField("抽查日期", null=True, blank=True)
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    problem = models.ForeignKey("reports.Problem", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["spot_check_id", "township_code", "village_code", "id"]
        constraints = [models.UniqueConstraint(fields=["spot_check", "household"], name="spot_check_item_once")]


class Problem(models.Model):
    """A problem in the ledger: found by a check, a spot check or supervision, or sent from above;
    it has an owner and a deadline, and is closed (销号) only with evidence of the fix."""

    class Source(models.TextChoices):
        SPOT_CHECK = "spot_check", "抽查"
        DATA_QUALITY = "data_quality", "数据质量检查"
        SUPERVISION = "supervision", "督查"
        FROM_ABOVE = "from_above", "上级反馈"

    class Status(models.TextChoices):
        OPEN = "open", "整改中"
        CLOSED = "closed", "已销号"

    source = models.CharField("来源", max_length=20, choices=Source.choices)
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    village_code = models.CharField("村代码", max_length=12, db_index=True)
    rule = models.CharField("规则", max_length=20, blank=True)
    description = models.CharField("问题", max_length=500)
    owner = models.CharField("责任人/单位", max_length=100)
    deadline = models.DateField("整改期限")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.OPEN)
    raised_on = models.DateField("发现日期")
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    evidence = models.TextField("整改佐证", blank=True)
    closed_on = models.DateField("销号日期", null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["status", "deadline", "id"]
        indexes = [models.Index(fields=["status", "deadline"], name="problem_status_deadline")]


class Campaign(models.Model):
    """集中排查 (workflows.md W7; 篇二 五, 篇一 (三)): a region (code prefix), the priority groups it
    targets (篇二 (一)2, codes in fangfan.reports.campaigns.TARGET_GROUPS), its phases with deadlines
    and the share of 脱贫户 and monitored households to be visited at home in the field phase.
    The rules (deadlines as instants, the entry window, coverage) are in fangfan.reports.campaigns."""

    name = models.CharField("名称", max_length=100)
    region = models.CharField("区划代码(前缀)", max_length=12, db_index=True)
    year = models.PositiveSmallIntegerField("年度")
    target_groups = models.JSONField("重点人群", default=list)
    coverage_target = models.PositiveSmallIntegerField("入户覆盖目标(%)", default=100)
    source = models.CharField("依据", max_length=100, blank=True)
    # Set when `fangfan campaign plan` made it from a profile ("calendar", "sweep-1/2" …): planning twice
    # creates nothing new.
    planned_key = models.CharField("计划来源", max_length=20, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-year", "region", "id"]
        constraints = [models.UniqueConstraint(fields=["region", "year", "planned_key"],
                                               condition=~models.Q(planned_key=""), name="campaign_planned_once")]


class CampaignPhase(models.Model):
    """One phase of a campaign: it is due by `due_on` (to the end of that day) or, with `due_time`,
    by that time of day (篇二: 信息录入 5月31日 18:00). `opens_on` is when it starts, if not the day
    after the previous phase's deadline; for the correction phase it is the day from which village
    and township accounts may write again (fangfan.reports.campaigns.entry_window_guard)."""

    class Kind(models.TextChoices):
        PREPARATION = "preparation", "前期准备"
        FIELD = "field", "现场排查"
        ENTRY = "entry", "信息录入"
        CORRECTION = "correction", "数据修正"
        REPORT = "report", "总结报告"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="phases")
    kind = models.CharField("阶段", max_length=12, choices=Kind.choices)
    label = models.CharField("名称", max_length=40, blank=True)
    opens_on = models.DateField("开始日期", null=True, blank=True)
    due_on = models.DateField("截止日期")
    due_time = models.TimeField("截止时间", null=True, blank=True)

    class Meta:
        ordering = ["campaign_id", "due_on", "id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "kind"], name="campaign_phase_once")]
        indexes = [models.Index(fields=["kind", "due_on"], name="campaign_phase_due")]
