"""Text strategies shared by the property tests of fangfan/common: valid spellings mixed with
the near misses the parsers must refuse alike (full-width digits, odd spaces, signs …)."""
from __future__ import annotations

from hypothesis import strategies as st

# Characters that sit near the syntax of amounts, dates and IDs: ASCII digits, full-width and
# other Unicode digits, separators, signs, units, Python-only and Unicode spaces, letters.
NEAR = "0123456789０１２３９٣².,，¥￥元+-eE/年月日 \t\n\x1c\x1f\u00a0\u3000\u2003Tx:X"


def near_text(max_size: int = 20) -> st.SearchStrategy[str]:
    return st.text(alphabet=NEAR, max_size=max_size)


def decorated(core: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A valid core with spaces (of any kind) around it, or a near-miss character slipped in."""
    spaces = st.text(alphabet=" \t\u3000\u00a0\x1c", max_size=2)

    def slip(args):
        text, where, char, left, right = args
        where = min(where, len(text))
        return left + (text[:where] + char + text[where:] if char else text) + right

    return st.tuples(core, st.integers(0, 20), st.sampled_from(["", "", "", *NEAR]), spaces, spaces).map(slip)
