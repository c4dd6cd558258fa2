"""The additive measures every rollup stores, as dbt declares them (their one declaration).

`vars: measures` in `dbt_project/dbt_project.yml` names each measure, the SQL type it keeps at every grain and
what it adds up: the event_type it counts (`'*'`: every event) or the event column it sums. dbt's macros
(`macros/measures.sql`) read it with `var()`; Python reads the same file here, for the read API's catalog,
its raw-events oracle and the training series, so a new measure is added in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from pulsecast.settings import DBT_PROJECT_DIR

EVERY_EVENT = "*"
"""`counts` of a measure that counts every event, whatever its type."""


@dataclass(frozen=True)
class Measure:
    name: str
    sql_type: str
    """As the marts store it, e.g. `BIGINT`, `DECIMAL(38, 6)`."""
    counts: str | None = None
    """The event_type counted, or EVERY_EVENT; None for a summed measure."""
    sums: str | None = None
    """The event column summed; None for a counted measure."""
    coalesce: int | None = None
    """What the rollups store instead of null when no event carries the summed column (None: null stays)."""


PROJECT_FILE = DBT_PROJECT_DIR / "dbt_project.yml"


def project_vars(project_file: Path = PROJECT_FILE) -> dict:
    """The vars of a dbt project file: the defaults dbt runs with, for Python that must state them too."""
    return yaml.safe_load(project_file.read_text())["vars"]


def load(project_file: Path = PROJECT_FILE) -> dict[str, Measure]:
    """The measures declared in a dbt project file, in declaration order."""
    declared = project_vars(project_file)["measures"]
    measures = {}
    for name, spec in declared.items():
        if ("counts" in spec) == ("sums" in spec):
            raise ValueError(f"measure {name} in {project_file} must declare exactly one of counts or sums")
        measures[name] = Measure(
            name, spec["type"].upper(), spec.get("counts"), spec.get("sums"), spec.get("coalesce")
        )
    return measures


MEASURES = load()
"""Name -> Measure, in the order the rollups store them."""
