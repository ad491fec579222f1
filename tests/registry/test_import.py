"""fangfan import / export against the database (runs on SQLite and PostgreSQL)."""
from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest
from django.core.management import CommandError, call_command

from fangfan.common import pii
from fangfan.audit.models import AuditEvent
from fangfan.regions.models import Region
from fangfan.registry.models import Household, IncomeYear, Measure, Member
from fangfan.registry.services import ImportRejected, registry_export, registry_import
from tests.factories import UserFactory

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"

pytestmark = pytest.mark.django_db


def copy_examples(tmp_path: Path, name: str = "in") -> Path:
    folder = tmp_path / name
    shutil.copytree(EXAMPLES, folder)
    return folder


def edit_cell(path: Path, row: int, column: str, value: str) -> None:
    """Set a cell; `row` as a spreadsheet shows it (header = 1)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    rows[row - 1][rows[0].index(column)] = value
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)


def append_row(path: Path, values: dict[str, str]) -> int:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    rows.append([values.get(h, "") for h in rows[0]])
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return len(rows)


def counts() -> tuple[int, int, int, int, int]:
    return (
        Household.objects.count(),
        Member.objects.count(),
        IncomeYear.objects.count(),
        Measure.objects.count(),
        AuditEvent.objects.count(),
    )


def test_it_imports_the_spec_examples_into_the_registry(tmp_path):
    summary = registry_import(actor=None, path=copy_examples(tmp_path))

    assert summary.created == {"households": 2, "members": 4, "incomes": 3, "measures": 2}
    e001 = Household.objects.get(household_number="E001")
    assert e001.village_id == "341225103208"
    assert e001.household_type == "lifted"
    assert e001.category == "marginal"
    assert e001.identified_on == dt.date(2026, 3, 2)
    assert e001.declared_risks == "R01"
    head = Member.objects.with_id_number("341225196805123011").get()
    assert (head.birth_date, head.sex, head.relation, head.health) == (dt.date(1968, 5, 12), "M", "head", "serious_illness")
    income = IncomeYear.objects.get(household=e001, year=2024)
    assert (income.wage, income.business_cost, income.decline_reasons) == (2_600_000, 250_000, "4;8")
    assert Region.objects.get(code="341225000000").name == "阜南县"
    assert Region.objects.get(code="340000000000").name == "安徽省"
    # One audit row for the import; the new households' rows are its snapshot.
    event = AuditEvent.objects.get()
    assert (event.action, event.object_key, event.region_code) == ("registry.import", summary.batch, "341225000000")
    assert event.after["created"] == summary.created
    assert e001.created_batch == summary.batch


def test_it_shows_an_imported_households_creation_from_the_batch_snapshot(tmp_path, monkeypatch):
    from fangfan.registry import importing
    from fangfan.registry.models import ImportSnapshot
    from fangfan.registry.selectors import household_history

    monkeypatch.setattr(importing, "SNAPSHOT_HOUSEHOLDS", 1)  # one blob per household and table
    user = UserFactory(username="county1", role="county_rr", region_code="341225000000")
    summary = registry_import(actor=user, path=copy_examples(tmp_path))
    assert ImportSnapshot.objects.filter(table="households").count() == 2
    assert {s.table for s in ImportSnapshot.objects.all()} == {"households", "members", "incomes", "measures"}

    history = household_history(actor=user, household=Household.objects.get(household_number="E002"))

    created = [(e.action, e.object_key) for e in history]
    assert created[0] == ("household.create", "E002")
    members = [e for e in history if e.action == "member.create"]
    assert len(members) == Member.objects.filter(household__household_number="E002").count()
    assert all(e.actor_name == "county1" for e in history)
    assert all("E001" not in e.after_text for e in history)  # only this household's rows
    someone = Member.objects.filter(household__household_number="E002").first()
    assert someone.id_number not in "".join(e.after_text + e.object_key for e in history)  # IDs masked
    assert '"village_code": "341225103208"' in history[0].after_text or "341225" in history[0].after_text
    assert summary.batch == Household.objects.get(household_number="E002").created_batch


def test_it_changes_nothing_when_the_same_files_are_imported_again(tmp_path):
    folder = copy_examples(tmp_path)
    registry_import(actor=None, path=folder)
    before = counts()
    version = Household.objects.get(household_number="E001").version

    again = registry_import(actor=None, path=folder)

    assert not again.changed
    assert again.unchanged == {"households": 2, "members": 4, "incomes": 3, "measures": 2}
    assert counts() == before
    assert Household.objects.get(household_number="E001").version == version


def test_it_updates_an_edited_file_by_household_and_id_number_and_keeps_history(tmp_path):
    folder = copy_examples(tmp_path)
    user = UserFactory(username="county1", role="county_rr", region_code="341225000000")
    registry_import(actor=user, path=folder)
    edit_cell(folder / "members.csv", 3, "劳动技能", "技能劳动力")  # 李四
    edit_cell(folder / "incomes.csv", 2, "工资性收入", "18,500.50")  # E001 2025
    edit_cell(folder / "households.csv", 3, "住房安全", "是")  # E002

    summary = registry_import(actor=user, path=folder)

    assert summary.updated == {"households": 1, "members": 1, "incomes": 1, "measures": 0}
    assert Member.objects.with_id_number("341225197008203021").get().labor == "skilled"
    assert IncomeYear.objects.get(household__household_number="E001", year=2025).wage == 1_850_050
    e002 = Household.objects.get(household_number="E002")
    assert e002.housing_safe is True and e002.version == 2
    member_event = AuditEvent.objects.get(action="member.update")
    assert member_event.household_key == "E001"
    assert member_event.before == {"labor": "ordinary"} and member_event.after == {"labor": "skilled"}
    assert member_event.actor == user
    income_event = AuditEvent.objects.get(action="income.update")
    assert income_event.before == {"wage": 1_800_000} and income_event.after == {"wage": 1_850_050}


def test_it_adds_a_new_member_to_an_existing_household_with_its_own_history_row(tmp_path):
    folder = copy_examples(tmp_path)
    registry_import(actor=None, path=folder)
    append_row(
        folder / "members.csv",
        {"户编号": "E002", "姓名": "王七", "证件号码": "341225198001010029", "与户主关系": "配偶", "劳动技能": "普通劳动力"},
    )
    summary = registry_import(actor=None, path=folder)
    assert summary.created["members"] == 1
    event = AuditEvent.objects.get(action="member.create")
    assert event.household_key == "E002" and event.object_key == pii.id_index("341225198001010029")


BAD_FILES = [
    ("bad check digit", "members.csv", 2, "证件号码", "341225196805123013", "members", 2),
    ("duplicate ID across households", "members.csv", 5, "证件号码", "341225196805123011", "members", 5),
    ("two heads", "members.csv", 3, "与户主关系", "户主", "members", 3),
    ("member of an unknown household", "members.csv", 4, "户编号", "E999", "members", 4),
    ("negative money", "incomes.csv", 2, "工资性收入", "-5", "incomes", 2),
    ("transfer items above transfer income", "incomes.csv", 4, "转移性收入", "100", "incomes", 4),
    ("unparseable date", "households.csv", 2, "识别日期", "2026-02-30", "households", 2),
    ("village code of no county", "households.csv", 3, "村代码", "999999103208", "households", 3),
]


@pytest.mark.parametrize("case,file,row,column,value,table,expected_row", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_it_rejects_a_bad_file_naming_the_row_and_writes_nothing(tmp_path, case, file, row, column, value, table, expected_row):
    folder = copy_examples(tmp_path)
    edit_cell(folder / file, row, column, value)
    before = counts()

    with pytest.raises(ImportRejected) as excinfo:
        registry_import(actor=None, path=folder)

    rows = {(Path(p.file).name.split(":")[0], p.row) for p in excinfo.value.problems}
    assert (file, expected_row) in rows, excinfo.value.problems
    assert counts() == before
    assert "341225196805123011" not in " ".join(str(p) for p in excinfo.value.problems)


def test_it_rejects_an_id_registered_in_another_household_of_the_database(tmp_path):
    registry_import(actor=None, path=copy_examples(tmp_path))
    other = tmp_path / "other"
    other.mkdir()
    (other / "households.csv").write_text(
        "户编号,村代码,户类型,住房安全,饮水安全\nE100,341225103208,一般农户,是,是\n", encoding="utf-8"
    )
    (other / "members.csv").write_text(
        "户编号,姓名,证件号码,与户主关系\nE100,张三,341225196805123011,户主\n", encoding="utf-8"
    )
    before = counts()
    with pytest.raises(ImportRejected) as excinfo:
        registry_import(actor=None, path=other)
    [problem] = excinfo.value.problems
    assert problem.row == 2 and "E001" in problem.reason
    assert counts() == before


def test_it_refuses_to_drop_a_registered_member_silently(tmp_path):
    folder = copy_examples(tmp_path)
    registry_import(actor=None, path=folder)
    lines = (folder / "members.csv").read_text(encoding="utf-8").splitlines()
    (folder / "members.csv").write_text("\n".join(lines[:3] + lines[4:]) + "\n", encoding="utf-8")  # drop 张小五
    with pytest.raises(ImportRejected) as excinfo:
        registry_import(actor=None, path=folder)
    assert any("张小五" in p.reason for p in excinfo.value.problems)
    assert Member.objects.filter(name="张小五").exists()


def test_it_exports_and_reimports_to_identical_files(tmp_path):
    registry_import(actor=None, path=copy_examples(tmp_path))
    first = tmp_path / "first"
    registry_export(actor=None, out=first)
    registry_import(actor=None, path=first)  # same data: no change
    second = tmp_path / "second"
    registry_export(actor=None, out=second)

    names = sorted(p.name for p in first.iterdir())
    assert names == ["households.csv", "incomes.csv", "measures.csv", "members.csv", "villages.csv"]
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_it_exports_only_the_households_inside_the_users_region(tmp_path):
    folder = copy_examples(tmp_path)
    edit_cell(folder / "households.csv", 3, "村代码", "341225104201")  # E002 in another township
    registry_import(actor=None, path=folder)
    village_user = UserFactory(username="v1", role="village", region_code="341225103208")
    out = tmp_path / "out"

    counts_ = registry_export(actor=village_user, out=out, reason="test")

    assert counts_["households"] == 1
    assert "E002" not in (out / "households.csv").read_text(encoding="utf-8")
    log = AuditEvent.objects.get(action="registry.export")
    assert log.actor == village_user and log.region_code == "341225103208" and log.comment == "test"
    with pytest.raises(PermissionError):
        registry_export(actor=village_user, out=tmp_path / "x", region="341225104201")


def test_the_import_command_checks_without_writing_and_fails_clearly_on_bad_input(tmp_path, capsys):
    folder = copy_examples(tmp_path)
    call_command("import", str(folder), "--check")
    assert Household.objects.count() == 0
    edit_cell(folder / "members.csv", 2, "证件号码", "341225196805123013")
    with pytest.raises(CommandError, match="未写入任何数据"):
        call_command("import", str(folder))
    err = capsys.readouterr().err
    assert "341225********3013" in err and "341225196805123013" not in err  # masked in the problem list
    assert Household.objects.count() == 0


def _county_parts(tmp_path: Path, households: int = 40) -> tuple[Path, dict]:
    """Two generated counties as a folder of county folders."""
    from fangfan.registry.interchange.write import write_tables
    from fangfan.registry.synthetic import generate_county

    root = tmp_path / "province"
    generated = {}
    for code, seed in (("341225", 1), ("341222", 2)):
        generated[code] = dict(generate_county(code, households, seed).tables)
        write_tables(generated[code], root / f"county_{code}", "csv")
    return root, generated


def test_it_imports_a_folder_of_county_folders_in_one_batch(tmp_path):
    root, generated = _county_parts(tmp_path)
    checked = registry_import(actor=None, path=root, check_only=True)
    assert checked.created["households"] == 80 and counts() == (0, 0, 0, 0, 0)

    summary = registry_import(actor=None, path=root)

    assert summary.created["households"] == 80
    assert summary.created["members"] == sum(g["members"].height for g in generated.values()) == Member.objects.count()
    assert Household.objects.filter(village__code__startswith="341222").count() == 40
    event = AuditEvent.objects.get()
    assert event.action == "registry.import" and event.region_code == ""  # two counties
    assert set(event.after["snapshot_sha256"]) == {"households", "members", "incomes", "measures"}
    before = counts()
    again = registry_import(actor=None, path=root)
    assert not again.changed and counts() == before


def test_it_rejects_a_folder_of_county_folders_whole_when_one_part_clashes_with_the_database(tmp_path):
    from fangfan.registry.interchange.write import write_tables

    registry_import(actor=None, path=copy_examples(tmp_path))  # E001's head is 341225196805123011
    root, generated = _county_parts(tmp_path)
    # The second part (in file order) gives one of its members that ID, registered in E001.
    members = generated["341225"]["members"].with_columns(
        pl.when(pl.int_range(pl.len()) == 4).then(pl.lit("341225196805123011")).otherwise(pl.col("id_number"))
        .alias("id_number")
    )
    write_tables({**generated["341225"], "members": members}, root / "county_341225", "csv")
    before = counts()

    with pytest.raises(ImportRejected) as rejected:
        registry_import(actor=None, path=root)

    assert counts() == before  # the first county, written before the clash was found, is rolled back
    assert [p.file for p in rejected.value.problems] == ["county_341225/members.csv"]
    assert "已登记在户 E001" in rejected.value.problems[0].reason
