"""What every risk detector returns: a `Finding`, one possible problem of one campaign over one window.

Detectors only find; `ml.outlook.risks` turns a run's findings into the alert log `ml.risks` (a continuing
problem stays one open risk, updated each run, then resolved), so detectors never need to know the past.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class RiskType(StrEnum):
    performance_dip = "performance_dip"
    creative_fatigue = "creative_fatigue"
    audience_fatigue = "audience_fatigue"
    competitor_threat = "competitor_threat"
    pacing = "pacing"
    data = "data"


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


@dataclass(frozen=True)
class Finding:
    """One problem: `subject` narrows it inside the campaign (a creative id, a channel, a metric, a goal).

    `window_end` is None while the problem is still going on at the newest data. `evidence` holds the named
    numbers the finding rests on (and nothing else): the insights and the terminal quote them.
    """

    campaign_id: str
    risk_type: RiskType
    subject: str
    severity: Severity
    window_start: datetime
    window_end: datetime | None
    confidence: float
    summary: str
    evidence: dict[str, float | int | str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be within 0..1, got {self.confidence}")
