"""The forms of a department warning's steps (W6: 转交村, 入户核查, 转介, 转介答复) and what a
warning list shows of each warning: shared by the pages (fangfan.web.views.warnings) and the
API (fangfan.api.routers.warnings), so both refuse the same input with the same Chinese words."""
from __future__ import annotations

import datetime as dt

from django import forms

from fangfan.accounts.models import DEPARTMENTS
from fangfan.accounts.permissions import may_read_households
from fangfan.common import codes as C
from fangfan.common.ids import mask
from fangfan.departments.feeds import HASHED_LABEL, ID
from fangfan.departments.models import REFERRAL_LABELS, DeptWarning, FeedRow
from fangfan.departments.selectors import warning_is_overdue
from fangfan.policy.warnings import KINDS
from fangfan.regions.codes import is_digits


def region_names(codes) -> dict[str, str]:
    from fangfan.regions.models import Region

    return dict(Region.objects.filter(code__in=set(codes)).values_list("code", "name"))


def kind_label(code: str) -> str:
    return KINDS[code].label if code in KINDS else code


class PassForm(forms.Form):
    note = forms.CharField(label="交办说明", required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    seen_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2_147_483_647, required=False)


class VerifyForm(forms.Form):
    outcome = forms.ChoiceField(label="核查结果", choices=DeptWarning.Outcome.choices, widget=forms.RadioSelect,
                                error_messages={"required": "请选择核查结果", "invalid_choice": "核查结果应为 "
                                                + "、".join(DeptWarning.Outcome.labels)})
    note = forms.CharField(label="核查情况", max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                           error_messages={"required": "请填写核查情况(入户看到什么、怎样认定)",
                                           "max_length": "核查情况不超过 2000 字"})
    confirm_status = forms.ChoiceField(label="人员状态变更", widget=forms.RadioSelect,
                                       error_messages={"required": "请确认部门数据所报的人员状态变更是否属实"})
    file = forms.FileField(label="照片或扫描件 (JPG、PNG、PDF, 可不传)", required=False)
    seen_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2_147_483_647, required=False)

    def __init__(self, *args, warning: DeptWarning, **kwargs):
        super().__init__(*args, **kwargs)
        kind = KINDS.get(warning.kind)
        if kind is None or kind.action != "status":
            del self.fields["confirm_status"]
        else:
            who = warning.member.name if warning.member_id else "该成员"
            status = C.MEMBER_STATUS.label(kind.member_status)
            self.fields["confirm_status"].choices = (
                ("yes", f"属实: 将{who}的人员状态改为「{status}」"), ("no", "不属实: 不变更人员状态"))
        if warning.household_id is None:
            del self.fields["file"]  # a village-level warning (水利) has no household to file it under

    def clean_file(self):
        from fangfan.workflows.attachments import check_upload

        upload = self.cleaned_data.get("file")
        if upload:
            problem = check_upload(upload)
            if problem:
                raise forms.ValidationError(problem)
        return upload

    def confirm(self) -> bool | None:
        if "confirm_status" not in self.fields:
            return None
        return self.cleaned_data["confirm_status"] == "yes"


class ReferForm(forms.Form):
    to_department = forms.ChoiceField(label="转介部门", choices=(("", "请选择"), *REFERRAL_LABELS.items()),
                                      error_messages={"required": "请选择转介部门",
                                                      "invalid_choice": "转介部门应为 " + "、".join(REFERRAL_LABELS.values())})
    reason = forms.CharField(label="转介事由", max_length=300, widget=forms.Textarea(attrs={"rows": 2}),
                             error_messages={"required": "请写明转介事由(需要该部门解决什么)",
                                             "max_length": "转介事由不超过 300 字"})


class AnswerForm(forms.Form):
    answer = forms.CharField(label="办理结果", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
                             error_messages={"required": "请填写办理结果", "max_length": "办理结果不超过 2000 字"})


def list_filters(params) -> tuple[dict, str]:
    """The list's filters from a query (unknown values dropped, a bad region code said so)."""
    error = ""
    region = (params.get("region") or "").strip()
    if region and not (is_digits(region) and len(region) <= 12):
        error, region = f"区划代码 {region[:20]!r} 无效, 应为数字区划代码", ""
    state = params.get("state") or ""
    department = params.get("department") or ""
    kind = params.get("kind") or ""
    outcome = params.get("outcome") or ""
    return {
        "state": state if state in DeptWarning.State.values else "",
        "department": department if department in DEPARTMENTS else "",
        "kind": kind if kind in KINDS else "",
        "outcome": outcome if outcome in DeptWarning.Outcome.values else "",
        "urgent": params.get("urgent") in (True, "1", "true", "on"),
        "overdue": params.get("overdue") in (True, "1", "true", "on"),
        "region": region,
    }, error


def warning_rows(warnings, user, today: dt.date) -> list[dict]:
    """What a list shows of each warning (page, XLSX and API alike)."""
    warnings = list(warnings)
    households = may_read_households(user)
    names = region_names(w.village_code for w in warnings)
    return [{
        "id": w.pk, "urgent": w.urgent, "department": w.department, "kind": w.kind, "kind_label": kind_label(w.kind),
        "detail": w.detail, "village_code": w.village_code, "village": names.get(w.village_code, w.village_code),
        "household_number": w.household.household_number if households and w.household_id else "",
        "member_name": w.member.name if households and w.member_id else "",
        "id_number": mask(w.member.id_number) if w.member_id else "",
        "state": w.state, "state_label": w.get_state_display(), "raised_on": w.raised_on, "deadline": w.deadline,
        "overdue": warning_is_overdue(w, today), "outcome": w.outcome,
        "outcome_label": w.get_outcome_display() if w.outcome else "", "verified_on": w.verified_on,
        "case_id": w.case_id,
    } for w in warnings]


def evidence_values(row: FeedRow) -> list[tuple[str, object]]:
    """A feed row as a warning's evidence shows it (page and API): its ID masked first, or
    「部门提供的是加密索引」 when the department sent the keyed hash; then its other columns."""
    shown = [(ID, HASHED_LABEL if row.id_hashed else mask(row.id_number))] if row.id_index else []
    # Values hold no ID since the encryption (migration 0004); masked should an old row hold one.
    return shown + [(k, mask(str(v)) if k == ID and v else v) for k, v in (row.values or {}).items() if k != ID or v]
