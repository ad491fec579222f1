"""Reading interchange files (data.md): every rule, every problem at once, with file and row."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from fangfan.common.ids import check_digit
from fangfan.registry.interchange.read import Problem, read_interchange

DATA = Path(__file__).resolve().parents[1] / "data"
EXAMPLES = DATA / "examples"


def idn(first17: str) -> str:
    return first17 + check_digit(first17)


HEAD_1 = idn("34122519680512301")  # man born 1968-05-12
WIFE_1 = idn("34122519700820302")  # woman born 1970-08-20
HEAD_2 = idn("34122519550101304")  # woman born 1955-01-01

HOUSEHOLDS = """户编号,村代码,户类型,住房安全,饮水安全,监测对象类别,识别日期,风险消除日期,致贫返贫风险
E001,341225103208,脱贫户,是,是,边缘易致贫户,2026-03-02,,因病
E002,341225103208,一般农户,是,否,,,,
"""
MEMBERS = f"""户编号,姓名,证件号码,与户主关系,人员状态,健康状况,务工月数
E001,张三,{HEAD_1},户主,正常,患有大病,0
E001,李四,{WIFE_1},配偶,正常,健康,8
E002,王六,{HEAD_2},户主,正常,残疾,0
"""
INCOMES = """户编号,年度,工资性收入,转移性收入,其中:基础养老金,其中:低保金,减收原因
E001,2025,18000,3600,1200,0,
E002,2025,0,9800,1800,6800,4;8
"""


def write_folder(tmp_path: Path, encoding: str = "utf-8", **tables: str) -> Path:
    """A folder with households.csv and members.csv (valid unless replaced) and any other tables."""
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    files = {"households": HOUSEHOLDS, "members": MEMBERS, **tables}
    for name, text in files.items():
        if text is not None:
            (folder / f"{name}.csv").write_bytes(text.encode(encoding))
    return folder


def problems_of(result) -> list[tuple[str, int | None, str | None, str]]:
    return [(p.file, p.row, p.column, p.reason) for p in result.problems]


def test_it_reads_the_spec_examples_without_problems():
    result = read_interchange(EXAMPLES)

    assert result.problems == []
    assert result.ok
    assert set(result.tables) == {"households", "members", "incomes", "measures"}
    households = result.tables["households"]
    assert households.get_column("household_type").to_list() == ["lifted", "ordinary"]
    assert households.get_column("declared_risks").to_list() == [["R01"], []]
    assert households.schema["identified_on"] == pl.Date
    assert households.get_column("relocated").to_list() == [False, False]  # absent column: default 否
    members = result.tables["members"]
    assert members.get_column("relation").to_list() == ["head", "spouse", "son", "head"]
    assert members.get_column("_row").to_list() == [2, 3, 4, 5]
    incomes = result.tables["incomes"]
    assert incomes.schema["wage"] == pl.Int64
    assert incomes.filter(pl.col("year") == 2024).get_column("decline_reasons").to_list() == [["4", "8"]]
    assert incomes.get_column("wage").to_list() == [1_800_000, 2_600_000, 0]
    measures = result.tables["measures"]
    assert measures.get_column("status").to_list() == ["done", "in_progress"]
    assert result.sources["members"] == "members.csv"


def test_it_derives_birth_date_and_sex_from_the_id(tmp_path):
    members = read_interchange(write_folder(tmp_path)).tables["members"]

    assert members.get_column("birth_date").to_list() == [dt.date(1968, 5, 12), dt.date(1970, 8, 20), dt.date(1955, 1, 1)]
    assert members.get_column("sex").to_list() == ["M", "F", "F"]


def test_it_derives_birth_date_and_sex_from_an_id_written_with_spaces_or_a_lower_case_x(tmp_path):
    # Such cells are read again by the careful path; the birth date follows their value.
    with_x = idn("34122519900101100")
    assert with_x.endswith("X")
    members = MEMBERS.replace(HEAD_1, f'" {HEAD_1} "').replace(WIFE_1, with_x.lower())
    result = read_interchange(write_folder(tmp_path, members=members))

    assert result.problems == []
    frame = result.tables["members"]
    assert frame.get_column("id_number").to_list() == [HEAD_1, with_x, HEAD_2]
    assert frame.get_column("birth_date").to_list() == [dt.date(1968, 5, 12), dt.date(1990, 1, 1), dt.date(1955, 1, 1)]
    assert frame.get_column("sex").to_list() == ["M", "F", "F"]


def test_it_rejects_a_bad_check_digit_naming_the_row_with_the_id_masked(tmp_path):
    bad = WIFE_1[:17] + ("0" if WIFE_1[17] != "0" else "1")
    result = read_interchange(write_folder(tmp_path, members=MEMBERS.replace(WIFE_1, bad)))

    assert result.problems == [Problem("members.csv", 3, "证件号码", bad[:6] + "********" + bad[-4:], "证件号码校验位错误")]
    assert str(result.problems[0]) == f"members.csv 第3行 证件号码「{bad[:6]}********{bad[-4:]}」: 证件号码校验位错误"
    assert not result.ok


def test_it_reports_both_rows_of_an_id_used_in_two_households(tmp_path):
    members = MEMBERS + f"E002,赵七,{HEAD_1},之子,正常,健康,0\n"
    result = read_interchange(write_folder(tmp_path, members=members))

    assert problems_of(result) == [
        ("members.csv", 2, "证件号码", "证件号码重复: 与第5行(户E002)相同"),
        ("members.csv", 5, "证件号码", "证件号码重复: 与第2行(户E001)相同"),
    ]


def test_it_rejects_two_heads_in_one_household(tmp_path):
    result = read_interchange(write_folder(tmp_path, members=MEMBERS.replace("李四,{},配偶".format(WIFE_1), f"李四,{WIFE_1},户主")))

    assert problems_of(result) == [
        ("members.csv", 2, "与户主关系", "户E001有2个户主(第2、3行),应只有一个"),
        ("members.csv", 3, "与户主关系", "户E001有2个户主(第2、3行),应只有一个"),
    ]


def test_it_rejects_a_household_whose_only_head_left(tmp_path):
    members = MEMBERS.replace(f"{HEAD_1},户主,正常", f"{HEAD_1},户主,死亡")
    result = read_interchange(write_folder(tmp_path, members=members))

    assert problems_of(result) == [("members.csv", 3, "与户主关系", "户E001的正常成员中没有户主")]


def test_it_rejects_a_member_of_an_unknown_household(tmp_path):
    members = MEMBERS + f"E009,赵七,{idn('34122519900101301')},户主,正常,健康,0\n"
    result = read_interchange(write_folder(tmp_path, members=members))

    assert problems_of(result) == [("members.csv", 5, "户编号", "户编号在户表中不存在")]
    assert result.problems[0].value == "E009"


def test_it_rejects_negative_money(tmp_path):
    result = read_interchange(write_folder(tmp_path, incomes=INCOMES.replace("E001,2025,18000", "E001,2025,-5")))

    assert result.problems == [Problem("incomes.csv", 2, "工资性收入", "-5", "金额不能为负数")]


def test_it_rejects_the_six_items_above_transfer_income(tmp_path):
    result = read_interchange(write_folder(tmp_path, incomes=INCOMES.replace("E001,2025,18000,3600,1200,0", "E001,2025,18000,3600,1200,2400.01")))

    assert result.problems == [
        Problem("incomes.csv", 2, "转移性收入", "3600", "其中6项合计3600.01元超过转移性收入3600.00元")
    ]


def test_it_rejects_an_unparseable_date(tmp_path):
    result = read_interchange(write_folder(tmp_path, households=HOUSEHOLDS.replace("2026-03-02", "2026-13-02")))

    assert problems_of(result) == [
        ("households.csv", 2, "识别日期", "无法识别的日期(应为YYYY-MM-DD、YYYY/MM/DD、YYYYMMDD或Excel日期)")
    ]


def test_it_rejects_a_village_code_whose_first_six_digits_are_no_county(tmp_path):
    result = read_interchange(write_folder(tmp_path, households=HOUSEHOLDS.replace("E002,341225103208", "E002,999999103208")))

    assert result.problems == [
        Problem("households.csv", 3, "村代码", "999999103208", "村代码前6位「999999」不是GB/T 2260县级行政区划代码")
    ]


def test_it_rejects_township_codes_and_short_codes_as_village_codes(tmp_path):
    households = HOUSEHOLDS.replace("E001,341225103208", "E001,341225103000").replace("E002,341225103208", "E002,34122510320")
    result = read_interchange(write_folder(tmp_path, households=households))

    assert problems_of(result) == [
        ("households.csv", 2, "村代码", "不是村级代码(后3位不能为000)"),
        ("households.csv", 3, "村代码", "村代码应为12位数字"),
    ]


@pytest.mark.parametrize("encoding", ["gb18030", "gbk"])
def test_it_reads_gb18030_and_gbk_encoded_csv(tmp_path, encoding):
    result = read_interchange(write_folder(tmp_path, encoding=encoding))

    assert result.problems == []
    assert result.tables["members"].get_column("name").to_list() == ["张三", "李四", "王六"]


def test_it_reads_csv_with_a_byte_order_mark(tmp_path):
    result = read_interchange(write_folder(tmp_path, encoding="utf-8-sig", incomes=INCOMES))

    assert result.problems == []
    assert result.tables["households"].get_column("household_id").to_list() == ["E001", "E002"]
    assert result.tables["incomes"].get_column("transfer_income").to_list() == [360000, 980000]


def test_it_skips_title_rows_and_empty_rows_and_counts_them_in_row_numbers(tmp_path):
    members = "2026年防返贫监测人员信息表,,,\n\n" + MEMBERS.replace("\nE001,李四", "\n,,,,,,\nE001,李四")
    result = read_interchange(write_folder(tmp_path, members=members.replace("E002,王六,", "E002,王六, ")))

    assert result.problems == []
    assert result.tables["members"].get_column("_row").to_list() == [4, 6, 7]


def test_it_accepts_english_headers_full_width_colons_and_spaces_in_headers(tmp_path):
    incomes = INCOMES.replace("户编号,年度", "household_id, Year ").replace("其中:基础养老金", "其中：基础养老金").replace(
        "其中:低保金", " 其中: 低保金"
    )
    result = read_interchange(write_folder(tmp_path, incomes=incomes))

    assert result.problems == []
    assert result.tables["incomes"].get_column("basic_pension").to_list() == [120000, 180000]
    assert result.tables["incomes"].get_column("dibao_payment").to_list() == [0, 680000]


def test_it_parses_money_with_thousands_separators_exactly(tmp_path):
    incomes = INCOMES.replace("E001,2025,18000,", 'E001,2025,"1,234.50",').replace("E002,2025,0,", "E002,2025,0.07,")
    result = read_interchange(write_folder(tmp_path, incomes=incomes))

    assert result.problems == []
    assert result.tables["incomes"].get_column("wage").to_list() == [123450, 7]


def test_it_rejects_money_with_more_than_two_decimals(tmp_path):
    result = read_interchange(write_folder(tmp_path, incomes=INCOMES.replace("E001,2025,18000", "E001,2025,1.005")))

    assert result.problems == [Problem("incomes.csv", 2, "工资性收入", "1.005", "金额最多两位小数")]


def test_it_reads_dates_in_every_accepted_form(tmp_path):
    households = "户编号,村代码,户类型,住房安全,饮水安全,监测对象类别,识别日期\n" + "".join(
        f"E{i},341225103208,一般农户,是,是,边缘易致贫户,{day}\n"
        for i, day in enumerate(["2026-03-02", "2026/3/2", "20260302", "46083", "2026-03-02 00:00:00"])
    )
    members = "户编号,姓名,证件号码,与户主关系\n" + "".join(
        f"E{i},某,{idn('3412251990010130' + str(i))},户主\n" for i in range(5)
    )
    result = read_interchange(write_folder(tmp_path, households=households, members=members))

    assert result.problems == []
    assert set(result.tables["households"].get_column("identified_on").to_list()) == {dt.date(2026, 3, 2)}


def test_it_accepts_a_lower_case_x_and_stores_it_upper_case(tmp_path):
    with_x = next(idn(f"3412251980010100{i}") for i in range(10) if idn(f"3412251980010100{i}").endswith("X"))
    members = MEMBERS.replace(WIFE_1, with_x.lower())
    result = read_interchange(write_folder(tmp_path, members=members))

    assert result.problems == []
    assert result.tables["members"].get_column("id_number").to_list()[1] == with_x


def test_it_accepts_codes_labels_and_aliases(tmp_path):
    households = HOUSEHOLDS.replace(",因病\n", ',"R02,因病、缺劳力；洪涝"\n').replace("一般农户", "ordinary")
    measures = "户编号,措施类别,措施内容,开始日期,状态\nE001,M05,救治,2026-03-05,已落实\nE001,就业帮扶,岗位,2026-03-20,in_progress\n"
    incomes = INCOMES.replace("4;8", "务工就业减收、8")
    result = read_interchange(write_folder(tmp_path, households=households, measures=measures, incomes=incomes))

    assert result.problems == []
    assert result.tables["households"].get_column("declared_risks").to_list() == [["R01", "R02", "R04", "R08"], []]
    assert result.tables["households"].get_column("household_type").to_list() == ["lifted", "ordinary"]
    assert result.tables["measures"].get_column("measure_code").to_list() == ["M05", "M02"]
    assert result.tables["incomes"].get_column("decline_reasons").to_list() == [[], ["4", "8"]]


def test_it_names_unknown_items_of_multi_valued_cells(tmp_path):
    result = read_interchange(write_folder(tmp_path, households=HOUSEHOLDS.replace(",因病\n", ",因病、因懒\n")))

    assert len(result.problems) == 1
    assert result.problems[0].row == 2
    assert result.problems[0].column == "致贫返贫风险"
    assert result.problems[0].reason.startswith("「因懒」不是有效的致贫返贫风险")


def test_it_keeps_unknown_columns_as_text(tmp_path):
    members = MEMBERS.replace("务工月数\n", "务工月数,备注\n").replace(",8\n", ",8,外出务工\n")
    result = read_interchange(write_folder(tmp_path, members=members))

    assert result.problems == []
    assert result.extra_columns["members"] == ["备注"]
    assert result.tables["members"].get_column("备注").to_list() == [None, "外出务工", None]


def test_it_keeps_repeated_or_unnamed_unknown_columns_under_distinct_names(tmp_path):
    members = MEMBERS.replace("务工月数\n", "务工月数,备注,备注,,sex\n").replace(",8\n", ",8,a,b,c,d\n")
    result = read_interchange(write_folder(tmp_path, members=members))

    assert result.problems == []
    assert result.extra_columns["members"] == ["备注", "备注_2", "列J", "sex_2"]
    row = result.tables["members"].row(1, named=True)
    assert (row["备注"], row["备注_2"], row["列J"], row["sex_2"], row["sex"]) == ("a", "b", "c", "d", "F")


def test_it_reports_missing_tables_missing_columns_and_unknown_files(tmp_path):
    folder = write_folder(tmp_path, members=None, notes="说明,内容\n一,二\n")
    (folder / "readme.txt").write_text("ignored")
    (folder / "departments").mkdir()
    (folder / "departments" / "医保.csv").write_text("证件号码\n")
    (folder / "households.csv").write_text(HOUSEHOLDS.replace("户类型,", "类型,"), encoding="utf-8")

    assert problems_of(read_interchange(folder)) == [
        ("households.csv", 1, "户类型", "缺少必填列「户类型」"),
        ("notes.csv", None, None, "不是可识别的表(应为: 村表(villages)、户表(households)、人表(members)、收支表(incomes)、帮扶措施(measures))"),
        ("in", None, None, "缺少人表(members)"),
    ]


def test_it_reports_a_household_without_members(tmp_path):
    households = HOUSEHOLDS + "E003,341225103208,一般农户,是,是,,,,\n"
    result = read_interchange(write_folder(tmp_path, households=households))

    assert problems_of(result) == [("households.csv", 4, "户编号", "人表中没有该户的成员")]


def test_it_checks_household_dates_and_duplicate_ids(tmp_path):
    households = (
        HOUSEHOLDS.replace("2026-03-02,,因病", "2026-03-02,2026-03-01,因病").replace("E002,341225103208,一般农户,是,否,,,,", "E002,341225103208,一般农户,是,否,边缘易致贫户,,,")
        + "E002,341225103208,一般农户,是,是,,,2026-05-01,\n"
    )
    result = read_interchange(write_folder(tmp_path, households=households))

    assert problems_of(result) == [
        ("households.csv", 2, "风险消除日期", "风险消除日期早于识别日期(2026-03-02)"),
        ("households.csv", 3, "户编号", "户编号重复(另见第4行)"),
        ("households.csv", 3, "识别日期", "已填监测对象类别时识别日期不能为空"),
        ("households.csv", 4, "户编号", "户编号重复(另见第3行)"),
        ("households.csv", 4, "风险消除日期", "未填监测对象类别,不应有风险消除日期"),
    ]


def test_it_reports_many_problems_at_once():
    result = read_interchange(DATA / "bad" / "many_problems")

    assert [str(p) for p in result.problems] == [
        "households.csv 第3行 户类型「贫困户」: 不是有效的户类型(可填: 脱贫户、一般农户)",
        "households.csv 第3行 住房安全「也许」: 应填是或否",
        "households.csv 第4行 饮水安全: 饮水安全不能为空",
        "members.csv 第2行 证件号码「341225********3012」: 证件号码校验位错误",
        "members.csv 第3行 姓名: 姓名不能为空",
        "members.csv 第3行 务工月数「13」: 应在0到12之间",
        "members.csv 第4行 人员状态「失踪」: 不是有效的人员状态(可填: 正常、死亡、迁出、注销)",
        "members.csv 第5行 证件号码「341225******3012」: 证件号码应为18位(末位可为X)",
        "members.csv 第5行 户编号「E404」: 户编号在户表中不存在",
        "incomes.csv 第2行 年度「25」: 应为4位年份(YYYY)",
        "incomes.csv 第3行 工资性收入「一千」: 不是金额(单位元,最多两位小数)",
        "incomes.csv 第4行 年度「2025」: 同一户同一年度的收支重复(另见第5行)",
        "incomes.csv 第5行 年度「2025」: 同一户同一年度的收支重复(另见第4行)",
        "incomes.csv 第6行 户编号「E404」: 户编号在户表中不存在",
    ]
    assert len(result.problems) == 14


def _xlsx_with_title_and_merged_header(path: Path) -> None:
    wb = openpyxl.Workbook()
    hh = wb.active
    hh.title = "户表"
    hh["A1"] = "某县防返贫监测户信息表"
    hh.merge_cells("A1:G1")
    hh["A2"] = "基本情况"
    hh.merge_cells("A2:C2")
    hh["D2"] = "两不愁三保障"
    hh.merge_cells("D2:E2")
    hh.append(["户编号", "村代码", "户类型", "住房安全", "饮水安全", "监测对象类别", "识别日期"])
    hh.append(["E001", 341225103208, "脱贫户", "是", True, "边缘易致贫户", 46083])
    hh.append(["E002", "341225103208", "一般农户", 1, "否", None, None])
    members = wb.create_sheet("members")
    members.append(["household_id", "name", "id_number", "relation", "months_worked"])
    members.append(["E001", "张三", HEAD_1, "户主", 12.0])
    members.append(["E002", "王六", HEAD_2.lower(), "head", None])
    incomes = wb.create_sheet("收支表")
    incomes.append(["户编号", "年度", "工资性收入", "转移性收入", "其中：基础养老金"])
    incomes.append(["E001", 2025, "1,234.50", 1200.1, 1200.1])
    wb.create_sheet("Sheet3")  # empty default sheet: ignored
    wb.save(path)


def test_it_reads_an_xlsx_workbook_with_title_rows_and_merged_header_cells(tmp_path):
    path = tmp_path / "县.xlsx"
    _xlsx_with_title_and_merged_header(path)

    result = read_interchange(path)

    assert result.problems == []
    households = result.tables["households"]
    assert households.get_column("_row").to_list() == [4, 5]
    assert households.get_column("village_code").to_list() == ["341225103208", "341225103208"]
    assert households.get_column("identified_on").to_list() == [dt.date(2026, 3, 2), None]
    assert households.get_column("water_safe").to_list() == [True, False]
    assert households.get_column("housing_safe").to_list() == [True, True]
    members = result.tables["members"]
    assert members.get_column("months_worked").to_list() == [12, 0]
    assert members.get_column("id_number").to_list() == [HEAD_1, HEAD_2]
    incomes = result.tables["incomes"]
    assert incomes.get_column("wage").to_list() == [123450]
    assert incomes.get_column("transfer_income").to_list() == [120010]
    assert result.sources == {"households": "县.xlsx:户表", "members": "县.xlsx:members", "incomes": "县.xlsx:收支表"}


def test_it_names_sheet_and_sheet_row_in_xlsx_problems(tmp_path):
    path = tmp_path / "县.xlsx"
    _xlsx_with_title_and_merged_header(path)
    wb = openpyxl.load_workbook(path)
    wb["户表"]["G5"] = "去年"
    wb.create_sheet("说明")["A1"] = "填表说明"
    wb.save(path)

    result = read_interchange(path)

    assert problems_of(result)[0] == ("县.xlsx:户表", 5, "识别日期", "无法识别的日期(应为YYYY-MM-DD、YYYY/MM/DD、YYYYMMDD或Excel日期)")
    assert problems_of(result)[1][0] == "县.xlsx:说明"
    assert len(result.problems) == 2


def test_it_reads_a_folder_holding_one_workbook(tmp_path):
    folder = tmp_path / "upload"
    folder.mkdir()
    _xlsx_with_title_and_merged_header(folder / "data.xlsx")

    result = read_interchange(folder)

    assert result.problems == []
    assert result.tables["households"].height == 2


@pytest.mark.parametrize(
    ("path_name", "reason"), [("missing", "路径不存在"), ("nothing.txt", "应为文件夹、CSV文件或XLSX工作簿")]
)
def test_it_reports_a_path_that_is_no_interchange_data(tmp_path, path_name, reason):
    path = tmp_path / path_name
    if path_name.endswith(".txt"):
        path.write_text("x")

    result = read_interchange(path)

    assert problems_of(result)[0] == (path_name, None, None, reason)
    assert result.tables == {}


def test_it_reports_a_column_given_twice_and_reads_the_first(tmp_path):
    members = MEMBERS.replace("务工月数\n", "务工月数,name\n").replace(",8\n", ",8,别名\n")
    result = read_interchange(write_folder(tmp_path, members=members))

    assert problems_of(result) == [("members.csv", 1, "name", "列名重复(只读取第一列)")]
    assert result.tables["members"].get_column("name").to_list() == ["张三", "李四", "王六"]


def test_it_reads_a_table_with_a_header_and_no_rows(tmp_path):
    result = read_interchange(write_folder(tmp_path, measures="户编号,措施类别,开始日期,状态\n"))

    assert result.problems == []
    assert result.tables["measures"].height == 0
    assert result.tables["measures"].schema["started_on"] == pl.Date


def test_it_reports_a_file_without_a_recognisable_header(tmp_path):
    result = read_interchange(write_folder(tmp_path, incomes="随便,什么\n1,2\n"))

    assert problems_of(result) == [("incomes.csv", None, None, "前20行中找不到表头(至少两个已知列名)")]


def test_it_reports_cells_beyond_the_header_instead_of_dropping_them(tmp_path):
    lines = MEMBERS.splitlines()
    lines[2] += ",多余,值"  # 李四's line (row 3) has two unnamed cells
    lines[1] += ",,"  # empty trailing cells are harmless
    result = read_interchange(write_folder(tmp_path, members="\n".join(lines) + "\n"))

    assert problems_of(result) == [("members.csv", 3, None, "该行比表头多出 2 个非空单元格(没有列名,无法保存)")]


def test_it_numbers_rows_by_the_line_they_start_on_when_a_cell_holds_a_line_break(tmp_path):
    members = MEMBERS.replace("张三", '"张\n三"').replace(f"{HEAD_2},户主", f"{HEAD_2},之子")
    result = read_interchange(write_folder(tmp_path, members=members))

    assert result.tables["members"]["name"].to_list()[0] == "张\n三"
    # 王六's record starts on line 5: the first record spans lines 2-3.
    assert [(p.row, p.column) for p in result.problems if "户主" in p.reason] == [(5, "与户主关系")]


def test_it_hands_on_the_household_ids_as_integers_only_when_every_id_is_a_plain_integer(tmp_path):
    # E001/E002 are text: no integer keys. Written as 1001/1002 in every table, each table's IDs
    # come as Int64 in its rows' order (the rules then need not parse them again).
    assert read_interchange(write_folder(tmp_path, incomes=INCOMES)).household_keys is None

    numbered = {
        name: text.replace("E001", "1001").replace("E002", "1002")
        for name, text in {"households": HOUSEHOLDS, "members": MEMBERS, "incomes": INCOMES}.items()
    }
    (tmp_path / "n").mkdir()
    result = read_interchange(write_folder(tmp_path / "n", **numbered))

    assert result.ok
    keys = result.household_keys
    assert keys is not None and set(keys) == {"households", "members", "incomes"}
    for name, key in keys.items():
        assert key.dtype == pl.Int64
        assert key.to_list() == [int(h) for h in result.tables[name].get_column("household_id")]
