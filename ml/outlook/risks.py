"""The alert log `ml.risks`: each run's findings merged into one row per risk, so the table reads like an alert log.

A continuing problem (same campaign, risk type and subject, with a window overlapping or adjacent to the open
risk's) stays one risk, updated; a risk no run finds any more is resolved; a resolved risk found again is reopened.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from datetime import datetime, timedelta

import duckdb
import pandas as pd

from pulsecast.ml.outlook.findings import Finding

COLUMNS: dict[str, tuple[str, str]] = {
    "risk_id": ("VARCHAR", "Stable id of the risk: the same across the runs that keep finding it."),
    "run_id": ("VARCHAR", "The decide run that last wrote this row (opened, updated or resolved it)."),
    "campaign_id": ("VARCHAR", "The campaign at risk; '*' for a platform-wide finding (data risks)."),
    "risk_type": ("VARCHAR", "performance_dip, creative_fatigue, audience_fatigue, competitor_threat, pacing or data."),
    "subject": ("VARCHAR", "What inside the campaign: a creative id, a channel, a metric, a goal."),
    "severity": ("VARCHAR", "low, medium or high, as of the newest run that saw it."),
    "status": ("VARCHAR", "open while runs keep finding it, resolved once one does not."),
    "window_start": ("TIMESTAMP", "When the problem started (UTC), the earliest start any run found."),
    "window_end": ("TIMESTAMP", "When it ended (UTC); null while it is still going on at the newest data."),
    "first_detected_at": ("TIMESTAMP", "The run time (UTC) that first found it."),
    "detected_at": ("TIMESTAMP", "The newest run time (UTC) that found it."),
    "resolved_at": ("TIMESTAMP", "The run time (UTC) that no longer found it; null while open."),
    "confidence": ("DOUBLE", "0..1, the detector's confidence at the newest run that found it."),
    "summary": ("VARCHAR", "One sentence quoting only the numbers in evidence."),
    "evidence": ("VARCHAR", "JSON object of the named numbers the finding rests on."),
}

DDL = (
    "CREATE SCHEMA IF NOT EXISTS ml;\nCREATE TABLE IF NOT EXISTS ml.risks (\n    "
    + ",\n    ".join(f"{name} {sql_type}" for name, (sql_type, _) in COLUMNS.items())
    + "\n);"
)

ADJACENT = timedelta(days=1)
"""Windows at most this far apart are one continuing problem."""


def read_open_risks(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The whole alert log (open and resolved rows: a resolved risk can reopen); empty before the first run."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ml' AND table_name = 'risks'"
    ).fetchall()[0][0]
    if not exists:
        return pd.DataFrame({name: pd.Series(dtype="object") for name in COLUMNS})
    return con.execute(f"SELECT {', '.join(COLUMNS)} FROM ml.risks").df()


def merge_findings(
    previous: pd.DataFrame,
    findings: list[Finding],
    run_id: str,
    now: datetime,
    campaigns: Collection[str] | None = None,
) -> pd.DataFrame:
    """The whole new alert log (write it with `replace(con, "risks", rows)`), in COLUMNS order.

    `campaigns`: the campaigns this run looked at (None: all); open risks of others are left as they are.
    """
    rows = [dict(row) for row in previous[list(COLUMNS)].to_dict("records")] if len(previous) else []
    matched: set[int] = set()
    for finding in findings:
        index = _match(rows, finding, now)
        evidence = json.dumps({key: _plain(value) for key, value in finding.evidence.items()}, sort_keys=True)
        update = {
            "run_id": run_id, "severity": str(finding.severity), "status": "open", "window_end": finding.window_end,
            "detected_at": now, "resolved_at": None, "confidence": float(finding.confidence),
            "summary": finding.summary, "evidence": evidence,
        }  # fmt: skip
        if index is None:
            rows.append({
                "risk_id": _risk_id(finding), "campaign_id": finding.campaign_id,
                "risk_type": str(finding.risk_type), "subject": finding.subject,
                "window_start": finding.window_start, "first_detected_at": now, **update,
            })  # fmt: skip
            matched.add(len(rows) - 1)
        else:
            row = rows[index]
            row.update(update, window_start=min(pd.Timestamp(row["window_start"]), pd.Timestamp(finding.window_start)))
            matched.add(index)
    for index, row in enumerate(rows):
        in_scope = campaigns is None or row["campaign_id"] in campaigns or row["campaign_id"] == "*"
        if index not in matched and row["status"] == "open" and in_scope:
            row.update(run_id=run_id, status="resolved", resolved_at=now)
            if _missing(row["window_end"]):
                row["window_end"] = row["detected_at"]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _match(rows: list[dict], finding: Finding, now: datetime) -> int | None:
    """The newest risk of the same campaign, type and subject whose window overlaps or touches the finding's."""
    start, end = pd.Timestamp(finding.window_start), pd.Timestamp(finding.window_end or now)
    best: int | None = None
    for index, row in enumerate(rows):
        if (row["campaign_id"], row["risk_type"], row["subject"]) != (
            finding.campaign_id, str(finding.risk_type), finding.subject
        ):  # fmt: skip
            continue
        row_end = pd.Timestamp(now if _missing(row["window_end"]) else row["window_end"])
        touches = pd.Timestamp(row["window_start"]) <= end + ADJACENT and start <= row_end + ADJACENT
        if touches and (best is None or pd.Timestamp(rows[best]["detected_at"]) < pd.Timestamp(row["detected_at"])):
            best = index
    return best


def _risk_id(finding: Finding) -> str:
    start = pd.Timestamp(finding.window_start).isoformat()
    key = f"{finding.campaign_id}|{finding.risk_type}|{finding.subject}|{start}"
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def _missing(value: object) -> bool:
    return value is None or bool(pd.isna(value))


def _plain(value: object) -> float | int | str:
    return value if isinstance(value, str) else (int(value) if float(value).is_integer() else float(value))
