"""Static reference data of the simulated market: channels, devices, topics, brands, publishers, owners.

Numbers sit at the upper end of industry ranges (so conversions are not too sparse to analyse) and differ
between channels the way analysts expect: search converts, display is cheap and rarely clicked, CTV is
expensive and watched long.
"""

from __future__ import annotations

from dataclasses import dataclass

from pulsecast.contract import Channel, Device, EventType

EVENT_TYPES: tuple[str, ...] = tuple(EventType)
DEVICES: tuple[str, ...] = tuple(Device)
OBJECTIVES: tuple[str, ...] = ("awareness", "traffic", "conversions")


@dataclass(frozen=True)
class ChannelProfile:
    """How one channel buys, engages and converts."""

    name: str
    cpm: float  # media cost per 1000 impressions, USD
    ctr: float  # clicks per impression for a fresh creative at frequency 1
    cvr: float  # conversions per click at typical spend (view-through conversions fill in without clicks)
    extra_impressions: float  # Poisson mean of impressions per session beyond the first
    base_views: int  # content views every session of this channel has
    extra_views: float  # Poisson mean of further views
    watch_median_s: float
    watch_sigma: float
    earn_share: float  # share of views that pay the publisher's owner
    value_per_second: float  # media value of a watched second, USD, before the owner's share
    device_mix: tuple[float, float, float, float]  # desktop, mobile, tablet, ctv
    weekday_factors: tuple[float, float, float, float, float, float, float]  # Monday first
    decay_range: tuple[float, float]  # geometric adstock carry-over

    @property
    def views_per_session(self) -> float:
        return self.base_views + self.extra_views

    @property
    def impressions_per_session(self) -> float:
        return 1.0 + self.extra_impressions


_WORKWEEK = (1.06, 1.08, 1.07, 1.05, 0.98, 0.80, 0.84)
CHANNELS: tuple[ChannelProfile, ...] = (
    ChannelProfile(Channel.search, 60.0, 0.060, 0.070, 0.4, 0, 0.0, 1.0, 0.1, 0.0, 0.0,
                   (0.45, 0.48, 0.07, 0.0), _WORKWEEK, (0.05, 0.30)),
    ChannelProfile(Channel.social, 8.0, 0.018, 0.050, 1.8, 1, 1.5, 18.0, 0.8, 0.25, 0.00008,
                   (0.15, 0.78, 0.07, 0.0), (1.00, 1.01, 1.01, 1.00, 0.98, 0.90, 0.92), (0.20, 0.50)),
    ChannelProfile(Channel.display, 3.5, 0.007, 0.030, 1.4, 0, 0.9, 45.0, 0.9, 0.30, 0.00005,
                   (0.50, 0.42, 0.08, 0.0), _WORKWEEK, (0.20, 0.50)),
    ChannelProfile(Channel.video, 14.0, 0.012, 0.040, 0.7, 1, 2.2, 110.0, 0.9, 0.35, 0.00006,
                   (0.35, 0.53, 0.12, 0.0), _WORKWEEK, (0.40, 0.70)),
    ChannelProfile(Channel.email, 6.0, 0.040, 0.080, 0.0, 0, 0.0, 1.0, 0.1, 0.0, 0.0,
                   (0.42, 0.53, 0.05, 0.0), (1.15, 1.15, 1.12, 1.10, 1.00, 0.62, 0.66), (0.10, 0.35)),
    ChannelProfile(Channel.ctv, 32.0, 0.004, 0.050, 1.2, 1, 1.3, 780.0, 0.6, 0.40, 0.00003,
                   (0.0, 0.0, 0.0, 1.0), (0.95, 0.95, 0.96, 0.98, 1.04, 1.10, 1.06), (0.50, 0.80)),
)
CHANNEL_NAMES: tuple[str, ...] = tuple(c.name for c in CHANNELS)

OBJECTIVE_CHANNEL_WEIGHTS: dict[str, dict[str, float]] = {
    "awareness": {"video": 0.30, "ctv": 0.25, "display": 0.25, "social": 0.20},
    "traffic": {"social": 0.35, "search": 0.30, "display": 0.25, "email": 0.10},
    "conversions": {"search": 0.40, "social": 0.25, "email": 0.20, "display": 0.15},
}

TOPICS: tuple[str, ...] = (
    "sports", "news", "finance", "technology", "travel", "food",
    "fashion", "gaming", "health", "automotive", "music", "home",
)


@dataclass(frozen=True)
class BrandProfile:
    name: str
    industry: str
    order_value: float  # mean revenue of one conversion (order value or lead value), USD


BRANDS: tuple[BrandProfile, ...] = (
    BrandProfile("Northwind Outfitters", "retail", 60.0),
    BrandProfile("Bluepeak Travel", "travel", 300.0),
    BrandProfile("Cobalt Bank", "finance", 90.0),
    BrandProfile("Lumen Electronics", "consumer electronics", 180.0),
    BrandProfile("Harvest Table", "food delivery", 30.0),
    BrandProfile("Verdant Beauty", "beauty", 40.0),
    BrandProfile("Pixelforge Games", "gaming", 20.0),
    BrandProfile("Skyline Mobile", "telecom", 60.0),
    BrandProfile("Ironclad Fitness", "fitness", 45.0),
    BrandProfile("Atlas Auto", "automotive", 250.0),
    BrandProfile("Brightpath Learning", "education", 120.0),
    BrandProfile("Safeharbor Insurance", "insurance", 110.0),
)


@dataclass(frozen=True)
class PublisherProfile:
    slug: str
    channel: str
    topics: tuple[str, ...]  # empty: a broad publisher that carries every topic


PUBLISHERS: tuple[PublisherProfile, ...] = (
    PublisherProfile("searchly", "search", ()),
    PublisherProfile("findwise", "search", ()),
    PublisherProfile("inboxdaily", "email", ()),
    PublisherProfile("mailwave", "email", ()),
    PublisherProfile("snapgram", "social", ()),
    PublisherProfile("chirpnet", "social", ()),
    PublisherProfile("linkhub", "social", ("technology", "finance", "news")),
    PublisherProfile("pinboard", "social", ("fashion", "food", "home", "travel")),
    PublisherProfile("dailyherald-news", "display", ("news", "finance", "sports")),
    PublisherProfile("techpulse-blog", "display", ("technology", "gaming")),
    PublisherProfile("fitlife-mag", "display", ("health", "food")),
    PublisherProfile("wanderly-travel", "display", ("travel",)),
    PublisherProfile("motorbuzz", "display", ("automotive",)),
    PublisherProfile("homecraft", "display", ("home", "fashion")),
    PublisherProfile("moneywise", "display", ("finance",)),
    PublisherProfile("stylefile", "display", ("fashion", "health")),
    PublisherProfile("streamtube", "video", ("music", "gaming", "sports", "food")),
    PublisherProfile("clipzone", "video", ("news", "technology", "music")),
    PublisherProfile("gamecast", "video", ("gaming",)),
    PublisherProfile("cookflix", "video", ("food", "home")),
    PublisherProfile("sportsreel", "video", ("sports",)),
    PublisherProfile("couchplay", "ctv", ("music", "travel", "home")),
    PublisherProfile("primestream", "ctv", ("news", "sports", "finance")),
    PublisherProfile("livetv-plus", "ctv", ("news", "sports")),
    PublisherProfile("sportszone-tv", "ctv", ("sports", "automotive")),
)


@dataclass(frozen=True)
class OwnerProfile:
    name: str
    kind: str  # creator, publisher or data provider
    share_range: tuple[float, float]


OWNERS: tuple[OwnerProfile, ...] = (
    OwnerProfile("Herald Media Group", "publisher", (0.30, 0.50)),
    OwnerProfile("Streamline Networks", "publisher", (0.30, 0.50)),
    OwnerProfile("Nova Creators Collective", "creator", (0.50, 0.70)),
    OwnerProfile("Brightside Studios", "creator", (0.50, 0.70)),
    OwnerProfile("DataHarbor", "data provider", (0.10, 0.20)),
    OwnerProfile("Couch Media", "publisher", (0.30, 0.50)),
    OwnerProfile("Socialsphere Inc", "publisher", (0.30, 0.50)),
    OwnerProfile("Indie Voices Network", "creator", (0.50, 0.70)),
    OwnerProfile("Signalwise Data", "data provider", (0.10, 0.20)),
    OwnerProfile("Searchlight Labs", "data provider", (0.10, 0.20)),
)

CAMPAIGN_THEMES: tuple[str, ...] = (
    "Spring Launch", "Summer Sale", "Back to School", "Holiday Push", "Always On", "Brand Lift",
    "New Arrivals", "Loyalty Drive", "Flash Deals", "Year End", "Winter Warmup", "Product Reveal",
)
