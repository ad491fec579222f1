"""Case pages: a W1 case walked through the forms by the village, township and county users,
blocked steps with their reasons, stale versions, scope, attachments, W2-W4 pages."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from fangfan.audit.models import AuditEvent
from fangfan.workflows import identification as W1
from fangfan.workflows.models import Attachment, Case, Contact, Notice, Visit
from tests.factories import IncomeYearFactory
from tests.workflows.factories import FUNAN, HUNAN, fake_rule_result, household, staff

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%fake\n"


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def people(monkeypatch):
    fake_rule_result(monkeypatch)
    return staff(FUNAN)


def page(response) -> str:
    return response.content.decode()


def post_step(client, case_id, name, **data):
    return client.post(f"/cases/{case_id}/do/{name}/", data)


def current(case_id) -> Case:
    return Case.objects.get(pk=case_id)


HOME_CHECK = {
    "investigators": "李四\n王五", "form__household_size": "3", "form__net_income_estimate": "5200.50",
    "form__labour": "able", "form__food_clothing_ok": "on", "form__findings": "妻子住院, 医疗支出大",
}


def open_case_by_form(client, h) -> int:
    response = client.post(f"/cases/new/identification/{h.household_number}/",
                           {"channel": "cadre_visit", "reason": "走访发现因病致贫风险"})
    assert response.status_code == 302, page(response)
    return int(re.search(r"/cases/(\d+)/", response["Location"]).group(1))


def test_it_walks_a_w1_case_from_household_to_county_approval(client, people):
    h = household(FUNAN, head="张三")
    client.force_login(people["village"])
    form_page = page(client.get(f"/cases/new/identification/{h.household_number}/"))
    assert "来源渠道" in form_page and "干部走访排查" in form_page and "承诺授权书" in form_page
    case_id = open_case_by_form(client, h)

    # Without consent the home check is offered greyed out, with the reason.
    detail = page(client.get(f"/cases/{case_id}/"))
    assert "签署承诺授权书 (附件1)" in detail and "张三" in detail
    assert "暂不可办理" in detail and "未签署《承诺授权书》(附件1)" in detail
    assert post_step(client, case_id, "record_consent", signer_name="张三", seen_version="1").status_code == 302

    # Home check: one investigator is refused next to the field, two are accepted.
    refused = post_step(client, case_id, "home_check", **{**HOME_CHECK, "investigators": "李四", "seen_version": "2"})
    assert refused.status_code == 200 and "须不少于2人" in page(refused)
    assert current(case_id).state == "applied"
    assert post_step(client, case_id, "home_check", **HOME_CHECK, seen_version="2").status_code == 302
    case = current(case_id)
    assert case.state == "checked"
    assert case.data["home_check"]["form"]["net_income_estimate"] == 520050  # yuan typed, fen stored
    assert case.data["home_check"]["investigators"] == ["李四", "王五"]
    assert "入户核实当日的规则结果" in page(client.get(f"/cases/{case_id}/"))

    response = post_step(client, case_id, "village_review", members="村支书\n驻村队员\n组长", decision="include",
                         category="marginal", risks=["R01"], seen_version="3")
    assert response.status_code == 302
    assert current(case_id).state == "village_notice"

    # The notice runs 5 days: closing is greyed with the date from which it is possible.
    today = timezone.localdate()
    detail = page(client.get(f"/cases/{case_id}/"))
    closable = today + dt.timedelta(days=5)
    assert f"{closable:%Y-%m-%d}起方可结束" in detail
    assert f"/workflows/notices/{FUNAN}/" in detail
    printed = page(client.get(f"/workflows/notices/{FUNAN}/"))
    head = h.members.get(relation="head")
    assert "张三" in printed and "因病" in printed and head.id_number not in printed and "5200" not in printed

    # A stale version is refused with 请刷新 and changes nothing.
    stale = post_step(client, case_id, "raise_objection", content="有车", seen_version="3")
    assert "案件已被他人修改" in page(stale) and "请刷新" in page(stale)
    assert not case.objections.exists()

    # The notice is over (moved back in time for the test) and the village reports up.
    Notice.objects.filter(case_id=case_id).update(starts_on=today - dt.timedelta(days=6))
    assert post_step(client, case_id, "close_village_notice", seen_version="4").status_code == 302
    assert current(case_id).state == "township_review"
    # A colleague's page read before that: 请刷新 with the new state, not "no permission".
    late = post_step(client, case_id, "close_village_notice", seen_version="4")
    assert late.status_code == 409 and "现为「待乡镇审核」" in page(late) and "请刷新" in page(late)
    assert current(case_id).state == "township_review"
    # The village has nothing more to do here.
    assert client.get(f"/cases/{case_id}/do/township_approve/").status_code == 403

    client.force_login(people["township"])
    assert post_step(client, case_id, "township_approve", signed_by="乡长赵六", seen_version="5").status_code == 302
    assert current(case_id).state == "county_comparison"

    client.force_login(people["county"])
    response = post_step(client, case_id, "record_comparison", departments=["公安", "不动产"],
                         hits="公安: 无车辆登记", seen_version="6")
    assert response.status_code == 302
    assert current(case_id).data["record_comparison"]["hits"] == [{"department": "公安", "finding": "无车辆登记"}]
    approve_form = page(client.get(f"/cases/{case_id}/do/approve/"))
    assert 'value="marginal" selected' in approve_form  # pre-filled from the village review
    missing = post_step(client, case_id, "approve", category="marginal", risks=["R01"], seen_version="7")
    assert "hits_decision" in page(missing) and current(case_id).state == "county_approval"
    response = post_step(client, case_id, "approve", category="marginal", risks=["R01"],
                         hits_decision="无车辆登记, 不影响认定", seen_version="7")
    assert response.status_code == 302
    h.refresh_from_db()
    assert current(case_id).state == "identified" and h.category == "marginal"
    timeline = page(client.get(f"/cases/{case_id}/"))
    for label in ("签署承诺授权书", "入户核实", "村民主评议", "乡镇审核通过", "县级部门信息比对", "县级审定纳入"):
        assert label in timeline


def test_it_returns_404_for_another_villages_case(client, people):
    other_people = staff(HUNAN)
    other = W1.identification_open(actor=other_people["village"], household=household(HUNAN), channel="proxy",
                                   on=timezone.localdate())
    client.force_login(people["village"])
    assert client.get(f"/cases/{other.pk}/").status_code == 404
    assert client.post(f"/cases/{other.pk}/do/record_consent/", {"signer_name": "x", "seen_version": "1"}
                       ).status_code == 404
    assert client.get(f"/cases/new/identification/{other.household.household_number}/").status_code == 404
    listing = page(client.get("/cases/"))
    assert other.household.household_number not in listing


def test_it_lists_cases_filtered_by_kind_and_state(client, people):
    h1, h2 = household(FUNAN), household(FUNAN)
    on = timezone.localdate()
    W1.identification_open(actor=people["village"], household=h1, channel="proxy", on=on)
    c2 = W1.identification_open(actor=people["village"], household=h2, channel="proxy", on=on,
                                consent={"signer_name": "李"})
    Case.objects.filter(pk=c2.pk).update(state="checked")
    client.force_login(people["village"])
    listing = page(client.get("/cases/?kind=identification&state=checked"))
    assert h2.household_number in listing and h1.household_number not in listing
    assert "已入户核实, 待村评议" in listing
    assert page(client.get("/cases/?state=bogus&village=abc")).count("<tr>") >= 3


def test_it_refuses_attachments_of_the_wrong_type_or_size(client, people, settings):
    h = household(FUNAN)
    client.force_login(people["village"])
    case_id = open_case_by_form(client, h)
    fake = SimpleUploadedFile("签字.jpg", b"<html>not an image</html>", content_type="image/jpeg")
    response = post_step(client, case_id, "record_consent", signer_name="张三", seen_version="1", attachments=fake)
    assert "不是允许的文件类型" in page(response) and current(case_id).version == 1
    settings.ATTACHMENT_MAX_BYTES = 10
    big = SimpleUploadedFile("scan.pdf", PDF, content_type="application/pdf")
    response = post_step(client, case_id, "record_consent", signer_name="张三", seen_version="1", attachments=big)
    assert "超过" in page(response) and not Attachment.objects.exists()


def test_it_stores_an_attachment_with_the_step_and_serves_it_only_in_scope(client, people):
    h = household(FUNAN)
    client.force_login(people["village"])
    case_id = open_case_by_form(client, h)
    scan = SimpleUploadedFile("附件1.png", PNG, content_type="application/octet-stream")
    assert post_step(client, case_id, "record_consent", signer_name="张三", seen_version="1",
                     attachments=scan).status_code == 302
    attachment = Attachment.objects.get()
    assert (attachment.content_type, attachment.case_id, attachment.size) == ("image/png", case_id, len(PNG))
    assert attachment.path.startswith(f"attachments/{timezone.localdate():%Y}/{attachment.sha256}")
    event = current(case_id).events.get(transition="record_consent")
    assert event.attachments == [str(attachment.pk)]
    assert AuditEvent.objects.filter(action="attachment.store", object_key=str(attachment.pk)).exists()
    assert "附件1.png" in page(client.get(f"/cases/{case_id}/"))
    response = client.get(f"/attachments/{attachment.pk}/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == PNG
    assert response["X-Content-Type-Options"] == "nosniff" and "attachment" in response["Content-Disposition"]
    client.force_login(staff(HUNAN)["village"])
    assert client.get(f"/attachments/{attachment.pk}/").status_code == 404


def test_it_shows_the_elimination_precheck_failures_before_proposing(client, monkeypatch):
    fake_rule_result(monkeypatch, elimination="not_eligible", elimination_failed="E1;E3")
    people = staff(FUNAN)
    h = household(FUNAN, category="marginal", identified_on=dt.date(2025, 1, 1), declared_risks="R01")
    client.force_login(people["village"])
    text = page(client.get(f"/cases/new/elimination/{h.household_number}/"))
    assert "E1 无已落实的帮扶措施" in text and "E3 收入未持续稳定高于风险消除标准" in text
    refused = page(client.post(f"/cases/new/elimination/{h.household_number}/", {"reason": "稳定"}))
    assert "风险消除预检未通过" in refused and not Case.objects.exists()


def test_it_opens_an_elimination_when_the_precheck_passes(client, monkeypatch):
    fake_rule_result(monkeypatch, elimination="eligible", elimination_failed="")
    people = staff(FUNAN)
    h = household(FUNAN, category="marginal", identified_on=dt.date(2025, 1, 1), declared_risks="R01")
    client.force_login(people["village"])
    response = client.post(f"/cases/new/elimination/{h.household_number}/", {"reason": "收入稳定"})
    case = Case.objects.get(kind="elimination")
    assert response["Location"] == f"/cases/{case.pk}/" and case.state == "proposed"
    assert "风险消除预检 (E1-E6)" in page(client.get(f"/cases/{case.pk}/"))


def test_it_requests_a_removal_with_a_reason(client, people):
    h = household(FUNAN, category="marginal", identified_on=dt.date(2025, 1, 1), declared_risks="R01")
    client.force_login(people["village"])
    assert "理由" in page(client.post(f"/cases/new/removal/{h.household_number}/", {"reason": ""}))
    response = client.post(f"/cases/new/removal/{h.household_number}/", {"reason": "错误纳入"})
    case = Case.objects.get(kind="removal")
    assert response.status_code == 302 and case.state == "requested"


def test_it_records_a_plan_with_suggested_measures_and_changes_a_status(client, people):
    h = household(FUNAN, category="marginal", identified_on=timezone.localdate(), declared_risks="R01")
    client.force_login(people["village"])
    text = page(client.get(f"/plans/{h.household_number}/"))
    assert "健康帮扶" in text and "县医保局" in text
    assert re.search(r'value="M05"[^>]*checked', text)  # the suggested measure comes pre-ticked
    response = client.post(f"/plans/{h.household_number}/", {
        "measures": ["M05", "M02"], "started_on": timezone.localdate().isoformat(), "status": "planned", "note": "",
    })
    assert response.status_code == 302
    measure = h.measures.get(measure_code="M05")
    response = client.post(f"/plans/{h.household_number}/measures/{measure.pk}/status/", {
        f"m{measure.pk}-status": "in_progress", f"m{measure.pk}-expected_status": "planned",
    })
    measure.refresh_from_db()
    assert measure.status == "in_progress"
    # A change made on a stale view is refused.
    client.post(f"/plans/{h.household_number}/measures/{measure.pk}/status/", {
        f"m{measure.pk}-status": "done", f"m{measure.pk}-expected_status": "planned",
    })
    measure.refresh_from_db()
    assert measure.status == "in_progress"


def test_it_assigns_a_contact_cadre(client, people):
    h = household(FUNAN, category="marginal", identified_on=timezone.localdate())
    client.force_login(people["village"])
    assert "未确定" in page(client.get(f"/contacts/{h.household_number}/"))
    client.post(f"/contacts/{h.household_number}/", {"cadre_name": "刘干部", "phone": "13800000000", "unit": "镇政府"})
    assert Contact.objects.get(household=h).cadre_name == "刘干部"
    assert "刘干部" in page(client.get(f"/contacts/{h.household_number}/"))


def test_it_records_a_visit_and_shows_the_raised_case(client, people):
    h = household(FUNAN)
    IncomeYearFactory(household=h, year=timezone.localdate().year - 1, wage=3_000_000)
    client.force_login(people["village"])
    bad = page(client.post(f"/visits/{h.household_number}/new/", {
        "visited_on": timezone.localdate().isoformat(), "method": "home", "visitors": "李四", "net_income": "12.345",
    }))
    assert "最多两位小数" in bad and not Visit.objects.exists()
    response = client.post(f"/visits/{h.household_number}/new/", {
        "visited_on": timezone.localdate().isoformat(), "method": "home", "visitors": "李四",
        "findings": "户主重病", "net_income": "1000.00", "new_risks": ["R01"],
    }, follow=True)
    visit = Visit.objects.get()
    assert visit.net_income == 100000 and visit.raised_case is not None
    text = page(response)
    assert "已发起识别纳入案件" in text and f"识别纳入案件 {visit.raised_case.pk}" in text
    assert "1000.00" in page(client.get(f"/visits/{h.household_number}/"))


def test_it_keeps_case_pages_from_roles_without_cases(client, people):
    from fangfan.accounts.models import Role
    from tests.workflows.factories import user

    client.force_login(user(Role.COUNTY_DEPT, FUNAN[:6], "yibao"))
    assert client.get("/cases/").status_code == 403


def test_it_swaps_only_the_form_on_an_htmx_error_and_redirects_on_success(client, people):
    h = household(FUNAN)
    client.force_login(people["village"])
    case_id = open_case_by_form(client, h)
    partial = client.post(f"/cases/{case_id}/do/record_consent/", {"seen_version": "1"}, HTTP_HX_REQUEST="true")
    text = page(partial)
    assert partial.status_code == 200 and "<html" not in text and "这个字段是必填项" in text
    done = client.post(f"/cases/{case_id}/do/record_consent/", {"seen_version": "1", "signer_name": "张三"},
                       HTTP_HX_REQUEST="true")
    assert done["HX-Redirect"] == f"/cases/{case_id}/"
