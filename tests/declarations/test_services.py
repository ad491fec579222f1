import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from fangfan.audit.models import AuditEvent
from fangfan.declarations import services as S
from fangfan.declarations.models import Declaration
from fangfan.declarations.selectors import (
    PUBLIC_IN_PROGRESS, PUBLIC_RECEIVED, declaration_public_status, declarations_for_village,
    declarations_waiting_count,
)
from fangfan.workflows.errors import WorkflowError
from fangfan.workflows.models import Case
from tests.factories import DEFAULT_VILLAGE, HouseholdFactory, MemberFactory, UserFactory, ensure_region, make_id_number

pytestmark = pytest.mark.django_db

OTHER_VILLAGE = "341225103209"
UNKNOWN_ID = make_id_number(499, dt.date(1988, 8, 8), "F")


def submit(**overrides):
    values = dict(
        name="张三", id_number=UNKNOWN_ID, phone="13912345678", village_code=DEFAULT_VILLAGE, risk="R01",
        text="家中有人住院", client_ip="10.0.0.1",
    )
    values.update(overrides)
    return S.declaration_submit(**values)


@pytest.fixture
def member():
    return MemberFactory(household=HouseholdFactory(village=ensure_region(DEFAULT_VILLAGE, "示例村")))


def test_it_opens_a_w1_case_on_channel_self_declared_for_a_registered_member(member):
    declaration = submit(id_number=member.id_number)

    case = Case.objects.get(household=member.household)
    assert case.kind == "identification" and case.state == "applied"
    assert case.channel == "self_declared"
    assert case.village_code == DEFAULT_VILLAGE
    assert case.opened_by is None
    assert case.events.get().actor_name == "农户自主申报"
    assert declaration.stage == Declaration.Stage.CASE_OPENED
    assert declaration.case == case and declaration.household == member.household
    assert declaration.village_id == DEFAULT_VILLAGE
    assert declaration.receipt.startswith("SB" + timezone.localdate().strftime("%Y%m%d"))
    assert len(declaration.receipt) == 18
    audit = AuditEvent.objects.get(action="declaration.submit")
    assert audit.actor_name == "农户自主申报" and audit.object_key == declaration.receipt
    assert member.id_number not in str(audit.after)


def test_it_routes_to_the_households_own_village_and_says_so(member):
    ensure_region(OTHER_VILLAGE, "邻村")
    declaration = submit(id_number=member.id_number, village_code=OTHER_VILLAGE)

    assert declaration.village_id == DEFAULT_VILLAGE
    assert declaration.declared_village_id == OTHER_VILLAGE
    assert "已转该村办理" in declaration.note
    assert Case.objects.get(household=member.household).village_code == DEFAULT_VILLAGE


def test_it_links_the_same_id_to_the_open_case_instead_of_opening_a_second(member):
    first = submit(id_number=member.id_number)
    second = submit(id_number=member.id_number, phone="13812345678", client_ip="10.0.0.2")

    assert Case.objects.filter(household=member.household).count() == 1
    assert second.stage == Declaration.Stage.LINKED
    assert second.case == first.case


def test_it_accepts_an_old_15_digit_id_and_finds_the_member():
    id18 = make_id_number(7, dt.date(1965, 3, 4))
    MemberFactory(id_number=id18, household=HouseholdFactory(village=ensure_region(DEFAULT_VILLAGE)))
    id15 = id18[:6] + id18[8:17]

    declaration = submit(id_number=id15)

    assert declaration.id_number == id18
    assert declaration.stage == Declaration.Stage.CASE_OPENED


def test_it_flags_a_monitored_household_for_the_village_without_a_case():
    household = HouseholdFactory(village=ensure_region(DEFAULT_VILLAGE), category="unstable",
                                 identified_on=dt.date(2025, 1, 1))
    member = MemberFactory(household=household)

    declaration = submit(id_number=member.id_number)

    assert declaration.stage == Declaration.Stage.MONITORED
    assert declaration.get_stage_display() == "已是监测对象"
    assert not Case.objects.exists()


def test_it_keeps_an_unknown_id_waiting_as_dai_dengji_in_the_declared_village():
    ensure_region(DEFAULT_VILLAGE)
    declaration = submit()

    assert declaration.stage == Declaration.Stage.NEEDS_REGISTRATION
    assert declaration.get_stage_display() == "待登记"
    assert declaration.village_id == DEFAULT_VILLAGE
    assert declaration.household is None and declaration.case is None


def test_it_refuses_a_bad_check_digit_in_chinese_and_stores_nothing():
    bad = UNKNOWN_ID[:17] + ("0" if UNKNOWN_ID[17] != "0" else "1")
    ensure_region(DEFAULT_VILLAGE)

    with pytest.raises(ValidationError) as exc:
        submit(id_number=bad)

    assert exc.value.message_dict == {"id_number": ["证件号码校验位错误"]}
    assert not Declaration.objects.exists()
    assert not AuditEvent.objects.exists()


def test_it_names_every_bad_field_in_chinese():
    with pytest.raises(ValidationError) as exc:
        submit(name="", phone="12345", village_code="341225", risk="", text="长" * 501)

    errors = exc.value.message_dict
    assert set(errors) == {"name", "phone", "village", "risk", "text"}
    assert "11位手机号码" in errors["phone"][0]
    assert "500" in errors["text"][0]


def test_it_accepts_a_landline_with_area_code():
    ensure_region(DEFAULT_VILLAGE)
    assert submit(phone="0558-6123456").phone == "05586123456"


def test_it_limits_declarations_per_phone_per_day():
    ensure_region(DEFAULT_VILLAGE)
    for i in range(S.MAX_PER_PHONE_PER_DAY):
        submit(client_ip=f"10.0.1.{i}")

    with pytest.raises(S.DeclarationThrottled) as exc:
        submit(client_ip="10.0.2.1")

    assert "每天最多" in str(exc.value)
    assert Declaration.objects.count() == S.MAX_PER_PHONE_PER_DAY


def test_it_limits_declarations_per_address_per_hour_but_forgets_older_ones():
    ensure_region(DEFAULT_VILLAGE)
    for i in range(S.MAX_PER_ADDRESS_PER_HOUR):
        submit(phone=f"1391234560{i}")

    with pytest.raises(S.DeclarationThrottled) as exc:
        submit(phone="13700000000")
    assert "每小时最多" in str(exc.value)

    Declaration.objects.update(submitted_at=timezone.now() - dt.timedelta(hours=2))
    assert submit(phone="13700000000").pk


def test_it_shows_the_public_stage_only_for_the_right_receipt_and_phone(member):
    declaration = submit(id_number=member.id_number)

    assert declaration_public_status(receipt=S.format_receipt(declaration.receipt).lower(), phone="139 1234 5678") == PUBLIC_RECEIVED
    assert declaration_public_status(receipt=declaration.receipt, phone="13900000000") is None
    assert declaration_public_status(receipt="SB20260101AAAAAAAA", phone="13912345678") is None

    Case.objects.filter(pk=declaration.case_id).update(state="checked")
    assert declaration_public_status(receipt=declaration.receipt, phone="13912345678") == PUBLIC_IN_PROGRESS


def test_it_lists_declarations_only_inside_the_villages_scope(member):
    ensure_region(OTHER_VILLAGE, "邻村")
    ours = submit()
    theirs = submit(village_code=OTHER_VILLAGE, phone="13800000000", client_ip="10.0.0.9")
    village_user = UserFactory(role="village", region_code=DEFAULT_VILLAGE)
    other_user = UserFactory(role="village", region_code=OTHER_VILLAGE)
    township_user = UserFactory(role="township", region_code=DEFAULT_VILLAGE[:9] + "000")

    assert list(declarations_for_village(actor=village_user)) == [ours]
    assert list(declarations_for_village(actor=other_user)) == [theirs]
    assert set(declarations_for_village(actor=township_user)) == {ours, theirs}
    assert list(declarations_for_village(actor=township_user, village=OTHER_VILLAGE)) == [theirs]
    assert declarations_waiting_count(actor=village_user) == 1
    assert declarations_waiting_count(actor=UserFactory(role="county_dept", region_code="341225000000")) == 0
    with pytest.raises(PermissionDenied):
        declarations_for_village(actor=UserFactory(role="county_dept", region_code="341225000000"))


def test_it_opens_the_case_after_the_village_registers_the_household():
    ensure_region(DEFAULT_VILLAGE)
    declaration = submit()
    cadre = UserFactory(role="village", region_code=DEFAULT_VILLAGE)
    with pytest.raises(WorkflowError, match="仍未找到"):
        S.declaration_recheck(actor=cadre, receipt=declaration.receipt)

    member = MemberFactory(id_number=UNKNOWN_ID, household=HouseholdFactory(village=ensure_region(DEFAULT_VILLAGE)))
    rechecked = S.declaration_recheck(actor=cadre, receipt=declaration.receipt)

    assert rechecked.stage == Declaration.Stage.CASE_OPENED
    assert rechecked.case.opened_by == cadre and rechecked.case.channel == "self_declared"
    assert rechecked.household == member.household


def test_it_lets_another_villages_cadre_neither_recheck_nor_close():
    ensure_region(DEFAULT_VILLAGE)
    ensure_region(OTHER_VILLAGE)
    declaration = submit()
    stranger = UserFactory(role="village", region_code=OTHER_VILLAGE)

    with pytest.raises(Declaration.DoesNotExist):
        S.declaration_close(actor=stranger, receipt=declaration.receipt, note="重复申报")
    declaration.refresh_from_db()
    assert declaration.stage == Declaration.Stage.NEEDS_REGISTRATION


def test_it_closes_with_a_required_note():
    ensure_region(DEFAULT_VILLAGE)
    declaration = submit()
    cadre = UserFactory(role="village", region_code=DEFAULT_VILLAGE)
    with pytest.raises(ValidationError):
        S.declaration_close(actor=cadre, receipt=declaration.receipt, note=" ")

    closed = S.declaration_close(actor=cadre, receipt=declaration.receipt, note="已入户走访, 非本村村民")

    assert closed.stage == Declaration.Stage.CLOSED
    assert AuditEvent.objects.filter(action="declaration.close", actor=cadre).exists()


def test_it_keeps_the_declaration_for_the_village_when_the_case_cannot_be_opened(member, monkeypatch):
    from fangfan.workflows import identification
    from fangfan.workflows.errors import GuardFailed

    def refuse(**kwargs):
        raise GuardFailed("测试: 不能立案")

    monkeypatch.setattr(identification, "identification_open", refuse)

    declaration = submit(id_number=member.id_number)

    assert declaration.pk and declaration.stage == Declaration.Stage.RECEIVED
    assert "未能自动立案: 测试: 不能立案" in declaration.note
    assert not Case.objects.exists()


def test_it_refuses_recheck_and_close_to_the_village_once_a_campaigns_entry_window_has_closed(monkeypatch):
    import zoneinfo

    from django.conf import settings

    from fangfan.reports import campaigns as C
    from fangfan.workflows.errors import NotAllowed

    ensure_region(DEFAULT_VILLAGE)
    declaration = submit()
    cadre = UserFactory(role="village", region_code=DEFAULT_VILLAGE)
    C.campaign_create(actor=None, name="集中排查", region=DEFAULT_VILLAGE[:6], year=2026, phases=[
        C.PhaseSpec("entry", dt.date(2026, 5, 31), dt.time(18, 0)), C.PhaseSpec("correction", dt.date(2026, 6, 5))])
    closed_at = dt.datetime(2026, 5, 31, 18, 0, tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))
    monkeypatch.setattr(C, "now", lambda: closed_at)
    with pytest.raises(NotAllowed, match="18:00 截止"):
        S.declaration_recheck(actor=cadre, receipt=declaration.receipt)
    with pytest.raises(NotAllowed, match="18:00 截止"):
        S.declaration_close(actor=cadre, receipt=declaration.receipt, note="已入户走访")
    declaration.refresh_from_db()
    assert declaration.stage == Declaration.Stage.NEEDS_REGISTRATION
    monkeypatch.setattr(C, "now", lambda: closed_at - dt.timedelta(seconds=1))
    assert S.declaration_close(actor=cadre, receipt=declaration.receipt, note="已入户走访").stage == "closed"
