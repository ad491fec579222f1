"""registry.importing: measures keyed by 户编号, 措施类别, 开始日期 and 措施内容 (data.md), and the
history key of a measure built the same way for one row and for a whole table."""
from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from django.db import IntegrityError, transaction
from hypothesis import given
from hypothesis import strategies as st

from fangfan.audit.models import AuditEvent
from fangfan.registry import importing, services
from fangfan.registry.models import MEASURE_KEY_LENGTH, Measure, measure_history_key
from tests.factories import HouseholdFactory
from tests.registry.test_import import append_row, copy_examples, counts

pytestmark = pytest.mark.django_db

PROJECT = {"户编号": "E001", "措施类别": "产业帮扶", "开始日期": "2026-04-01", "状态": "实施中", "责任单位": "县农业农村局"}


def two_projects(tmp_path):
    folder = copy_examples(tmp_path)
    first = append_row(folder / "measures.csv", {**PROJECT, "措施内容": "茶叶种植补助"})
    second = append_row(folder / "measures.csv", {**PROJECT, "措施内容": "光伏帮扶收益"})
    return folder, first, second


def test_it_keeps_registry_import_importable_from_services():
    assert services.registry_import is importing.registry_import
    assert services.ImportRejected is importing.ImportRejected
    assert services.ImportSummary is importing.ImportSummary


def test_it_stores_two_measures_of_one_kind_starting_the_same_day_with_different_content(tmp_path):
    folder, _, _ = two_projects(tmp_path)

    summary = services.registry_import(actor=None, path=folder)

    assert summary.created["measures"] == 4
    projects = Measure.objects.filter(household__household_number="E001", measure_code="M01")
    assert sorted(projects.values_list("content", "started_on")) == [
        ("光伏帮扶收益", dt.date(2026, 4, 1)), ("茶叶种植补助", dt.date(2026, 4, 1))]


def test_it_changes_nothing_when_the_two_projects_are_imported_again(tmp_path):
    folder, _, _ = two_projects(tmp_path)
    services.registry_import(actor=None, path=folder)
    before = counts()

    again = services.registry_import(actor=None, path=folder)

    assert not again.changed
    assert again.unchanged["measures"] == 4 and again.created["measures"] == 0
    assert counts() == before


def test_it_adds_a_second_project_to_a_registered_household_with_a_history_row_naming_its_content(tmp_path):
    folder = copy_examples(tmp_path)
    append_row(folder / "measures.csv", {**PROJECT, "措施内容": "茶叶种植补助"})
    services.registry_import(actor=None, path=folder)
    append_row(folder / "measures.csv", {**PROJECT, "措施内容": "光伏帮扶收益", "状态": "计划"})

    summary = services.registry_import(actor=None, path=folder)

    assert (summary.created["measures"], summary.updated["measures"]) == (1, 0)
    event = AuditEvent.objects.get(action="measure.create")
    assert event.object_key == "E001:M01:2026-04-01:光伏帮扶收益"
    assert Measure.objects.get(content="茶叶种植补助").status == "in_progress"  # the first one untouched


def test_it_updates_a_project_whose_status_changed_and_names_it_by_its_content(tmp_path):
    folder, first, _ = two_projects(tmp_path)
    services.registry_import(actor=None, path=folder)
    from tests.registry.test_import import edit_cell

    edit_cell(folder / "measures.csv", first, "状态", "已落实")
    summary = services.registry_import(actor=None, path=folder)

    assert summary.updated["measures"] == 1
    assert Measure.objects.get(content="茶叶种植补助").status == "done"
    assert Measure.objects.get(content="光伏帮扶收益").status == "in_progress"
    event = AuditEvent.objects.get(action="measure.update")
    assert event.object_key == "E001:M01:2026-04-01:茶叶种植补助"
    assert event.before == {"status": "in_progress"} and event.after == {"status": "done"}


def test_it_rejects_an_exact_repeat_of_a_measure_naming_both_rows(tmp_path):
    folder = copy_examples(tmp_path)
    first = append_row(folder / "measures.csv", {**PROJECT, "措施内容": "茶叶种植补助"})
    second = append_row(folder / "measures.csv", {**PROJECT, "措施内容": "茶叶种植补助", "状态": "计划"})
    before = counts()

    with pytest.raises(services.ImportRejected) as excinfo:
        services.registry_import(actor=None, path=folder)

    found = sorted((p.row, p.reason) for p in excinfo.value.problems)
    assert found == [
        (first, f"同一户同一措施类别、开始日期和措施内容重复(另见第{second}行)"),
        (second, f"同一户同一措施类别、开始日期和措施内容重复(另见第{first}行)"),
    ]
    assert all(p.column == "措施类别" for p in excinfo.value.problems)
    assert counts() == before


def test_it_rejects_two_measures_of_one_kind_and_day_both_without_content(tmp_path):
    folder = copy_examples(tmp_path)
    first = append_row(folder / "measures.csv", PROJECT)
    second = append_row(folder / "measures.csv", PROJECT)
    with pytest.raises(services.ImportRejected) as excinfo:
        services.registry_import(actor=None, path=folder)
    assert sorted(p.row for p in excinfo.value.problems) == [first, second]


def test_it_tells_a_measure_without_content_from_one_with_content(tmp_path):
    folder = copy_examples(tmp_path)
    append_row(folder / "measures.csv", PROJECT)
    append_row(folder / "measures.csv", {**PROJECT, "措施内容": "茶叶种植补助"})

    services.registry_import(actor=None, path=folder)
    again = services.registry_import(actor=None, path=folder)

    assert sorted(Measure.objects.filter(measure_code="M01").values_list("content", flat=True)) == ["", "茶叶种植补助"]
    assert not again.changed


def test_it_refuses_an_exact_repeat_in_the_database_too():
    household = HouseholdFactory()
    fields = {"household": household, "measure_code": "M01", "started_on": dt.date(2026, 4, 1), "status": "planned"}
    Measure.objects.create(**fields, content="茶叶种植补助")
    Measure.objects.create(**fields, content="光伏帮扶收益")
    with pytest.raises(IntegrityError), transaction.atomic():
        Measure.objects.create(**fields, content="茶叶种植补助")


CONTENT = st.one_of(st.none(), st.text(min_size=0, max_size=120))


@given(
    number=st.text(alphabet="E0123456789", min_size=1, max_size=20),
    code=st.sampled_from(["M01", "M02", "M05", "M99"]),
    started_on=st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2099, 12, 31)),
    content=CONTENT,
)
def test_it_builds_a_measures_history_key_alike_for_one_row_and_for_a_table(number, code, started_on, content):
    frame = pl.DataFrame(
        {"household_number": [number], "measure_code": [code], "started_on": [started_on], "content": [content]},
        schema={"household_number": pl.String, "measure_code": pl.String, "started_on": pl.Date, "content": pl.String},
    )
    vectorised = frame.select(importing.measure_history_expr()).item()
    one = measure_history_key(number, code, started_on, content)
    assert vectorised == one
    assert len(one) <= MEASURE_KEY_LENGTH
    assert one.startswith(f"{number}:{code}:{started_on.isoformat()}"[:MEASURE_KEY_LENGTH])


def test_it_imports_measures_from_a_file_without_the_content_column(tmp_path):
    folder = copy_examples(tmp_path)
    (folder / "measures.csv").write_text(
        "户编号,措施类别,开始日期,状态\nE001,M05,2026-03-05,已落实\nE001,M01,2026-03-05,计划\nE001,M05,2026-03-05,计划\n",
        encoding="utf-8",
    )
    with pytest.raises(services.ImportRejected) as excinfo:
        services.registry_import(actor=None, path=folder)
    assert sorted(p.row for p in excinfo.value.problems) == [2, 4]

    (folder / "measures.csv").write_text(
        "户编号,措施类别,开始日期,状态\nE001,M05,2026-03-05,已落实\nE001,M01,2026-03-05,计划\n", encoding="utf-8"
    )
    services.registry_import(actor=None, path=folder)
    assert not services.registry_import(actor=None, path=folder).changed
    assert sorted(Measure.objects.values_list("measure_code", "content")) == [("M01", ""), ("M05", "")]
