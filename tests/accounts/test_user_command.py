"""`fangfan user add|list|disable|enable|set-password|token` from the shell."""
from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from fangfan.accounts.models import User
from fangfan.accounts.services import api_token_user
from fangfan.audit.models import AuditEvent
from tests.factories import UserFactory, ensure_region

pytestmark = pytest.mark.django_db

VILLAGE = "341225103208"
PASSWORD = "Lq8-long-enough"


@pytest.fixture(autouse=True)
def regions():
    ensure_region(VILLAGE, "王店村")


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("user", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_it_adds_a_user_with_a_password_given_on_the_command_line():
    out = run("add", "wang", "--role", "village", "--region", VILLAGE, "--password", PASSWORD, "--name", "王小明")

    assert "已创建用户 wang" in out
    user = User.objects.get(username="wang")
    assert (user.role, user.region_code, user.first_name) == ("village", VILLAGE, "王小明")
    assert user.check_password(PASSWORD)
    assert AuditEvent.objects.get(action="user.create").actor_name == "system"


def test_it_reads_the_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("FANGFAN_PASSWORD", PASSWORD)
    run("add", "med", "--role", "county_dept", "--region", "341225000000", "--department", "医保")
    user = User.objects.get(username="med")
    assert user.department == "医保" and user.check_password(PASSWORD)


def test_it_prompts_for_the_password_twice_on_a_terminal(monkeypatch):
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    run("add", "wang", "--role", "village", "--region", VILLAGE)
    assert User.objects.get(username="wang").check_password(PASSWORD)

    answers = iter(["Other-pass-1", "Other-pass-2"])
    with pytest.raises(CommandError, match="两次输入的密码不一致"):
        run("set-password", "wang")


def test_it_refuses_to_prompt_when_not_on_a_terminal(monkeypatch):
    monkeypatch.delenv("FANGFAN_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(CommandError, match="FANGFAN_PASSWORD"):
        run("add", "wang", "--role", "village", "--region", VILLAGE)


def test_it_explains_bad_input_in_chinese_without_a_traceback():
    with pytest.raises(CommandError, match="区划: 村信息员/村干部/驻村工作队账号的管辖区划须为村级代码"):
        run("add", "wang", "--role", "village", "--region", "341225000000", "--password", PASSWORD)
    with pytest.raises(CommandError, match="密码: 密码太短"):
        run("add", "wang", "--role", "village", "--region", VILLAGE, "--password", "short")
    with pytest.raises(CommandError, match="用户不存在: nobody"):
        run("disable", "nobody")
    assert not User.objects.filter(username="wang").exists()


def test_it_lists_users_filtered_by_role_and_region():
    UserFactory(username="wang", role="village", region_code=VILLAGE)
    UserFactory(username="li", role="township", region_code="341225103000")
    UserFactory(username="far", role="village", region_code="110101001001")

    out = run("list", "--region", "341225")
    assert "wang" in out and "li" in out and "far" not in out and "共 2 个用户" in out
    out = run("list", "--role", "township")
    assert "li" in out and "wang" not in out and "乡镇" in out


def test_it_disables_enables_and_resets_the_password():
    UserFactory(username="wang")
    assert "已停用用户 wang" in run("disable", "wang", "--reason", "调离")
    assert not User.objects.get(username="wang").is_active
    run("enable", "wang")
    run("set-password", "wang", "--password", PASSWORD)
    user = User.objects.get(username="wang")
    assert user.is_active and user.check_password(PASSWORD)


def test_it_acts_as_an_administrator_named_with_as_and_refuses_anyone_else():
    UserFactory(username="admin", role="admin", region_code="")
    UserFactory(username="wang")
    UserFactory(username="li")
    run("disable", "li", "--as", "admin")
    assert AuditEvent.objects.get(action="user.disable").actor_name == "admin"

    with pytest.raises(CommandError, match="只有系统管理员可以管理用户"):
        run("add", "x", "--role", "village", "--region", VILLAGE, "--password", PASSWORD, "--as", "wang")
    with pytest.raises(CommandError, match="不能停用自己的账号"):
        run("disable", "admin", "--as", "admin")


def test_it_prints_a_new_api_token_once():
    user = UserFactory(username="wang")
    token = run("token", "wang", "--name", "统计脚本").strip()
    assert token.startswith("ff_") and api_token_user(token) == user
    assert user.api_tokens.get().name == "统计脚本"
