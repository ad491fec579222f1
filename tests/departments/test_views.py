"""The department pages: upload (县行业部门), batches, the county's unregistered list."""
from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fangfan.accounts.models import Role
from fangfan.audit.models import AuditEvent
from fangfan.common.ids import mask
from fangfan.departments.models import FeedBatch, FeedRow
from fangfan.departments.services import feed_import
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
COUNTY_CODE = "341225000000"


@pytest.fixture
def medical():
    return UserFactory(username="yb", role=Role.COUNTY_DEPT, region_code=COUNTY_CODE, department="医保")


def _upload(client, path, name=None):
    return client.post("/departments/upload/", {"file": SimpleUploadedFile(name or path.name, path.read_bytes()), "period": ""})


def test_it_imports_an_upload_of_the_users_own_department(client, county, medical):
    client.force_login(medical)
    assert client.get("/departments/upload/").status_code == 200

    response = _upload(client, county / "医保.csv", "医保_2026-02.csv")

    assert response.status_code == 302 and response["Location"] == "/departments/batches/"
    batch = FeedBatch.objects.get()
    assert (batch.department, batch.period, batch.file_name, batch.who) == ("医保", "2026-02", "医保_2026-02.csv", medical)
    page = client.get("/departments/batches/").content.decode()
    assert "医保_2026-02.csv" in page and f"<td>{batch.matched}</td>" in page


def test_it_shows_every_problem_of_a_bad_upload_and_writes_nothing(client, county, medical, tmp_path):
    client.force_login(medical)
    bad = tmp_path / "医保.csv"
    lines = (county / "医保.csv").read_text(encoding="utf-8").splitlines()
    number = lines[1].split(",")[0]
    bad.write_text("\n".join([lines[0], lines[1].replace(number, number[:-1] + "Y"), lines[2].replace("省内", "境外").replace("省外", "境外")]) + "\n", encoding="utf-8")

    page = _upload(client, bad).content.decode()

    assert "未导入任何数据" in page and "证件号码应为18位" in page and "不是允许的值" in page
    assert mask(number[:-1] + "Y") in page and number[:-1] not in page
    assert not FeedRow.objects.exists() and not FeedBatch.objects.exists()


def test_it_shows_the_upload_page_to_department_users_only(client, county):
    rr = UserFactory(username="rr", role=Role.COUNTY_RR, region_code=COUNTY_CODE)
    client.force_login(rr)
    assert client.get("/departments/upload/").status_code == 403
    client.force_login(UserFactory(username="cun", role=Role.VILLAGE))
    assert client.get("/departments/batches/").status_code == 403
    assert client.get("/departments/unregistered/").status_code == 403


def test_it_keeps_household_files_and_other_feeds_from_a_department_user(client, county, medical):
    feed_import(actor=None, department="民政", path=county / "民政.csv")
    client.force_login(medical)

    assert "民政.csv" not in client.get("/departments/batches/?department=民政").content.decode()
    assert client.get("/departments/unregistered/").status_code == 403
    listing = client.get("/households/")
    number = FeedRow.objects.filter(household__isnull=False).first().household.household_number
    assert listing.status_code in (200, 403) and number not in listing.content.decode()
    assert client.get(f"/households/{number}/").status_code in (403, 404)


def test_it_lists_and_exports_the_unregistered_for_the_county(client, county, planted):
    from python_calamine import CalamineWorkbook

    for department in ("医保", "金融", "公安", "人社", "不动产"):
        feed_import(actor=None, department=department, path=county / f"{department}.csv")
    strangers = set(planted.filter(planted["effect"] == "no_match")["id_number_18"])
    client.force_login(UserFactory(username="ca", role=Role.COUNTY_CA, region_code=COUNTY_CODE))

    page = client.get("/departments/unregistered/").content.decode()
    no_reason = client.get("/departments/unregistered/?show=full").content.decode()
    full = client.get("/departments/unregistered/?show=full&reason=入户核实").content.decode()
    refused = client.get("/departments/unregistered/?format=xlsx")
    export = client.get("/departments/unregistered/?format=xlsx&reason=核实是否应纳入低保")

    # Masked on the page; whole only with a reason, and that view is logged.
    assert all(mask(number) in page and number not in page for number in strangers)
    assert "请填写查看完整证件号码的理由" in no_reason and not any(number in no_reason for number in strangers)
    assert all(number in full for number in strangers)
    viewed = AuditEvent.objects.get(action="member.id_view")
    assert (viewed.actor_name, viewed.object_type, viewed.comment, viewed.after) == (
        "ca", "feed_unregistered", "入户核实", {"rows": len(strangers)})
    assert refused["Content-Type"].startswith("text/html") and "须写明用途" in refused.content.decode()
    rows = CalamineWorkbook.from_filelike(io.BytesIO(export.content)).get_sheet_by_index(0).to_python()
    assert {r[0] for r in rows[2:]} == strangers
    logged = AuditEvent.objects.get(action="personal_data.export")
    assert (logged.actor_name, logged.object_key, logged.comment) == ("ca", "unregistered", "核实是否应纳入低保")
    assert logged.after == {"rows": len(strangers), "full_ids": True}
