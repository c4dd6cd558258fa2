"""A writer process for the concurrency tests: `python warehouse_support.py DATA_DIR` builds and publishes."""

from __future__ import annotations

import sys
from pathlib import Path

from pulsecast.build import build
from pulsecast.settings import Settings

if __name__ == "__main__":
    build(Settings(data_dir=Path(sys.argv[1])))
