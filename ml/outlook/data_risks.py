"""Data risks: when the numbers themselves are in doubt. Platform-wide (campaign '*'): the share of rows
quarantined and of files rejected over the last `WINDOW_DAYS` days of ingestion (`raw.ingested_files`)."""

from __future__ import annotations

from datetime import datetime

import duckdb

from pulsecast.ml.outlook.findings import Finding, RiskType, Severity
from pulsecast.ml.outlook.scope import PLATFORM

WINDOW_DAYS = 7
QUARANTINE_SHARES = ((0.05, Severity.high), (0.01, Severity.medium), (0.002, Severity.low))
"""Quarantined share of the rows read from which a finding is raised, by severity."""


def data_risks(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    row = con.execute(
        """SELECT min(ingested_at), max(ingested_at), coalesce(sum(rows_read), 0), coalesce(sum(rows_quarantined), 0),
                  count(*) FILTER (WHERE status <> 'loaded'), count(*)
           FROM raw.ingested_files
           WHERE ingested_at > (SELECT max(ingested_at) FROM raw.ingested_files) - to_days($days)""",
        {"days": WINDOW_DAYS},
    ).fetchone()
    return quarantine_finding(*row)


def quarantine_finding(
    start: datetime | None, end: datetime | None, read: int, quarantined: int, rejected: int, files: int
) -> list[Finding]:
    """A finding when the quarantined share of the rows read reaches one of `QUARANTINE_SHARES`."""
    if start is None or read == 0:
        return []
    share = quarantined / read
    severity = next((severity for floor, severity in QUARANTINE_SHARES if share >= floor), None)
    if severity is None:
        return []
    evidence = {
        "quarantined_share": round(share, 4),
        "rows_quarantined": int(quarantined),
        "rows_read": int(read),
        "files_rejected": int(rejected),
        "files": int(files),
    }
    summary = (
        f"{share:.2%} of the rows ingested in the last {WINDOW_DAYS} days were quarantined "
        f"({quarantined:,} of {read:,}; {rejected} of {files} files rejected whole): see `pulsecast status`."
    )
    return [
        Finding(PLATFORM, RiskType.data, "quarantine", severity, start, None, min(1.0, share / 0.05), summary, evidence)
    ]
