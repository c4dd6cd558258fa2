"""The landing folder: which files are ready, what they hold, and where they go once processed."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from pulsecast.contract import Contract, FileFormat, contract_for_file

SUFFIXES: dict[str, FileFormat] = {
    ".jsonl": FileFormat.jsonl,
    ".ndjson": FileFormat.jsonl,
    ".json": FileFormat.jsonl,
    ".csv": FileFormat.csv,
    ".parquet": FileFormat.parquet,
    ".pq": FileFormat.parquet,
}


@dataclass(frozen=True)
class LandingFile:
    path: Path
    file_id: str
    size_bytes: int
    contract: Contract | None
    file_format: FileFormat | None

    @property
    def name(self) -> str:
        return self.path.name


def content_hash(path: Path) -> str:
    """sha256 of the bytes: the manifest key, so a re-delivered file is recognised whatever its name."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def describe(path: Path) -> LandingFile:
    return LandingFile(
        path=path,
        file_id=content_hash(path),
        size_bytes=path.stat().st_size,
        contract=contract_for_file(path.name),
        file_format=SUFFIXES.get(path.suffix.lower()),
    )


def pending_files(landing: Path) -> list[Path]:
    """Files ready to ingest, oldest name first. Dot-files are writes in progress and are left alone."""
    if not landing.exists():
        return []
    return sorted(p for p in landing.iterdir() if p.is_file() and not p.name.startswith("."))


def moved_path(path: Path, file_id: str, destination: Path) -> Path:
    """Where `move_out` puts a file: the hash prefix keeps same-named deliveries of different content apart."""
    return destination / f"{file_id[:12]}_{path.name}"


def move_out(path: Path, file_id: str, destination: Path) -> Path:
    """Move a processed file out of landing."""
    destination.mkdir(parents=True, exist_ok=True)
    target = moved_path(path, file_id, destination)
    os.replace(path, target)
    return target
