"""Stored rule results: pages and reports read these instead of recomputing."""
from django.db import models


class ParameterVersionSet(models.Model):
    """Which value of each parameter a result used (name → "prefix@start"), shared by every
    household of the same villages/profile, so each result row stores only a reference."""

    digest = models.CharField(max_length=64, unique=True)
    versions = models.JSONField()


class ScreeningRun(models.Model):
    at = models.DateTimeField(auto_now_add=True)
    actor_name = models.CharField(max_length=150)
    as_of = models.DateField("评估日期")
    year = models.PositiveSmallIntegerField("收入年度", null=True)
    region_prefix = models.CharField(max_length=12, blank=True)
    summary = models.JSONField(default=dict)


class ScreeningResult(models.Model):
    """One household's rule results at an as-of date (the `evaluate` contract's columns, typed)."""

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="screening_results")
    as_of = models.DateField("评估日期")
    year = models.PositiveSmallIntegerField("收入年度", null=True)
    household_size = models.PositiveSmallIntegerField("家庭人口")
    net_income = models.BigIntegerField("家庭纯收入(分)", null=True)
    monitoring_income = models.BigIntegerField("监测收入(分)", null=True)
    per_capita_income = models.BigIntegerField("人均纯收入(分)", null=True)
    income_line = models.BigIntegerField("监测范围(分)", null=True)
    below_line = models.BooleanField("低于监测范围", default=False)
    hardship = models.BooleanField("突发严重困难", default=False)
    candidate_category = models.CharField("候选类别", max_length=20, blank=True)
    detected_risks = models.CharField("风险", max_length=200, blank=True)
    whole_household_no_labor = models.BooleanField("整户无劳动能力", default=False)
    negative_list_hits = models.CharField("负面清单", max_length=100, blank=True)
    elimination = models.CharField("风险消除", max_length=20, blank=True)
    elimination_failed = models.CharField("未满足", max_length=100, blank=True)
    warning_color = models.CharField("三色预警", max_length=10, blank=True)
    dibao_unserved = models.BooleanField("应保未保", default=False)
    per_capita_dibao_income = models.BigIntegerField("低保口径人均收入(分)", null=True)
    low_income_class = models.CharField("低收入类别", max_length=20, blank=True)
    single_person_dibao = models.TextField("单人保候选", blank=True)
    visit_due_on = models.DateField("应回访日期", null=True)
    visit_overdue = models.BooleanField("回访逾期", default=False)
    explanation = models.TextField("说明", blank=True)
    parameters = models.ForeignKey(ParameterVersionSet, on_delete=models.PROTECT)
    run = models.ForeignKey(ScreeningRun, on_delete=models.PROTECT)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["household", "as_of"], name="screening_result_unique")]
        indexes = [models.Index(fields=["as_of", "candidate_category"]), models.Index(fields=["as_of", "warning_color"])]
