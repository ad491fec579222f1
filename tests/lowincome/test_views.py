"""Pages of the low-income work: the 低保/特困 section of the household file, 应保未保 on the
township's list, the openers, the payment lists (XLSX as filed, CSV) and marking a month paid."""
import csv
import datetime as dt
import io

import openpyxl
import pytest

from fangfan.lowincome.models import PaymentList
from fangfan.lowincome.payments import payment_lists_build
from fangfan.screening.services import screening_run
from fangfan.workflows.models import Case
from fangfan.workflows.worklists import worklist_rows
from tests.lowincome.factories import ANKANG, family, users

pytestmark = pytest.mark.django_db
D = dt.date


def test_it_shows_the_class_and_its_arithmetic_on_the_household_file(client):
    people = users()
    # 2 people, I4 6000: 3000 a head < 4830 → 符合低保条件, and nobody in 低保: 应保未保
    h = family(wage_yuan=6000, people=(("户主", D(1980, 5, 1)), ("配偶", D(1982, 5, 1))))
    screening_run(actor=None, as_of=D(2026, 3, 31), region="610902")
    client.force_login(people["township"])
    page = client.get(f"/households/{h.household_number}/").content.decode()
    section = page[page.index('id="lowincome"'):page.index("<h2>帮扶措施</h2>")]
    assert "<b>符合低保条件 (未纳入低保)</b>" in section
    assert "低保口径人均收入 3000.00 元 &lt; 低保标准 L 4830.00 元" in section and "→ 符合低保条件" in section
    assert "应保未保</span>" in section
    assert "本月发放" not in section  # not (yet) in 低保
    h.members.update(dibao=True)
    page = client.get(f"/households/{h.household_number}/").content.decode()
    section = page[page.index('id="lowincome"'):page.index("<h2>帮扶措施</h2>")]
    assert "成员 户主、配偶 享受低保 → 低保" in section
    # 2026-03 top-up: (4830 − 3000) ÷ 12 × 2 = 305.00
    assert "本月发放" in section and "305.00" in section


def test_it_explains_a_marginal_household_with_both_comparisons(client):
    people = users()
    # one person, 6000: 6000 ≥ 4830 and 6000 < 1.5 × 4830 = 7245 → 低保边缘; a 二级 member → 单人保候选
    h = family(wage_yuan=12000, people=(("户主", D(1980, 5, 1)), ("重残", D(1990, 1, 1),
                                                                 {"disability_grade": "2", "disability_kind": "visual"})))
    screening_run(actor=None, as_of=D(2026, 3, 31), region="610902")
    client.force_login(people["civil"])
    page = client.get(f"/households/{h.household_number}/").content.decode()
    section = page[page.index('id="lowincome"'):page.index("<h2>帮扶措施</h2>")]
    assert "<b>低保边缘</b>" in section
    assert "低保口径人均收入 6000.00 元 ≥ 低保标准 L 4830.00 元" in section
    assert "6000.00 &lt; 1.5 × L = 7245.00 元" in section and "→ 低保边缘" in section
    assert "单人保候选</dt><dd>重残" in section
    assert "/lowincome/review/" not in page  # nothing to re-check: no enrolment


def test_it_raises_dibao_unserved_on_the_townships_list_when_income_falls_from_marginal_to_eligible(client):
    people = users()
    h = family(wage_yuan=6000)  # one person: 6000 ≥ 4830 → 低保边缘
    screening_run(actor=None, as_of=D(2026, 2, 28), region="610902")
    assert [r["household_number"] for r in worklist_rows(actor=people["township"], key="dibao_unserved",
                                                         as_of=D(2026, 3, 1))] == []
    h.incomes.update(wage=400_000)  # 4000 < 4830
    screening_run(actor=None, as_of=D(2026, 3, 31), region="610902")
    rows = list(worklist_rows(actor=people["township"], key="dibao_unserved", as_of=D(2026, 4, 1)))
    assert [(r["household_number"], r["per_capita_dibao_income"]) for r in rows] == [(h.household_number, "4000.00")]
    assert h.screening_results.get(as_of=D(2026, 3, 31)).low_income_class == "dibao_eligible"
    # the page shows it; an open application takes it off the list
    client.force_login(people["township"])
    assert h.household_number in client.get("/worklists/dibao_unserved/").content.decode()
    response = client.post(f"/lowincome/apply/{h.household_number}/", {"programme": "dibao", "reason": "应保未保",
                                                                         "signer_name": "户主"})
    case = Case.objects.get(household=h, kind="lowincome")
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/"
    assert list(worklist_rows(actor=people["township"], key="dibao_unserved", as_of=D(2026, 4, 1))) == []
    # the case page renders W5 steps for the village, and the 县民政局 sees the case
    client.force_login(people["village"])
    assert "家庭经济状况核对" in client.get(f"/cases/{case.pk}/").content.decode()
    client.force_login(people["civil"])
    assert client.get(f"/cases/{case.pk}/").status_code == 200


def test_it_offers_the_w5_openers_to_the_right_roles(client):
    people = users()
    h = family(wage_yuan=1)
    for who, sees in (("village", True), ("township", True), ("civil", False), ("county", False)):
        client.force_login(people[who])
        page = client.get(f"/households/{h.household_number}/").content.decode()
        assert (f"/lowincome/apply/{h.household_number}/" in page) is sees, who
    client.force_login(people["civil"])
    assert client.get(f"/lowincome/apply/{h.household_number}/").status_code == 403


def test_it_shows_downloads_and_marks_paid_a_payment_list(client):
    people = users()
    h = family(wage_yuan=0, people=(("户主", D(1980, 5, 1)), ("配偶", D(1982, 5, 1))))
    h.members.update(dibao=True)
    [lst] = payment_lists_build(actor=people["civil"], month=D(2026, 3, 1), region=ANKANG[:9])
    client.force_login(people["county"])  # 县乡村振兴局 reads
    page = client.get(f"/lowincome/payments/{lst.pk}/").content.decode()
    assert h.household_number in page and "805.00" in page and "确认已发放" not in page
    assert client.post(f"/lowincome/payments/{lst.pk}/paid/", {"seen_version": lst.version}).status_code == 403
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/lowincome/payments/{lst.pk}/?format=xlsx").content))
    ws = book.active
    assert "2026年03月 低保、特困供养金发放名单" in ws.cell(1, 1).value
    assert [c.value for c in ws[2]][:3] == ["序号", "村", "户编号"]
    row = [c.value for c in ws[3]]
    assert row[2] == h.household_number and row[9] == "805.00" and "(4830.00 − 0.00) ÷ 12 × 2 = 805.00" in row[10]
    head = h.members.get(name="户主").id_number  # the head's ID decrypted for the list, shown masked
    masked = head[:6] + "********" + head[-4:]
    assert row[4] == masked and masked in page and head not in page
    assert "A1:K1" in ws.merged_cells
    text = client.get(f"/lowincome/payments/{lst.pk}/?format=csv").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][9] == "金额(元)" and rows[1][9] == "805.00"
    assert rows[1][4] == masked and head not in text
    client.force_login(people["civil"])
    assert "确认已发放" in client.get(f"/lowincome/payments/{lst.pk}/").content.decode()
    client.post(f"/lowincome/payments/{lst.pk}/paid/", {"seen_version": lst.version})
    lst.refresh_from_db()
    assert lst.state == PaymentList.State.PAID
    response = client.post("/lowincome/", {"month": "2026-03", "region": ANKANG[:9]}, follow=True)
    assert "已生成 2026年03月 发放名单 0 份" in response.content.decode()
    response = client.post("/lowincome/", {"month": "2026-13"}, follow=True)
    assert "月份 &#x27;2026-13&#x27; 无效" in response.content.decode()
    client.force_login(people["village"])
    assert client.get("/lowincome/").status_code == 403


def test_it_applies_for_temporary_aid_and_the_county_approves_above_the_township_limit(client):
    from fangfan.lowincome.models import TempAid

    people = users()
    h = family(wage_yuan=3000)
    client.force_login(people["village"])
    page = client.get(f"/households/{h.household_number}/").content.decode()
    assert f"/lowincome/temp/apply/{h.household_number}/" in page
    bad = client.post(f"/lowincome/temp/apply/{h.household_number}/", {"cause": "illness", "amount": "12,3x",
                                                                          "reason": "住院"})
    assert "救助金额不是有效金额" in bad.content.decode() and not TempAid.objects.exists()
    r = client.post(f"/lowincome/temp/apply/{h.household_number}/", {"cause": "illness", "amount": "3000.01",
                                                                        "reason": "住院押金"})
    aid = TempAid.objects.get()
    assert r["Location"] == f"/lowincome/temp/{aid.pk}/" and aid.level == "county"
    page = client.get(f"/lowincome/temp/{aid.pk}/").content.decode()
    assert "3000.01 元 &gt; 乡镇审批限额 3000.00 元" in page and 'name="action"' not in page  # the village has no step
    client.force_login(people["township"])
    assert "乡镇审核通过 (报县民政局)" in client.get(f"/lowincome/temp/{aid.pk}/").content.decode()
    client.post(f"/lowincome/temp/{aid.pk}/act/", {"action": "review_approve", "comment": "属实", "seen_version": 1})
    assert client.post(f"/lowincome/temp/{aid.pk}/act/", {"action": "decide_approve"}).status_code == 403
    client.force_login(people["county"])  # 县乡村振兴局 reads only
    assert "待县民政局审批" in client.get("/lowincome/temp/").content.decode()
    assert client.post(f"/lowincome/temp/{aid.pk}/act/", {"action": "decide_approve"}).status_code == 403
    client.force_login(people["civil"])
    client.post(f"/lowincome/temp/{aid.pk}/act/", {"action": "decide_approve", "comment": "批准", "seen_version": 2})
    aid.refresh_from_db()
    assert (aid.state, aid.decided_by) == ("granted", people["civil"])


def test_it_takes_a_villages_zero_report_and_lists_the_missing_ones_for_the_township(client):
    from fangfan.lowincome.models import ZeroReport
    from tests.factories import ensure_region

    a, b = "130725100201", "130725100202"
    ensure_region(a, "大营盘村")
    ensure_region(b, "小营盘村")
    people = users(a)
    client.force_login(people["township"])
    page = client.get("/lowincome/zero/?month=2026-05").content.decode()
    assert "大营盘村" in page and "小营盘村" in page
    client.force_login(people["village"])
    empty = client.post(f"/lowincome/zero/{a}/", {"month": "2026-05"})
    assert "本月无上报事项" in empty.content.decode() and not ZeroReport.objects.exists()
    assert client.post(f"/lowincome/zero/{b}/", {"month": "2026-05", "nothing": "on"}).status_code == 404
    r = client.post(f"/lowincome/zero/{a}/", {"month": "2026-05", "nothing": "on"})
    assert r.status_code == 302 and ZeroReport.objects.get().nothing
    client.force_login(people["township"])
    row = client.get("/lowincome/zero/?month=2026-05").content.decode().split("<tbody>")[1]
    assert "小营盘村" in row and "大营盘村" not in row
