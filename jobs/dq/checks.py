"""DQ checks of one Arrow table: counts, nulls, type violations, key uniqueness, freshness, ranges, drift, rules."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jobs.dq import drift
from jobs.dq.errors import RuleError

PSI_WARN, PSI_FAIL = 0.1, 0.25
KS_ALPHA, KS_MIN_D = 0.001, 0.1
_INT = re.compile(r"^[-+]?\d+$")
_FLOAT = re.compile(r"^[-+]?(\d+[.,]?\d*|\.\d+)([eE][-+]?\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
TEXT_TYPES = {"integer": _INT, "number": _FLOAT, "iso date": _DATE, "email": _EMAIL}


@dataclass
class CheckResult:
    check: str
    column: str | None
    value: float | None
    status: str
    detail: str
    threshold: float | None = None

    def row(self) -> dict[str, Any]:
        d = asdict(self)
        d["column_name"] = d.pop("column")
        return d


def _numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def _temporal(t: pa.DataType) -> bool:
    return pa.types.is_timestamp(t) or pa.types.is_date(t)


def _string(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def profile_checks(
    table: pa.Table, *, keys: tuple[str, ...] = (), nullable: dict[str, bool] | None = None, now: datetime | None = None
) -> list[CheckResult]:
    """Row count, null rates, type violations, key uniqueness, freshness and value ranges."""
    now = now or datetime.now(UTC)
    nullable = nullable or {}
    n = table.num_rows
    out = [CheckResult("row_count", None, float(n), "pass" if n else "warn", f"{n} rows")]
    for name in table.column_names:
        column = table.column(name)
        typ = column.type
        nulls = column.null_count
        if _string(typ):
            nulls += int(pc.sum(pc.equal(pc.utf8_trim_whitespace(column.cast(pa.string())), "")).as_py() or 0)
        rate = nulls / n if n else 0.0
        required = not nullable.get(name, True)
        status = "fail" if (required and nulls) else "pass"
        out.append(
            CheckResult(
                "null_rate",
                name,
                rate,
                status,
                f"{nulls} of {n} null/empty" + (" in a required column" if required and nulls else ""),
                0.0 if required else None,
            )
        )
        if _string(typ) and n:
            out.extend(_type_violations(name, column))
        if _numeric(typ) and n - column.null_count:
            values = column.cast(pa.float64())
            finite = pc.is_finite(values)
            bad = int(pc.sum(pc.fill_null(pc.invert(finite), False)).as_py() or 0)
            lo, hi = pc.min_max(pc.filter(values, pc.fill_null(finite, False))).values()
            out.append(
                CheckResult(
                    "value_range",
                    name,
                    None if hi is None else hi.as_py(),
                    "warn" if bad > 0 else "pass",
                    f"min {None if lo is None else lo.as_py()}, max {None if hi is None else hi.as_py()}"
                    + (f", {bad} NaN/inf" if bad > 0 else ""),
                )
            )
        if _temporal(typ) and n - column.null_count:
            latest = pc.max(column).as_py()
            if isinstance(latest, datetime):
                latest_dt = latest if latest.tzinfo else latest.replace(tzinfo=UTC)
            else:
                latest_dt = datetime(latest.year, latest.month, latest.day, tzinfo=UTC)
            age_h = (now - latest_dt).total_seconds() / 3600
            out.append(
                CheckResult("freshness", name, round(age_h, 3), "pass", f"newest value {latest} ({age_h:.1f} h old)")
            )
    if keys and n and all(k in table.column_names for k in keys):
        dupes = n - table.group_by(list(keys)).aggregate([]).num_rows
        out.append(
            CheckResult(
                "key_uniqueness",
                ",".join(keys),
                float(dupes),
                "fail" if dupes else "pass",
                f"{dupes} duplicate key(s) on ({', '.join(keys)})"
                + ("; deduplicate or fix the merge key" if dupes else ""),
                0.0,
            )
        )
    return out


def _type_violations(name: str, column: pa.ChunkedArray) -> list[CheckResult]:
    """Strings whose dominant type (>= 90% of values) is integer/number/ISO date/e-mail: count the rest."""
    values = [v.strip() for v in column.drop_null().to_pylist() if v is not None and v.strip()]
    if len(values) < 5:
        return []
    sample = values[:5000]
    for label, pattern in TEXT_TYPES.items():
        ok = sum(1 for v in sample if pattern.match(v))
        share = ok / len(sample)
        if share >= 0.9:
            bad = len(sample) - ok
            rate = bad / len(sample)
            examples = [v for v in sample if not pattern.match(v)][:3]
            status = "pass" if bad == 0 else ("fail" if rate > 0.05 else "warn")
            return [
                CheckResult(
                    "type_violations",
                    name,
                    rate,
                    status,
                    f"column is {label} in {share:.1%} of values; {bad} violate it"
                    + (f", e.g. {examples}" if examples else ""),
                    0.05,
                )
            ]
    return []


NOT_DISTRIBUTIONS = frozenset(
    {
        "source", "sources", "system", "dataset", "connector", "provider", "origin", "lineage", "derived_from",
        "load", "batch", "record_key", "content_hash", "payload", "raw", "entity", "location", "url", "uri",
        "path", "file", "filename", "run", "version", "seed",
    }
)  # fmt: skip
"""Column names (and ``*_<name>`` suffixes) that identify where a row came from rather than measure anything."""


def not_a_distribution(name: str) -> bool:
    """Ids, keys, hashes, lineage and source columns: comparing their distributions only flags new loads."""
    low = name.lower().lstrip("_")
    if low.endswith(("id", "ids", "_key", "_hash", "_url", "_uri", "_path")):
        return True
    return low in NOT_DISTRIBUTIONS or low.rsplit("_", 1)[-1] in NOT_DISTRIBUTIONS


def drift_checks(
    previous: pa.Table, current: pa.Table, *, skip: set[str] | frozenset[str] = frozenset()
) -> list[CheckResult]:
    """PSI and KS per numeric column, PSI over categories for low-cardinality strings, vs the previous version.

    Identifier, lineage and source columns (``skip``, and see :func:`not_a_distribution`) are not
    distributions: a new source or load changes them by design, so they are skipped.
    """
    out: list[CheckResult] = []
    for name in current.column_names:
        if name not in previous.column_names or name in skip or not_a_distribution(name):
            continue
        typ = current.column(name).type
        if _numeric(typ):
            old = np.asarray(previous.column(name).cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
            new = np.asarray(current.column(name).cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
            old, new = old[np.isfinite(old)], new[np.isfinite(new)]
            if len(old) < 10 or len(new) < 10:
                continue
            value = drift.psi(old, new)
            out.append(_psi_result(name, value, "quantile bins of the previous version"))
            d, p = drift.ks_2samp(old, new)
            drifted = p < KS_ALPHA and d >= KS_MIN_D
            out.append(
                CheckResult("drift_ks", name, d, "warn" if drifted else "pass", f"KS D={d:.3f}, p={p:.2g}", KS_MIN_D)
            )
        elif _string(typ):
            old_v = previous.column(name).to_pylist()
            new_v = current.column(name).to_pylist()
            if len(old_v) < 10 or len(set(old_v)) > 50 or len(set(new_v)) > 50:
                continue
            out.append(_psi_result(name, drift.psi_categorical(old_v, new_v), "category shares"))
    return out


def _psi_result(name: str, value: float, how: str) -> CheckResult:
    status = "fail" if value >= PSI_FAIL else ("warn" if value >= PSI_WARN else "pass")
    return CheckResult("drift_psi", name, value, status, f"PSI {value:.3f} over {how}", PSI_FAIL)


def rule_checks(table: pa.Table, rules: list[dict[str, Any]], *, now: datetime | None = None) -> list[CheckResult]:
    """Evaluate declared rules; each yields one result with the share (or count) of violating rows."""
    now = now or datetime.now(UTC)
    n = table.num_rows
    out = []
    for rule in rules:
        check, column = rule["check"], rule.get("column")
        if column and column not in table.column_names:
            raise RuleError(f"rule {rule} names column {column!r}, which the table lacks")
        label = f"{check}({column})" if column else check
        if check == "min_rows":
            ok = n >= rule["min"]
            out.append(
                CheckResult(
                    "rule",
                    None,
                    float(n),
                    "pass" if ok else "fail",
                    f"{label}: {n} rows, need >= {rule['min']}",
                    float(rule["min"]),
                )
            )
            continue
        if check == "unique":
            cols = list(rule["columns"])
            dupes = n - table.group_by(cols).aggregate([]).num_rows
            out.append(
                CheckResult(
                    "rule",
                    ",".join(cols),
                    float(dupes),
                    "fail" if dupes else "pass",
                    f"unique({cols}): {dupes} duplicates",
                    0.0,
                )
            )
            continue
        values = table.column(column)
        if check == "not_null":
            bad = values.null_count
        elif check == "max_null_rate":
            rate = values.null_count / n if n else 0.0
            ok = rate <= rule["max"]
            out.append(
                CheckResult(
                    "rule",
                    column,
                    rate,
                    "pass" if ok else "fail",
                    f"{label}: null rate {rate:.3f} (max {rule['max']})",
                    float(rule["max"]),
                )
            )
            continue
        elif check == "range":
            nums = values.cast(pa.float64())
            conds = []
            if "min" in rule:
                conds.append(pc.less(nums, rule["min"]))
            if "max" in rule:
                conds.append(pc.greater(nums, rule["max"]))
            mask = conds[0] if len(conds) == 1 else pc.or_(*conds)
            bad = int(pc.sum(pc.fill_null(mask, False)).as_py() or 0)
        elif check == "allowed":
            bad = int(pc.sum(pc.invert(pc.is_in(values.drop_null(), value_set=pa.array(rule["values"])))).as_py() or 0)
        elif check == "regex":
            bad = int(
                pc.sum(
                    pc.invert(pc.match_substring_regex(values.drop_null().cast(pa.string()), rule["pattern"]))
                ).as_py()
                or 0
            )
        elif check == "freshness":
            latest = pc.max(values).as_py()
            age = (
                float("inf")
                if latest is None
                else (now - (latest if latest.tzinfo else latest.replace(tzinfo=UTC))).total_seconds() / 3600
            )
            ok = age <= rule["max_age_hours"]
            out.append(
                CheckResult(
                    "rule",
                    column,
                    age,
                    "pass" if ok else "fail",
                    f"{label}: newest is {age:.1f} h old (max {rule['max_age_hours']} h)",
                    float(rule["max_age_hours"]),
                )
            )
            continue
        else:  # pragma: no cover - validated by rules.validate
            raise RuleError(f"unknown rule {check}")
        rate = bad / n if n else 0.0
        out.append(
            CheckResult("rule", column, rate, "fail" if bad else "pass", f"{label}: {bad} of {n} rows violate it", 0.0)
        )
    return out


__all__ = ["NOT_DISTRIBUTIONS", "CheckResult", "drift_checks", "not_a_distribution", "profile_checks", "rule_checks"]
