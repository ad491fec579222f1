"""One household check for both programmes: a W5 economic check recorded within checks.reuse_months
(fangfan default 6) is offered, prefilled with who checked and when, as the W1 home check of the same
household, and the reverse; the two cases show each other on their pages."""
import datetime as dt

import pytest
from django.utils import timezone

from fangfan.lowincome import checkshare
from fangfan.workflows import identification as W1, lowincome as W5
from fangfan.workflows.engine import fire
from tests.lowincome.factories import family, users

pytestmark = pytest.mark.django_db
D = dt.date
CONSENT = {"signer_name": "户主"}


def step(case, name, actor, on, **data):
    return fire(case, name, actor=actor, seen_version=case.version, on=on, data=data)


def w5_checked(people, h, on):
    case = W5.lowincome_apply(actor=people["village"], household=h, programme="低保", on=on, reason="收入低",
                              consent=CONSENT)
    return step(case, "economic_check", people["village"], on, investigators=["李四", "王五"], findings="存款无, 务工收入")


def test_it_offers_a_recent_w5_check_as_the_w1_home_check_with_who_and_when():
    people = users()
    h = family(wage_yuan=6000, people=(("户主", D(1980, 5, 1)), ("配偶", D(1982, 5, 1))))
    w5 = w5_checked(people, h, D(2026, 3, 2))
    w1 = W1.identification_open(actor=people["village"], household=h, channel="cadre_visit", on=D(2026, 9, 2),
                                reason="走访发现")
    initial = checkshare.reuse_initial(w1, "home_check", D(2026, 9, 2))
    assert initial["investigators"] == "李四\n王五" and initial["form__household_size"] == 2
    assert initial["form__findings"].splitlines() == [
        f"【沿用低保特困家庭经济状况核对: 案件 {w5.pk}, 2026-03-02, 调查人员 李四、王五, 录入 v-610902100201; "
        "6 个月内的入户核查可沿用, 请核对后提交】",
        "存款无, 务工收入",
        "家庭人口 2 人; 低保口径人均收入 3000.00 元; 人均纯收入 3000.00 元",
    ]
    # one day past six months: not offered
    assert checkshare.reuse_initial(w1, "home_check", D(2026, 9, 3)) == {}
    # another household's check is never offered
    other = family(wage_yuan=6000)
    other_case = W1.identification_open(actor=people["village"], household=other, channel="cadre_visit",
                                        on=D(2026, 3, 3), reason="走访")
    assert checkshare.reuse_initial(other_case, "home_check", D(2026, 3, 3)) == {}


def test_it_offers_a_recent_w1_home_check_as_the_w5_economic_check():
    people = users()
    h = family(wage_yuan=6000)
    w1 = W1.identification_open(actor=people["village"], household=h, channel="cadre_visit", on=D(2026, 4, 1),
                                reason="走访发现", consent=CONSENT)
    w1 = step(w1, "home_check", people["township"], D(2026, 4, 1), investigators=["赵六", "钱七"],
              form={"household_size": 1, "net_income_estimate": 600000, "findings": "因病支出大"})
    w5 = W5.lowincome_apply(actor=people["village"], household=h, programme="低保", on=D(2026, 5, 1), reason="收入低")
    initial = checkshare.reuse_initial(w5, "economic_check", D(2026, 5, 1))
    assert initial["investigators"] == "赵六\n钱七"
    assert initial["findings"].startswith(f"【沿用防返贫监测入户核实 (附件2): 案件 {w1.pk}, 2026-04-01, 调查人员 赵六、钱七, "
                                          "录入 t-610902100")
    assert "因病支出大" in initial["findings"] and "家庭年纯收入预估 6000.00 元" in initial["findings"]


def test_it_follows_the_dated_parameter_and_offers_nothing_when_it_is_null():
    from fangfan.screening.services import county_parameter_set

    people = users()
    h = family(wage_yuan=6000)
    w5_checked(people, h, D(2026, 3, 2))
    w1 = W1.identification_open(actor=people["village"], household=h, channel="cadre_visit", on=D(2026, 4, 2),
                                reason="走访发现")
    assert checkshare.reuse_initial(w1, "home_check", D(2026, 4, 2))
    # a joint parameter of both programmes: the 县乡村振兴局 sets it (the 县民政局 only sets dibao.*)
    county_parameter_set(actor=people["county"], name="checks.reuse_months", region_prefix="610902", start=D(2026, 4, 1),
                         value_text="null", document="县民政局通知: 不沿用")
    assert checkshare.reuse_initial(w1, "home_check", D(2026, 4, 2)) == {}
    assert checkshare.reuse_months(h.village_id, D(2026, 3, 31)) == 6


def test_it_shows_each_case_on_the_others_page(client):
    people = users()
    h = family(wage_yuan=6000)
    today = timezone.localdate()
    w5 = w5_checked(people, h, today - dt.timedelta(days=10))
    w1 = W1.identification_open(actor=people["village"], household=h, channel="cadre_visit", on=today,
                                reason="走访发现")
    client.force_login(people["village"])
    page = client.get(f"/cases/{w1.pk}/").content.decode()
    assert "同户另一项目的案件" in page and f'<a href="/cases/{w5.pk}/">{w5.pk}</a>' in page
    assert "家庭经济状况核对" in page and "可沿用" in page
    # the home-check form on the W1 page comes prefilled from the W5 check
    assert f"【沿用低保特困家庭经济状况核对: 案件 {w5.pk}" in page
    back = client.get(f"/cases/{w5.pk}/").content.decode()
    assert f'<a href="/cases/{w1.pk}/">{w1.pk}</a>' in back and "尚未入户核查" in back
