"""Whose rows a reader may see: the server-side half of tenant isolation.

A principal's scope is applied where the SQL is built (`Metrics.ask`, `Metrics.trend`), as bound list
parameters in the predicate each question declares (`Question.tenant_rows`, `owner_rows`), never by filtering
answers afterwards. A value outside the scope is, to the caller, a value that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from pulsecast.metrics.catalog import Question

TOKEN = re.compile(r"\$(brands|campaigns|owners)\b")


class Kind(StrEnum):
    admin = "admin"
    advertiser = "advertiser"
    """An advertiser tenant: its brands and their campaigns."""
    owner = "owner"
    """A data owner: its own earnings."""


class OutOfScope(PermissionError):
    """A question none of whose rows can be tied to the caller (e.g. the audience heatmap, summed over everyone)."""


@dataclass(frozen=True)
class Scope:
    """What a principal may read. The admin's scope is everything."""

    kind: Kind = Kind.admin
    brands: frozenset[str] = frozenset()
    owners: frozenset[str] = frozenset()

    @property
    def unrestricted(self) -> bool:
        return self.kind is Kind.admin

    def rows(self, name: str, question: Question) -> tuple[str, str]:
        """The source a question reads for this principal and the predicate its rows must pass ("" for none)."""
        if self.kind is Kind.admin:
            return question.table, ""
        if self.kind is Kind.advertiser and (question.tenant_rows or question.tenant_table):
            return question.tenant_table or question.table, question.tenant_rows
        if self.kind is Kind.owner and question.owner_rows:
            return question.table, question.owner_rows
        raise OutOfScope(refusal(name, self.kind))


def refusal(what: str, kind: Kind) -> str:
    """The one sentence a principal gets for a question it may not ask."""
    return f"{kind.value} keys cannot ask '{what}': none of its rows belongs to one {kind.value}; an admin key can"


def bind(sql: str, values: Mapping[str, list[str]]) -> tuple[str, list[list[str]]]:
    """`sql` with each `$brands` / `$campaigns` / `$owners` made a `?`, and the lists to bind, in order."""
    params: list[list[str]] = []

    def placeholder(match: re.Match[str]) -> str:
        params.append(values[match.group(1)])
        return "?"

    return TOKEN.sub(placeholder, sql), params
