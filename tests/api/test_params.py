"""/api/v1/parameters/: parameters in force (scoped), preview and set through the same service."""
import shutil
from pathlib import Path

import pytest

from fangfan.accounts.services import api_token_create
from fangfan.registry.services import registry_import
from fangfan.screening.models import CountyParameter
from tests.factories import UserFactory

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"

pytestmark = pytest.mark.django_db



def _auth(role, region, username):
    user = UserFactory(username=username, role=role, region_code=region)
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=user, user=user)}"}


DIBAO = {"name": "dibao.line_rural_year", "region_prefix": "341225", "start": "2026-01-01", "value": "20000"}


def test_it_lists_the_parameters_in_force_with_the_dibao_warning(client):
    auth = _auth("county_ca", "341225000000", "ca")
    data = client.get("/api/v1/parameters/?date=2026-06-30", **auth).json()
    assert data["region"] == "341225" and data["dibao_line_missing"] is True
    assert "dibao.line_rural_year" in data["warning"]
    rows = {r["name"]: r for r in data["parameters"]}
    assert rows["monitoring.income_line"]["value"] == "6000.00"
    assert client.get("/api/v1/parameters/?region=130126", **auth).status_code == 404


def test_it_previews_and_sets_a_dibao_line_for_the_civil_affairs_bureau(client, tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "in")
    registry_import(actor=None, path=tmp_path / "in")
    auth = _auth("county_ca", "341225000000", "ca")

    preview = client.post("/api/v1/parameters/preview", {**DIBAO, "as_of": "2026-06-30"},
                          content_type="application/json", **auth)
    assert preview.status_code == 200 and preview.json()["total"]["class_changed"] == 2
    saved = client.post("/api/v1/parameters/", {**DIBAO, "document": "阜民〔2026〕3号"},
                        content_type="application/json", **auth)
    assert saved.status_code == 201 and saved.json()["value"] == "20000"
    data = client.get("/api/v1/parameters/?date=2026-06-30", **auth).json()
    assert data["dibao_line_missing"] is False and data["warning"] is None


def test_it_refuses_the_wrong_office_and_bad_values_with_chinese_messages(client):
    rr = _auth("county_rr", "341225000000", "rr")
    response = client.post("/api/v1/parameters/", {**DIBAO, "document": "x"}, content_type="application/json", **rr)
    assert response.status_code == 403 and "县民政局" in response.json()["detail"]
    ca = _auth("county_ca", "341225000000", "ca")
    response = client.post("/api/v1/parameters/", {**DIBAO, "value": "两万", "document": "x"},
                           content_type="application/json", **ca)
    assert response.status_code == 400 and "金额必须是数字" in response.json()["detail"]
    assert not CountyParameter.objects.exists()


def test_it_refuses_the_parameters_to_roles_the_page_refuses(client):
    auth = _auth("county_dept", "341225000000", "yibao")
    assert client.get("/api/v1/parameters/", **auth).status_code == 403
