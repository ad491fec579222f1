import pytest

from fangfan.common.tables import CANONICAL_DTYPES, TABLES


def test_it_describes_the_five_tables_of_data_md():
    assert list(TABLES) == ["villages", "households", "members", "incomes", "measures"]


def test_it_gives_every_column_a_known_kind_and_its_code_list():
    for table in TABLES.values():
        for col in table.columns:
            assert col.kind in CANONICAL_DTYPES
            assert (col.codelist is not None) == (col.kind in ("code", "multi"))


def test_it_keys_each_table_on_its_own_columns():
    for table in TABLES.values():
        assert set(table.key) <= set(table.keys) and len(set(table.keys)) == len(table.keys)


def test_it_finds_a_column_by_key():
    assert TABLES["members"].column("id_number").zh == "证件号码"
    with pytest.raises(KeyError):
        TABLES["members"].column("nope")
