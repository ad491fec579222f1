"""User administration services: administrators only, validated, atomic, audited."""
from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from fangfan.accounts import selectors, services
from fangfan.accounts.models import User
from fangfan.audit.models import AuditEvent
from tests.factories import UserFactory, ensure_region

pytestmark = pytest.mark.django_db

VILLAGE = "341225103208"
PASSWORD = "Lq8-long-enough"


@pytest.fixture
def admin():
    return UserFactory(username="admin", role="admin", region_code="")


@pytest.fixture(autouse=True)
def regions():
    ensure_region(VILLAGE, "王店村")


def errors(exc: pytest.ExceptionInfo) -> dict[str, list[str]]:
    return exc.value.message_dict


def test_it_creates_a_village_user_and_audits_it_without_the_password(admin):
    user = services.user_create(actor=admin, username="wang", role="village", region_code=VILLAGE,
                                password=PASSWORD, full_name="王小明")

    assert (user.role, user.region_code, user.first_name, user.department) == ("village", VILLAGE, "王小明", "")
    assert user.check_password(PASSWORD)
    event = AuditEvent.objects.get(action="user.create")
    assert event.actor == admin and event.object_key == "wang" and event.region_code == VILLAGE
    assert PASSWORD not in str(event.after) and "password" not in event.after


@pytest.mark.parametrize("role", ["village", "township", "county_rr", "county_dept", "city", "province"])
def test_it_refuses_user_administration_by_anyone_but_an_administrator(role):
    actor = UserFactory(username="actor", role=role, region_code="341225000000", department="医保")
    target = UserFactory(username="target")
    for call in (
        lambda: services.user_create(actor=actor, username="x", role="village", region_code=VILLAGE, password=PASSWORD),
        lambda: services.user_update(actor=actor, user=target, role="township", region_code="341225103000"),
        lambda: services.user_disable(actor=actor, user=target),
        lambda: services.user_set_password(actor=actor, user=target, password=PASSWORD),
        lambda: services.user_ensure(actor=actor, username="y", role="admin", region_code="", password=PASSWORD),
        lambda: selectors.user_list(actor=actor),
    ):
        with pytest.raises(PermissionDenied, match="系统管理员"):
            call()
    assert not User.objects.filter(username__in=["x", "y"]).exists()
    target.refresh_from_db()
    assert target.is_active and target.role == "village"
    assert not AuditEvent.objects.exists()


def test_the_shell_without_as_may_administer_users():
    user = services.user_create(actor=None, username="first-admin", role="admin", password=PASSWORD)
    assert user.role == "admin" and AuditEvent.objects.get().actor_name == "system"


@pytest.mark.parametrize(
    ("role", "region", "department", "field", "message"),
    [
        ("village", "", "", "region_code", "须填写村级区划代码"),
        ("village", "34122510320", "", "region_code", "12位数字"),
        ("village", "３４１２２５１０３２０１", "", "region_code", "12位数字"),  # full-width digits
        ("village", "341225103000", "", "region_code", "须为村级代码, 341225103000 是乡镇级代码"),
        ("township", VILLAGE, "", "region_code", "须为乡镇级代码"),
        ("county_rr", "341225103000", "", "region_code", "须为县级代码"),
        ("city", "341225000000", "", "region_code", "须为市级代码"),
        ("village", "341225103999", "", "region_code", "不在已导入的行政区划中"),
        ("admin", VILLAGE, "", "region_code", "系统管理员不设管辖区划"),
        ("county_dept", "341225000000", "", "department", "须选择部门"),
        ("county_dept", "341225000000", "卫健", "department", "医保、民政"),
        ("chief", VILLAGE, "", "role", "未知角色"),
    ],
)
def test_it_explains_a_region_or_department_that_does_not_fit_the_role(admin, role, region, department, field, message):
    with pytest.raises(ValidationError) as exc:
        services.user_create(actor=admin, username="x", role=role, region_code=region, department=department,
                             password=PASSWORD)
    assert message in " ".join(errors(exc)[field])
    assert not User.objects.filter(username="x").exists() and not AuditEvent.objects.exists()


def test_it_accepts_any_gbt2260_county_before_any_region_is_loaded(admin):
    from fangfan.regions.models import Region

    for level in ("village", "township", "county", "city", "province"):  # children first (PROTECT)
        Region.objects.filter(level=level).delete()
    user = services.user_create(actor=admin, username="c", role="county_rr", region_code="110101000000", password=PASSWORD)
    assert user.region_code == "110101000000"
    with pytest.raises(ValidationError, match="不在已导入的行政区划中"):
        services.user_create(actor=admin, username="d", role="county_rr", region_code="999901000000", password=PASSWORD)


def test_a_department_user_keeps_its_department_and_others_lose_theirs(admin):
    medical = services.user_create(actor=admin, username="med", role="county_dept", region_code="341225000000",
                                   department="医保", password=PASSWORD)
    assert medical.department == "医保"
    moved = services.user_update(actor=admin, user=medical, role="county_rr", region_code="341225000000", department="医保")
    assert moved.department == ""


def test_it_refuses_a_short_password_and_a_taken_username(admin):
    with pytest.raises(ValidationError) as exc:
        services.user_create(actor=admin, username="x", role="village", region_code=VILLAGE, password="short")
    assert "密码太短" in " ".join(errors(exc)["password"])
    UserFactory(username="taken")
    with pytest.raises(ValidationError) as exc:
        services.user_create(actor=admin, username="taken", role="village", region_code=VILLAGE, password=PASSWORD)
    assert "已存在" in errors(exc)["username"][0]


def test_it_updates_role_and_region_with_before_and_after_in_the_history(admin):
    ensure_region("341225104201")
    user = UserFactory(username="wang", role="village", region_code=VILLAGE)

    services.user_update(actor=admin, user=user, role="township", region_code="341225104000")

    user.refresh_from_db()
    assert (user.role, user.region_code) == ("township", "341225104000")
    event = AuditEvent.objects.get(action="user.update")
    assert event.before == {"role": "village", "region_code": VILLAGE}
    assert event.after == {"role": "township", "region_code": "341225104000"}


def test_an_update_that_changes_nothing_leaves_no_history(admin):
    user = UserFactory(username="wang", role="village", region_code=VILLAGE)
    services.user_update(actor=admin, user=user, role="village", region_code=VILLAGE)
    assert not AuditEvent.objects.exists()


def test_it_disables_and_enables_a_user_and_a_disabled_users_token_stops_working(admin):
    user = UserFactory(username="wang")
    token = services.api_token_create(actor=admin, user=user)
    assert services.api_token_user(token) == user

    services.user_disable(actor=admin, user=user, reason="调离")

    user.refresh_from_db()
    assert not user.is_active and services.api_token_user(token) is None
    assert AuditEvent.objects.get(action="user.disable").comment == "调离"
    services.user_enable(actor=admin, user=user)
    assert User.objects.get(pk=user.pk).is_active


def test_an_administrator_cannot_disable_or_demote_themself(admin):
    with pytest.raises(ValidationError, match="不能停用自己的账号"):
        services.user_disable(actor=admin, user=admin)
    with pytest.raises(ValidationError, match="不能取消自己的系统管理员角色"):
        services.user_update(actor=admin, user=admin, role="village", region_code=VILLAGE)
    admin.refresh_from_db()
    assert admin.is_active and admin.role == "admin"


def test_it_sets_a_password_checked_by_the_validators_and_never_audits_it(admin):
    user = UserFactory(username="wang")
    with pytest.raises(ValidationError):
        services.user_set_password(actor=admin, user=user, password="1234")
    services.user_set_password(actor=admin, user=user, password=PASSWORD)

    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    event = AuditEvent.objects.get(action="user.set_password")
    assert event.after is None or PASSWORD not in str(event.after)


def test_user_ensure_still_makes_demo_logins_and_checks_them():
    user, created = services.user_ensure(actor=None, username="medical", role="county_dept",
                                         region_code="341225000000", password="fangfan-demo", department="医保")
    assert created and user.check_password("fangfan-demo")
    again, created = services.user_ensure(actor=None, username="medical", role="county_dept",
                                          region_code="341225000000", password="other", department="医保")
    assert not created and again.check_password("fangfan-demo")
    with pytest.raises(ValidationError):
        services.user_ensure(actor=None, username="bad", role="village", region_code="341225000000", password="x")


def test_the_user_list_filters_by_query_role_region_and_state(admin):
    UserFactory(username="wang", role="village", region_code=VILLAGE, first_name="王小明")
    UserFactory(username="li", role="township", region_code="341225103000")
    UserFactory(username="far", role="village", region_code="110101001001", is_active=False)

    def names(**kw):
        return [u.username for u in selectors.user_list(actor=admin, **kw)]

    assert names() == ["admin", "far", "li", "wang"]
    assert names(query="王小") == ["wang"]
    assert names(role="township") == ["li"]
    assert names(region="341225") == ["li", "wang"]
    assert names(region="341225103000") == ["li", "wang"]
    assert names(active="0") == ["far"]
    assert names(role="nonsense") == [] and names(region="abc") == []
