"""The layer contracts that `make test` checks with import-linter cover the whole package, and importing the
forecasting and tracking modules leaves torch and Prophet for the code that builds a model."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from pulsecast.settings import PROJECT_ROOT

CONTRACTS = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
ENTRY_POINTS = {"pulsecast.cli", "pulsecast.http"}
MAPPED = {"pulsecast.flows", "pulsecast.ml", "pulsecast.models"}


def core_modules_on_disk() -> set[str]:
    folder = PROJECT_ROOT / "pulsecast"
    modules = {path.stem for path in folder.glob("*.py") if path.stem != "__init__"}
    packages = {path.parent.name for path in folder.glob("*/__init__.py")}
    return {f"pulsecast.{name}" for name in modules | packages} - ENTRY_POINTS - MAPPED


def test_the_brief_top_level_folders_are_linked_into_the_namespace():
    for package in MAPPED:
        name = package.removeprefix("pulsecast.")
        link = PROJECT_ROOT / "pulsecast" / name
        assert link.is_symlink() and link.resolve() == PROJECT_ROOT / name


def test_the_core_layer_names_every_core_module():
    layers = next(contract for contract in CONTRACTS if contract["type"] == "layers")["layers"]
    core = {module.strip() for module in layers[-1].split(":")}
    assert core == core_modules_on_disk()
    assert set(layers[:-1]) == ENTRY_POINTS | MAPPED


def test_the_forecasting_models_may_import_no_core_module():
    forbidden = next(contract for contract in CONTRACTS if contract["type"] == "forbidden")
    assert forbidden["source_modules"] == ["pulsecast.models"]
    assert set(forbidden["forbidden_modules"]) == core_modules_on_disk()


LIGHT_IMPORTS = """
import sys
import pulsecast.models.ensemble, pulsecast.ml.tracking
from pulsecast.models.ensemble import ENSEMBLE, default_members
from pulsecast.ml.training import TrainConfig
members = ",".join(TrainConfig().members())
heavy = sorted(name for name in ("torch", "prophet") if name in sys.modules)
assert not heavy, f"{heavy} loaded by importing the ensemble and tracking modules"
default_members(horizon=7)["lstm"]("D")
assert "torch" in sys.modules, "building the LSTM member loads torch"
"""


def test_importing_the_ensemble_and_tracking_loads_neither_torch_nor_prophet():
    result = subprocess.run([sys.executable, "-c", LIGHT_IMPORTS], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
