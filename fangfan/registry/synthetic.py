"""A synthetic county in the interchange format of data.md, for demos, tests and benchmarks.

`generate_county(...)` returns canonical typed frames (fangfan.common.tables) plus department
feeds with planted hits (synthetic_feeds); `write_county(...)` writes them. Everything is drawn
from one numpy Generator seeded with (seed, county code) and built column-wise, so the same
arguments give byte-identical files and a million households take minutes, not hours.

Dates are relative to the reference date: 30 April after the income year, the end of the
income window most plans use (篇二: 5月1日-次年4月30日), when the annual collection is done.
Ages, schooling and monitoring dates are as of that day.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from fangfan.common import codes as C
from fangfan.common.ids import check_digit_expr
from fangfan.common.tables import TABLES
from fangfan.regions import codes as region_codes
from fangfan.registry import synthetic_names as W

Progress = Callable[[str], None]

ROLES = (
    "head", "spouse", "child", "son", "daughter", "dil", "sil", "gchild_s", "gchild_d",
    "parent", "father", "mother", "grandparent", "sibling", "other",
)
R = {name: i for i, name in enumerate(ROLES)}

# Household shapes: (weight, head age from, head age to, share of male heads, members after the head).
# Weights give sizes 1-7 with a mean of about 3.1 (N households ≈ 3.1 N members).
TEMPLATES = (
    (0.090, 60, 90, 0.50, ()),
    (0.050, 25, 59, 0.70, ()),
    (0.165, 50, 85, 0.85, ("spouse",)),
    (0.020, 22, 35, 0.85, ("spouse",)),
    (0.040, 45, 85, 0.50, ("child",)),
    (0.020, 25, 60, 0.70, ("parent",)),
    (0.005, 60, 85, 0.70, ("other",)),
    (0.150, 28, 60, 0.85, ("spouse", "child")),
    (0.020, 25, 55, 0.85, ("spouse", "parent")),
    (0.030, 50, 75, 0.50, ("son", "gchild_s")),
    (0.050, 58, 80, 0.85, ("spouse", "gchild_s")),
    (0.110, 30, 55, 0.85, ("spouse", "child", "child")),
    (0.030, 28, 55, 0.85, ("spouse", "child", "parent")),
    (0.035, 48, 70, 0.85, ("spouse", "son", "dil")),
    (0.005, 25, 38, 0.85, ("spouse", "child", "grandparent")),
    (0.060, 48, 72, 0.85, ("spouse", "son", "dil", "gchild_s")),
    (0.025, 30, 55, 0.85, ("spouse", "child", "child", "parent")),
    (0.015, 32, 55, 0.85, ("spouse", "child", "child", "child")),
    (0.035, 48, 72, 0.85, ("spouse", "son", "dil", "gchild_s", "gchild_s")),
    (0.015, 30, 55, 0.85, ("spouse", "child", "child", "father", "mother")),
    (0.015, 50, 75, 0.85, ("spouse", "son", "dil", "gchild_s", "gchild_s", "gchild_s")),
    (0.010, 48, 60, 0.85, ("spouse", "son", "dil", "gchild_s", "gchild_s", "parent")),
    (0.005, 50, 72, 0.85, ("spouse", "daughter", "sil", "gchild_d", "gchild_d", "sibling")),
)

VILLAGE_KIND_SHARES = (
    ("lifted_village", 0.28), ("key_village", 0.05), ("model_village", 0.05),
    ("relocation_village", 0.04), ("weak_village", 0.03), ("ordinary_village", 0.55),
)
LIFTED_SHARE_BY_KIND = {
    "lifted_village": 0.50, "key_village": 0.55, "model_village": 0.25,
    "relocation_village": 0.65, "weak_village": 0.35, "ordinary_village": 0.27,
}

SCHOOLING = C.SCHOOLING.codes
LABOR = C.LABOR.codes
S = {code: i for i, code in enumerate(SCHOOLING)}
REL = {code: i for i, code in enumerate(C.RELATION.codes)}
STATUS = {code: i for i, code in enumerate(C.MEMBER_STATUS.codes)}
DISABILITY_KINDS = C.DISABILITY_KIND.codes
L = {code: i for i, code in enumerate(LABOR)}
STUDENT_LEVELS = tuple(S[c] for c in SCHOOLING if c not in ("not_in_school", "dropout"))
# Yearly education spending per student, yuan (from, to), by schooling level.
EDUCATION_COST = {
    "preschool": (1200, 3000), "primary": (300, 1200), "junior": (600, 2000), "senior": (2500, 6000),
    "secondary_vocational": (2000, 5000), "higher_vocational": (7000, 14000), "bachelor": (9000, 18000),
    "master_plus": (10000, 22000),
}

HOUSEHOLD_NL_SHARES = {  # share of households with each negative-list fact (about 1% have one)
    "nl_town_house": 0.0015, "nl_car": 0.0025, "nl_machinery": 0.0005, "nl_luxury_property": 0.0003,
    "nl_large_deposits": 0.0005, "nl_company": 0.0005, "nl_employs_others": 0.0003,
    "nl_costly_school": 0.0003, "nl_wealthy_supporter": 0.0005, "nl_misconduct": 0.0002,
    "nl_idle": 0.0005, "nl_refuses_check": 0.0002, "nl_absent": 0.0005,
}


XLSX_MAX_ROWS = 1_048_576


class GenerationError(ValueError):
    """Bad arguments, with a Chinese message for the user."""


@dataclass
class SyntheticCounty:
    county_code: str
    county_name: str
    year: int
    reference_date: dt.date
    tables: dict[str, pl.DataFrame]  # canonical typed frames: villages, households, members, incomes, measures
    feeds: dict[str, pl.DataFrame]  # department → all-string frame with data.md's Chinese headers
    planted: pl.DataFrame  # one row per planted department hit

    def summary(self) -> dict[str, int]:
        h = self.tables["households"]
        return {
            "villages": self.tables["villages"].height,
            "households": h.height,
            "members": self.tables["members"].height,
            "income_rows": self.tables["incomes"].height,
            "monitored": h.filter(pl.col("category").is_not_null()).height,
            "measures": self.tables["measures"].height,
            "feed_rows": sum(f.height for f in self.feeds.values()),
            "planted_hits": self.planted.height,
        }


def reference_date(year: int) -> dt.date:
    return dt.date(year + 1, 4, 30)


def generate_county(
    county_code: str, households: int, seed: int, year: int = 2025, progress: Progress | None = None
) -> SyntheticCounty:
    if not region_codes.is_known_county(county_code) or county_code.endswith("00"):
        raise GenerationError(f"未知的县级行政区划代码: {county_code!r}(应为 GB/T 2260 中的6位县级代码,如 341225)")
    if households < 1 or households > 9_999_999:
        raise GenerationError(f"户数应在 1 至 9999999 之间,收到 {households}")
    if not 2000 <= year <= 2100:
        raise GenerationError(f"年度应在 2000 至 2100 之间,收到 {year}")
    step = progress or (lambda label: None)
    rng = np.random.default_rng([seed & 0xFFFFFFFF, int(county_code)])
    gen = _Generator(rng, county_code, households, year, step)
    return gen.run()


def write_county(county: SyntheticCounty, out: Path, fmt: str = "csv") -> list[Path]:
    """Interchange tables into folder `out` (CSV files, or one workbook out/county.xlsx) and the
    department feeds plus planted.csv into out/departments/."""
    from fangfan.registry.interchange.write import write_tables

    out = Path(out)
    if fmt == "xlsx":
        for name, frame in county.tables.items():
            if frame.height >= XLSX_MAX_ROWS:
                raise GenerationError(
                    f"XLSX 工作表最多 {XLSX_MAX_ROWS} 行(含表头), {TABLES[name].zh}有 {frame.height} 行: 请改用 --format csv"
                )
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        written = write_tables(county.tables, out / "county.xlsx", "xlsx")
    else:
        written = [_write_csv_in_chunks(name, frame, out) for name, frame in county.tables.items()]
    feeds_dir = out / "departments"
    feeds_dir.mkdir(exist_ok=True)
    for name, frame in county.feeds.items():
        path = feeds_dir / f"{name}.csv"
        frame.write_csv(path)
        written.append(path)
    path = feeds_dir / "planted.csv"
    county.planted.write_csv(path)
    written.append(path)
    return written


def _write_csv_in_chunks(name: str, frame: pl.DataFrame, out: Path, chunk: int = 250_000) -> Path:
    """The writer's CSV, a slice at a time: a million households would otherwise need their text
    copy all at once. The frames are already sorted by their table key, so slices come out in the
    same order as the writer's own sort."""
    from fangfan.registry.interchange.write import to_text_frame

    table = TABLES[name]
    path = out / f"{name}.csv"
    with path.open("wb") as f:
        for start in range(0, max(frame.height, 1), chunk):
            to_text_frame(table, frame.slice(start, chunk)).write_csv(f, include_header=start == 0)
    return path


# --------------------------------------------------------------------------------------------
def _fen(rng: np.random.Generator, yuan: np.ndarray, share_with_cents: float = 0.25) -> np.ndarray:
    """Whole-yuan amounts → fen, a share of the non-zero ones with random cents."""
    yuan = np.asarray(yuan, dtype=np.int64)
    cents = np.where((rng.random(yuan.size) < share_with_cents) & (yuan > 0), rng.integers(0, 100, yuan.size), 0)
    return yuan * 100 + cents


def _uniform_int(rng: np.random.Generator, lo, hi, n: int) -> np.ndarray:
    """Integers in [lo, hi] (inclusive; lo/hi may be arrays)."""
    return rng.integers(lo, np.asarray(hi) + 1, n)


def _pct(values: np.ndarray, percent: np.ndarray) -> np.ndarray:
    """values × percent / 100 in exact integers (floor)."""
    return values * percent // 100


def _layout(n: int) -> tuple[int, int]:
    """(townships, villages per township) scaled with the number of households."""
    if n >= 2000:
        return int(np.clip(10 + n // 10_000, 10, 20)), int(np.clip(10 + n // 20_000, 10, 25))
    towns = int(np.clip(n // 200 + 2, 2, 10))
    return towns, int(np.clip(n // (towns * 20) + 3, 3, 10))


class _Generator:
    def __init__(self, rng, county: str, n: int, year: int, step: Progress):
        self.rng, self.county, self.n, self.year, self.step = rng, county, n, year, step
        self.ref = reference_date(year)
        self.ref_day = np.datetime64(self.ref, "D")
        self.county_name = region_codes.county_name(county) or county

    def run(self) -> SyntheticCounty:
        from fangfan.registry import synthetic_feeds

        self.step("村和乡镇")
        villages = self._villages()
        self.step("户")
        self._households()
        self.step("家庭成员")
        self._members()
        self.step("收支")
        self._incomes()
        self.step("监测对象")
        self._monitoring()
        self._negative_list()
        self.step("帮扶措施")
        measures = self._measures()
        tables = {  # each sorted by its table key, as the writer writes them
            "villages": villages.sort("village_code"),
            "households": self._household_frame(),  # household ids are issued in order
            "members": self._member_frame(),
            "incomes": self._income_frame().sort(["household_id", "year"]),
            "measures": measures.sort(list(TABLES["measures"].key)),
        }
        self.step("部门数据")
        feeds, planted = synthetic_feeds.build_feeds(self, tables)
        return SyntheticCounty(self.county, self.county_name, self.year, self.ref, tables, feeds, planted)

    # ---------------------------------------------------------------- villages and households
    def _villages(self) -> pl.DataFrame:
        rng = self.rng
        n_towns, per_town = _layout(self.n)
        stems = [W.TOWN_STEMS[i] for i in rng.permutation(len(W.TOWN_STEMS))[: n_towns - 1]]
        is_town = rng.random(len(stems)) < 0.6
        names, codes = ["城关镇"], ["100"]
        n_zhen, n_xiang = 1, 0
        for stem, town in zip(stems, is_town):
            if town:  # 镇 are numbered 100-199 and 乡 200-299, as in the statistical division codes
                names.append(stem + "镇")
                codes.append(f"{100 + n_zhen}")
                n_zhen += 1
            else:
                names.append(stem + "乡")
                codes.append(f"{200 + n_xiang}")
                n_xiang += 1
        counts = np.clip(np.rint(per_town * rng.uniform(0.7, 1.3, n_towns)), 3, 25).astype(int)
        total = int(counts.sum())
        pool = self._village_name_pool()
        chosen = [pool[i] for i in rng.permutation(len(pool))[:total]]
        kinds_codes = [k for k, _ in VILLAGE_KIND_SHARES]
        kind_idx = rng.choice(len(kinds_codes), total, p=[s for _, s in VILLAGE_KIND_SHARES])
        rows_code, rows_town = [], []
        for t, count in enumerate(counts):
            for v in range(count):
                rows_code.append(f"{self.county}{codes[t]}{201 + v}")
                rows_town.append(names[t])
        kinds = [kinds_codes[i] for i in kind_idx]
        frame = pl.DataFrame(
            {
                "village_code": rows_code,
                "village_name": [name + "村" for name in chosen],
                "township_name": rows_town,
                "delisted": [k == "lifted_village" for k in kinds],
                "village_kind": kinds,
            }
        )
        self.village_codes = np.array(rows_code)
        self.village_kind = np.array(kinds)
        return frame

    def _village_name_pool(self) -> list[str]:
        surnames = [s for s, _ in W.SURNAMES[:30]]
        pool = [s + p for s in surnames for p in W.VILLAGE_PLACES]
        pool += list(W.AUSPICIOUS)
        pool += [pre + s + p for pre in W.VILLAGE_PREFIXES[:4] for s in surnames[:12] for p in W.VILLAGE_PLACES[:8]]
        return pool

    def _households(self) -> None:
        rng, n = self.rng, self.n
        n_villages = len(self.village_codes)
        weights = rng.lognormal(0.0, 0.35, n_villages)
        counts = rng.multinomial(n, weights / weights.sum())
        self.h_village = np.repeat(np.arange(n_villages), counts)
        kind = self.village_kind[self.h_village]  # village kinds are few: this array is short-lived
        lifted_p = np.array([LIFTED_SHARE_BY_KIND[k] for k in self.village_kind])[self.h_village]
        self.h_lifted = rng.random(n) < lifted_p
        self.h_relocated = self.h_lifted & (
            rng.random(n) < np.where(kind == "relocation_village", 0.7, 0.03)
        )
        shares = np.array([t[0] for t in TEMPLATES])
        self.h_template = rng.choice(len(TEMPLATES), n, p=shares / shares.sum())
        self.h_size = np.array([1 + len(t[4]) for t in TEMPLATES])[self.h_template]
        lo = np.array([t[1] for t in TEMPLATES])[self.h_template]
        hi = np.array([t[2] for t in TEMPLATES])[self.h_template]
        self.h_head_age = _uniform_int(rng, lo, hi, n)
        self.h_head_male = rng.random(n) < np.array([t[3] for t in TEMPLATES])[self.h_template]
        self.h_housing_safe = rng.random(n) >= np.where(self.h_lifted, 0.006, 0.003)
        self.h_water_safe = rng.random(n) >= 0.003
        width = max(6, len(str(n)))
        self.household_ids = pl.Series(
            "household_id", [self.county] * n, dtype=pl.String
        ) + pl.int_range(1, n + 1, eager=True).cast(pl.String).str.zfill(width)

    # ---------------------------------------------------------------- members
    def _members(self) -> None:
        rng, n = self.rng, self.n
        size = self.h_size
        m = int(size.sum())
        self.h_start = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
        hh = np.repeat(np.arange(n), size)
        pos = np.arange(m) - self.h_start[hh]
        width = 7
        roles = np.full((len(TEMPLATES), width), -1)
        for t, template in enumerate(TEMPLATES):
            roles[t, 0] = R["head"]
            for j, role in enumerate(template[4], start=1):
                roles[t, j] = R[role]
        role = roles[self.h_template[hh], pos]
        head_age = self.h_head_age[hh]
        head_male = self.h_head_male[hh]

        # Ages by generation: children 20-38 years younger than the head, grandchildren a further
        # 22-36 younger than their parent, parents 20-34 older, grandparents 44-56 older.
        g1 = _uniform_int(rng, 20, 26, n)[hh]
        g2 = _uniform_int(rng, 22, 28, n)[hh]
        u = lambda lo, hi: _uniform_int(rng, lo, hi, m)  # noqa: E731
        age = head_age.copy()
        spouse_gap = np.where(head_male, u(-7, 3), u(-3, 7))
        age = np.where(role == R["spouse"], head_age + spouse_gap, age)
        age = np.where(role == R["child"], head_age - g1 - u(0, 12), age)
        age = np.where(np.isin(role, [R["son"], R["daughter"]]), head_age - g1, age)
        age = np.where(np.isin(role, [R["dil"], R["sil"]]), head_age - g1 + u(-3, 3), age)
        age = np.where(np.isin(role, [R["gchild_s"], R["gchild_d"]]), head_age - g1 - g2 - u(0, 8), age)
        age = np.where(np.isin(role, [R["parent"], R["father"], R["mother"]]), head_age + u(20, 34), age)
        age = np.where(role == R["grandparent"], head_age + u(44, 56), age)
        age = np.where(role == R["sibling"], head_age + u(-10, 10), age)
        age = np.where(role == R["other"], head_age - u(0, 40), age)
        age = np.clip(age, 0, 100)
        age = np.where(np.isin(role, [R["spouse"], R["dil"], R["sil"]]), np.maximum(age, 20), age)
        age = np.where(role == R["sibling"], np.maximum(age, 16), age)

        coin = rng.random(m) < 0.52
        male = np.select(
            [role == R["head"], role == R["spouse"], np.isin(role, [R["son"], R["sil"], R["father"]]),
             np.isin(role, [R["daughter"], R["dil"], R["mother"]])],
            [head_male, ~head_male, True, False],
            coin,
        )
        relation = np.select(
            [
                role == R["head"], role == R["spouse"],
                np.isin(role, [R["child"], R["son"], R["daughter"]]) & male,
                np.isin(role, [R["child"], R["son"], R["daughter"]]),
                role == R["dil"], role == R["sil"],
                (role == R["gchild_s"]) & male, role == R["gchild_s"],
                (role == R["gchild_d"]) & male, role == R["gchild_d"],
                np.isin(role, [R["parent"], R["father"], R["mother"]]) & male,
                np.isin(role, [R["parent"], R["father"], R["mother"]]),
                role == R["grandparent"], role == R["sibling"],
            ],
            [REL[c] for c in (
                "head", "spouse", "son", "daughter", "daughter_in_law", "son_in_law", "grandson",
                "granddaughter", "daughters_son", "daughters_daughter", "father", "mother",
                "grandparent", "sibling",
            )],
            REL["other"],
        ).astype(np.int8)
        # A parent of a female head's husband is 之公婆, of a male head's wife 之岳父母: the
        # templates only draw the head's own parents, so those two codes come from 'other' here.
        self.m_hh, self.m_role, self.m_relation, self.m_male = hh, role, relation, male
        self.m_count = m
        self._names(hh, role, male)
        self._status(role, age)
        self._identity_numbers(age, male, role)
        self._member_attributes()

    def _names(self, hh, role, male) -> None:
        rng, n, m = self.rng, self.n, self.m_count
        weights = np.array([w for _, w in W.SURNAMES], dtype=float)
        surnames = pl.Series([s for s, _ in W.SURNAMES])
        draw = lambda k: rng.choice(len(weights), k, p=weights / weights.sum())  # noqa: E731
        s1, s2, s3 = draw(n), draw(n), draw(n)
        own = draw(m)
        family = np.where(self.h_head_male, s1, s2)[hh]  # children carry the father's surname
        paternal = np.isin(role, [R["child"], R["son"], R["daughter"], R["gchild_s"]])
        surname = np.select(
            [
                role == R["head"],
                role == R["spouse"],
                paternal,
                np.isin(role, [R["sil"], R["gchild_d"]]),
                np.isin(role, [R["parent"], R["father"], R["grandparent"], R["sibling"]]) & male,
                role == R["sibling"],
            ],
            [s1[hh], s2[hh], family, s3[hh], s1[hh], s1[hh]],
            own,
        )
        male_chars = pl.Series(list(W.MALE_CHARS))
        female_chars = pl.Series(list(W.FEMALE_CHARS))
        chars = pl.concat([male_chars, female_chars])
        pick = lambda: np.where(  # noqa: E731
            male, rng.integers(0, len(male_chars), m), len(male_chars) + rng.integers(0, len(female_chars), m)
        )
        first, second = pick(), pick()
        two = pl.Series(rng.random(m) < 0.72)  # most given names have two characters
        name = surnames.gather(surname) + chars.gather(first)
        self.m_name = pl.select(
            pl.when(two).then(name + chars.gather(second)).otherwise(name).alias("name")
        ).to_series()

    def _status(self, role, age) -> None:
        rng, m = self.rng, self.m_count
        r = rng.random(m)
        deceased = (role != R["head"]) & (r < 0.004 + 0.03 * (age >= 70))
        moved = (role != R["head"]) & ~deceased & (rng.random(m) < np.where((age >= 18) & (age <= 40), 0.02, 0.003))
        self.m_status = np.select([deceased, moved], [STATUS["deceased"], STATUS["moved_out"]], STATUS["normal"]).astype(np.int8)
        self.m_normal = self.m_status == STATUS["normal"]

    def _identity_numbers(self, age, male, role) -> None:
        """18-digit IDs: county prefix (some married-in spouses from other counties of the city),
        birth date agreeing with the age, odd/even sequence digit by sex, GB 11643 check digit.
        A few extra people who live in no household are drawn in the same pass (IDs that the
        department feeds carry but the registry lacks), so all IDs are unique together."""
        rng, m = self.rng, self.m_count
        self.n_strangers = int(np.clip(round(self.n / 2000), 3, 50))
        k = self.n_strangers
        age = np.concatenate([age, _uniform_int(rng, 20, 75, k)])
        male = np.concatenate([male, rng.random(k) < 0.5])
        total = m + k
        others = [
            c for c in (f"{self.county[:4]}{i:02d}" for i in range(1, 100))
            if c != self.county and not c.endswith("00") and region_codes.is_known_county(c)
        ]
        prefix = np.full(total, int(self.county), dtype=np.int64)
        if others:
            married_in = np.concatenate([np.isin(role, [R["spouse"], R["dil"], R["sil"]]), np.zeros(k, bool)])
            from_elsewhere = married_in & (rng.random(total) < 0.15)
            prefix = np.where(from_elsewhere, np.array([int(c) for c in others])[rng.integers(0, len(others), total)], prefix)
        # Birth date: `age` full years before the reference date, plus 0-364 days.
        days_back = np.floor((age + rng.random(total) * 0.997) * 365.2425).astype(np.int64)
        born = self.ref_day - days_back
        y = born.astype("datetime64[Y]").astype(np.int64) + 1970
        mo = (born.astype("datetime64[M]") - born.astype("datetime64[Y]")).astype(np.int64) + 1
        d = (born - born.astype("datetime64[M]")).astype(np.int64) + 1
        ymd = y * 10000 + mo * 100 + d
        key = prefix * 100_000_000 + ymd
        # Sequence digits: unique within (prefix, birth date, sex), odd for men and even for women.
        frame = pl.DataFrame({"key": key, "male": male, "u": rng.random(total)})
        rank = frame.select(
            (pl.col("u").rank("ordinal").over(["key", "male"]) - 1).cast(pl.Int64).alias("r"),
            pl.len().over(["key", "male"]).cast(pl.Int64).alias("g"),
        )
        r, g = rank["r"].to_numpy(), rank["g"].to_numpy()
        if int(g.max(initial=0)) > 500:
            raise GenerationError("同一出生日期的人数过多,无法生成唯一的证件号码")
        offset = (key * 7919 + 13 * male) % (501 - g)
        seq = 2 * (r + offset) + male.astype(np.int64)
        first17 = key * 1000 + seq
        check = pl.DataFrame({"f": first17}).select(check_digit_expr(pl.col("f"))).to_series()
        ids = pl.Series(first17).cast(pl.String).str.zfill(17) + check
        self.m_id = ids[:m].alias("id_number")
        self.stranger_ids = ids[m:]
        ref_md = self.ref.month * 100 + self.ref.day
        real_age = self.ref.year - y - ((mo * 100 + d) > ref_md)
        self.m_age = real_age[:m]

    def _member_attributes(self) -> None:
        rng, m, age = self.rng, self.m_count, self.m_age
        lifted = self.h_lifted[self.m_hh]
        r = lambda: rng.random(m)  # noqa: E731
        # Health: chronic illness and disability rise with age; the poor are more often disabled.
        chronic = r() < np.select([age >= 65, age >= 50, age >= 18], [0.30, 0.16, 0.04], 0.01)
        serious = r() < np.select([age >= 60, age >= 40], [0.03, 0.015], 0.004)
        disabled = r() < np.where(lifted, 1.6, 0.8) * np.select([age >= 60, age >= 18], [0.07, 0.03], 0.012)
        grade = np.where(disabled, rng.choice(4, m, p=[0.12, 0.23, 0.32, 0.33]) + 1, 0)
        kind = rng.choice(len(DISABILITY_KINDS), m, p=[0.12, 0.12, 0.03, 0.45, 0.10, 0.10, 0.08]).astype(np.int8)
        self.m_chronic, self.m_serious, self.m_disabled = chronic, serious, disabled
        self.m_grade = grade
        self.m_kind = kind  # index into DISABILITY_KINDS
        mind = np.isin(kind, [DISABILITY_KINDS.index("intellectual"), DISABILITY_KINDS.index("mental")])
        severe = disabled & ((grade <= 2) | ((grade == 3) & mind))
        self.m_severe = severe

        # Schooling by age.
        sch = np.full(m, S["not_in_school"])
        sch = np.where((age >= 3) & (age <= 5) & (r() < 0.85), S["preschool"], sch)
        sch = np.where(age == 6, np.where(r() < 0.5, S["primary"], S["preschool"]), sch)
        sch = np.where((age >= 7) & (age <= 12), S["primary"], sch)
        sch = np.where((age >= 13) & (age <= 15), S["junior"], sch)
        high = rng.choice(3, m, p=[0.60, 0.28, 0.12])
        sch = np.where((age >= 16) & (age <= 18), np.array([S["senior"], S["secondary_vocational"], S["not_in_school"]])[high], sch)
        uni = rng.choice(3, m, p=[0.22, 0.20, 0.58])
        sch = np.where((age >= 19) & (age <= 22), np.array([S["bachelor"], S["higher_vocational"], S["not_in_school"]])[uni], sch)
        sch = np.where((age >= 23) & (age <= 26) & (r() < 0.03), S["master_plus"], sch)
        sch = np.where((age >= 7) & (age <= 16) & (r() < 0.002), S["dropout"], sch)
        sch = np.where(disabled & (grade == 1) & (age >= 7) & (age <= 18), S["not_in_school"], sch)
        self.m_schooling = sch
        student = np.isin(sch, STUDENT_LEVELS)

        # Labour by age and health.
        lab = np.full(m, L["ordinary"])
        lab = np.where(r() < 0.22, L["skilled"], lab)
        lab = np.where(r() < 0.05, L["weak"], lab)
        old = rng.choice(3, m, p=[0.35, 0.45, 0.20])
        lab = np.where((age >= 60) & (age < 70), np.array([L["ordinary"], L["weak"], L["lost"]])[old], lab)
        lab = np.where(age >= 70, np.where(r() < 0.55, L["lost"], L["weak"]), lab)
        lab = np.where(serious | (disabled & (grade <= 2)), np.where(r() < 0.6, L["lost"], L["weak"]), lab)
        lab = np.where(disabled & (grade >= 3) & (lab == L["skilled"]), L["ordinary"], lab)
        lab = np.where((age < 16) | student, L["none"], lab)
        self.m_labor = lab
        able = np.isin(lab, [L["ordinary"], L["skilled"]])
        self.m_able = able

        # Months worked away from the farm, and the monthly wage.
        works = able & (age >= 16) & (age <= 64) & (r() < 0.8)
        months = np.where(works, rng.choice(np.arange(3, 13), m, p=[.03, .04, .05, .06, .07, .09, .12, .16, .18, .20]), 0)
        weak_works = (lab == L["weak"]) & (age < 70) & (r() < 0.3)
        months = np.where(weak_works, _uniform_int(rng, 1, 8, m), months)
        self.m_months = months
        monthly = np.select(
            [lab == L["skilled"], lab == L["ordinary"]],
            [_uniform_int(rng, 420, 800, m), _uniform_int(rng, 260, 480, m)],
            _uniform_int(rng, 140, 260, m),
        ) * 10
        self.m_monthly_wage = monthly
        self.m_insured = r() >= 0.015
        self.m_student = student

    # ---------------------------------------------------------------- incomes
    def _hh_sum(self, values: np.ndarray) -> np.ndarray:
        """Exact per-household sums of a member array (members are stored household by household)."""
        return np.add.reduceat(np.asarray(values, dtype=np.int64), self.h_start) if self.n else np.zeros(0, np.int64)

    def _incomes(self) -> None:
        rng, n, m = self.rng, self.n, self.m_count
        normal = self.m_normal
        hh = self.m_hh
        age = self.m_age
        self.h_normal = self._hh_sum(normal)

        wage = self._hh_sum(normal * self.m_months * self.m_monthly_wage)
        at_home = normal & np.isin(self.m_labor, [L["ordinary"], L["skilled"], L["weak"]]) & (age >= 16) & (age <= 75)
        farm_year = np.where(self.m_labor == L["weak"], _uniform_int(rng, 1500, 6000, m), _uniform_int(rng, 4000, 14000, m))
        farm = self._hh_sum(at_home * (12 - self.m_months) * farm_year // 12)
        big = rng.random(n) < 0.07
        big_business = np.where(big, _uniform_int(rng, 15000, 120000, n), 0)
        business = farm + big_business
        business_cost = _pct(farm, _uniform_int(rng, 15, 40, n)) + _pct(big_business, _uniform_int(rng, 25, 60, n))
        property_income = np.where(rng.random(n) < 0.35, _uniform_int(rng, 200, 3000, n), 0)

        # County-wide monthly rates (yuan, in fen): basic pension, disability care and living allowances,
        # 特困 support. Drawn once so every household of the county gets the same rates.
        pension_month = int(rng.integers(150, 231)) * 100 + int(rng.choice([0, 50]))
        care_month = int(rng.integers(80, 121)) * 100
        living_month = int(rng.integers(60, 101)) * 100
        tekun_month = int(rng.integers(600, 901)) * 100
        self.rates = dict(pension=pension_month, care=care_month, living=living_month, tekun=tekun_month)
        elderly = normal & (age >= 60)
        pension = self._hh_sum(elderly) * 12 * pension_month
        # Support from children and relatives living elsewhere (赡养费, 亲友赠送), mostly to households
        # where nobody earns a wage.
        all_elderly = self._hh_sum(normal & (age < 60)) == 0
        no_wage = wage == 0
        support = np.where(
            (all_elderly | no_wage) & (rng.random(n) < np.where(all_elderly, 0.9, 0.7)), _uniform_int(rng, 3000, 10000, n), 0
        )
        farmland = np.where(rng.random(n) < 0.85, _uniform_int(rng, 80, 700, n), 0)

        # 特困: alone, old or severely disabled, unable to work, poor. 低保: the poorest by income.
        pre_transfer = wage + business - business_cost + property_income + pension // 100 + support
        size = np.maximum(self.h_normal, 1)
        pre_pc = pre_transfer // size
        unable = normal & np.isin(self.m_labor, [L["weak"], L["lost"], L["none"]])
        old_or_severe_lost = normal & ((age >= 60) | self.m_severe) & (self.m_labor == L["lost"])
        severe_unable = normal & self.m_severe & unable
        tekun_fit = (self.h_normal == 1) & (self._hh_sum(old_or_severe_lost | severe_unable) > 0)
        tekun_h = tekun_fit & (pre_pc < 8000) & (rng.random(n) < 0.45)
        hardship_member = self._hh_sum(normal & (self.m_serious | self.m_severe)) > 0
        p_dibao = np.select([pre_pc < 3500, pre_pc < 5000, pre_pc < 7000, pre_pc < 10000], [0.55, 0.35, 0.12, 0.03], 0.004)
        p_dibao = p_dibao * np.where(self.h_lifted, 1.4, 0.8) * np.where(hardship_member, 1.6, 1.0)
        dibao_h = ~tekun_h & (rng.random(n) < np.minimum(p_dibao, 0.9))
        whole = rng.random(n) < 0.8  # the whole household, else one member alone (单人保)
        first_normal = self._first_member_where(normal)
        # the single member is the one most in need: prefer a seriously ill or severely disabled member
        need = normal & (self.m_serious | self.m_severe)
        needy_first = self._first_member_where(need)
        single = np.where(needy_first >= 0, needy_first, first_normal)
        m_dibao = normal & dibao_h[hh] & whole[hh]
        single_pick = np.zeros(m, bool)
        idx = single[dibao_h & ~whole]
        single_pick[idx] = True
        m_dibao |= single_pick
        self.m_dibao = m_dibao
        self.m_tekun = normal & tekun_h[hh]
        self.h_dibao = dibao_h
        self.h_tekun = tekun_h

        dibao_payment = self._hh_sum(m_dibao) * 12 * _uniform_int(rng, 150, 420, n) * 100
        tekun_payment = self._hh_sum(self.m_tekun) * 12 * tekun_month
        disabled_normal = normal & self.m_disabled
        needs_living = (self.h_lifted | dibao_h | tekun_h)[hh]
        disability = self._hh_sum(
            disabled_normal * ((self.m_grade <= 2) * 12 * care_month + needs_living * 12 * living_month)
        )
        guaranteed = np.where(self.h_lifted & (rng.random(n) < 0.45), _uniform_int(rng, 300, 1500, n), 0)
        veteran = np.where(rng.random(n) < 0.005, _uniform_int(rng, 4000, 25000, n), 0)

        # Medical and schooling costs, insurance payouts, other rigid spending.
        serious = normal & self.m_serious
        oop_member = np.select(
            [serious, normal & self.m_chronic],
            [np.exp(rng.normal(np.log(16000), 0.55, m)).astype(np.int64), _uniform_int(rng, 100, 1500, m)],
            0,
        )
        compliant_oop = self._hh_sum(oop_member) + np.where(rng.random(n) < 0.08, _uniform_int(rng, 20, 600, n), 0)
        ill = self._hh_sum(serious) > 0
        claims = np.where(ill & (rng.random(n) < 0.45), _uniform_int(rng, 2000, 20000, n), 0)
        claims += np.where(rng.random(n) < 0.015, _uniform_int(rng, 1000, 15000, n), 0)
        edu_member = np.zeros(m, dtype=np.int64)
        for level, (lo, hi) in EDUCATION_COST.items():
            edu_member = np.where(self.m_schooling == S[level], _uniform_int(rng, lo, hi, m), edu_member)
        education = self._hh_sum(normal * edu_member)
        rigid_other = np.select(
            [rng.random(n) < 0.004, rng.random(n) < 0.03], [_uniform_int(rng, 15000, 50000, n), _uniform_int(rng, 1000, 12000, n)], 0
        )

        # Previous year: incomes a little lower (growth), except for households whose income fell.
        shock = rng.random(n)
        has_market = (wage + business) > 0
        big_drop = has_market & (shock < 0.012)
        drop = has_market & ~big_drop & (shock < 0.08)
        growth = _uniform_int(rng, 86, 102, n)
        prev_pct = np.select([big_drop, drop], [_uniform_int(rng, 230, 600, n), _uniform_int(rng, 112, 145, n)], growth)
        wage_share = wage * 2 > business
        prev_wage = _pct(wage, np.where(~(big_drop | drop) | wage_share, prev_pct, growth))
        prev_business = _pct(business, np.where(~(big_drop | drop) | ~wage_share, prev_pct, growth))
        prev_cost = _pct(prev_business, _uniform_int(rng, 25, 60, n))
        # Households that left 低保 this year (曾享受低保特困): a payment last year, none now.
        self.h_former = ~dibao_h & ~tekun_h & (rng.random(n) < np.where(self.h_lifted, 0.03, 0.008))
        prev_dibao_payment = np.where(self.h_former, self.h_normal * 12 * _uniform_int(rng, 150, 400, n) * 100, dibao_payment)
        prev_pension = self._hh_sum(elderly) * 12 * (pension_month - 500)

        to_fen = lambda v: _fen(rng, v)  # noqa: E731
        cur = {
            "wage": to_fen(wage), "business_income": to_fen(business), "business_cost": to_fen(business_cost),
            "property_income": to_fen(property_income), "basic_pension": pension, "veteran_benefits": veteran * 100,
            "disability_allowances": disability, "guaranteed_dividend": guaranteed * 100,
            "dibao_payment": dibao_payment, "tekun_payment": tekun_payment,
            "insurance_claims": to_fen(claims), "compliant_oop": to_fen(compliant_oop),
            "education_expense": to_fen(education), "other_rigid_expense": rigid_other * 100,
        }
        other_transfer = to_fen(support + farmland)
        prev_other = to_fen(_pct(support + farmland, _uniform_int(rng, 90, 100, n)))
        prev = {
            "wage": to_fen(prev_wage), "business_income": to_fen(prev_business), "business_cost": to_fen(prev_cost),
            "property_income": to_fen(_pct(property_income, _uniform_int(rng, 85, 105, n))),
            "basic_pension": prev_pension, "veteran_benefits": veteran * 100, "disability_allowances": disability,
            "guaranteed_dividend": _pct(guaranteed, _uniform_int(rng, 90, 110, n)) * 100,
            "dibao_payment": prev_dibao_payment, "tekun_payment": tekun_payment,
            "insurance_claims": to_fen(np.where(ill & (rng.random(n) < 0.3), _uniform_int(rng, 1000, 10000, n), 0)),
            "compliant_oop": to_fen(np.where(ill, _pct(compliant_oop, _uniform_int(rng, 20, 100, n)), _pct(compliant_oop, _uniform_int(rng, 50, 120, n)))),
            "education_expense": to_fen(_pct(education, _uniform_int(rng, 80, 100, n))),
            "other_rigid_expense": np.where(rng.random(n) < 0.02, _uniform_int(rng, 1000, 8000, n), 0) * 100,
        }
        for values, other in ((cur, other_transfer), (prev, prev_other)):
            values["transfer_income"] = other + sum(values[k] for k in (
                "basic_pension", "veteran_benefits", "disability_allowances", "guaranteed_dividend",
                "dibao_payment", "tekun_payment"))
        net = lambda v: v["wage"] + v["business_income"] - v["business_cost"] + v["property_income"] + v["transfer_income"]  # noqa: E731
        self.cur, self.prev = cur, prev
        self.cur_net, self.prev_net = net(cur), net(prev)
        self.has_prev = rng.random(n) >= 0.01
        fell = self.has_prev & (self.cur_net < self.prev_net)

        # Reasons for the decline, matching what fell.
        reason_wage = np.where(rng.random(n) < 0.8, "4", "5")
        reason_business = np.select([rng.random(n) < 0.25, rng.random(n) < 0.4], ["8", "2"], "1")
        reason_other = rng.choice(["3", "7", "9", "10"], n)
        wage_fell = cur["wage"] < prev["wage"] * 9 // 10
        business_fell = (cur["business_income"] - cur["business_cost"]) < (prev["business_income"] - prev["business_cost"]) * 9 // 10
        dibao_stopped = self.h_former & fell
        frame = pl.DataFrame({
            "fell": fell, "wage_fell": wage_fell, "business_fell": business_fell, "dibao_stopped": dibao_stopped,
            "other": rng.random(n) < 0.7, "rw": reason_wage, "rb": reason_business, "ro": reason_other,
        })
        frame = frame.select(
            w=pl.when(pl.col("fell") & pl.col("wage_fell")).then(pl.col("rw")),
            b=pl.when(pl.col("fell") & pl.col("business_fell")).then(pl.col("rb")),
            d=pl.when(pl.col("dibao_stopped")).then(pl.lit("6")),
            o=pl.when(pl.col("fell") & ~pl.col("wage_fell") & ~pl.col("business_fell") & ~pl.col("dibao_stopped")
                      & pl.col("other")).then(pl.col("ro")),
        )
        order = C.DECLINE_REASON.order()
        self.cur_reasons = frame.select(
            pl.concat_list(["w", "b", "d", "o"]).list.drop_nulls().list.unique()
            .list.eval(pl.element().sort_by(pl.element().replace_strict(order, return_dtype=pl.Int64)))
            .alias("decline_reasons")
        )["decline_reasons"]

        monitoring_income = self.cur_net + cur["insurance_claims"] - cur["compliant_oop"]
        self.per_capita = monitoring_income // np.maximum(self.h_normal, 1)  # fen, a guide for drawing only
        rigid = cur["compliant_oop"] + cur["education_expense"] + cur["other_rigid_expense"]
        base = np.where(self.has_prev, self.prev_net, self.cur_net)
        self.h_hardship = (rigid > base) | (self.has_prev & (self.cur_net * 2 < self.prev_net))

    def _first_member_where(self, mask: np.ndarray) -> np.ndarray:
        """Per household, the index of the first member where mask holds, or -1."""
        idx = np.where(mask, np.arange(self.m_count), np.iinfo(np.int64).max)
        first = np.minimum.reduceat(idx, self.h_start) if self.n else np.zeros(0, np.int64)
        return np.where(first == np.iinfo(np.int64).max, -1, first)

    # ---------------------------------------------------------------- monitoring
    def _monitoring(self) -> None:
        rng, n = self.rng, self.n
        normal = self.m_normal
        pc = self.per_capita
        ill = self._hh_sum(normal & self.m_serious) > 0
        severe = self._hh_sum(normal & self.m_severe) > 0
        weight = (
            0.15 + 6.0 * (pc < 600_000) + 2.0 * (pc < 800_000) + 3.0 * self.h_hardship + 1.5 * (ill | severe)
            + 0.6 * self.h_lifted + 1.0 * self.h_dibao + 4.0 * ~(self.h_housing_safe & self.h_water_safe)
        )
        k = min(n, max(1, round(0.05 * n)))
        keys = np.log(rng.random(n)) / weight  # weighted sampling without replacement (Efraimidis-Spirakis)
        chosen = np.argpartition(-keys, k - 1)[:k] if n else np.zeros(0, np.int64)
        monitored = np.zeros(n, bool)
        monitored[chosen] = True
        self.h_monitored = monitored
        sudden = monitored & (((pc >= 600_000) & self.h_hardship & (rng.random(n) < 0.6)) | (rng.random(n) < 0.06))
        category = np.where(sudden, "sudden_hardship", np.where(self.h_lifted, "unstable_lifted", "marginal"))
        self.h_category = pl.select(pl.when(pl.Series(monitored)).then(pl.Series(category))).to_series()
        ref = self.ref_day
        identified = ref - _uniform_int(rng, 45, 3 * 365, n).astype("timedelta64[D]")
        age_days = (ref - identified).astype(np.int64)
        eliminated = monitored & (age_days >= 240) & (rng.random(n) < np.where(pc >= 700_000, 0.6, 0.2))
        span = np.maximum(age_days - 180, 1)
        eliminated_on = identified + (180 + (rng.random(n) * span).astype(np.int64)).astype("timedelta64[D]")
        self.h_identified = np.where(monitored, identified, np.datetime64("NaT"))
        self.h_eliminated = np.where(eliminated, eliminated_on, np.datetime64("NaT"))
        self.h_is_eliminated = eliminated

        # Visits: monitored households about monthly (some overdue), eliminated about half-yearly,
        # 脱贫户 about yearly, others rarely on record.
        back = np.select(
            [monitored & ~eliminated, eliminated, self.h_lifted],
            [_uniform_int(rng, 0, 50, n), _uniform_int(rng, 0, 240, n), _uniform_int(rng, 0, 420, n)],
            _uniform_int(rng, 0, 700, n),
        )
        visited = np.where(monitored, rng.random(n) < 0.9, rng.random(n) < np.where(self.h_lifted, 0.75, 0.05))
        visit = ref - back.astype("timedelta64[D]")
        visit = np.where(monitored, np.maximum(visit, identified), visit)
        self.h_visit = np.where(visited, visit, np.datetime64("NaT"))

        # Declared risks of monitored households, from their data (at least one).
        student_hh = self._hh_sum(normal & self.m_student & (self.m_schooling >= S["senior"])) > 0
        dropout = self._hh_sum(normal & (self.m_schooling == S["dropout"])) > 0
        no_labor = self._hh_sum(normal & self.m_able) == 0
        uninsured = self._hh_sum(normal & ~self.m_insured) > 0
        wage_fell = self.has_prev & (self.cur["wage"] * 10 < self.prev["wage"] * 9)
        business_fell = self.has_prev & (self.cur["business_income"] * 10 < self.prev["business_income"] * 9)
        fallback = rng.choice(["R07", "R05", "R06", "R04", "R99"], n, p=[0.4, 0.2, 0.15, 0.15, 0.1])
        flags = {
            "R01": ill, "R02": student_hh | dropout, "R03": severe, "R04": business_fell & (rng.random(n) < 0.3),
            "R06": business_fell & (rng.random(n) < 0.3), "R07": wage_fell, "R08": no_labor,
            "R09": ~self.h_housing_safe, "R10": dropout, "R11": uninsured, "R12": ~self.h_water_safe,
        }
        frame = pl.DataFrame({code: monitored & flag for code, flag in flags.items()})
        any_flag = np.zeros(n, bool)
        for flag in flags.values():
            any_flag |= flag
        risks = frame.select(
            pl.concat_list([pl.when(pl.col(c)).then(pl.lit(c)) for c in flags]).list.drop_nulls().alias("r")
        )["r"]
        extra = pl.select(
            pl.when(pl.Series(monitored & ~any_flag)).then(pl.Series(fallback)).alias("x")
        ).to_series()
        order = C.RISK.order()
        self.h_risks = (
            pl.DataFrame({"r": risks, "x": extra})
            .select(
                pl.concat_list([pl.col("r"), pl.col("x")]).list.drop_nulls().list.unique()
                .list.eval(pl.element().sort_by(pl.element().replace_strict(order, return_dtype=pl.Int64)))
                .alias("declared_risks")
            )["declared_risks"]
        )

    def _negative_list(self) -> None:
        rng, n, m = self.rng, self.n, self.m_count
        rich = self.per_capita >= 4_000_000
        self.h_nl = {}
        for field, share in HOUSEHOLD_NL_SHARES.items():
            boost = np.where(rich, 6.0, 1.0) if field in ("nl_car", "nl_town_house", "nl_large_deposits", "nl_company") else 1.0
            self.h_nl[field] = rng.random(n) < share * boost
        adult = self.m_normal & (self.m_age >= 22) & (self.m_age <= 60) & ~self.m_student
        self.m_payroll = adult & (rng.random(m) < 0.0015)
        heads_wanted = len(self.village_codes)
        eligible = adult & (self.m_age >= 30) & self.m_able
        p = min(1.0, heads_wanted / max(int(eligible.sum()), 1))
        self.m_village_head = eligible & (rng.random(m) < p)

    # ---------------------------------------------------------------- measures
    def _measures(self) -> pl.DataFrame:
        from fangfan.registry.synthetic_feeds import MEASURE_CONTENT

        rng = self.rng
        monitored = np.flatnonzero(self.h_monitored)
        wanted_by_risk = {
            "R01": ["M05"], "R02": ["M06", "M07"], "R03": ["M08"], "R04": ["M14", "M01"], "R05": ["M08"],
            "R06": ["M01", "M03"], "R07": ["M02", "M04"], "R08": ["M08", "M04"], "R09": ["M09"], "R10": ["M06"],
            "R11": ["M05"], "R12": ["M10"], "R99": ["M11"],
        }
        risks = self.h_risks.gather(monitored).to_list()
        rows: dict[str, list] = {k: [] for k in ("household_id", "measure_code", "content", "started_on", "status", "responsible_unit")}
        ids = self.household_ids.gather(monitored).to_list()
        ref = self.ref
        draws = rng.random((len(monitored), 8))
        for row, h in enumerate(monitored):
            u = draws[row]
            codes: list[str] = []
            for risk in risks[row]:
                for code in wanted_by_risk.get(risk, []):
                    if code not in codes:
                        codes.append(code)
            # development-type assistance (开发式帮扶) for most households with labour
            extra = "M01" if u[0] < 0.5 else ("M02" if u[0] < 0.8 else "M03")
            if (self.h_lifted[h] or u[1] < 0.6) and extra not in codes:
                codes.append(extra)
            codes = codes[: 1 + int(u[2] * 4)]
            identified = self.h_identified[h].astype(dt.date)
            eliminated = self.h_eliminated[h]
            latest = eliminated.astype(dt.date) if not np.isnat(eliminated) else ref
            span = max((latest - identified).days - 3, 1)
            for j, code in enumerate(codes):
                # within three months of identification (篇二: a plan within 10 days, then carried out)
                started = identified + dt.timedelta(days=3 + int(u[3 + j % 5] * min(span, 90)))
                if started > latest:
                    started = latest
                age = (ref - started).days
                if not np.isnat(eliminated):
                    status = "done"
                elif age >= 180:
                    status = "done" if u[(4 + j) % 8] < 0.8 else "in_progress"
                elif age >= 30:
                    status = "in_progress" if u[(4 + j) % 8] < 0.6 else "done"
                else:
                    status = "planned" if u[(4 + j) % 8] < 0.6 else "in_progress"
                options = MEASURE_CONTENT[code]
                content, unit = options[int(u[(5 + j) % 8] * len(options)) % len(options)]
                rows["household_id"].append(ids[row])
                rows["measure_code"].append(code)
                rows["content"].append(content)
                rows["started_on"].append(started)
                rows["status"].append(status)
                rows["responsible_unit"].append(unit)
        return pl.DataFrame(
            rows,
            schema={"household_id": pl.String, "measure_code": pl.String, "content": pl.String,
                    "started_on": pl.Date, "status": pl.String, "responsible_unit": pl.String},
        )

    # ---------------------------------------------------------------- frames
    def _household_frame(self) -> pl.DataFrame:
        rng, n = self.rng, self.n
        phone_ok = rng.random(n) < 0.85
        phone = pl.Series(np.array(["13", "15", "18", "17", "19"])[rng.integers(0, 5, n)]) + pl.Series(
            rng.integers(0, 1_000_000_000, n)
        ).cast(pl.String).str.zfill(9)
        date = lambda a: pl.Series(a.astype("datetime64[D]")).cast(pl.Date)  # noqa: E731
        data = {
            "household_id": self.household_ids,
            "village_code": pl.Series(self.village_codes[self.h_village]),
            "household_type": pl.Series(np.where(self.h_lifted, "lifted", "ordinary")),
            "phone": phone.zip_with(pl.Series(phone_ok), pl.Series([None] * n, dtype=pl.String)),
            "relocated": pl.Series(self.h_relocated),
            "housing_safe": pl.Series(self.h_housing_safe),
            "water_safe": pl.Series(self.h_water_safe),
            "category": self.h_category,
            "identified_on": date(self.h_identified),
            "eliminated_on": date(self.h_eliminated),
            "declared_risks": self.h_risks,
            "former_dibao_tekun": pl.Series(self.h_former),
            "last_visit_on": date(self.h_visit),
        }
        for field in C.HOUSEHOLD_NEGATIVE_FIELDS:
            data[field] = pl.Series(self.h_nl[field])
        return pl.DataFrame(data)

    def _member_frame(self) -> pl.DataFrame:
        """Sorted by ID number (the table key); built a column at a time to keep a million-household
        county within memory."""
        disabled = pl.Series(self.m_disabled)
        codes = lambda values, codelist: pl.Series(codelist).gather(values)  # noqa: E731

        def health() -> pl.Series:
            flags = pl.DataFrame({"chronic": self.m_chronic, "serious": self.m_serious, "disabled": self.m_disabled})
            listed = flags.select(
                pl.concat_list([
                    pl.when(pl.col("chronic")).then(pl.lit("chronic")),
                    pl.when(pl.col("serious")).then(pl.lit("serious_illness")),
                    pl.when(pl.col("disabled")).then(pl.lit("disabled")),
                ]).list.drop_nulls().alias("h")
            )["h"]
            return pl.select(
                pl.when(listed.list.len() == 0).then(pl.lit(["healthy"], dtype=pl.List(pl.String))).otherwise(listed)
            ).to_series()

        columns = {
            "household_id": lambda: self.household_ids.gather(self.m_hh),
            "name": lambda: self.m_name,
            "id_number": lambda: self.m_id,
            "relation": lambda: codes(self.m_relation, C.RELATION.codes),
            "status": lambda: codes(self.m_status, C.MEMBER_STATUS.codes),
            "health": health,
            "disability_grade": lambda: pl.select(pl.when(disabled).then(pl.Series(self.m_grade).cast(pl.String))).to_series(),
            "disability_kind": lambda: pl.select(pl.when(disabled).then(codes(self.m_kind, DISABILITY_KINDS))).to_series(),
            "labor": lambda: codes(self.m_labor, LABOR),
            "schooling": lambda: codes(self.m_schooling, SCHOOLING),
            "months_worked": lambda: pl.Series(self.m_months, dtype=pl.Int64),
            "medical_insurance": lambda: pl.Series(self.m_insured),
            "dibao": lambda: pl.Series(self.m_dibao),
            "tekun": lambda: pl.Series(self.m_tekun),
            "nl_public_payroll": lambda: pl.Series(self.m_payroll),
            "nl_village_head": lambda: pl.Series(self.m_village_head),
        }
        order = self.m_id.arg_sort()
        return pl.DataFrame([make().gather(order).alias(name) for name, make in columns.items()])

    def _income_frame(self) -> pl.DataFrame:
        from fangfan.common.tables import INCOMES

        money = [c.key for c in INCOMES.columns if c.kind == "money"]
        cur = pl.DataFrame({"household_id": self.household_ids, "year": pl.Series([self.year] * self.n, dtype=pl.Int64),
                            **{k: pl.Series(self.cur[k], dtype=pl.Int64) for k in money},
                            "decline_reasons": self.cur_reasons})
        keep = pl.Series(self.has_prev)
        prev = pl.DataFrame({"household_id": self.household_ids, "year": pl.Series([self.year - 1] * self.n, dtype=pl.Int64),
                             **{k: pl.Series(self.prev[k], dtype=pl.Int64) for k in money},
                             "decline_reasons": pl.Series([[]] * self.n, dtype=pl.List(pl.String))}).filter(keep)
        return pl.concat([prev, cur])
