"""Values as people read them, decided in one place for every table the CLI prints and every report artifact.

A column's name and values choose its format: rates and shares as percentages, money with two decimals,
counts with thousands separators, a timestamp column whose values all fall on midnight as dates (all on
the hour: to the minute). Machines get the raw values instead (`pulsecast metrics --format json|csv`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pulsecast.contract import CONTRACTS
from pulsecast.measures import MEASURES
from pulsecast.metrics.catalog import RATES

_MONEY_COLUMNS = {c.name for contract in CONTRACTS for c in contract.columns if c.kind == "money"}
_MONEY_MEASURES = {name for name, m in MEASURES.items() if m.sums in _MONEY_COLUMNS}

PERCENT_WORDS = {rate for rate, pair in RATES.items() if not _MONEY_MEASURES & set(pair)} | {
    "rate", "share", "probability", "confidence",
}  # fmt: skip
"""A column naming one of these (`ctr`, `benchmark_cvr`, `revenue_share`, `goal_probability`) is a fraction shown
as a percentage: the catalog's rates of a count over a count, and the words rate, share, probability, confidence."""

COUNT_WORDS = set(MEASURES) - _MONEY_MEASURES
"""A fractional column naming a counted measure (`realistic_conversions`) is an estimate of a count."""

MONEY_WORDS = (
    _MONEY_COLUMNS
    | _MONEY_MEASURES
    | {rate for rate, (num, den) in RATES.items() if num in _MONEY_MEASURES and den not in _MONEY_MEASURES}
)
"""A column naming one of these (`spend_to_date`, `target_cpa`) is money: the contract's money columns, the
measures that sum them and the catalog's rates of money per count (cpc, cpa). Money over money (roas) is a
plain number."""


class Kind(StrEnum):
    text = "text"
    flag = "flag"
    count = "count"
    money = "money"
    percent = "percent"
    number = "number"
    estimate = "estimate"
    day = "day"
    minute = "minute"
    moment = "moment"


NUMERIC = {Kind.count, Kind.money, Kind.percent, Kind.number, Kind.estimate}
TEMPORAL = {Kind.day, Kind.minute, Kind.moment}
TEMPLATES = {
    Kind.count: "{:,}",
    Kind.money: "{:,.2f}",
    Kind.number: "{:,.3f}",
    Kind.estimate: "{:,.1f}",
    Kind.day: "{:%Y-%m-%d}",
    Kind.minute: "{:%Y-%m-%d %H:%M}",
    Kind.moment: "{:%Y-%m-%d %H:%M:%S}",
}


@dataclass(frozen=True)
class ColumnFormat:
    """How one column's values read: a whole column shares a format, so a day column is all dates."""

    kind: Kind

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC

    @property
    def temporal(self) -> bool:
        return self.kind in TEMPORAL

    def __call__(self, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, str):  # a report's own wording ("unfinished") stays as written
            return value
        if self.kind is Kind.flag:
            return "yes" if value else "no"
        if self.kind is Kind.percent:
            return f"{float(value) * 100:,.2f} %"
        if self.kind in TEMPLATES:
            return TEMPLATES[self.kind].format(value)
        if isinstance(value, list | tuple):
            return ", ".join(map(str, value))
        return str(value)


def column_format(column: str, values: Iterable[Any]) -> ColumnFormat:
    """The format of a column, from its name and the type of its values (the first that is not null)."""
    present = [v for v in values if v is not None]
    first = present[0] if present else None
    words = set(column.lower().replace(" ", "_").split("_")) | {column}
    if isinstance(first, bool):
        return ColumnFormat(Kind.flag)
    if isinstance(first, int):
        return ColumnFormat(Kind.count)
    if isinstance(first, float | Decimal):
        if words & PERCENT_WORDS:
            return ColumnFormat(Kind.percent)
        if words & MONEY_WORDS:
            return ColumnFormat(Kind.money)
        return ColumnFormat(Kind.estimate if words & COUNT_WORDS else Kind.number)
    if isinstance(first, datetime):
        return ColumnFormat(_grain(present))
    if isinstance(first, date):
        return ColumnFormat(Kind.day)
    return ColumnFormat(Kind.text)


def _grain(moments: Sequence[datetime]) -> Kind:
    if all(m.second == m.microsecond == 0 for m in moments):
        return Kind.day if all(m.hour == m.minute == 0 for m in moments) else Kind.minute
    return Kind.moment

