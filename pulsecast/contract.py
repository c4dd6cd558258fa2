"""The data contracts: what an event and each dimension file must look like.

This module is the single source of the rules. Ingestion turns them into SQL checks that give every bad
row a readable reason, the Great Expectations suite is derived from them, and the generator writes files
that satisfy them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

MONEY_SQL_TYPE = "DECIMAL(18, 6)"
"""Money is exact: sums over millions of rows must not drift, so it is never DOUBLE."""


class EventType(StrEnum):
    impression = "impression"
    click = "click"
    conversion = "conversion"
    view = "view"
    earning = "earning"


class Channel(StrEnum):
    search = "search"
    social = "social"
    display = "display"
    video = "video"
    email = "email"
    ctv = "ctv"


class Device(StrEnum):
    desktop = "desktop"
    mobile = "mobile"
    tablet = "tablet"
    ctv = "ctv"


class FileFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


ColumnKind = Literal["text", "timestamp", "date", "money", "number", "integer", "event_type"]

SQL_TYPES: dict[ColumnKind, str] = {
    "text": "VARCHAR",
    "event_type": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "money": MONEY_SQL_TYPE,
    "number": "DOUBLE",
    "integer": "BIGINT",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind
    required: bool
    description: str
    non_negative: bool = False

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.kind]


@dataclass(frozen=True)
class Contract:
    """One landing-file family: its file-name prefix, target table, key and columns."""

    name: str
    table: str
    key: str
    columns: tuple[Column, ...]

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _text(name: str, description: str, required: bool = False) -> Column:
    return Column(name, "text", required, description)


def _money(name: str, description: str) -> Column:
    return Column(name, "money", False, description, non_negative=True)


EVENTS = Contract(
    name="events",
    table="raw.events",
    key="event_id",
    columns=(
        _text("event_id", "Producer's unique id; a re-sent event keeps its id and is counted once.", required=True),
        Column("event_ts", "timestamp", True, "When the event happened, UTC (ISO-8601 with offset, or epoch ms)."),
        Column("event_type", "event_type", True, "impression, click, conversion, view or earning."),
        _text("campaign_id", "Campaign the event belongs to.", required=True),
        _text("brand_id", "Advertiser."),
        _text("channel", "Media channel (search, social, display, video, email, ctv, ...)."),
        _text("device", "desktop, mobile, tablet or ctv."),
        _text("publisher", "Site or app where the ad or content ran."),
        _text("topic", "Content topic."),
        _text("creative_id", "Ad creative shown."),
        _text("user_id", "Pseudonymous user."),
        _text("owner_id", "Data owner credited for an earning."),
        _money("cost", "Media cost of the event (spend), DECIMAL."),
        _money("revenue", "Revenue attributed to a conversion, DECIMAL."),
        _money("amount", "Amount earned by a data owner, DECIMAL."),
        Column("watch_seconds", "number", False, "Watch time of a content view.", non_negative=True),
    ),
)

CAMPAIGNS = Contract(
    name="campaigns",
    table="raw.campaigns",
    key="campaign_id",
    columns=(
        _text("campaign_id", "Campaign id.", required=True),
        _text("brand_id", "Advertiser running the campaign.", required=True),
        _text("name", "Display name."),
        _text("objective", "awareness, traffic or conversions."),
        _text("channels", "Channels the campaign buys, comma separated."),
        Column("start_date", "date", True, "First day of delivery."),
        Column("end_date", "date", False, "Last day of delivery (empty or null for open ended)."),
        _money("budget", "Total budget."),
        _money("daily_budget", "Planned spend per day."),
        Column("goal_conversions", "integer", False, "Target number of conversions.", non_negative=True),
        _money("target_cpa", "Target cost per acquisition."),
    ),
)

BRANDS = Contract(
    name="brands",
    table="raw.brands",
    key="brand_id",
    columns=(
        _text("brand_id", "Advertiser id.", required=True),
        _text("name", "Display name."),
        _text("industry", "Industry vertical."),
    ),
)

OWNERS = Contract(
    name="owners",
    table="raw.owners",
    key="owner_id",
    columns=(
        _text("owner_id", "Data owner id.", required=True),
        _text("name", "Display name."),
        _text("kind", "creator, publisher or data provider."),
        Column("revenue_share", "number", False, "Share of media value paid to the owner.", non_negative=True),
    ),
)

MARKET_SIGNALS = Contract(
    name="market_signals",
    table="raw.market_signals",
    key="signal_date",
    columns=(
        Column("signal_date", "date", True, "Day the signal describes."),
        Column(
            "competitor_share_of_voice",
            "number",
            True,
            "Competitors' share of ad impressions, 0..1.",
            non_negative=True,
        ),
        Column("search_trend_index", "number", True, "Search interest index, 100 = typical.", non_negative=True),
    ),
)

CONTRACTS: tuple[Contract, ...] = (EVENTS, CAMPAIGNS, BRANDS, OWNERS, MARKET_SIGNALS)


def contract_for_file(file_name: str) -> Contract | None:
    """Landing files are routed by name prefix: `events_*.jsonl`, `campaigns.csv`, `market_signals_*.csv`."""
    stem = file_name.lower()
    for contract in sorted(CONTRACTS, key=lambda c: -len(c.name)):
        if stem.startswith(contract.name):
            return contract
    return None
