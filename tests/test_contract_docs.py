"""dbt's copy of the event contract: the raw sources' columns and texts, and the values accepted_values tests accept.

pulsecast/contract.py is the source; dbt cannot read Python, so `_sources.yml` and the vars in
`dbt_project.yml` restate it, and these tests fail (without a dbt build) as soon as the copies drift.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import yaml

from pulsecast.contract import CONTRACTS, Channel, Device, EventType
from pulsecast.settings import DBT_PROJECT_DIR
from pulsecast.warehouse import ensure_raw_schema

ACCEPTED = {"event_type": ("event_types", EventType), "channel": ("channels", Channel), "device": ("devices", Device)}
"""Contract column -> the dbt var that lists its values, and the contract's enum of them."""


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def raw_source_tables() -> dict[str, dict]:
    sources = load(DBT_PROJECT_DIR / "models" / "staging" / "_sources.yml")["sources"]
    raw = next(source for source in sources if source["name"] == "raw")
    return {table["name"]: table for table in raw["tables"]}


def test_raw_sources_document_every_column_of_the_raw_tables_in_order() -> None:
    con = duckdb.connect()
    ensure_raw_schema(con)
    tables = con.execute(
        "SELECT table_name, list(column_name ORDER BY ordinal_position) FROM information_schema.columns "
        "WHERE table_schema = 'raw' GROUP BY table_name"
    ).fetchall()
    con.close()
    documented = {name: [c["name"] for c in table["columns"]] for name, table in raw_source_tables().items()}
    assert documented == dict(tables)


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
