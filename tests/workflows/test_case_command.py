import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from fangfan.workflows.models import Case
from tests.workflows.factories import FUNAN, HUNAN, fake_rule_result, household, staff

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("case", *args, stdout=out)
    return out.getvalue()


def test_it_runs_an_identification_from_the_shell(monkeypatch):
    fake_rule_result(monkeypatch)
    people = staff(FUNAN)
    h = household()
    out = run("open", "--household", h.household_number, "--channel", "农户自主申报", "--consent-signer", "张三",
              "--as", people["village"].username, "--on", "2025-03-03")
    case = Case.objects.get(household=h)
    assert f"已发起案件 {case.pk}" in out
    out = run("transitions", str(case.pk), "--as", people["village"].username, "--on", "2025-03-03")
    assert "home_check" in out and "入户核实" in out and "approve" not in out
    run("advance", str(case.pk), "home_check", "--as", people["village"].username, "--on", "2025-03-03",
        "--data", json.dumps({"investigators": ["李四", "王五"], "form": {"size": 3}}), "--attach", "附件2-张三.jpg")
    run("advance", str(case.pk), "village_review", "--as", people["village"].username, "--on", "2025-03-04",
        "--data", json.dumps({"members": ["a", "b"], "decision": "include", "category": "marginal", "risks": ["R01"]}))
    with pytest.raises(CommandError, match="方可结束"):
        run("advance", str(case.pk), "close_village_notice", "--as", people["village"].username, "--on", "2025-03-05")
    out = run("transitions", str(case.pk), "--as", people["village"].username, "--on", "2025-03-05")
    assert "暂不可办理" in out and "2025-03-09起方可结束" in out
    run("advance", str(case.pk), "close_village_notice", "--as", people["village"].username, "--on", "2025-03-09")
    with pytest.raises(CommandError, match="须由乡镇办理"):
        run("advance", str(case.pk), "township_approve", "--as", people["village"].username, "--data", "{}")
    with pytest.raises(CommandError, match="已被他人修改"):
        run("advance", str(case.pk), "township_approve", "--as", people["township"].username,
            "--data", '{"signed_by": "乡长"}', "--version", "1")
    out = run("show", str(case.pk), "--as", people["county"].username, "--on", "2025-03-10")
    assert "附件: 附件2-张三.jpg" in out and "来源渠道: 农户自主申报" in out
    assert "待乡镇审核" in out and "时限15个自然日, 截止2025-03-18" in out and "村级公示 2025-03-04~2025-03-08" in out
    out = run("list", "--overdue", "--on", "2025-03-20")
    assert "共 1 条超期" in out and "乡镇" in out
    assert "共 0 件" in run("list", "--as", staff(HUNAN)["county"].username)
    assert "共 1 件" in run("list", "--state", "township_review")


def test_it_reports_bad_input_as_a_command_error():
    people = staff(FUNAN)
    with pytest.raises(CommandError, match="户编号 NOPE 不存在"):
        run("open", "--household", "NOPE", "--as", people["village"].username)
    with pytest.raises(CommandError, match="用户 ghost 不存在"):
        run("open", "--household", "x", "--as", "ghost")
    with pytest.raises(CommandError, match="案件 999 不存在"):
        run("show", "999")
    with pytest.raises(CommandError, match="不是合法的 JSON"):
        run("advance", "1", "x", "--as", people["village"].username, "--data", "{nope")
