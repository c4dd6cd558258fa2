"""`pulsecast metrics` as a person and a script meet it: real subprocesses over one small published world."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime

import pytest
from cli_support import pulsecast
from world_support import published_world

from pulsecast.generator import WorldConfig
from pulsecast.settings import Settings

KPI_COLUMNS = ["window_name", "window_start", "window_end", "as_of", "impressions", "clicks"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return published_world(
        tmp_path_factory.mktemp("cli-metrics") / "data",
        WorldConfig(seed=3, days=3, campaigns=3, events_per_day=2_000, end=datetime(2026, 10, 3, 14)),
    )


def metrics(world: Settings, *args: str, **env: str) -> str:
    result = pulsecast("metrics", *args, data_dir=world.data_dir, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_json_keeps_raw_values(world: Settings) -> None:
    records = json.loads(metrics(world, "kpis", "--format", "json"))
    assert [r["window_name"] for r in records][:1] == ["last_hour"]
    assert set(KPI_COLUMNS) <= set(records[0])
    assert all(r["ctr"] is None or 0 <= r["ctr"] < 1 for r in records)  # a fraction, not "1.37 %"
    assert datetime.fromisoformat(records[0]["window_start"])


def test_csv_has_a_header_of_the_columns(world: Settings) -> None:
    rows = list(csv.reader(io.StringIO(metrics(world, "trend", "--format", "csv"))))
    assert rows[0][:4] == ["period", "impressions", "clicks", "conversions"] and rows[0][-1] == "roas"
    assert len(rows) == 1 + 4  # three days of 24 hours end at 14:00 on the fourth
    assert rows[1][0].endswith("T00:00:00")


def test_columns_pick_and_order_every_format(world: Settings) -> None:
    picked = metrics(world, "kpis", "--columns", "window_name,ctr", "--columns", "cvr").splitlines()
    header = next(line for line in picked if "window_name" in line)
    assert header.split() == ["window_name", "ctr", "cvr"]
    assert not any(line.startswith("Not shown") for line in picked)
    as_csv = metrics(world, "kpis", "--format", "csv", "--columns", "cvr,window_name")
    assert as_csv.splitlines()[0] == "cvr,window_name"


def test_an_unknown_column_is_an_error_naming_the_available_ones(world: Settings) -> None:
    result = pulsecast("metrics", "kpis", "--columns", "window_name,nope", data_dir=world.data_dir)
    assert result.returncode == 2
    assert "nope" in result.stderr and "window_start" in result.stderr and "roas" in result.stderr


def test_tables_show_percentages_and_dates(world: Settings) -> None:
    lines = metrics(world, "trend", "--columns", "period,ctr,spend,impressions").splitlines()
    rows = [line.split() for line in lines if re.match(r"\d{4}-\d\d-\d\d ", line)]
    assert len(rows) == 4
    for period, ctr, percent, spend, impressions in rows:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", period)  # a day, not 2026-10-01 00:00:00
        assert re.fullmatch(r"\d+\.\d\d", ctr) and percent == "%"
        assert re.fullmatch(r"[\d,]+\.\d\d", spend)
        assert re.fullmatch(r"\d{1,3}(,\d{3})*", impressions)
    hourly = metrics(world, "trend", "--grain", "hour", "--columns", "period")
    assert re.search(r"^2026-10-03 13:00\s*$", hourly, re.MULTILINE)


def test_a_wide_answer_is_one_table_within_the_terminal(world: Settings) -> None:
    lines = metrics(world, "kpis", COLUMNS="100").splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 100
    assert sum("window_name" in line for line in lines) == 1  # one header, no key/value block per row
    assert len(lines) <= 5 + 5  # five windows, title, header, rule, the note
    note = lines[-1]
    assert note.startswith("Not shown: ") and "--columns" in note
    header = next(line for line in lines if "window_name" in line).split()
    assert header[:3] == ["window_name", "window_start", "impressions"]  # keys, then the headline measures


@pytest.mark.parametrize("value", ["CTR", "foo"])
def test_a_value_outside_a_fixed_set_exits_2_naming_the_choices(world: Settings, value: str) -> None:
    result = pulsecast("metrics", "top", "--by", value, data_dir=world.data_dir)
    assert result.returncode == 2
    assert f"'{value}'" in result.stderr and "'impressions'" in result.stderr and "'ctr'" in result.stderr


def test_help_lists_the_choices(world: Settings) -> None:
    assert "last_7_days" in metrics(world, "kpis", "--help")
    assert "<table|json|csv>" in metrics(world, "trend", "--help")


def test_an_empty_answer_is_one_sentence(world: Settings) -> None:
    lines = metrics(world, "sessions", "--start", "2030-01-01").splitlines()
    assert len(lines) == 1 and "─" not in lines[0]
    assert json.loads(metrics(world, "sessions", "--start", "2030-01-01", "--format", "json")) == []


def test_sql_answers_from_the_snapshot_and_refuses_writes(world: Settings) -> None:
    rows = list(
        csv.DictReader(
            io.StringIO(
                pulsecast(
                    "sql",
                    "SELECT campaign_id, status FROM campaign_pacing ORDER BY 1",
                    "--format",
                    "csv",
                    data_dir=world.data_dir,
                ).stdout
            )
        )
    )
    assert rows and set(rows[0]) == {"campaign_id", "status"}

    write = pulsecast("sql", "DELETE FROM campaign_pacing", data_dir=world.data_dir)
    assert write.returncode == 1
    assert write.stderr.startswith("error: the query failed:") and len(write.stderr.strip().splitlines()) == 1
    assert (
        pulsecast(
            "sql", "SELECT count(*) AS n FROM campaign_pacing", "--format", "json", data_dir=world.data_dir
        ).stdout.count('"n"')
        == 1
    )


def test_transform_says_what_the_build_did_in_a_few_lines(world: Settings) -> None:
    result = pulsecast("transform", data_dir=world.data_dir)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "Nodes that did not pass: None: every node passed." in output
    assert "Rows changed by incremental models: None" in output  # nothing new since the last build
    assert "Slowest 5 nodes" in output and "START" not in output  # dbt's per-node log stays in its log file
    assert len(output.splitlines()) < 40, output
