"""The reader's fast paths give what its careful paths give (values and problems alike)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from fangfan.common.ids import check_digit
from fangfan.registry.interchange import sources
from fangfan.registry.interchange.read import read_interchange

HOUSEHOLDS = """户编号,村代码,户类型,住房安全,饮水安全,监测对象类别,识别日期,致贫返贫风险
1001,341225103208,脱贫户,是,是,边缘易致贫户,2026-03-02,因病
1002,341225103208,一般农户,Y,0,,,
1003,341225103208,lifted,yes,否,,2026/3/2,
"""
INCOMES = """户编号,年度,工资性收入,转移性收入,其中:基础养老金,减收原因
1001,2025,"1,800.5",3600,1200,
1002,2025.0,¥200元,9800,1800,4;8
1003,2025,12.345,0,0,
"""


def idn(first17: str) -> str:
    return first17 + check_digit(first17)


HEAD = idn("34122519680512301")
WIFE = idn("34122519700820302")
SECOND = idn("34122519550101304")
LOWER_X = idn("34122519800101306")  # check character X, written in lower case below
assert LOWER_X.endswith("X")
MEMBERS = f"""户编号,姓名,证件号码,与户主关系,人员状态,务工月数
1001,张三,{HEAD},户主,正常,0
1001,李四,{WIFE},SPOUSE,正常,8
1002,王六,{SECOND},head,正常,+3
1003,赵七,{LOWER_X.lower()},户主,正常,12
"""


def write(folder: Path, **files: str) -> Path:
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_it_reads_odd_spellings_the_same_as_the_usual_ones(tmp_path):
    result = read_interchange(write(tmp_path / "in", **{"households.csv": HOUSEHOLDS, "members.csv": MEMBERS, "incomes.csv": INCOMES}))

    households = result.tables["households"]
    assert households.get_column("household_type").to_list() == ["lifted", "ordinary", "lifted"]
    assert households.get_column("housing_safe").to_list() == [True, True, True]
    assert households.get_column("water_safe").to_list() == [True, False, False]
    assert households.get_column("identified_on").to_list() == [dt.date(2026, 3, 2), None, dt.date(2026, 3, 2)]
    members = result.tables["members"]
    assert members.get_column("relation").to_list() == ["head", "spouse", "head", "head"]
    assert members.get_column("months_worked").to_list() == [0, 8, 3, 12]
    assert members.get_column("id_number").to_list() == [HEAD, WIFE, SECOND, LOWER_X]
    assert members.get_column("birth_date").to_list()[3] == dt.date(1980, 1, 1)
    incomes = result.tables["incomes"]
    assert incomes.get_column("year").to_list() == [2025, 2025, 2025]
    assert incomes.get_column("wage").to_list() == [180_050, 20_000, None]
    # Only the amount with three decimals is a problem; the other odd spellings are fine.
    assert [(p.file, p.row, p.column, p.value, p.reason) for p in result.problems] == [
        ("incomes.csv", 4, "工资性收入", "12.345", "金额最多两位小数"),
    ]


def test_it_gives_the_same_tables_and_problems_with_the_streaming_engine(tmp_path, monkeypatch):
    folder = write(
        tmp_path / "in",
        **{
            "households.csv": HOUSEHOLDS + "1001,341225103208,脱贫户,是,是,,,\n1004,3412251032,穷,是,是,,,\n",
            "members.csv": MEMBERS + f"1004,孙八,{HEAD},配偶,正常,13\n,,,,,\n",
            "incomes.csv": INCOMES,
        },
    )
    in_memory = read_interchange(folder)
    monkeypatch.setattr(sources, "STREAMING_BYTES", 0)
    streamed = read_interchange(folder)

    assert [str(p) for p in streamed.problems] == [str(p) for p in in_memory.problems]
    assert len(in_memory.problems) >= 6  # bad village code and type, repeated household and ID, no head, months
    assert set(streamed.tables) == set(in_memory.tables)
    for name, frame in in_memory.tables.items():
        assert_frame_equal(streamed.tables[name], frame)


def test_it_reports_a_csv_whose_bad_bytes_come_late_and_reads_the_other_file_of_that_table(tmp_path):
    filler = "".join(f"1{i:05d},341225103208,一般农户,是,是,,,\n" for i in range(20_000))  # beyond the head
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "households.csv").write_bytes((HOUSEHOLDS + filler).encode() + b"9,\xff\xff,x,x,x,,,\n")
    (folder / "户表.csv").write_text(HOUSEHOLDS, encoding="utf-8")
    (folder / "members.csv").write_text(MEMBERS, encoding="utf-8")

    result = read_interchange(folder)

    assert result.sources["households"] == "户表.csv"
    assert result.tables["households"].height == 3
    assert ("households.csv", None, "无法识别文件编码(应为UTF-8或GB18030/GBK)") in [
        (p.file, p.row, p.reason) for p in result.problems
    ]
    assert not any("同一张表" in p.reason for p in result.problems)


def test_it_numbers_rows_by_line_when_a_quoted_cell_spans_lines_in_a_big_file(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "STREAMING_BYTES", 0)
    members = MEMBERS.replace("张三", '"张\n三"')
    result = read_interchange(write(tmp_path / "in", **{"households.csv": HOUSEHOLDS, "members.csv": members}))

    assert result.tables["members"].get_column("_row").to_list() == [2, 4, 5, 6]
    assert result.tables["members"].get_column("name").to_list()[0] == "张\n三"
    assert pl.Series(result.tables["members"].get_column("relation")).to_list()[1] == "spouse"


# Cells as written, padded with whitespace: the lazy UTF-8 path reads them unstripped and strips
# only where it must; the careful path strips every cell first. Both must agree.
PADDING = st.sampled_from(["", " ", "\t", "\u3000", "  "])
PADDED_HOUSEHOLDS = HOUSEHOLDS + "1005,341225103208,一般农户,是,是,,,\n,,,,,,,\n"
PADDED_MEMBERS = MEMBERS + f"1005,钱九,{idn('34122519900101307')},户主,正常,\n,,,,,\n"


def _cells(row: str) -> list[str]:
    """The cells of a line as written, quotes kept (a quoted cell may hold commas)."""
    cells, current, quoted = [], "", False
    for char in row:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            cells.append(current)
            current = ""
        else:
            current += char
    return cells + [current]


def _padded(text: str, pads) -> str:
    header, *rows = text.splitlines()
    out = [header + ",备注"]  # an extra column too
    for row in rows:
        # A quoted cell stays as it is: whitespace outside the quotes would make the line ragged.
        cells = [cell if '"' in cell else f"{next(pads)}{cell}{next(pads)}" for cell in _cells(row)]
        out.append(",".join(cells) + f",{next(pads)}")
    return "\n".join(out) + "\n"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pads=st.lists(PADDING, min_size=400, max_size=400), streaming=st.booleans())
def test_it_reads_cells_with_surrounding_whitespace_as_the_careful_path_does(tmp_path_factory, pads, streaming):
    padding = iter(pads * 2)
    folder = write(
        tmp_path_factory.mktemp("in"),
        **{
            "households.csv": _padded(PADDED_HOUSEHOLDS, padding),
            "members.csv": _padded(PADDED_MEMBERS, padding),
            "incomes.csv": _padded(INCOMES, padding),
        },
    )
    careful_path = sources._read_csv_decoded

    def not_taken(*args):
        raise AssertionError("the lazy path fell back to the careful one")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sources, "STREAMING_BYTES", 0 if streaming else sources.STREAMING_BYTES)
        patch.setattr(sources, "_read_csv_decoded", not_taken)
        fast = read_interchange(folder)
        patch.setattr(sources, "_read_csv_decoded", careful_path)
        patch.setattr(sources, "_read_csv_utf8", lambda *args: None)  # every file by the careful path
        careful = read_interchange(folder)

    assert [str(p) for p in fast.problems] == [str(p) for p in careful.problems]
    assert set(fast.tables) == set(careful.tables) == {"households", "members", "incomes"}
    for name, frame in careful.tables.items():
        assert_frame_equal(fast.tables[name], frame)


def test_it_drops_rows_of_only_whitespace_and_keeps_a_padded_row(tmp_path):
    members = MEMBERS + " , ,\t,\u3000, , \n1003, 孙十 , " + idn("34122519910101308") + " ,之子,正常,1\n"
    result = read_interchange(write(tmp_path / "in", **{"households.csv": HOUSEHOLDS, "members.csv": members}))

    frame = result.tables["members"]
    assert frame.get_column("_row").to_list() == [2, 3, 4, 5, 7]
    assert frame.get_column("name").to_list()[-1] == "孙十"
    assert frame.get_column("id_number").to_list()[-1] == idn("34122519910101308")
    assert frame.get_column("birth_date").to_list()[-1] == dt.date(1991, 1, 1)
    assert not [p for p in result.problems if p.file == "members.csv"]


@pytest.mark.parametrize("streaming", [False, True])
def test_it_reads_repeating_amounts_as_a_dictionary_with_the_fast_paths_values_and_problems(tmp_path, monkeypatch, streaming):
    # 300 income rows whose pension column repeats a few amounts (read as a dictionary) among
    # them odd and bad cells, while the wage column varies (read by the fast path).
    odd = ["1.", "￥12", " 7 ", "-5", "1.234", ".5", "1e3", "", "１２", "9999999999999999"]
    lines = ["户编号,年度,工资性收入,其中:基础养老金"]
    for i in range(300):
        pension = odd[i // 30] if i % 30 == 0 else ("1800" if i % 2 else "0.00")
        lines.append(f"{1000 + i},2025,{1000 + i * 7}.{i % 100:02d},{pension}")
    households = "户编号,村代码,户类型\n" + "".join(f"{1000 + i},341225103208,脱贫户\n" for i in range(300))
    members = "户编号,姓名,证件号码,与户主关系,人员状态\n" + "".join(
        f"{1000 + i},张{i},{idn(f'341225198001{i:05d}')},户主,正常\n" for i in range(300)
    )
    folder = write(tmp_path / "in", **{"incomes.csv": "\n".join(lines) + "\n", "households.csv": households, "members.csv": members})
    monkeypatch.setattr(sources, "STREAMING_BYTES", 0 if streaming else sources.STREAMING_BYTES)

    raw = sources.read_csv_table(folder / "incomes.csv", sources.table_for_name("incomes"))
    assert "basic_pension" in raw.categories and "wage" not in raw.categories
    as_dictionary = read_interchange(folder)
    monkeypatch.setattr(sources, "SAMPLE_MIN_ROWS", 10**9)  # no column read as a dictionary for repeating
    fast = read_interchange(folder)

    assert [str(p) for p in as_dictionary.problems] == [str(p) for p in fast.problems]
    # -5, 1.234, .5, 1e3, １２ and 16 digits; "1.", "￥12" and " 7 " are amounts, "" is the default 0.
    assert len([p for p in fast.problems if p.column == "其中:基础养老金"]) == 6
    for name, frame in fast.tables.items():
        assert_frame_equal(as_dictionary.tables[name], frame)
    assert as_dictionary.tables["incomes"].get_column("basic_pension").head(91).to_list()[::30] == [100, 1200, 700, -500]  # reported, and kept as read
