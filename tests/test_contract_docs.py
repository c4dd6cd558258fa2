"""dbt's copy of the event contract: the raw sources' columns and texts, and the values accepted_values tests accept;
and the types of ml.forecasts, declared on its source.

pulsecast/contract.py is the source; dbt cannot read Python, so `_sources.yml` and the vars in
`dbt_project.yml` restate it, and these tests fail (without a dbt build) as soon as the copies drift.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest
import yaml

from pulsecast.contract import CONTRACTS, Channel, Device, EventType
from pulsecast.ml.outputs import prepare_ml_schema
from pulsecast.settings import DBT_PROJECT_DIR
from pulsecast.warehouse import ensure_raw_schema

ACCEPTED = {"event_type": ("event_types", EventType), "channel": ("channels", Channel), "device": ("devices", Device)}
"""Contract column -> the dbt var that lists its values, and the contract's enum of them."""


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def source_tables(path: Path, name: str) -> dict[str, dict]:
    """The tables of dbt source `name`, as declared in the schema file `path`."""
    source = next(source for source in load(path)["sources"] if source["name"] == name)
    return {table["name"]: table for table in source["tables"]}


def raw_source_tables() -> dict[str, dict]:
    return source_tables(DBT_PROJECT_DIR / "models" / "staging" / "_sources.yml", "raw")


def created_columns(create: Callable[[duckdb.DuckDBPyConnection], None], schema: str) -> dict[str, list[tuple]]:
    """Table -> its (column, lower-case type) in order, of what `create` makes in `schema` of a scratch DuckDB."""
    con = duckdb.connect()
    create(con)
    rows = con.execute(
        "SELECT table_name, list((column_name, lower(data_type)) ORDER BY ordinal_position) "
        "FROM information_schema.columns WHERE table_schema = ? GROUP BY table_name",
        [schema],
    ).fetchall()
    con.close()
    return {table: [tuple(column) for column in columns] for table, columns in rows}


def test_raw_sources_document_every_column_of_the_raw_tables_in_order() -> None:
    created = created_columns(ensure_raw_schema, "raw")
    documented = {name: [c["name"] for c in table["columns"]] for name, table in raw_source_tables().items()}
    assert documented == {name: [column for column, _ in columns] for name, columns in created.items()}


@pytest.mark.parametrize("contract", CONTRACTS, ids=[contract.name for contract in CONTRACTS])
def test_raw_source_descriptions_are_the_contracts(contract) -> None:
    columns = raw_source_tables()[contract.table.removeprefix("raw.")]["columns"]
    documented = {c["name"]: c["description"].strip() for c in columns if not c["name"].startswith("_")}
    assert documented == {c.name: c.description for c in contract.columns}


def test_accepted_values_vars_are_the_contracts_enums() -> None:
    dbt_vars = load(DBT_PROJECT_DIR / "dbt_project.yml")["vars"]
    for var, enum in ACCEPTED.values():
        assert dbt_vars[var] == [member.value for member in enum], var


def accepted_values_tests(node: object) -> Iterator[tuple[str, dict]]:
    """(column, arguments) of every accepted_values test anywhere in a parsed schema file."""
    if isinstance(node, list):
        for item in node:
            yield from accepted_values_tests(item)
    elif isinstance(node, dict):
        for test in node.get("tests", []) + node.get("data_tests", []):
            if isinstance(test, dict) and "accepted_values" in test and "name" in node:
                spec = test["accepted_values"]
                yield node["name"], spec.get("arguments", spec)
        for value in node.values():
            yield from accepted_values_tests(value)


def test_contract_values_are_tested_only_through_the_vars() -> None:
    found = []
    for path in sorted((DBT_PROJECT_DIR / "models").rglob("*.yml")):
        for column, arguments in accepted_values_tests(load(path)):
            if column in ACCEPTED:
                var = ACCEPTED[column][0]
                assert arguments["values"] == f"{{{{ var('{var}') }}}}", f"{path.name}: {column} lists its values"
                found.append(column)
    assert set(found) == set(ACCEPTED)


def test_forecasts_source_declares_the_types_the_train_flow_writes() -> None:
    """forecast_vs_actual builds from these declared types while ml.forecasts does not exist yet."""
    declared = source_tables(DBT_PROJECT_DIR / "models" / "ml" / "_ml_sources.yml", "ml")["forecasts"]["columns"]
    assert [(c["name"], c["data_type"]) for c in declared] == created_columns(prepare_ml_schema, "ml")["forecasts"]


def test_outlook_sources_declare_what_the_decide_flow_writes() -> None:
    """The outlook marts build empty from these declared types before the first `decide` run, and the dbt docs
    describe every column: both must be the modules' COLUMNS."""
    from pulsecast.ml.outlook import store

    declared = source_tables(DBT_PROJECT_DIR / "models" / "ml" / "_outlook_sources.yml", "ml_outlook")
    assert set(declared) == set(store.TABLES)
    for table, columns in store.TABLES.items():
        assert [(c["name"], c["data_type"], c["description"]) for c in declared[table]["columns"]] == [
            (name, sql_type.lower(), text) for name, (sql_type, text) in columns.items()
        ], table
