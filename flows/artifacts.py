"""A run's report as a Prefect markdown artifact and in the flow's log."""

from __future__ import annotations

from prefect.artifacts import create_markdown_artifact

from pulsecast.report import Report


def publish(report: Report, key: str) -> None:
    create_markdown_artifact(key=key, markdown=report.markdown(), description=report.title)
    print(f"{report.title}: {report.text()}")
