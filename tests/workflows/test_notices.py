import io

import openpyxl
import pytest

from fangfan.workflows import identification as W1
from fangfan.workflows import selectors
from fangfan.workflows.engine import fire
from tests.factories import IncomeYearFactory
from tests.workflows.factories import D, FUNAN, HUNAN, fake_rule_result, household, staff

pytestmark = pytest.mark.django_db


def _in_notice(monkeypatch, people, village=FUNAN, head="王小二", group="三组"):
    fake_rule_result(monkeypatch)
    h = household(village, head=head, extra={"village_group": group} if group else {})
    IncomeYearFactory(household=h, year=2024, wage=1_234_567)
    case = W1.identification_open(actor=people["village"], household=h, channel="self_declared", on=D(2025, 9, 1),
                                  consent={"signer_name": head})
    for name, data in [("home_check", {"investigators": ["甲", "乙"], "form": {"x": 1}}),
                       ("village_review", {"members": ["a"], "decision": "include", "category": "marginal",
                                           "risks": ["R01", "R09"]})]:
        case = fire(case, name, actor=people["village"], seen_version=case.version, on=D(2025, 9, 29), data=data)
    return h, case


def test_it_lists_running_notices_from_d_through_d_plus_n_minus_1(monkeypatch):
    people = staff(HUNAN)
    _in_notice(monkeypatch, people, HUNAN)
    running = lambda on: selectors.notices_running(actor=people["village"], village_code=HUNAN, on=on)  # noqa: E731
    assert running(D(2025, 9, 28)) == []
    assert len(running(D(2025, 9, 29))) == 1 and len(running(D(2025, 10, 5))) == 1  # 7 days in 湖南
    assert running(D(2025, 10, 6)) == []
    assert selectors.notices_running(actor=staff(FUNAN)["county"], village_code=HUNAN, on=D(2025, 10, 1)) == []


def test_it_prints_name_group_proposal_and_reason_but_never_id_numbers_or_incomes(monkeypatch, client):
    people = staff(FUNAN)
    h, _ = _in_notice(monkeypatch, people)
    id_number = h.members.get().id_number
    client.force_login(people["village"])
    page = client.get(f"/workflows/notices/{FUNAN}/?on=2025-10-01").content.decode()
    for shown in ("王小二", "三组", "拟纳入监测对象 (边缘易致贫户)", "因病、住房出现安全问题", "2025-09-29 至 2025-10-03"):
        assert shown in page
    for hidden in (id_number, id_number[-6:], "12345.67", "1234567", "患有大病"):
        assert hidden not in page
    response = client.get(f"/workflows/notices/{FUNAN}/?on=2025-10-01&format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = [tuple(c.value for c in row) for row in sheet.iter_rows(min_row=3)]
    assert rows == [("序号", "户主姓名", "村民小组", "公示事项", "理由", "公示级别", "公示开始", "公示截止"),
                    (1, "王小二", "三组", "拟纳入监测对象 (边缘易致贫户)", "因病、住房出现安全问题", "村级公示",
                     "2025-09-29", "2025-10-03")]
    flat = " ".join(str(v) for row in rows for v in row)
    assert id_number not in flat


def test_it_leaves_the_group_blank_when_unknown_and_hides_other_regions(monkeypatch, client):
    people = staff(FUNAN)
    _in_notice(monkeypatch, people, group="")
    client.force_login(people["village"])
    page = client.get(f"/workflows/notices/{FUNAN}/?on=2025-09-30").content.decode()
    assert "<td>王小二</td><td></td>" in page
    client.force_login(staff(HUNAN)["county"])
    assert client.get(f"/workflows/notices/{FUNAN}/?on=2025-09-30").status_code == 404
    client.force_login(people["village"])
    assert client.get(f"/workflows/notices/{FUNAN}/?on=bad").status_code == 400
