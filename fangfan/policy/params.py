"""Policy parameters as data: load the YAML tree, validate it strictly, resolve by code prefix and date.

Layout (fangfan/policy/parameters/):
  base.yaml            declares every parameter once (unit, Chinese description) with its national values;
  <prefix>_<place>.yaml one file per regional profile of profiles.md: `profile: {prefix, place, source}` and
                       `values: {name: [ {start, value, source?, prefix?, note?}, ... ]}`.
Definitions live in one place so a profile can only set parameters that exist (a typo is an error, not a
silently ignored value), and each profile file is the whole of one place's policy, reviewable on its own.

Resolution: a value applies to every code that starts with its prefix ('' = national). For a code and an
as-of date, the value used is the one with the LONGEST matching prefix that has a value with start ≤ as-of;
within that prefix, the latest such start. `{follow: other.name}` is resolved for the same code and date
(elimination.income_line follows monitoring.income_line unless a profile sets its own). `null` is a real
value meaning "none" (e.g. no 低保 line): get() returns it with its source; value() returns the default.

Money is Decimal yuan (two places) in the Python API and Int64 fen in frames. Pure Python + polars: no Django.

The code is in three modules, and this one is the name callers import from (`from fangfan.policy.params
import ParameterSet`): param_types (value types, units, errors), param_loading (YAML reading and
validation, what-if and layer values) and param_resolution (ParameterSet: lookup by prefix and date,
bulk resolution to frames). Each depends only on those before it.
"""
from __future__ import annotations

# The private names (_plain, _money, …) stay importable from here for the callers that use them.
from fangfan.policy.param_loading import (  # noqa: F401
    _int,
    _Loader,
    _money,
    _parse_date,
    _ratio,
    check_prefix,
    coerce_value,
    normalise_prefix,
    parse_override,
    parse_value_text,
    read_directory,
)
from fangfan.policy.param_resolution import ParameterSet, _check_code, _load_cached  # noqa: F401
from fangfan.policy.param_types import (  # noqa: F401
    DEFAULT_DIRECTORY,
    LEVELS,
    NATIONAL,
    PREFIX_LENGTHS,
    RATIO_DTYPE,
    RATIO_SCALE,
    SCALAR_KINDS,
    UNITS,
    WHAT_IF_SOURCE,
    AwardTier,
    CampaignPhase,
    Definition,
    Follow,
    NegativeItem,
    ParameterError,
    ParamValue,
    TimeLimit,
    Unit,
    _format_value,
    _plain,
    yuan_to_fen,
)

__all__ = [
    "AwardTier",
    "CampaignPhase",
    "DEFAULT_DIRECTORY",
    "Definition",
    "Follow",
    "LEVELS",
    "NATIONAL",
    "NegativeItem",
    "PREFIX_LENGTHS",
    "ParamValue",
    "ParameterError",
    "ParameterSet",
    "RATIO_DTYPE",
    "RATIO_SCALE",
    "SCALAR_KINDS",
    "TimeLimit",
    "UNITS",
    "Unit",
    "WHAT_IF_SOURCE",
    "check_prefix",
    "coerce_value",
    "normalise_prefix",
    "parse_override",
    "parse_value_text",
    "read_directory",
    "yuan_to_fen",
]
