"""The analysts' view: generate the dbt docs site from the warehouse and serve it on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pulsecast.settings import DBT_PROJECT_DIR, Settings
from pulsecast.warehouse import prepare_raw_schema, writer_lock


def dbt_command(*args: str) -> list[str]:
    dbt = Path(sys.executable).parent / "dbt"
    return [str(dbt), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]


def generate_docs(settings: Settings) -> Path:
    """`dbt docs generate` reads the catalog from the warehouse, so it takes its turn as a writer."""
    with writer_lock(settings, "dbt docs generate"):
        prepare_raw_schema(settings)
        subprocess.run(
            dbt_command("docs", "generate"), check=True, cwd=DBT_PROJECT_DIR, env=os.environ | settings.env()
        )
    return DBT_PROJECT_DIR / "target" / "index.html"


def serve_docs(settings: Settings, port: int) -> None:
    generate_docs(settings)
    subprocess.run(
        dbt_command("docs", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-browser"),
        check=True,
        cwd=DBT_PROJECT_DIR,
        env=os.environ | settings.env(),
    )
