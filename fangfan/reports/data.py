"""The registry of one region as a few compact Polars frames, read in bulk for the reports.

Each frame is one SQL query (COPY on PostgreSQL, fetch_frame), filtered by the region's code range
and, where it can be, aggregated by the database: per household the measures, visits, contacts
and warnings the reports need, never a row per household built in Python. A `Snapshot` reads each
frame once, when a report first asks for it, so running every report reads the registry once.

Money is Int64 fen; dates are pl.Date; booleans pl.Boolean. Region scope is checked before a
Snapshot is made (fangfan.reports.selectors): the Snapshot only takes the prefix it is given."""
from __future__ import annotations

import datetime as dt
from functools import cached_property

import polars as pl

from fangfan.common import pii
from fangfan.regions.scope import code_range_sql
from fangfan.registry.bulk import fetch_frame

MONEY = ("wage", "business_income", "business_cost", "property_income", "transfer_income", "dibao_payment",
         "tekun_payment", "insurance_claims", "compliant_oop")


def _decrypt_or_empty(ring: pii.KeyRing, token: str) -> str:
    try:
        return ring.decrypt(token, pii.ID_FIELD)
    except pii.DecryptError:
        return ""


def _where(column: str, prefix: str, extra: str = "") -> tuple[str, list]:
    sql, params = code_range_sql(column, prefix)
    parts = [p for p in (sql, extra) if p]
    return (" WHERE " + " AND ".join(parts) if parts else ""), params


class Snapshot:
    """The frames of the region `prefix` ('' = everything) for reports as of `as_of`."""

    def __init__(self, *, prefix: str, as_of: dt.date, year: int | None = None, params=None):
        self.prefix = prefix
        self.as_of = as_of
        self._year = year
        self._params = params

    # ---------------------------------------------------------------- parameters
    @property
    def params(self):
        if self._params is None:
            from fangfan.screening.parameters import current_parameters

            self._params = current_parameters()
        return self._params

    def village_parameters(self, names: list[str], on: dt.date | None = None) -> pl.DataFrame:
        """village_code → the parameters named, resolved in bulk for every village of the scope."""
        codes = self.regions.filter(pl.col("level") == "village").get_column("code")
        if codes.len() == 0:
            codes = self.households.get_column("village_code").unique()
        return self.params.resolve_frame(codes, on or self.as_of, names).select("village_code", *names)

    def value(self, name: str, code: str | None = None, on: dt.date | None = None):
        """A parameter for a region code or prefix (default: the report's own region; the whole
        registry reads the national value)."""
        code = self.prefix if code is None else code
        return self.params.value(name, code or "0" * 12, on or self.as_of)

    # ---------------------------------------------------------------- regions
    @cached_property
    def regions(self) -> pl.DataFrame:
        where, params = _where("code", self.prefix)
        return fetch_frame(
            f"SELECT code, level, name, delisted FROM regions_region{where}", params,
            {"code": pl.String, "level": pl.String, "name": pl.String, "delisted": pl.Boolean},
        )

    def names(self) -> dict[str, str]:
        return dict(zip(self.regions["code"].to_list(), self.regions["name"].to_list()))

    # ---------------------------------------------------------------- households and members
    @cached_property
    def households(self) -> pl.DataFrame:
        where, params = _where("village_code", self.prefix)
        return fetch_frame(
            "SELECT id AS hid, household_number, village_code, household_type, category, identified_on, "
            "eliminated_on, last_visit_on, declared_risks, nl_absent, housing_safe, water_safe "
            f"FROM registry_household{where}",
            params,
            {"hid": pl.Int64, "household_number": pl.String, "village_code": pl.String, "household_type": pl.String,
             "category": pl.String, "identified_on": pl.Date, "eliminated_on": pl.Date, "last_visit_on": pl.Date,
             "declared_risks": pl.String, "nl_absent": pl.Boolean, "housing_safe": pl.Boolean,
             "water_safe": pl.Boolean},
        ).with_columns(pl.col("category").fill_null(""), pl.col("declared_risks").fill_null(""))

    @cached_property
    def members(self) -> pl.DataFrame:
        """Every member of the region; the ID as stored (id_index, id_cipher: fangfan.common.pii),
        decrypted only by the report that checks the numbers themselves (member_id_numbers)."""
        where, params = _where("h.village_code", self.prefix)
        return fetch_frame(
            "SELECT m.household_id AS hid, m.name, m.id_index, m.id_cipher, m.birth_date, m.relation, m.status, "
            "m.health, m.labor, m.schooling, m.dibao, m.tekun "
            f"FROM registry_member m JOIN registry_household h ON h.id = m.household_id{where}",
            params,
            {"hid": pl.Int64, "name": pl.String, "id_index": pl.String, "id_cipher": pl.String, "birth_date": pl.Date,
             "relation": pl.String, "status": pl.String, "health": pl.String, "labor": pl.String,
             "schooling": pl.String, "dibao": pl.Boolean, "tekun": pl.Boolean},
        ).with_columns(pl.col("health").fill_null(""), pl.col("labor").fill_null(""))

    @cached_property
    def member_id_numbers(self) -> pl.Series:
        """The plain IDs of `members`, row for row, for the checks of the numbers themselves (Q01,
        Q08): decrypted in one pass, held in memory only. A value that does not decrypt (altered,
        or under a key no longer in the key file) comes back empty, which Q01 reports as invalid."""
        ring = pii.keyring()
        tokens = self.members.get_column("id_cipher").to_list()
        try:
            plain = ring.decrypt_all(tokens, pii.ID_FIELD)
        except pii.DecryptError:
            plain = [_decrypt_or_empty(ring, t) for t in tokens]
        return pl.Series("id_number", plain, dtype=pl.String)

    @cached_property
    def member_facts(self) -> pl.DataFrame:
        """Per household with members, aggregated by the database: 正常 persons, able-labour persons,
        whether no 正常 member has labour (M4), any 正常 member in 低保/特困, and every member recorded."""
        if "members" in self.__dict__:  # already read whole (the data-quality report): no second query
            normal = pl.col("status") == "normal"
            return self.members.group_by("hid").agg(
                pl.len().alias("recorded"), normal.sum().alias("persons"),
                (normal & pl.col("labor").is_in(["ordinary", "skilled"])).sum().alias("able"),
                (normal & ~pl.col("labor").is_in(["lost", "none"])).sum().alias("with_labor"),
                (normal & (pl.col("dibao") | pl.col("tekun"))).sum().alias("assisted_persons"),
            ).with_columns((pl.col("with_labor") == 0).alias("no_labor"),
                           (pl.col("assisted_persons") > 0).alias("assisted"))
        where, params = _where("h.village_code", self.prefix)
        normal = "m.status = 'normal'"
        return fetch_frame(
            "SELECT m.household_id AS hid, count(*) AS recorded, "
            f"sum(CASE WHEN {normal} THEN 1 ELSE 0 END) AS persons, "
            f"sum(CASE WHEN {normal} AND m.labor IN ('ordinary', 'skilled') THEN 1 ELSE 0 END) AS able, "
            f"sum(CASE WHEN {normal} AND m.labor NOT IN ('lost', 'none') THEN 1 ELSE 0 END) AS with_labor, "
            f"sum(CASE WHEN {normal} AND (m.dibao OR m.tekun) THEN 1 ELSE 0 END) AS assisted_persons "
            f"FROM registry_member m JOIN registry_household h ON h.id = m.household_id{where} "
            "GROUP BY m.household_id",
            params,
            {"hid": pl.Int64, "recorded": pl.Int64, "persons": pl.Int64, "able": pl.Int64, "with_labor": pl.Int64,
             "assisted_persons": pl.Int64},
        ).with_columns((pl.col("with_labor") == 0).alias("no_labor"), (pl.col("assisted_persons") > 0).alias("assisted"))

    # ---------------------------------------------------------------- incomes
    @property
    def year(self) -> int | None:
        """The income year reported on: the one asked for, else the latest year up to the as-of year."""
        if self._year is None:
            where, params = _where("h.village_code", self.prefix, "i.year <= %s")
            found = fetch_frame(
                "SELECT max(i.year) AS year FROM registry_incomeyear i JOIN registry_household h "
                f"ON h.id = i.household_id{where}", [*params, self.as_of.year], {"year": pl.Int64},
            )
            value = found["year"][0] if found.height else None
            self._year = int(value) if value is not None else 0
        return self._year or None

    @cached_property
    def incomes(self) -> pl.DataFrame:
        """The income rows of the report year and the year before."""
        year = self.year or 0
        where, params = _where("h.village_code", self.prefix, "i.year IN (%s, %s)")
        money = ", ".join(f"i.{c}" for c in MONEY)
        return fetch_frame(
            f"SELECT i.household_id AS hid, i.year, {money}, i.decline_reasons "
            f"FROM registry_incomeyear i JOIN registry_household h ON h.id = i.household_id{where}",
            [*params, year, year - 1],
            {"hid": pl.Int64, "year": pl.Int64, **{c: pl.Int64 for c in MONEY}, "decline_reasons": pl.String},
        ).with_columns(pl.col("decline_reasons").fill_null(""))

    # ---------------------------------------------------------------- aggregates by the database
    @cached_property
    def measure_facts(self) -> pl.DataFrame:
        """Per household with measures: counts and first start dates of the kinds the checks read."""
        where, params = _where("h.village_code", self.prefix)
        dev = "('M01','M02','M03','M04')"
        return fetch_frame(
            "SELECT m.household_id AS hid, count(*) AS measures, "
            f"min(CASE WHEN m.measure_code IN {dev} THEN m.started_on END) AS dev_first, "
            "sum(CASE WHEN m.measure_code IN ('M02','M04') THEN 1 ELSE 0 END) AS job_measures, "
            "sum(CASE WHEN m.measure_code = 'M08' THEN 1 ELSE 0 END) AS welfare_measures "
            f"FROM registry_measure m JOIN registry_household h ON h.id = m.household_id{where} "
            "GROUP BY m.household_id",
            params,
            {"hid": pl.Int64, "measures": pl.Int64, "dev_first": pl.Date, "job_measures": pl.Int64,
             "welfare_measures": pl.Int64},
        )

    def measures_by_code(self, since: dt.date, until: dt.date) -> pl.DataFrame:
        """(village_code, measure_code, households) of measures started in [since, until]."""
        where, params = _where("h.village_code", self.prefix, "m.started_on >= %s AND m.started_on <= %s")
        return fetch_frame(
            "SELECT h.village_code, m.measure_code, count(DISTINCT m.household_id) AS households "
            f"FROM registry_measure m JOIN registry_household h ON h.id = m.household_id{where} "
            "GROUP BY h.village_code, m.measure_code",
            [*params, since, until],
            {"village_code": pl.String, "measure_code": pl.String, "households": pl.Int64},
        )

    @cached_property
    def visit_facts(self) -> pl.DataFrame:
        where, params = _where("h.village_code", self.prefix, "v.visited_on <= %s")
        return fetch_frame(
            "SELECT v.household_id AS hid, max(v.visited_on) AS visited_last, count(*) AS visits "
            f"FROM workflows_visit v JOIN registry_household h ON h.id = v.household_id{where} GROUP BY v.household_id",
            [*params, self.as_of],
            {"hid": pl.Int64, "visited_last": pl.Date, "visits": pl.Int64},
        )

    def visits_between(self, since: dt.date, until: dt.date) -> pl.DataFrame:
        where, params = _where("h.village_code", self.prefix, "v.visited_on >= %s AND v.visited_on <= %s")
        return fetch_frame(
            "SELECT h.village_code, count(DISTINCT v.household_id) AS households "
            f"FROM workflows_visit v JOIN registry_household h ON h.id = v.household_id{where} GROUP BY h.village_code",
            [*params, since, until], {"village_code": pl.String, "households": pl.Int64},
        )

    @cached_property
    def contact_households(self) -> pl.DataFrame:
        """Households with a contact cadre in charge at the as-of date."""
        where, params = _where("h.village_code", self.prefix,
                               "c.assigned_on <= %s AND (c.ended_on IS NULL OR c.ended_on > %s)")
        return fetch_frame(
            "SELECT DISTINCT c.household_id AS hid "
            f"FROM workflows_contact c JOIN registry_household h ON h.id = c.household_id{where}",
            [*params, self.as_of, self.as_of], {"hid": pl.Int64},
        )

    def warnings(self, since: dt.date, until: dt.date) -> pl.DataFrame:
        """Department warnings raised in [since, until]: one row per warning (kind, place, state)."""
        where, params = _where("village_code", self.prefix, "raised_on >= %s AND raised_on <= %s")
        return fetch_frame(
            "SELECT household_id AS hid, department, kind, village_code, state, deadline, verified_on, raised_on "
            f"FROM departments_deptwarning{where}",
            [*params, since, until],
            {"hid": pl.Int64, "department": pl.String, "kind": pl.String, "village_code": pl.String,
             "state": pl.String, "deadline": pl.Date, "verified_on": pl.Date, "raised_on": pl.Date},
        )

    def closed_cases(self, since: dt.date, until: dt.date) -> pl.DataFrame:
        """(village_code, kind, cases) of rollback and removal cases approved in [since, until]."""
        where, params = _where("village_code", self.prefix,
                               "closed_on >= %s AND closed_on <= %s AND state = 'approved' "
                               "AND kind IN ('rollback', 'removal')")
        return fetch_frame(
            f"SELECT village_code, kind, count(*) AS cases FROM workflows_case{where} GROUP BY village_code, kind",
            [*params, since, until], {"village_code": pl.String, "kind": pl.String, "cases": pl.Int64},
        )

    @cached_property
    def screening(self) -> pl.DataFrame:
        """Each household's newest stored rule result up to the as-of date (low-income class, colour)."""
        where, params = _where("h.village_code", self.prefix, "r.as_of <= %s")
        frame = fetch_frame(
            "SELECT r.household_id AS hid, r.as_of, r.low_income_class, r.warning_color "
            f"FROM screening_screeningresult r JOIN registry_household h ON h.id = r.household_id{where}",
            [*params, self.as_of],
            {"hid": pl.Int64, "as_of": pl.Date, "low_income_class": pl.String, "warning_color": pl.String},
        )
        return (frame.sort("as_of").group_by("hid").agg(pl.all().last())
                .with_columns(pl.col("low_income_class").fill_null(""), pl.col("warning_color").fill_null("")))


def monitored_expr(as_of: dt.date) -> pl.Expr:
    """Monitored at the as-of date (registry.stats.monitored_q): a category, identified by then (or
    undated), not eliminated by then."""
    return ((pl.col("category") != "")
            & (pl.col("identified_on").is_null() | (pl.col("identified_on") <= as_of))
            & (pl.col("eliminated_on").is_null() | (pl.col("eliminated_on") > as_of)))


def problems_frame(snap: Snapshot) -> pl.DataFrame:
    """The problem ledger (W8) of the region: one row per problem."""
    where, params = _where("p.village_code", snap.prefix, "p.raised_on <= %s")
    return fetch_frame(
        "SELECT p.id, p.source, p.village_code, h.household_number, p.rule, p.description, p.owner, p.deadline, "
        "p.status, p.raised_on, p.closed_on FROM reports_problem p "
        f"LEFT JOIN registry_household h ON h.id = p.household_id{where}",
        [*params, snap.as_of],
        {"id": pl.Int64, "source": pl.String, "village_code": pl.String, "household_number": pl.String,
         "rule": pl.String, "description": pl.String, "owner": pl.String, "deadline": pl.Date, "status": pl.String,
         "raised_on": pl.Date, "closed_on": pl.Date},
    )


def spot_check_items(snap: Snapshot) -> pl.DataFrame:
    """The items of the latest spot check drawn up to the as-of date of each county in the region."""
    where, params = _where("i.village_code", snap.prefix, "s.as_of <= %s")
    return fetch_frame(
        "SELECT s.id AS spot_check, s.county, s.as_of, s.seed, s.ratio, s.frame_households, s.frame_sha256, "
        "i.village_code, i.township_code, h.household_number, i.result, i.note, i.checked_on "
        "FROM reports_spotcheckitem i JOIN reports_spotcheck s ON s.id = i.spot_check_id "
        f"JOIN registry_household h ON h.id = i.household_id{where}",
        [*params, snap.as_of],
        {"spot_check": pl.Int64, "county": pl.String, "as_of": pl.Date, "seed": pl.Int64, "ratio": pl.String,
         "frame_households": pl.Int64, "frame_sha256": pl.String, "village_code": pl.String,
         "township_code": pl.String, "household_number": pl.String, "result": pl.String, "note": pl.String,
         "checked_on": pl.Date},
    ).with_columns(pl.col("result").fill_null(""), pl.col("note").fill_null(""))
