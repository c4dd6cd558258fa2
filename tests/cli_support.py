"""The `pulsecast` command run as a user runs it: a real subprocess with its own data folder and width."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PULSECAST = str(Path(sys.executable).parent / "pulsecast")


def pulsecast(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {"PULSECAST_DATA_DIR": str(data_dir), "COLUMNS": "200"} | env
    return subprocess.run([PULSECAST, *args], env=environment, capture_output=True, text=True, timeout=300)
