"""Which campaigns a `decide` run looks at: every campaign forecast by the newest training runs, or those named.

A run for some campaigns changes only their rows: the others' open risks stay as they were, neither resolved
nor updated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from pulsecast.ml.outlook import risks
from pulsecast.ml.outlook.findings import Finding

PLATFORM = "*"
"""The campaign id of platform-wide findings (data risks)."""

_FORECAST = """
SELECT DISTINCT substr(unique_id, 10) AS campaign_id FROM ml.forecasts
WHERE unique_id LIKE 'campaign/%' AND model = 'ensemble'
  AND run_id IN (SELECT arg_max(run_id, trained_at) FROM ml.forecasts GROUP BY metric)
ORDER BY 1
"""


class UnknownCampaign(ValueError):
    """A campaign asked for has no forecast (or does not exist)."""


@dataclass(frozen=True)
class Scope:
    campaigns: tuple[str, ...]
    everything: bool

    @classmethod
    def of(cls, con: duckdb.DuckDBPyConnection, asked: list[str]) -> Scope:
        forecast = _forecast_campaigns(con)
        if unknown := sorted(set(asked) - set(forecast)):
            raise UnknownCampaign(
                f"no forecast for campaign(s) {', '.join(unknown)}; forecast campaigns: {', '.join(forecast) or 'none'}"
            )
        return cls(tuple(sorted(asked)) if asked else tuple(forecast), everything=not asked)

    @property
    def empty(self) -> bool:
        return not self.campaigns

    def covers(self, campaign_id: str) -> bool:
        return campaign_id in self.campaigns or (self.everything and campaign_id == PLATFORM)

    def only(self, frames: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        """Each frame's rows of the scope's campaigns."""
        return {
            name: frame[frame["campaign_id"].map(self.covers)].reset_index(drop=True) for name, frame in frames.items()
        }

    def merge_risks(self, previous: pd.DataFrame, found: list[Finding], run_id: str, now: datetime) -> pd.DataFrame:
        """The alert log after this run: the scope's risks merged with its findings, the others' left as they were."""
        ours = [finding for finding in found if self.covers(finding.campaign_id)]
        return risks.merge_findings(previous, ours, run_id, now, None if self.everything else self.campaigns)


def _forecast_campaigns(con: duckdb.DuckDBPyConnection) -> list[str]:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ml' AND table_name = 'forecasts'"
    ).fetchall()[0][0]
    return [campaign for (campaign,) in con.execute(_FORECAST).fetchall()] if exists else []
