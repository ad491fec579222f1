"""The rules engine: parameters as data, rules, calculators. Pure Python + polars — no Django here."""
