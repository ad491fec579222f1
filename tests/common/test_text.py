import re

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from fangfan.common.text import SPACE_CHARS, SPACE_CLASS, python_pattern, strip

EVERY_CHAR = [chr(c) for c in range(0x3100)]


def test_it_names_the_same_spaces_as_polars_strip_chars():
    stripped = pl.Series(EVERY_CHAR).str.strip_chars()
    assert "".join(c for c, s in zip(EVERY_CHAR, stripped) if s == "") == SPACE_CHARS


def test_it_writes_the_same_set_as_a_class_for_python_and_polars():
    in_python = "".join(c for c in EVERY_CHAR if re.fullmatch(f"[{SPACE_CLASS}]", c))
    in_polars = "".join(pl.Series(EVERY_CHAR).filter(pl.Series(EVERY_CHAR).str.contains(f"^[{SPACE_CLASS}]$")))
    assert in_python == in_polars == SPACE_CHARS


def test_it_leaves_the_ascii_separators_that_python_takes_for_spaces():
    assert strip("\x1c12 \u3000") == "\x1c12"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet=" \t\n\x1c\u3000\u2003a1", max_size=6), min_size=1, max_size=30))
def test_it_strips_as_polars_strips(texts):
    assert pl.Series(texts).str.strip_chars(SPACE_CHARS).to_list() == [strip(t) for t in texts]


def test_it_anchors_python_patterns_at_the_very_end():
    assert re.match("^1$", "1\n") and not python_pattern("^1$").match("1\n")


def test_it_masks_the_middle_of_a_phone_number():
    from fangfan.common.text import mask_phone

    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("0558-6512345") == "055*-***2345"
    assert mask_phone("12345") == "*****"
