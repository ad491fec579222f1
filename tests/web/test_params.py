"""The 县级参数 page: parameters in force, the missing 低保 line warning, preview then save."""
import shutil
from pathlib import Path

import pytest

from fangfan.audit.models import AuditEvent
from fangfan.registry.services import registry_import
from fangfan.screening.models import CountyParameter
from tests.factories import UserFactory

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"
WARNING = "本县尚未设置农村低保标准 dibao.line_rural_year,低收入类别、三色预警和应保未保均无法判定"

pytestmark = pytest.mark.django_db



@pytest.fixture
def civil():
    return UserFactory(username="funan_ca", role="county_ca", region_code="341225000000")


@pytest.fixture
def rural():
    return UserFactory(username="funan_rr", role="county_rr", region_code="341225000000")


@pytest.fixture
def imported(tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "in")
    registry_import(actor=None, path=tmp_path / "in")


DIBAO = {"name": "dibao.line_rural_year", "region_prefix": "341225", "start": "2026-01-01", "value_text": "20000",
         "document": "阜民〔2026〕3号", "as_of": "2026-06-30"}


def test_it_warns_the_civil_affairs_bureau_that_no_dibao_line_is_set(client, civil):
    client.force_login(civil)
    page = client.get("/parameters/?date=2026-06-30").content.decode()
    assert WARNING in page
    assert "monitoring.income_line" in page and "6000.00" in page  # the table of values in force
    assert 'value="dibao.line_rural_year"' in page and 'value="monitoring.income_line"' not in page


def test_it_lets_the_civil_affairs_bureau_preview_and_then_save_a_dibao_line(client, civil, imported):
    client.force_login(civil)
    preview = client.post("/parameters/preview", DIBAO, HTTP_HX_REQUEST="true")
    html = preview.content.decode()
    assert preview.status_code == 200 and "<html" not in html  # an HTMX partial
    assert "低收入类别变化" in html and "确认保存" in html and "341225103208" in html
    assert not CountyParameter.objects.exists()
    key = "dibao.line_rural_year|341225|2026-01-01|20000"
    assert f'value="{key}"' in html

    saved = client.post("/parameters/set", {**DIBAO, "previewed": key}, HTTP_HX_REQUEST="true")

    assert saved.status_code == 200 and saved["HX-Redirect"].startswith("/parameters/")
    row = CountyParameter.objects.get()
    assert (row.name, row.value_text, row.document, row.set_by) == ("dibao.line_rural_year", "20000", "阜民〔2026〕3号", civil)
    assert AuditEvent.objects.filter(action="parameter.set", object_key=str(row.pk)).exists()
    page = client.get("/parameters/?date=2026-06-30").content.decode()
    assert WARNING not in page and "本县设置" in page and "阜民〔2026〕3号" in page


def test_it_saves_nothing_that_was_not_previewed(client, civil):
    client.force_login(civil)
    response = client.post("/parameters/set", DIBAO)
    assert response.status_code == 400 and "请先点“预览影响”" in response.content.decode()
    assert not CountyParameter.objects.exists()


def test_it_shows_a_bad_value_next_to_the_field_in_chinese(client, civil):
    client.force_login(civil)
    response = client.post("/parameters/preview", {**DIBAO, "value_text": "两万"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "金额必须是数字" in html and 'class="errorlist' in html
    assert not CountyParameter.objects.exists()


def test_it_does_not_let_the_rural_revitalisation_bureau_set_the_dibao_line(client, rural):
    client.force_login(rural)
    page = client.get("/parameters/").content.decode()
    assert 'value="dibao.line_rural_year"' not in page and 'value="monitoring.income_line"' in page
    key = "dibao.line_rural_year|341225|2026-01-01|20000"
    response = client.post("/parameters/set", {**DIBAO, "previewed": key})
    assert response.status_code == 400
    assert not CountyParameter.objects.exists()


def test_it_shows_the_city_the_parameters_without_a_form(client):
    client.force_login(UserFactory(username="fuyang", role="city", region_code="341200000000"))
    page = client.get("/parameters/?region=341225").content.decode()
    assert "monitoring.income_line" in page and "设置本县参数" not in page
    assert client.get("/parameters/?region=130126").status_code == 404  # another province


def test_it_refuses_the_page_to_a_village_user(client):
    client.force_login(UserFactory(username="v1", role="village", region_code="341225103208"))
    assert client.get("/parameters/").status_code == 403


def test_it_withdraws_a_value_from_the_history_and_refuses_another_countys_row(client, civil):
    from fangfan.screening.services import county_parameter_set
    import datetime as dt

    row = county_parameter_set(actor=civil, name="dibao.line_rural_year", region_prefix="341225",
                               start=dt.date(2026, 1, 1), value_text="5000", document="阜民〔2026〕3号")
    outsider = UserFactory(username="lingshou_ca", role="county_ca", region_code="130126000000")
    client.force_login(outsider)
    assert client.post("/parameters/withdraw", {"pk": row.pk, "reason": "x"}).status_code == 404
    client.force_login(civil)
    page = client.get("/parameters/").content.decode()
    assert "撤回" in page and f'name="pk" value="{row.pk}"' in page
    response = client.post("/parameters/withdraw", {"pk": row.pk, "reason": "文件废止"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.status_zh == "已撤回" and row.withdraw_reason == "文件废止"
    assert WARNING in client.get("/parameters/?date=2026-06-30").content.decode()
