"""Forms of case steps, derived from the workflow tables (design.md): a step's form is built
from its Transition — the `requires` keys as required fields, the optional records the step
keeps, a comment (required when the step needs a reason), attachments and the case version
the user saw. Adding a step to a workflow table adds its form; a new data key only needs a
line in FIELDS. The same form validates the JSON API's `data` (api_form_data), so the page
and the API refuse the same input with the same Chinese messages.

Also the forms of the openers (W1, W2, rollback, removal), the plan, the contact and the visit."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Callable

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.datastructures import MultiValueDict

from fangfan.common import codes as C
from fangfan.common.dates import DateError, parse_date
from fangfan.common.money import MoneyError, parse_yuan
from fangfan.workflows import elimination, identification, lowincome
from fangfan.workflows.engine import Transition, workflow_for
from fangfan.workflows.households import split_codes
from fangfan.workflows.models import Case, Objection, Visit
from fangfan.workflows.visits import METHOD_LOOKUP as METHOD_CODE  # noqa: F401 - 入户/电话/微信 → code

# ---- fields that take lists ------------------------------------------------------------------

MAX_TEXT = 4000  # longest free text a list or amount field reads (validators see the cleaned value)


def _bounded(text):
    if isinstance(text, str) and len(text) > MAX_TEXT:
        raise forms.ValidationError(f"内容过长 (最多 {MAX_TEXT} 字)")
    return text

_SEPARATORS = re.compile(r"[\n\r、，,；;]+")


class NamesField(forms.CharField):
    """A list of names typed one per line (or separated by 、，,；;); a JSON list is accepted too."""

    widget = forms.Textarea(attrs={"rows": 2})

    def __init__(self, *, min_count: int = 0, **kwargs):
        self.min_count = min_count
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, (list, tuple)):
            value = "\n".join(str(v) for v in value)
        text = _bounded(super().to_python(value))
        names = [n.strip() for n in _SEPARATORS.split(text or "") if n.strip()]
        return list(dict.fromkeys(names))

    def validate(self, value):
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        if value and len(value) < self.min_count:
            raise forms.ValidationError(f"须不少于{self.min_count}人 (不同姓名)", code="min_count")


class CodesField(forms.MultipleChoiceField):
    """Codes ticked from a code list; a string with separators (API, import habits) is accepted."""

    widget = forms.CheckboxSelectMultiple

    def to_python(self, value):
        if isinstance(value, str):
            value = [value]
        codes = []
        for item in value or []:
            codes.extend(split_codes(str(item)))
        return super().to_python(codes)


class HitsField(forms.CharField):
    """Department comparison findings: one per line "部门: 发现"; JSON [{department, finding}] too."""

    widget = forms.Textarea(attrs={"rows": 3, "placeholder": "每行一项, 如: 公安: 登记有小轿车一辆"})

    def to_python(self, value):
        if isinstance(value, list):
            rows = []
            for item in value:
                if not isinstance(item, dict):
                    raise forms.ValidationError("每项比对发现须写明部门和发现")
                rows.append(f"{item.get('department', '')}: {item.get('finding', '')}")
            value = "\n".join(rows)
        text = _bounded(super().to_python(value) or "")
        hits = []
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            department, sep, finding = line.replace("：", ":").partition(":")
            if not sep or not department.strip() or not finding.strip():
                raise forms.ValidationError(f"「{line}」格式应为 部门: 比对发现")
            hits.append({"department": department.strip(), "finding": finding.strip()})
        return hits


class YuanField(forms.CharField):
    """An amount typed in yuan (at most two decimals), cleaned to integer fen."""

    def to_python(self, value):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        text = _bounded(super().to_python(value))
        if not text:
            return None
        try:
            return parse_yuan(text)
        except MoneyError:
            raise forms.ValidationError("请填写金额 (元, 最多两位小数), 如 12000 或 12000.50") from None


class DayField(forms.DateField):
    """A date typed or sent as text, read by the one date parser (fangfan.common.dates): the
    browser's date input sends YYYY-MM-DD, the API and older browsers may send the other
    spellings of data.md."""

    widget = forms.DateInput(attrs={"type": "date"})

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return parse_date(_bounded(str(value)))
        except DateError as exc:
            raise forms.ValidationError(f"{exc.reason}, 如 2026-03-02") from None


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several photos or scans at once (Django's documented multiple-upload pattern)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ",".join(settings.ATTACHMENT_TYPES)}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


# ---- the registry of data keys ----------------------------------------------------------------

Choices = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class FieldSpec:
    """How one data key of a transition is asked for: label, kind and choices."""

    label: str
    kind: str = "text"  # text | textarea | names | choice | codes | bool | date | hits | yuan | int | subform
    choices: Choices | Callable[[Case | None], Choices] = ()
    help: str = ""
    min_count: int = 0
    subfields: tuple[tuple[str, "FieldSpec"], ...] = ()
    required: bool | None = None  # None: required when the transition requires the key

    def choices_for(self, case: Case | None) -> Choices:
        return self.choices(case) if callable(self.choices) else self.choices


RISK_CHOICES: Choices = C.RISK.items
CATEGORY_CHOICES: Choices = C.CATEGORY.items
YES_NO: Choices = (("yes", "是"), ("no", "否"))
LABOUR_CHOICES: Choices = (
    ("able", "有劳动能力 (普通或技能劳动力)"), ("weak", "弱劳动力或半劳动力"), ("none", "整户无劳动能力"),
)
# 县级比对 departments (workflows.md W6: the negative-list and warning feeds).
DEPARTMENTS: Choices = tuple((d, d) for d in (
    "公安", "不动产", "市场监管", "金融", "人社", "医保", "民政", "教育", "住建", "残联", "应急", "水利", "税务",
))


def _open_objections(case: Case | None) -> Choices:
    if case is None:
        return ()
    return tuple((str(o.pk), f"异议 {o.pk}: {o.content[:30]}")
                 for o in case.objections.filter(answered_on__isnull=True).order_by("id"))


# 附件2 信息采集表: what the investigators fill in at the home; the full member and income
# blocks live in the registry (data.md) and are imported or edited there.
COLLECTION_FORM = (
    ("household_size", FieldSpec("家庭人口 (人)", "int", required=True)),
    ("net_income_estimate", FieldSpec("家庭年纯收入预估 (元)", "yuan", required=True)),
    ("labour", FieldSpec("劳动能力", "choice", LABOUR_CHOICES, required=True)),
    ("food_clothing_ok", FieldSpec("不愁吃、不愁穿", "bool")),
    ("education_ok", FieldSpec("义务教育有保障", "bool")),
    ("medical_ok", FieldSpec("基本医疗有保障", "bool")),
    ("housing_ok", FieldSpec("住房安全有保障", "bool")),
    ("water_ok", FieldSpec("饮水安全有保障", "bool")),
    ("rigid_expenses", FieldSpec("大额刚性支出 (元)", "yuan", required=False)),
    ("findings", FieldSpec("核实情况", "textarea", required=True)),
)
# 附件5 风险消除评估表.
ASSESSMENT_FORM = (
    ("income_stable", FieldSpec("收入持续稳定高于风险消除标准", "bool")),
    ("guarantees_stable", FieldSpec("两不愁三保障及饮水安全持续巩固", "bool")),
    ("rigid_expenses_solved", FieldSpec("大额刚性支出已稳定解决", "bool")),
    ("assessment", FieldSpec("评估意见", "textarea", required=True)),
)

FIELDS: dict[str, FieldSpec] = {
    # consent (附件1)
    "signer_name": FieldSpec("签署人 (户主或家庭成员)"),
    "signed_on": FieldSpec("签署日期", "date"),
    "document": FieldSpec("文件编号或说明"),
    # green channel
    "risk": FieldSpec("绿色通道风险", "choice",
                      tuple((r, C.RISK.label(r)) for r in identification.GREEN_CHANNEL_RISKS)),
    # home check / verification
    "investigators": FieldSpec("调查人员", "names", help="不少于2人, 每行一个姓名", min_count=2),
    "form": FieldSpec("信息采集表 (附件2)", "subform", subfields=COLLECTION_FORM),
    "annex5": FieldSpec("风险消除评估表 (附件5)", "subform", subfields=ASSESSMENT_FORM),
    "investigators_signed": FieldSpec("核实组成员已签字", "bool", required=True),
    "household_signed": FieldSpec("监测对象已签字", "bool", required=True),
    # review
    "members": FieldSpec("参加评议人员", "names", help="每行一个姓名"),
    "decision": FieldSpec("评议结论", "choice", (("include", "拟纳入"),)),
    "category": FieldSpec("监测对象类别", "choice", CATEGORY_CHOICES),
    "risks": FieldSpec("返贫致贫风险", "codes", RISK_CHOICES),
    "negative_list_decision": FieldSpec("负面清单认定理由", "textarea", help="命中负面清单时必填"),
    # objections
    "content": FieldSpec("异议内容", "textarea"),
    "raised_by": FieldSpec("异议人"),
    "objection": FieldSpec("异议", "choice", _open_objections),
    "investigation": FieldSpec("调查核实情况", "textarea"),
    "answer": FieldSpec("答复", "textarea"),
    "outcome": FieldSpec("核实结论", "choice", tuple(Objection.Outcome.choices)),
    # township, county
    "signed_by": FieldSpec("签字人 (乡镇负责人)"),
    "departments": FieldSpec("参与比对部门", "codes", DEPARTMENTS),
    "hits": FieldSpec("比对发现", "hits", help="每行一项: 部门: 发现; 无发现留空"),
    "hits_decision": FieldSpec("比对发现的处理意见", "textarea", help="有比对发现时必填"),
    # elimination
    "method": FieldSpec("消除方式", "choice", tuple(elimination.METHODS.items())),
    "scrutiny": FieldSpec("重点审查意见", "textarea", help="低保、特困或多种风险户必填"),
    # W5 低保/特困 (workflows/lowincome.py)
    "findings": FieldSpec("核对情况 (收入、财产、家庭变化)", "textarea"),
    "starts_on": FieldSpec("起始发放月 (当月1日起)", "date"),
    "own_income": FieldSpec("单人保成员本人年收入 (元)", "yuan", help="单人保按本人收入计算补差, 无收入填0"),
    "override_reason": FieldSpec("不符合规则结果仍纳入的理由", "textarea", help="核对结果不是低保对象时必填"),
    "income_above_on": FieldSpec("核实收入超过低保标准的日期", "date"),
    "exit_reason": FieldSpec("退出原因", "choice", tuple(lowincome.EXIT_REASONS.items())),
}
# A key whose meaning differs by workflow.
FIELDS_OF_KIND: dict[tuple[str, str], FieldSpec] = {
    (Case.Kind.ELIMINATION, "decision"): FieldSpec("评议结论", "choice", (("eliminate", "拟消除风险"),)),
    (Case.Kind.ELIMINATION, "signed_by"): FieldSpec("签字人 (乡镇负责人)"),
    (Case.Kind.ROLLBACK, "signed_by"): FieldSpec("签字人 (乡镇负责人)"),
    (Case.Kind.REMOVAL, "signed_by"): FieldSpec("签字人 (乡镇负责人)"),
}
# Optional records a step keeps besides its required ones: (kind, transition) or transition.
OPTIONAL: dict[tuple[str, str] | str, tuple[str, ...]] = {
    "record_consent": ("signed_on", "document"),
    (Case.Kind.IDENTIFICATION, "village_review"): ("negative_list_decision",),
    "raise_objection": ("raised_by",),
    "record_comparison": ("hits",),
    (Case.Kind.IDENTIFICATION, "approve"): ("hits_decision",),
    (Case.Kind.ELIMINATION, "approve"): ("scrutiny",),
    (Case.Kind.ELIMINATION, "verify"): ("investigators_signed", "household_signed"),
    (Case.Kind.LOWINCOME, "approve"): ("own_income", "override_reason"),
}


def field_spec(kind: str, key: str) -> FieldSpec | None:
    return FIELDS_OF_KIND.get((kind, key)) or FIELDS.get(key)


def optional_keys(kind: str, t: Transition) -> tuple[str, ...]:
    return OPTIONAL.get((kind, t.name), OPTIONAL.get(t.name, ()))


def _django_field(spec: FieldSpec, required: bool, case: Case | None) -> forms.Field:
    common = {"label": spec.label, "required": required, "help_text": spec.help}
    if spec.kind == "textarea":
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, **common)
    if spec.kind == "names":
        return NamesField(min_count=spec.min_count, **common)
    if spec.kind == "choice":
        return forms.ChoiceField(choices=(("", "请选择"), *spec.choices_for(case)), **common)
    if spec.kind == "codes":
        return CodesField(choices=spec.choices_for(case), **common)
    if spec.kind == "bool":
        return forms.BooleanField(**common)
    if spec.kind == "date":
        return DayField(**common)
    if spec.kind == "hits":
        return HitsField(**common)
    if spec.kind == "yuan":
        return YuanField(**common)
    if spec.kind == "int":
        return forms.IntegerField(min_value=0, max_value=100, **common)
    return forms.CharField(max_length=200, **common)


def _add_fields(form: forms.Form, key: str, spec: FieldSpec, required: bool, case: Case | None) -> None:
    if spec.kind == "subform":
        for sub_key, sub in spec.subfields:
            sub_required = required and (sub.required if sub.required is not None else False)
            f = _django_field(sub, sub_required, case)
            f.group = spec.label
            form.fields[f"{key}__{sub_key}"] = f
        return
    form.fields[key] = _django_field(spec, required, case)


# ---- the step form ------------------------------------------------------------------------------

class StepForm(forms.Form):
    """Base of every step form: the version seen, the comment, attachments."""

    seen_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2_147_483_647)
    comment = forms.CharField(label="意见或理由", required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 2}))
    attachments = MultipleFileField(label="附件 (照片或扫描件: JPG、PNG、PDF)", required=False)

    transition: Transition
    case: Case | None
    data_keys: tuple[str, ...] = ()

    def clean_attachments(self):
        from fangfan.workflows.attachments import check_upload

        files = self.cleaned_data.get("attachments") or []
        for f in files:
            problem = check_upload(f)
            if problem:
                raise forms.ValidationError(problem)
        return files

    def payload(self) -> dict:
        """The cleaned `data` for engine.fire (sub-forms folded back into dicts)."""
        out: dict = {}
        for key in self.data_keys:
            spec = field_spec(self.case.kind if self.case else "", key)
            if spec and spec.kind == "subform":
                sub = {}
                for sub_key, _ in spec.subfields:
                    value = self.cleaned_data.get(f"{key}__{sub_key}")
                    if value not in (None, ""):
                        sub[sub_key] = value
                if sub:
                    out[key] = sub
                continue
            value = self.cleaned_data.get(key)
            if value in (None, "", []):
                continue
            if spec and spec.kind == "bool" and value is False:
                continue
            out[key] = value
        return out


def transition_form(t: Transition, case: Case, data=None, files=None, *, initial: dict | None = None) -> StepForm:
    """The form of transition `t` on `case`, bound when `data` is given."""
    form = StepForm(data=data, files=files, initial={"seen_version": case.version, **(initial or {})},
                    prefix=None)
    form.transition, form.case = t, case
    keys = []
    for key in (*t.requires, *optional_keys(case.kind, t)):
        spec = field_spec(case.kind, key)
        if spec is None:
            raise KeyError(f"{case.kind}.{t.name}: no field spec for data key {key!r}")
        required = key in t.requires if spec.required is None else spec.required
        _add_fields(form, key, spec, required, case)
        keys.append(key)
    form.data_keys = tuple(keys)
    # The county comparison shows the departments' negative-list hits on the household (W6).
    form.negative_hits = comparison_hits(case) if t.name == "record_comparison" else []
    if t.needs_comment:
        form.fields["comment"].required = True
        form.fields["comment"].label = "理由 (必填)"
    # Data fields first, then the comment and the attachments.
    order = [k for k in form.fields if k not in ("seen_version", "comment", "attachments")]
    form.order_fields([*order, "comment", "attachments", "seen_version"])
    return form


def comparison_hits(case: Case) -> list:
    """The negative-list warnings (部门预警, W6) on the case's household, newest first."""
    from fangfan.departments.selectors import negative_hits

    return negative_hits(household=case.household) if case.kind == Case.Kind.IDENTIFICATION else []


def comparison_initial(hits: list) -> dict:
    """The comparison step pre-filled from the departments' hits (the county may add more)."""
    known = {code for code, _ in DEPARTMENTS}
    lines = []
    for w in hits:
        finding = w.detail.removeprefix(f"{w.department}: ").removeprefix(f"{w.department}:")
        lines.append(f"{w.department}: {finding} (部门预警 {w.pk}, {w.raised_on:%Y-%m-%d})")
    return {"departments": list(dict.fromkeys(w.department for w in hits if w.department in known)),
            "hits": "\n".join(lines)}


def step_initial(t: Transition, case: Case) -> dict:
    """Values to pre-fill: the county approves what the village proposed; the comparison
    starts from the departments' negative-list hits."""
    review = case.data.get("village_review") or {}
    if t.name in ("home_check", "economic_check", "recheck"):
        # The other programme's recent home check of the household, offered (issue 12, item 7).
        from fangfan.lowincome.checkshare import reuse_initial

        return reuse_initial(case, t.name, today())
    if t.name == "record_comparison":
        hits = comparison_hits(case)
        return comparison_initial(hits) if hits else {}
    if t.name == "approve" and case.kind == Case.Kind.IDENTIFICATION:
        return {"category": review.get("category", ""), "risks": split_codes(review.get("risks"))}
    if t.name == "village_review" and case.kind == Case.Kind.IDENTIFICATION:
        rr = (case.data.get("home_check") or {}).get("rule_result") or {}
        return {"category": rr.get("candidate_category") or "", "risks": split_codes(rr.get("detected_risks")),
                "decision": "include"}
    if t.name == "village_review" and case.kind == Case.Kind.ELIMINATION:
        return {"decision": "eliminate"}
    return {}


def api_form_data(t: Transition, case: Case, data: dict) -> MultiValueDict:
    """JSON `data` of an API call flattened to what the step form reads (sub-form dicts as
    key__sub, lists as several values), so the API validates with the page's form."""
    flat = MultiValueDict()
    for key, value in (data or {}).items():
        spec = field_spec(case.kind, str(key))
        if spec is not None and spec.kind == "subform" and isinstance(value, dict):
            for sub_key, sub_value in value.items():
                flat.setlist(f"{key}__{sub_key}", [_scalar(sub_value, f"{key}.{sub_key}")])
        elif spec is not None and spec.kind == "codes" and isinstance(value, list):
            flat.setlist(str(key), [_scalar(v, key, spec) for v in value])
        elif spec is not None and spec.kind in ("names", "hits") and isinstance(value, list):
            flat.setlist(str(key), [value])  # the field itself reads the list
        else:
            flat.setlist(str(key), [_scalar(value, key, spec)])
    return flat


def _scalar(value, key="", spec: FieldSpec | None = None):
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        label = spec.label if spec else key
        raise forms.ValidationError(f"{label} ({key}) 须为单个值, 不能是列表或对象")
    return str(value)


def error_text(form: forms.Form) -> str:
    """All errors of a form in one Chinese line (API detail, flash messages)."""
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        parts.append(f"{label or '表单'}: {'; '.join(errors)}")
    return "; ".join(parts)


def field_description(case: Case, t: Transition) -> list[dict]:
    """The fields of a step for the API: key, label, type, required, choices, sub-fields."""
    out = []
    for key in (*t.requires, *optional_keys(case.kind, t)):
        spec = field_spec(case.kind, key)
        item = {"key": key, "label": spec.label, "type": spec.kind,
                "required": key in t.requires if spec.required is None else spec.required}
        if spec.kind in ("choice", "codes"):
            item["choices"] = [{"code": c, "label": lbl} for c, lbl in spec.choices_for(case)]
        if spec.subfields:
            item["fields"] = [{"key": k, "label": s.label, "type": s.kind,
                               "required": bool(s.required)} for k, s in spec.subfields]
        out.append(item)
    return out


def all_workflows():
    return [workflow_for(k) for k in Case.Kind.values]


# ---- openers and W3/W4 forms ---------------------------------------------------------------------

class UploadMixin(forms.Form):
    attachments = MultipleFileField(label="附件 (照片或扫描件: JPG、PNG、PDF)", required=False)

    def clean_attachments(self):
        from fangfan.workflows.attachments import check_upload

        files = self.cleaned_data.get("attachments") or []
        for f in files:
            problem = check_upload(f)
            if problem:
                raise forms.ValidationError(problem)
        return files


class IdentificationOpenForm(UploadMixin):
    channel = forms.ChoiceField(label="来源渠道", choices=(("", "请选择"), *identification.CHANNELS.items()))
    reason = forms.CharField(label="申请事由", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    signer_name = forms.CharField(label="承诺授权书 (附件1) 签署人", required=False, max_length=60,
                                  help_text="已签署附件1时填写; 未签署的, 入户核实前须补签")
    signed_on = DayField(label="签署日期", required=False)
    green_channel_risk = forms.ChoiceField(
        label="绿色通道 (因病、因灾、因意外)", required=False,
        choices=(("", "不走绿色通道"), *((r, C.RISK.label(r)) for r in identification.GREEN_CHANNEL_RISKS)),
    )

    field_order = ["channel", "reason", "signer_name", "signed_on", "green_channel_risk", "attachments"]


class ReasonForm(UploadMixin):
    reason = forms.CharField(label="理由", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    field_order = ["reason", "attachments"]


class EliminationProposeForm(forms.Form):
    reason = forms.CharField(label="提名说明", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
                             required=False)


class PlanForm(forms.Form):
    measures = forms.MultipleChoiceField(label="帮扶措施", choices=C.MEASURE.items,
                                         widget=forms.CheckboxSelectMultiple,
                                         help_text="已按风险预选建议措施 (缺什么补什么), 可增减")
    started_on = DayField(label="开始日期")
    status = forms.ChoiceField(label="措施状态", choices=C.MEASURE_STATUS.items, initial="planned")
    note = forms.CharField(label="说明", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class MeasureStatusForm(forms.Form):
    status = forms.ChoiceField(label="状态", choices=C.MEASURE_STATUS.items)
    expected_status = forms.ChoiceField(widget=forms.HiddenInput, choices=C.MEASURE_STATUS.items)
    comment = forms.CharField(label="说明", required=False, max_length=500)


class ContactForm(forms.Form):
    cadre_name = forms.CharField(label="帮扶联系人姓名", max_length=60)
    phone = forms.CharField(label="电话", required=False, max_length=40,
                            widget=forms.TextInput(attrs={"type": "tel"}))
    unit = forms.CharField(label="单位", required=False, max_length=100)


class VisitForm(forms.Form):
    visited_on = DayField(label="回访日期")
    method = forms.ChoiceField(label="回访方式", choices=Visit.Method.choices)
    visitors = forms.CharField(label="回访人", max_length=200)
    findings = forms.CharField(label="回访情况", required=False, max_length=2000,
                               widget=forms.Textarea(attrs={"rows": 3}))
    net_income = YuanField(label="家庭年纯收入预估 (元)", required=False,
                           help_text="收入大幅缩减时系统自动预警")
    new_risks = CodesField(label="新发现风险", choices=RISK_CHOICES, required=False)

    def clean_visited_on(self):
        day = self.cleaned_data["visited_on"]
        if day > timezone.localdate():
            raise forms.ValidationError("回访日期不能晚于今天")
        return day


def today() -> dt.date:
    return timezone.localdate()


__all__ = ["FIELDS", "FieldSpec", "transition_form", "api_form_data", "field_description", "step_initial"]
