"""Facts and the grounding check: an insight may quote only numbers that were in the facts it was written from.

Insight engines print numbers nobody checked. Here every number in an insight's text is parsed (with the forms
writers use: "3.4%", "1,234.50", "1.2k", ISO dates) and must equal a fact value within the rounding the text
shows, so "3%" stands for 0.034 but not for 0.05, and "1.2k" for 1,234.5 but not for 1,400.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

Unit = Literal["count", "money", "share", "days", "date", "probability", "text"]

_DATE = re.compile(r"(?<![\w-])\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?(?![\w-])")
# A number not glued to a word ("P90", "cr_12", "v1.2" are names, not figures), with an optional scale suffix.
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(%|k\b|K\b|M\b|bn\b)?(?![\w])")
_SCALE = {"k": 1e3, "K": 1e3, "M": 1e6, "bn": 1e9}


@dataclass(frozen=True)
class Fact:
    """One named figure about a campaign, the only material an insight may quote."""

    key: str
    label: str
    value: float | int | str
    metric: str
    unit: Unit


def display(fact: Fact) -> str:
    """The fact's value as the writers print it (and as the LLM is asked to copy it)."""
    value = fact.value
    if fact.unit == "date":
        return _iso(value)
    if fact.unit == "text" or isinstance(value, str):
        return str(value)
    match fact.unit:
        case "share":
            return f"{value:.1%}"
        case "probability":
            return f"{value:.0%}"
        case "money":
            return f"{value:,.2f}"
        case "days":
            return f"{value:,.0f} days" if float(value).is_integer() else f"{value:,.1f} days"
        case _:
            return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.2f}"


def _iso(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return str(value)[:10]


@dataclass(frozen=True)
class Allowed:
    """What a text may quote: the numbers and dates of the facts sent (values, and figures inside labels and text)."""

    numbers: tuple[float, ...]
    dates: frozenset[str]

    @classmethod
    def of(cls, facts: Sequence[Fact]) -> Allowed:
        numbers: list[float] = []
        dates: set[str] = set()
        for fact in facts:
            if fact.unit == "date":
                dates.add(_iso(fact.value))
            elif isinstance(fact.value, int | float) and math.isfinite(fact.value):
                numbers.append(float(fact.value))
            for text in (fact.label, fact.value if isinstance(fact.value, str) else ""):
                dates.update(match[:10] for match in _DATE.findall(text))
                numbers.extend(value for value, _, _ in _quoted(_DATE.sub(" ", text)))
        return cls(tuple(numbers), frozenset(dates))


def _quoted(text: str) -> Iterable[tuple[float, float, str]]:
    """Each number in `text` as (value in its shown scale, half of its last shown digit, suffix)."""
    for match in _NUMBER.finditer(text):
        decimals, suffix = match.group(1), match.group(2) or ""
        digits = match.group(0)[: len(match.group(0)) - len(suffix)]
        value = float(digits.replace(",", ""))
        yield value * _SCALE.get(suffix, 1.0), 0.5 * 10 ** -len(decimals or "") * _SCALE.get(suffix, 1.0), suffix


def _matches(shown: float, half_step: float, suffix: str, allowed: Iterable[float]) -> bool:
    """A shown figure stands for a fact when the fact, rounded the way the text is, gives it (sign aside:
    "12% below" quotes a gap of -0.12)."""
    tolerance = half_step * (1 + 1e-9) + 1e-12
    for value in allowed:
        candidates = (value * 100, value) if suffix == "%" else (value,)
        if any(abs(abs(shown) - abs(candidate)) <= tolerance for candidate in candidates):
            return True
    return False


def ungrounded(text: str, allowed: Allowed) -> list[str]:
    """The figures in `text` that no fact sent accounts for (empty: the text is grounded)."""
    strays = [found for found in _DATE.findall(text) if found[:10] not in allowed.dates]
    without_dates = _DATE.sub(" ", text)
    spans = [match.group(0) for match in _NUMBER.finditer(without_dates)]
    for shown, (value, half_step, suffix) in zip(spans, _quoted(without_dates), strict=True):
        if not _matches(value, half_step, suffix, allowed.numbers):
            strays.append(shown)
    return strays
