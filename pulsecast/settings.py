"""Configuration: every path and knob has an embedded default under ./data, and PULSECAST_* overrides it.

dbt's profiles.yml reads the same variables with env_var(), so `exported(settings)` is how Python hands its
resolved configuration to an in-process dbt run, and `settings.env()` to a subprocess.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


class Settings(BaseSettings):
    """Resolved configuration. Paths left unset are derived from `data_dir`."""

    model_config = SettingsConfigDict(env_prefix="PULSECAST_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Root of everything the platform writes.")
    warehouse_path: Path | None = Field(default=None, description="DuckDB file (default data/warehouse.duckdb).")
    landing_dir: Path | None = Field(default=None, description="Where producers drop files (data/landing).")
    archive_dir: Path | None = Field(default=None, description="Where ingested files move (data/archive).")
    quarantine_dir: Path | None = Field(
        default=None, description="Where files that cannot be parsed move (data/quarantine)."
    )
    truth_dir: Path | None = Field(default=None, description="Generator ground truth, never ingested (data/truth).")
    mlflow_tracking_uri: str | None = Field(default=None, description="Default: sqlite:///data/mlflow.db.")
    mlflow_ui_url: str = Field(
        default="http://127.0.0.1:5000", description="Where `make mlflow` serves the UI (for links in artifacts)."
    )
    docs_dir: Path | None = Field(default=None, description="Great Expectations data docs (data/docs).")

    writer_lock_timeout_s: float = Field(
        default=600.0, description="How long a writer waits for the warehouse before giving up."
    )
    future_tolerance_hours: float = Field(
        default=24.0, description="Events stamped further than this in the future are quarantined."
    )
    dbt_threads: int = Field(default=2, ge=1)
    dask_address: str | None = Field(
        default=None, description="Scheduler of an existing Dask cluster (tcp://host:8786): the fan-outs run there."
    )

    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("PULSECAST_OPENAI_API_KEY", "OPENAI_API_KEY"),
        description="Insights come from OpenAI when set; otherwise from the rule-based writer. Never logged.",
    )
    openai_model: str = Field(default="gpt-4o-mini", description="Model the insights are asked of.")
    openai_base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint (default: OpenAI's).")
    openai_timeout_s: float = Field(
        default=20.0, gt=0, description="Longest wait on one insights request before the rule-based writer takes over."
    )

    def _under_data(self, value: Path | None, name: str) -> Path:
        return (value or self.data_dir / name).resolve()

    @cached_property
    def warehouse(self) -> Path:
        return self._under_data(self.warehouse_path, "warehouse.duckdb")

    @cached_property
    def landing(self) -> Path:
        return self._under_data(self.landing_dir, "landing")

    @cached_property
    def archive(self) -> Path:
        return self._under_data(self.archive_dir, "archive")

    @cached_property
    def quarantine(self) -> Path:
        return self._under_data(self.quarantine_dir, "quarantine")

    @cached_property
    def truth(self) -> Path:
        return self._under_data(self.truth_dir, "truth")

    @cached_property
    def docs(self) -> Path:
        return self._under_data(self.docs_dir, "docs")

    @cached_property
    def snapshots(self) -> Path:
        """Published read-only copies of the marts that dashboards and `pulsecast metrics` read."""
        return self.data_dir.resolve() / "snapshots"

    @cached_property
    def simulation_state(self) -> Path:
        return self.data_dir.resolve() / "simulation" / "state.json"

    @cached_property
    def key_store(self) -> Path:
        """The HTTP API's keys (hashed) and their principals: a small SQLite file, never the warehouse."""
        return self.data_dir.resolve() / "access" / "keys.sqlite"

    @cached_property
    def audit(self) -> Path:
        """The HTTP API's audit log: one JSON-lines file per UTC day that DuckDB reads."""
        return self.data_dir.resolve() / "audit"

    @cached_property
    def writer_lock(self) -> Path:
        return self.warehouse.with_suffix(".writer.lock")

    @cached_property
    def mlflow_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.data_dir.resolve() / 'mlflow.db'}"

    @cached_property
    def mlflow_artifacts(self) -> Path:
        """Run artifacts and registered models (the SQLite store holds only their metadata)."""
        return self.data_dir.resolve() / "mlartifacts"

    def ensure_dirs(self) -> None:
        for path in (self.landing, self.archive, self.quarantine, self.truth, self.docs, self.warehouse.parent):
            path.mkdir(parents=True, exist_ok=True)

    def env(self) -> dict[str, str]:
        """Resolved paths as PULSECAST_* variables, for dbt's profiles.yml and child processes."""
        return {
            "PULSECAST_DATA_DIR": str(self.data_dir.resolve()),
            "PULSECAST_WAREHOUSE_PATH": str(self.warehouse),
            "PULSECAST_DBT_THREADS": str(self.dbt_threads),
        }


@contextmanager
def exported(settings: Settings) -> Iterator[None]:
    """Publish `settings.env()` in os.environ while in-process dbt runs, then restore what was there.

    Leaving them set would make every later Settings() in the process silently reuse this warehouse."""
    previous = {name: os.environ.get(name) for name in settings.env()}
    os.environ.update(settings.env())
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def get_settings() -> Settings:
    """Fresh settings from the current environment (cheap; tests change the environment between calls)."""
    return Settings()
