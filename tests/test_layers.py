"""The layer contracts that `make test` checks with import-linter cover the whole package."""

from __future__ import annotations

import tomllib

from pulsecast.settings import PROJECT_ROOT

CONTRACTS = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
ENTRY_POINTS = {"pulsecast.cli"}
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
