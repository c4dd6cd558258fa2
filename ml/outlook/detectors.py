"""Every risk detector of a `decide` run, at the newest data: what `risks.merge_findings` turns into the alert log
(pacing risks come from the scenarios, in the flow)."""

from __future__ import annotations

import duckdb

from pulsecast.ml.outlook import audience, dips, fatigue, threats
from pulsecast.ml.outlook.findings import Finding


def find_risks(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    """Dips, creative and audience fatigue, competitor threats, quarantine and tracking outages."""
    newest = con.execute("SELECT max(event_hour) FROM marts.campaign_hourly").fetchall()[0][0]
    if newest is None:
        return []
    return [
        *dips.recent_dips(con),
        *fatigue.creative_fatigue(con),
        *audience.audience_fatigue(audience.load_audience_daily(con, newest)),
        *threats.competitor_threat(*threats.load_threat_inputs(con, newest)),
        *threats.quarantine_risk(threats.load_quarantine_rates(con, newest)),
        *threats.tracking_outage(threats.load_hourly(con, newest)),
    ]
