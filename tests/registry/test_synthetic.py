"""The synthetic county generator (`fangfan generate`): deterministic, consistent, realistic,
readable by the interchange reader, with department feeds whose planted hits are real."""
from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fangfan.common import ids
from fangfan.common.tables import TRANSFER_ITEMS
from fangfan.registry.interchange import read
from fangfan.registry.synthetic import generate_county, write_county

COUNTY = "341225"

# Headers of data.md's "Department feeds" table, copied here so a drift in the generator shows.
FEED_HEADERS = {
    "医保": "证件号码,结算日期,医疗总费用,基本医保报销,大病保险报销,医疗救助,合规自付,就医地,执行分级诊疗",
    "民政": "证件号码,事项,日期,金额",
    "残联": "证件号码,残疾类别,残疾等级,发证日期",
    "人社": "证件号码,事项,日期,单位,月工资",
    "教育": "证件号码,事项,学段,日期",
    "住建": "证件号码,鉴定等级,鉴定日期",
    "水利": "村代码,问题,日期",
    "应急": "证件号码,灾种,受灾日期,直接经济损失",
    "公安": "证件号码,事项,日期,车辆类型",
    "不动产": "证件号码,不动产类型,所在地,登记日期",
    "市场监管": "证件号码,身份,企业名称,年报状态",
    "金融": "证件号码,存款余额,有价证券市值",
}


@pytest.fixture(scope="module")
def county():
    return generate_county(COUNTY, 200, seed=11, year=2025)


@pytest.fixture(scope="module")
def written(tmp_path_factory, county):
    out = tmp_path_factory.mktemp("county")
    write_county(county, out)
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _generate(out: Path, seed: int, households: int = 120, **extra) -> None:
    call_command("generate", str(out), county=COUNTY, households=households, seed=seed, **extra)


def test_it_writes_byte_identical_files_for_the_same_seed(tmp_path):
    _generate(tmp_path / "a", seed=5)
    _generate(tmp_path / "b", seed=5)
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert set(first) >= {"households.csv", "members.csv", "incomes.csv", "villages.csv", "measures.csv",
                          "departments/planted.csv", "departments/医保.csv"}
    assert first == second


def test_it_writes_different_data_for_a_different_seed(tmp_path):
    _generate(tmp_path / "a", seed=5)
    _generate(tmp_path / "b", seed=6)
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert first["members.csv"] != second["members.csv"]
    assert first["incomes.csv"] != second["incomes.csv"]


def test_it_refuses_an_unknown_county_code(tmp_path):
    with pytest.raises(CommandError, match="未知的县级行政区划代码.*999999"):
        call_command("generate", str(tmp_path / "x"), county="999999", households=10, seed=1)
    assert not (tmp_path / "x").exists()


def test_it_gives_every_member_a_valid_unique_id_agreeing_with_birth_date_and_sex(county):
    members = county.tables["members"]
    numbers = members["id_number"].to_list()
    assert len(set(numbers)) == len(numbers)
    assert all(ids.validate_id(n) == n for n in numbers)
    assert all(n[:4] == COUNTY[:4] for n in numbers)  # the county, or a county of the same city
    assert sum(n.startswith(COUNTY) for n in numbers) > 0.9 * len(numbers)
    ref = county.reference_date
    sexes = {"spouse": None, "son": "M", "daughter": "F", "daughter_in_law": "F", "son_in_law": "M",
             "grandson": "M", "granddaughter": "F", "daughters_son": "M", "daughters_daughter": "F",
             "father": "M", "mother": "F"}
    heads = {row["household_id"]: row["id_number"] for row in members.filter(pl.col("relation") == "head").iter_rows(named=True)}
    for row in members.iter_rows(named=True):
        number, relation = row["id_number"], row["relation"]
        born = ids.birth_date(number)
        assert born <= ref
        head = heads[row["household_id"]]
        gap = ids.age_on(head, ref) - ids.age_on(number, ref)
        if relation == "spouse":
            assert ids.sex(number) != ids.sex(head)
        elif sexes.get(relation):
            assert ids.sex(number) == sexes[relation], row
        if relation in ("son", "daughter"):
            assert 18 <= gap <= 40, row
        if relation in ("grandson", "granddaughter", "daughters_son", "daughters_daughter"):
            assert 38 <= gap <= 66, row
        if relation in ("father", "mother"):
            assert -36 <= gap <= -18, row


def test_it_gives_each_household_exactly_one_normal_head(county):
    members = county.tables["members"]
    per_household = members.group_by("household_id").agg(
        heads=((pl.col("relation") == "head") & (pl.col("status") == "normal")).sum(),
        all_heads=(pl.col("relation") == "head").sum(),
        size=pl.len(),
    )
    assert per_household.height == county.tables["households"].height
    assert per_household["heads"].to_list() == [1] * per_household.height
    assert per_household["all_heads"].to_list() == [1] * per_household.height
    assert 2.6 <= members.height / per_household.height <= 3.6
    assert per_household["size"].max() <= 7


def test_it_fits_schooling_and_labour_to_age(county):
    members = county.tables["members"].with_columns(
        age=pl.col("id_number").map_elements(lambda n: ids.age_on(n, county.reference_date), return_dtype=pl.Int64)
    )
    young = members.filter(pl.col("age") < 16)
    assert set(young["labor"].unique()) == {"none"}
    assert members.filter(pl.col("schooling") == "primary")["age"].is_between(6, 12).all()
    assert members.filter(pl.col("schooling") == "junior")["age"].is_between(13, 15).all()
    assert members.filter(pl.col("months_worked") > 0)["labor"].is_in(["ordinary", "skilled", "weak"]).all()
    disabled = members.filter(pl.col("health").list.contains("disabled"))
    assert disabled["disability_grade"].is_not_null().all() and disabled["disability_kind"].is_not_null().all()
    assert members.filter(~pl.col("health").list.contains("disabled"))["disability_grade"].is_null().all()


def test_it_keeps_the_transfer_items_within_transfer_income_for_both_years(county):
    incomes = county.tables["incomes"]
    assert set(incomes["year"].unique()) == {2024, 2025}
    assert incomes.filter(pl.col("year") == 2025).height == county.tables["households"].height
    items = incomes.select(pl.sum_horizontal(TRANSFER_ITEMS).alias("items"), "transfer_income")
    assert (items["items"] <= items["transfer_income"]).all()
    money = [c for c, t in incomes.schema.items() if t == pl.Int64 and c != "year"]
    assert all((incomes[c] >= 0).all() for c in money)
    # basic pensions are twelve months of one county-wide rate (150-230 yuan) per elderly member
    pensions = incomes.filter(pl.col("year") == 2025, pl.col("basic_pension") > 0)["basic_pension"].to_list()
    rate = math.gcd(*pensions)
    assert rate % 12 == 0 and 150_00 <= rate // 12 <= 230_50


def test_it_marks_about_five_percent_monitored_with_dates_risks_and_measures(county):
    households = county.tables["households"]
    monitored = households.filter(pl.col("category").is_not_null())
    assert monitored.height == 10  # 5% of 200
    assert monitored["identified_on"].is_not_null().all()
    ref = county.reference_date
    assert monitored["identified_on"].is_between(ref - dt.timedelta(days=3 * 366), ref).all()
    eliminated = monitored.filter(pl.col("eliminated_on").is_not_null())
    assert (eliminated["eliminated_on"] >= eliminated["identified_on"]).all()
    assert (monitored["declared_risks"].list.len() >= 1).all()
    assert households.filter(pl.col("category").is_null())["identified_on"].is_null().all()
    measures = county.tables["measures"].join(monitored.select("household_id", "identified_on"), on="household_id", how="left")
    assert measures["identified_on"].is_not_null().all()  # measures belong to monitored households
    assert (measures["started_on"] >= measures["identified_on"]).all()
    assert measures.select("household_id", "measure_code", "started_on").is_unique().all()
    assert set(measures["status"].unique()) <= {"planned", "in_progress", "done"}


def test_it_generates_a_realistic_income_distribution():
    county = generate_county(COUNTY, 5000, seed=3)
    members = county.tables["members"].filter(pl.col("status") == "normal")
    size = members.group_by("household_id").len("size")
    cur = county.tables["incomes"].filter(pl.col("year") == 2025).join(size, on="household_id")
    per_capita = cur.select(
        ((pl.col("wage") + pl.col("business_income") - pl.col("business_cost") + pl.col("property_income")
          + pl.col("transfer_income") + pl.col("insurance_claims") - pl.col("compliant_oop")) // pl.col("size")).alias("pc")
    )["pc"]
    below = (per_capita < 600_000).mean()
    assert 0.03 <= below <= 0.10
    assert 0.01 <= (per_capita < 500_000).mean() < below
    lifted = (county.tables["households"]["household_type"] == "lifted").mean()
    assert 0.25 <= lifted <= 0.45
    assert county.tables["members"]["dibao"].sum() > 0 and county.tables["members"]["tekun"].sum() > 0


def test_it_writes_department_feeds_with_the_columns_of_data_md(written):
    for department, header in FEED_HEADERS.items():
        path = written / "departments" / f"{department}.csv"
        assert path.read_text(encoding="utf-8").splitlines()[0] == header
    planted = pl.read_csv(written / "departments" / "planted.csv", infer_schema=False)
    assert set(planted["department"].unique()) == set(FEED_HEADERS)


def test_it_plants_hits_that_refer_to_real_members_and_appear_in_the_feeds(county, written):
    members = county.tables["members"]
    by_id = {row["id_number"]: row for row in members.iter_rows(named=True)}
    planted = county.planted
    for row in planted.iter_rows(named=True):
        if row["department"] == "水利":
            assert row["village_code"] in set(county.tables["villages"]["village_code"])
            continue
        feed = pl.read_csv(written / "departments" / f"{row['department']}.csv", infer_schema=False)
        assert row["id_number"] in set(feed["证件号码"])
        if row["effect"] == "no_match":
            assert row["id_number"] not in by_id
            ids.validate_id(row["id_number"])
            continue
        if len(row["id_number"]) == 15:
            assert ids.convert_15_to_18(row["id_number"]) == row["id_number_18"]
        member = by_id[row["id_number_18"]]
        assert member["household_id"] == row["household_id"]
    assert (planted["id_number"].str.len_chars() == 15).sum() >= 2
    assert (planted["effect"] == "no_match").sum() >= 3


def test_it_plants_hits_that_the_rules_should_notice(county, written):
    households = county.tables["households"]
    members = county.tables["members"]
    planted = county.planted

    def feed(department):
        return pl.read_csv(written / "departments" / f"{department}.csv", infer_schema=False)

    def planted_ids(effect):
        return set(planted.filter(pl.col("effect") == effect)["id_number"])

    def planted_members(effect):
        return members.filter(pl.col("id_number").is_in(planted.filter(pl.col("effect") == effect)["id_number_18"].implode()))

    def planted_households(effect):
        return households.filter(pl.col("household_id").is_in(planted.filter(pl.col("effect") == effect)["household_id"].implode()))

    medical = feed("医保").filter(pl.col("证件号码").is_in(list(planted_ids("large_oop"))))
    assert medical.height >= 2 and (medical["合规自付"].cast(pl.Float64) >= 10_000).all()
    assert feed("医保").filter(~pl.col("证件号码").is_in(list(planted_ids("large_oop") | planted_ids("no_match"))))[
        "合规自付"].cast(pl.Float64).max() < 10_000
    loss = feed("应急").filter(pl.col("证件号码").is_in(list(planted_ids("disaster_loss"))))
    assert loss.height >= 2 and (loss["直接经济损失"].cast(pl.Float64) >= 5000).all()
    deposits = feed("金融").filter(pl.col("证件号码").is_in(list(planted_ids("large_deposits"))))
    assert deposits.height >= 2 and (deposits["存款余额"].cast(pl.Float64) >= 100_000).all()
    assert planted_members("dibao_exit")["dibao"].all()
    assert not planted_members("severe_disability")["health"].list.contains("disabled").any()
    assert planted_members("dropout")["schooling"].is_in(["primary", "junior"]).all()
    assert planted_members("death")["status"].eq("normal").all()
    assert planted_members("unsafe_housing")["relation"].eq("head").all()
    assert planted_households("unsafe_housing")["housing_safe"].all()
    assert not planted_households("town_house")["nl_town_house"].any()
    assert not planted_households("car")["nl_car"].any()
    housing = feed("住建").filter(pl.col("证件号码").is_in(list(planted_ids("unsafe_housing"))))
    assert set(housing["鉴定等级"]) <= {"C", "D"}
    assert set(feed("住建").filter(~pl.col("证件号码").is_in(list(planted_ids("unsafe_housing"))))["鉴定等级"]) <= {"A", "B"}
    company = feed("市场监管").filter(pl.col("证件号码").is_in(list(planted_ids("company"))))
    assert company.height >= 2 and set(company["身份"]) == {"法定代表人"} and set(company["年报状态"]) == {"已年报"}
    exits = feed("民政").filter(pl.col("事项") == "低保退出")
    assert set(exits["证件号码"]) == planted_ids("dibao_exit")  # each after an earlier 低保纳入
    assert set(feed("人社").filter(pl.col("证件号码").is_in(list(planted_ids("unemployment"))))["事项"]) == {"失业登记"}
    assert set(feed("教育").filter(pl.col("证件号码").is_in(list(planted_ids("dropout"))))["事项"]) == {"失学辍学"}


def test_it_reads_back_through_the_interchange_reader_with_zero_problems(county, written):
    result = read.read_interchange(written)
    assert [str(p) for p in result.problems] == []
    for name, frame in county.tables.items():
        back = result.tables[name].select(frame.columns)
        key = [c for c in frame.columns if frame.schema[c] in (pl.String, pl.Int64, pl.Date)][:3]
        assert back.sort(key).equals(frame.sort(key)), name


def test_it_writes_one_workbook_in_xlsx_format(tmp_path):
    _generate(tmp_path / "x", seed=2, households=40, format="xlsx")
    assert (tmp_path / "x" / "county.xlsx").exists()
    assert (tmp_path / "x" / "departments" / "planted.csv").exists()
    result = read.read_interchange(tmp_path / "x" / "county.xlsx")
    assert [str(p) for p in result.problems] == []
    assert result.tables["households"].height == 40


def test_it_writes_the_same_csv_files_as_the_interchange_writer_slice_by_slice(tmp_path, county):
    from fangfan.registry.interchange.write import write_tables
    from fangfan.registry.synthetic import _write_csv_in_chunks

    (tmp_path / "writer").mkdir()
    (tmp_path / "slices").mkdir()
    write_tables(county.tables, tmp_path / "writer", "csv")
    for name, frame in county.tables.items():
        _write_csv_in_chunks(name, frame, tmp_path / "slices", chunk=37)
        assert (tmp_path / "slices" / f"{name}.csv").read_bytes() == (tmp_path / "writer" / f"{name}.csv").read_bytes(), name


def test_it_refuses_xlsx_when_a_table_outgrows_a_worksheet(tmp_path, monkeypatch):
    import fangfan.registry.synthetic as synthetic

    monkeypatch.setattr(synthetic, "XLSX_MAX_ROWS", 100)  # members of 60 households exceed it
    with pytest.raises(CommandError, match="XLSX 工作表最多 100 行.*人表有 \\d+ 行: 请改用 --format csv"):
        _generate(tmp_path / "x", seed=2, households=60, format="xlsx")
    assert not (tmp_path / "x").exists()
