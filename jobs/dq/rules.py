"""Declared DQ rules per table: built-in ones for covary's tables plus ``COVARY_HOME/dq_rules.yaml``.

A rule is a mapping with ``check`` and its parameters, e.g. (YAML)::

    silver.customers:
      - {check: not_null, column: name}
      - {check: range, column: lifetime_value, min: 0}
      - {check: allowed, column: status, values: [active, merged, retired]}
      - {check: regex, column: email, pattern: '^[^@]+@[^@]+$'}
      - {check: max_null_rate, column: email, max: 0.3}
      - {check: min_rows, min: 1}
      - {check: freshness, column: updated_at, max_age_hours: 48}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from jobs.dq.errors import RuleError

CHECKS = {
    "not_null": {"column"},
    "range": {"column"},
    "allowed": {"column", "values"},
    "regex": {"column", "pattern"},
    "max_null_rate": {"column", "max"},
    "min_rows": {"min"},
    "freshness": {"column", "max_age_hours"},
    "unique": {"columns"},
}

BUILTIN: dict[str, list[dict[str, Any]]] = {
    "silver.customers": [
        {"check": "allowed", "column": "status", "values": ["active", "merged", "retired"]},
        {"check": "range", "column": "lifetime_value", "min": 0},
        {"check": "regex", "column": "email", "pattern": r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"},
        {"check": "range", "column": "record_count", "min": 0},
    ],
    "silver.products": [
        {"check": "allowed", "column": "status", "values": ["active", "merged", "retired"]},
        {"check": "range", "column": "price", "min": 0},
        {"check": "allowed", "column": "size_unit", "values": ["ml", "g"]},
    ],
    "silver.entity_crosswalk": [{"check": "range", "column": "match_probability", "min": 0, "max": 1}],
    "silver.macro_observations": [{"check": "min_rows", "min": 1}],
    "gold.series_values": [{"check": "min_rows", "min": 1}],
}


def validate(table: str, rule: dict[str, Any]) -> dict[str, Any]:
    check = rule.get("check")
    if check not in CHECKS:
        raise RuleError(f"{table}: unknown rule check {check!r}", hint=f"use one of {sorted(CHECKS)}")
    missing = CHECKS[check] - set(rule)
    if missing:
        raise RuleError(f"{table}: rule {check} needs {sorted(missing)}", hint=f"rule was {rule}")
    return rule


def rules_for(table: str, *, path: Path | None = None) -> list[dict[str, Any]]:
    """Built-in rules of ``table`` plus those declared in ``path`` (default COVARY_HOME/dq_rules.yaml)."""
    declared = list(BUILTIN.get(table, []))
    if path is None:
        from covary.settings import get_settings

        path = get_settings().home.resolve() / "dq_rules.yaml"
    if path.exists():
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise RuleError(f"cannot parse {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise RuleError(f"{path}: expected a mapping of table name -> list of rules")
        declared.extend(data.get(table) or [])
    return [validate(table, r) for r in declared]


__all__ = ["BUILTIN", "CHECKS", "rules_for", "validate"]
