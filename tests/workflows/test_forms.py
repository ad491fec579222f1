"""Step forms derived from the workflow tables: every data key a step requires has a field, and
the form of every transition of every workflow validates and yields what fire() needs."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fangfan.workflows import forms as F
from fangfan.workflows.models import Case, Notice, Objection
from tests.workflows.factories import D, FUNAN, household, staff

pytestmark = pytest.mark.django_db


def every_transition():
    for wf in F.all_workflows():
        for t in wf.transitions:
            yield wf, t


def test_it_has_a_field_for_every_required_and_optional_key_of_every_transition():
    missing = [f"{wf.kind}.{t.name}: {key}" for wf, t in every_transition()
               for key in (*t.requires, *F.optional_keys(wf.kind, t)) if F.field_spec(wf.kind, key) is None]
    assert missing == [], "add these data keys to fangfan.workflows.forms.FIELDS"
    assert len(list(every_transition())) >= 40  # W1, W2, rollback and removal are all covered


def sample(spec: F.FieldSpec, case) -> list[str]:
    if spec.kind in ("choice", "codes"):
        return [spec.choices_for(case)[0][0]]
    return [{"names": "李四\n王五", "bool": "on", "date": "2026-01-02", "hits": "公安: 无车辆登记",
             "yuan": "1200.50", "int": "3"}.get(spec.kind, "文字")]


def bound_data(case, t) -> dict:
    data = {"seen_version": [str(case.version)], "comment": ["理由"]}
    for key in (*t.requires, *F.optional_keys(case.kind, t)):
        spec = F.field_spec(case.kind, key)
        if spec.kind == "subform":
            for sub_key, sub in spec.subfields:
                data[f"{key}__{sub_key}"] = sample(sub, case)
        else:
            data[key] = sample(spec, case)
    return data


@pytest.fixture
def cases():
    people = staff(FUNAN)
    out = {}
    for kind in Case.Kind.values:
        case = Case.objects.create(kind=kind, household=household(), village_code=FUNAN, state="x",
                                   opened_on=D(2026, 1, 1), opened_by=people["village"])
        notice = Notice.objects.create(case=case, level="village", starts_on=D(2026, 1, 1), days=5, proposal="p")
        Objection.objects.create(case=case, notice=notice, raised_on=D(2026, 1, 2), content="异议")
        out[kind] = case
    return out


@pytest.mark.parametrize("wf, t", list(every_transition()), ids=lambda x: getattr(x, "name", getattr(x, "kind", "")))
def test_it_builds_a_form_per_transition_that_validates_and_yields_the_required_records(cases, wf, t):
    from django.utils.datastructures import MultiValueDict

    case = cases[wf.kind]
    form = F.transition_form(t, case, data=MultiValueDict(bound_data(case, t)))
    assert form.is_valid(), form.errors
    payload = form.payload()
    assert set(t.requires) <= set(payload)
    assert form.fields["comment"].required is t.needs_comment
    assert form.cleaned_data["seen_version"] == case.version


def test_it_shows_chinese_errors_next_to_missing_fields(cases):
    case = cases[Case.Kind.IDENTIFICATION]
    from fangfan.workflows.engine import workflow_for

    t = workflow_for(case.kind).transition("home_check")
    form = F.transition_form(t, case, data={"seen_version": "1", "investigators": "李四"})
    assert not form.is_valid()
    assert form.errors["investigators"] == ["须不少于2人 (不同姓名)"]
    assert form.errors["form__findings"] == ["这个字段是必填项。"]
    assert form.fields["form__net_income_estimate"].group == "信息采集表 (附件2)"


def test_it_requires_a_reason_for_reject_and_send_back(cases):
    case = cases[Case.Kind.IDENTIFICATION]
    from fangfan.workflows.engine import workflow_for

    t = workflow_for(case.kind).transition("reject_village")
    form = F.transition_form(t, case, data={"seen_version": "1"})
    assert not form.is_valid() and "comment" in form.errors and form.fields["comment"].label == "理由 (必填)"


def test_it_reads_json_api_data_with_the_same_fields(cases):
    case = cases[Case.Kind.IDENTIFICATION]
    from fangfan.workflows.engine import workflow_for

    wf = workflow_for(case.kind)
    data = F.api_form_data(wf.transition("record_comparison"), case, {
        "departments": ["公安", "医保"], "hits": [{"department": "公安", "finding": "有车"}]})
    data.setlist("seen_version", ["1"])
    form = F.transition_form(wf.transition("record_comparison"), case, data=data)
    assert form.is_valid(), form.errors
    assert form.payload() == {"departments": ["公安", "医保"], "hits": [{"department": "公安", "finding": "有车"}]}
    with pytest.raises(Exception, match="须为单个值"):
        F.api_form_data(wf.transition("record_consent"), case, {"signer_name": {"x": 1}})


def test_it_offers_only_open_objections_of_the_case(cases):
    case = cases[Case.Kind.IDENTIFICATION]
    from fangfan.workflows.engine import workflow_for

    form = F.transition_form(workflow_for(case.kind).transition("answer_objection"), case)
    choices = [c for c, _ in form.fields["objection"].choices if c]
    assert choices == [str(o.pk) for o in case.objections.all()]


def test_it_refuses_a_file_whose_bytes_are_not_an_allowed_type(cases, settings):
    case = cases[Case.Kind.IDENTIFICATION]
    from django.utils.datastructures import MultiValueDict
    from fangfan.workflows.engine import workflow_for

    t = workflow_for(case.kind).transition("withdraw")
    files = MultiValueDict({"attachments": [SimpleUploadedFile("a.pdf", b"MZ\x90\x00 exe", "application/pdf")]})
    form = F.transition_form(t, case, data={"seen_version": "1", "comment": "x"}, files=files)
    assert not form.is_valid() and "不是允许的文件类型" in form.errors["attachments"][0]
    ok = MultiValueDict({"attachments": [SimpleUploadedFile("a.pdf", b"%PDF-1.7 x", "text/plain")]})
    form = F.transition_form(t, case, data={"seen_version": "1", "comment": "x"}, files=ok)
    assert form.is_valid(), form.errors
