"""Import and export enforce the acting user's role and region (roles.md, issue 8 item 1)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command

from fangfan.audit.models import AuditEvent
from fangfan.registry.models import Household, Member
from fangfan.registry.services import ImportRejected, registry_export, registry_import
from tests.factories import UserFactory
from tests.registry.test_import import _county_parts, copy_examples, edit_cell

pytestmark = pytest.mark.django_db

VILLAGE = "341225103208"



def village_user(code: str = VILLAGE):
    return UserFactory(username=f"v{code}", role="village", region_code=code)


def test_it_lets_a_village_user_import_the_households_of_its_own_village(tmp_path):
    user = village_user()
    summary = registry_import(actor=user, path=copy_examples(tmp_path))
    assert summary.created["households"] == 2
    assert AuditEvent.objects.get(action="registry.import").actor == user


def test_it_refuses_a_village_users_import_with_a_household_of_another_village_and_writes_nothing(tmp_path):
    folder = copy_examples(tmp_path)
    edit_cell(folder / "households.csv", 3, "村代码", "341225104201")  # E002 in another township's village

    with pytest.raises(ImportRejected) as rejected:
        registry_import(actor=village_user(), path=folder)

    [problem] = rejected.value.problems
    assert problem.row == 3 and problem.value == "341225104201" and problem.column == "村代码"
    assert "不在本账号的管辖范围" in problem.reason and "E002" in problem.reason
    assert Household.objects.count() == 0 and Member.objects.count() == 0
    assert not AuditEvent.objects.filter(action="registry.import").exists()


def test_it_refuses_a_household_of_another_province_also_in_check_mode(tmp_path):
    folder = copy_examples(tmp_path)
    edit_cell(folder / "households.csv", 2, "村代码", "110101001001")  # Beijing

    with pytest.raises(ImportRejected) as rejected:
        registry_import(actor=village_user(), path=folder, check_only=True)

    assert [p.value for p in rejected.value.problems] == ["110101001001"]
    assert "E001" in rejected.value.problems[0].reason


def test_the_import_command_lists_the_households_outside_the_scope_and_writes_nothing(tmp_path, capsys):
    folder = copy_examples(tmp_path)
    edit_cell(folder / "households.csv", 3, "村代码", "110101001001")
    village_user()

    with pytest.raises(CommandError, match="未写入任何数据"):
        call_command("import", str(folder), "--as", f"v{VILLAGE}")

    err = capsys.readouterr().err
    assert "110101001001" in err and "E002" in err and "不在本账号的管辖范围" in err
    assert Household.objects.count() == 0


def test_it_refuses_to_move_an_existing_household_of_another_village_into_ones_own(tmp_path):
    folder = copy_examples(tmp_path)
    edit_cell(folder / "households.csv", 3, "村代码", "341225104201")
    registry_import(actor=None, path=folder)  # E002 registered in 341225104201 by the system
    edit_cell(folder / "households.csv", 3, "村代码", VILLAGE)  # the file now claims it for VILLAGE

    with pytest.raises(ImportRejected) as rejected:
        registry_import(actor=village_user(), path=folder)

    assert [(p.value, p.column) for p in rejected.value.problems] == [("E002", "户编号")]
    assert "341225104201" in rejected.value.problems[0].reason
    assert Household.objects.get(household_number="E002").village_id == "341225104201"


def test_it_lets_a_county_user_import_its_county_and_refuses_another_county(tmp_path):
    folder = copy_examples(tmp_path)
    edit_cell(folder / "households.csv", 3, "村代码", "341225104201")
    county = UserFactory(username="county", role="county_rr", region_code="341225000000")

    assert registry_import(actor=county, path=folder).created["households"] == 2

    other = UserFactory(username="other-county", role="county_rr", region_code="341222000000")
    with pytest.raises(ImportRejected) as rejected:
        registry_import(actor=other, path=folder, check_only=True)
    assert {p.value for p in rejected.value.problems} == {VILLAGE, "341225104201"}


def test_it_checks_every_part_of_a_folder_of_county_folders_against_the_scope(tmp_path):
    root, _ = _county_parts(tmp_path, households=6)  # counties 341225 and 341222
    county = UserFactory(username="county", role="county_rr", region_code="341225000000")

    with pytest.raises(ImportRejected) as rejected:
        registry_import(actor=county, path=root)

    assert rejected.value.problems and all(p.value.startswith("341222") for p in rejected.value.problems)
    assert Household.objects.count() == 0
    shutil.rmtree(root / "county_341222")
    assert registry_import(actor=county, path=root).created["households"] == 6


@pytest.mark.parametrize(
    ("role", "region", "department"),
    [("county_dept", "341225000000", "医保"), ("county_ca", "341225000000", ""), ("city", "341200000000", ""),
     ("admin", "", "")],
)
def test_it_refuses_an_import_by_a_role_that_does_not_write_the_registry(tmp_path, role, region, department):
    user = UserFactory(username=f"u-{role}", role=role, region_code=region, department=department)
    with pytest.raises(PermissionDenied, match="不能导入"):
        registry_import(actor=user, path=copy_examples(tmp_path))
    assert Household.objects.count() == 0


def test_the_import_command_refuses_a_medical_insurance_user_without_a_traceback(tmp_path):
    UserFactory(username="medical", role="county_dept", region_code="341225000000", department="医保")
    with pytest.raises(CommandError, match="不能导入户数据"):
        call_command("import", str(copy_examples(tmp_path)), "--as", "medical")


def test_it_refuses_an_import_by_a_user_without_a_region(tmp_path):
    user = UserFactory(username="nowhere", role="village", region_code="")
    with pytest.raises(PermissionDenied, match="未设置管辖区划"):
        registry_import(actor=user, path=copy_examples(tmp_path))


def test_it_refuses_a_village_in_the_village_table_outside_the_scope(tmp_path):
    folder = copy_examples(tmp_path)
    (folder / "villages.csv").write_text(
        "村代码,村名称,乡镇名称,出列村,村类型\n" f"{VILLAGE},王店村,王店镇,否,\n" "341225104201,别村,别镇,否,\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportRejected) as rejected:
        registry_import(actor=village_user(), path=folder)
    [problem] = rejected.value.problems
    assert problem.value == "341225104201" and problem.row == 3


# --------------------------------------------------------------------------- export


def _two_villages(tmp_path: Path) -> None:
    folder = copy_examples(tmp_path)
    edit_cell(folder / "households.csv", 3, "村代码", "341225104201")
    registry_import(actor=None, path=folder)


def test_an_export_by_a_village_user_contains_only_its_village(tmp_path):
    _two_villages(tmp_path)
    out = tmp_path / "out"
    counts = registry_export(actor=village_user(), out=out, reason="村级台账")
    assert counts["households"] == 1
    text = (out / "households.csv").read_text(encoding="utf-8")
    assert "E001" in text and "E002" not in text
    assert "341225104201" not in (out / "villages.csv").read_text(encoding="utf-8")


@pytest.mark.parametrize(("role", "region", "department"), [("county_dept", "341225000000", "医保"), ("admin", "", "")])
def test_it_refuses_an_export_by_a_department_or_the_administrator(tmp_path, role, region, department):
    _two_villages(tmp_path)
    user = UserFactory(username=f"u-{role}", role=role, region_code=region, department=department)
    with pytest.raises(PermissionDenied):
        registry_export(actor=user, out=tmp_path / "out", reason="x")
    assert not (tmp_path / "out").exists()
    assert not AuditEvent.objects.filter(action="registry.export").exists()


def test_the_export_command_refuses_a_department_user_without_a_traceback(tmp_path):
    UserFactory(username="medical", role="county_dept", region_code="341225000000", department="医保")
    with pytest.raises(CommandError, match="不能导出"):
        call_command("export", str(tmp_path / "out"), "--as", "medical")


def test_a_county_user_exports_its_county_narrowed_to_a_village_on_request(tmp_path):
    _two_villages(tmp_path)
    county = UserFactory(username="county", role="county_rr", region_code="341225000000")
    assert registry_export(actor=county, out=tmp_path / "all", reason="x")["households"] == 2
    assert registry_export(actor=county, out=tmp_path / "one", region="341225104201", reason="x")["households"] == 1
    with pytest.raises(PermissionDenied, match="管辖范围"):
        registry_export(actor=county, out=tmp_path / "no", region="341222", reason="x")


def test_a_disabled_user_cannot_act_through_as(tmp_path):
    user = village_user()
    user.is_active = False
    user.save()
    with pytest.raises(CommandError, match="已停用"):
        call_command("import", str(copy_examples(tmp_path)), "--as", user.username)


