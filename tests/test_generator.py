"""The campaign-world generator: deterministic, believable, contract-true, honest about its ground truth."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pulsecast.contract import (
    BRANDS,
    CAMPAIGNS,
    EVENTS,
    MARKET_SIGNALS,
    OWNERS,
    Channel,
    Device,
    EventType,
    contract_for_file,
)
from pulsecast.generator import WorldConfig, generate_backfill, generate_live

END = datetime(2026, 11, 21, 9, tzinfo=UTC)
STAMP = "%Y%m%dT%H%M%SZ"


def small(**overrides) -> WorldConfig:
    settings = {"seed": 7, "days": 2, "campaigns": 8, "events_per_day": 3_000, "end": END,
                "file_format": "parquet", **overrides}
    return WorldConfig(**settings)


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> dict:
    """Five weeks of a small world with generous late/duplicate shares, read back from the landing files."""
    root = tmp_path_factory.mktemp("history")
    config = small(days=35, events_per_day=8_000, late_share=0.05, duplicate_share=0.03)
    report = generate_backfill(config, root / "landing", root / "truth")
    return {
        "config": config, "report": report, "landing": root / "landing", "truth": root / "truth",
        "events": read_events(root / "landing"), "world": json.loads((root / "truth" / "world.json").read_text()),
    }


def read_events(landing: Path) -> pd.DataFrame:
    frames = []
    for path in sorted(landing.glob("events_*.parquet")):
        frame = pq.read_table(path, columns=[
            "event_id", "event_ts", "event_type", "campaign_id", "brand_id", "channel", "device",
            "creative_id", "user_id",
        ]).to_pandas()
        _, start, end, _ = path.stem.split("_")
        frame["file"] = path.name
        frame["file_start"] = pd.Timestamp(datetime.strptime(start, STAMP).replace(tzinfo=UTC))
        frame["file_end"] = pd.Timestamp(datetime.strptime(end, STAMP).replace(tzinfo=UTC))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def originals(events: pd.DataFrame) -> pd.DataFrame:
    """First delivered copy of every event (file names sort by window start)."""
    return events.drop_duplicates("event_id", keep="first").reset_index(drop=True)


def test_same_seed_gives_identical_files(tmp_path):
    config = small(file_format="jsonl", late_share=0.05, duplicate_share=0.05)
    generate_backfill(config, tmp_path / "a" / "landing", tmp_path / "a" / "truth")
    generate_backfill(config, tmp_path / "b" / "landing", tmp_path / "b" / "truth")
    first = {p.name: p.read_bytes() for p in sorted((tmp_path / "a" / "landing").iterdir())}
    second = {p.name: p.read_bytes() for p in sorted((tmp_path / "b" / "landing").iterdir())}
    assert len(first) > 3 and first == second
    truths = [(tmp_path / run / "truth" / "world.json").read_text() for run in ("a", "b")]
    assert truths[0] == truths[1]


def test_different_seeds_give_different_worlds(tmp_path):
    runs = []
    for seed in (7, 8):
        generate_backfill(small(seed=seed), tmp_path / str(seed), tmp_path / f"truth{seed}")
        runs.append(read_events(tmp_path / str(seed)))
    times = [set(r["event_ts"].astype("int64")) for r in runs]
    assert len(times[0] & times[1]) < 0.01 * len(times[0])
    sizes = [r.groupby("campaign_id").size().sort_index().tolist() for r in runs]
    assert sizes[0] != sizes[1]


def test_weekly_cycle_is_visible(history):
    impressions = history["events"].query("event_type == 'impression'")
    daily = impressions.groupby(impressions["event_ts"].dt.date).size().iloc[1:-1]  # full days only
    relative = (daily / daily.rolling(7, center=True).mean()).dropna()
    weekday = np.array([d.weekday() for d in relative.index])
    weekend, midweek = relative[weekday >= 5], relative[(weekday >= 1) & (weekday <= 3)]
    noise = np.sqrt(weekend.var() / len(weekend) + midweek.var() / len(midweek))
    assert midweek.mean() - weekend.mean() > max(0.08, 3 * noise)


def test_creative_fatigue_lowers_ctr_with_daily_frequency(history):
    """Frequency = rank of an impression among the user's impressions of the campaign that day; a click
    is matched to the latest earlier impression with the same user, campaign, creative and device."""
    events = originals(history["events"]).sort_values("event_ts")
    events["day"] = events["event_ts"].dt.date
    impressions = events[events["event_type"] == "impression"].copy()
    impressions["frequency"] = impressions.groupby(["campaign_id", "user_id", "day"]).cumcount() + 1
    clicks = events[(events["event_type"] == "click")
                    & (events["event_ts"] > history["report"].start + timedelta(minutes=5))]
    keys = ["campaign_id", "user_id", "creative_id", "device"]
    matched = pd.merge_asof(clicks[["event_ts", *keys]], impressions[["event_ts", "event_id", *keys]],
                            on="event_ts", by=keys, direction="backward", allow_exact_matches=False)
    assert matched["event_id"].notna().all(), "every click follows an impression of the same user/creative"
    impressions["clicked"] = impressions["event_id"].isin(matched["event_id"])
    line = ["campaign_id", "channel"]  # compare like with like: CTRs differ a lot between lines
    first = impressions[impressions["frequency"] == 1].groupby(line)["clicked"].mean()
    heavy = impressions[impressions["frequency"] >= 4]
    expected = (heavy.groupby(line).size() * first).sum()
    assert expected > 100
    assert heavy["clicked"].sum() < 0.8 * expected


def test_competitor_shocks_depress_ctr_and_raise_share_of_voice(history):
    events = originals(history["events"])
    events["day"] = events["event_ts"].dt.date
    first, last = events["day"].min(), events["day"].max()
    shocks = [s for s in history["world"]["competitor_shocks"]
              if date.fromisoformat(s["start"]) > first and date.fromisoformat(s["end"]) < last]
    assert shocks
    in_any = np.zeros(len(events), dtype=bool)
    for s in history["world"]["competitor_shocks"]:
        in_any |= events["day"].between(date.fromisoformat(s["start"]), date.fromisoformat(s["end"])).to_numpy()
    observed = expected = 0.0
    for shock in shocks:
        column = "channel" if shock["target_kind"] == "channel" else "brand_id"
        target = events[events[column] == shock["target"]]
        inside = target["day"].between(date.fromisoformat(shock["start"]), date.fromisoformat(shock["end"]))
        rates_out = _ctr_by_line(target[~in_any[target.index.to_numpy()] & ~inside])
        lines_in = target[inside]
        impressions_in = lines_in[lines_in["event_type"] == "impression"].groupby(["campaign_id", "channel"]).size()
        expected += (impressions_in * rates_out).sum()
        observed += (lines_in["event_type"] == "click").sum()
    assert expected > 30
    assert observed < 0.85 * expected

    signals = pd.read_csv(next(history["landing"].glob("market_signals_*.csv")), parse_dates=["signal_date"])
    shocked = np.zeros(len(signals), dtype=bool)
    for s in history["world"]["competitor_shocks"]:
        shocked |= signals["signal_date"].between(s["start"], s["end"]).to_numpy()
    voice = signals["competitor_share_of_voice"]
    assert voice[shocked].mean() > voice[~shocked].mean() + 0.05


def _ctr_by_line(events: pd.DataFrame) -> pd.Series:
    counts = events.groupby(["campaign_id", "channel", "event_type"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=["impression", "click"], fill_value=0)
    return counts["click"] / counts["impression"]


def test_tracking_outages_from_truth_show_in_events(history):
    events = originals(history["events"])
    impressions = events[events["event_type"] == "impression"]
    start, end = history["report"].start, history["report"].end
    seen = expected = 0
    for dip in history["world"]["anomalies"]:
        a, b = datetime.fromisoformat(dip["start"]), datetime.fromisoformat(dip["end"])
        if a - timedelta(days=1) < start or b + timedelta(days=1) > end:
            continue
        own = impressions[impressions["campaign_id"] == dip["campaign_id"]]["event_ts"]
        seen += own.between(a, b, inclusive="right").sum()
        neighbours = [own.between(a + shift, b + shift, inclusive="right").sum() for shift in
                      (timedelta(days=-1), timedelta(days=1))]
        expected += np.mean(neighbours)
    assert expected > 50
    assert seen < 0.5 * expected


def test_ground_truth_is_written_and_kept_out_of_landing(history):
    truth, landing = history["truth"], history["landing"]
    world = history["world"]
    for key in ("response_curves", "anomalies", "fatigue_windows", "competitor_shocks", "holidays", "campaigns"):
        assert world[key], key
    curve = world["response_curves"][0]
    assert {"adstock_decay", "hill_half_saturation", "hill_shape", "beta"} <= set(curve)
    assert any(h["name"] == "Black Friday" for h in world["holidays"])
    plan = pq.read_table(next(truth.glob("plan_*.parquet")))
    assert {"planned_spend", "adstock", "expected_conversions"} <= set(plan.column_names)
    delivery = pq.read_table(next(truth.glob("delivery_*.parquet")))
    assert set(delivery.column("delivery").to_pylist()) == {"late", "duplicate"}
    assert {p.name for p in history["report"].truth_files} == {p.name for p in truth.iterdir()}
    for path in landing.iterdir():
        assert contract_for_file(path.name) is not None, path.name
    assert not list(landing.glob(".tmp-*"))


def test_late_and_duplicate_shares_follow_the_config(history):
    events, config, report = history["events"], history["config"], history["report"]
    first = originals(events)
    duplicates = len(events) - len(first)
    late = ~((first["event_ts"] > first["file_start"]) & (first["event_ts"] <= first["file_end"]))
    assert duplicates == report.duplicates_written and late.sum() == report.late_events
    assert len(first) == report.unique_events and len(events) == report.events_written
    assert duplicates / len(first) == pytest.approx(config.duplicate_share, rel=0.15)
    assert late.sum() / len(first) == pytest.approx(config.late_share, rel=0.15)
    resent = events[events.duplicated("event_id", keep=False)]
    assert (resent.groupby("event_id")["file"].nunique() == 2).all()
    content = [c for c in resent.columns if not c.startswith("file")]
    assert len(resent[content].drop_duplicates()) == resent["event_id"].nunique()


def test_high_growth_multiplies_the_event_rate(tmp_path):
    calls = []
    base = generate_backfill(small(), tmp_path / "base", tmp_path / "t1", progress=lambda *a: calls.append(a))
    grown = generate_backfill(small(high_growth=3.0), tmp_path / "grown", tmp_path / "t2")
    assert 2.6 < grown.unique_events / base.unique_events < 3.4
    assert calls[-1][0] == calls[-1][1] == len(calls)


def test_live_mode_continues_without_repeats_or_gaps(tmp_path):
    config = small(days=3, late_share=0.1, duplicate_share=0.05)
    generate_backfill(config, tmp_path / "backfill", tmp_path / "backfill_truth")
    landing, truth, state = tmp_path / "live", tmp_path / "live_truth", tmp_path / "state.json"
    first = generate_live(config, landing, truth, state, now=END - timedelta(hours=5))
    second = generate_live(config, landing, truth, state, now=END - timedelta(hours=2))
    third = generate_live(config, landing, truth, state, now=END + timedelta(days=2),
                          max_catch_up=timedelta(hours=1))

    assert {p.name for p in first.files} >= {"campaigns.csv", "brands.csv", "owners.csv"}
    assert not any(p.name == "campaigns.csv" for p in second.files + third.files)
    assert third.skipped == (END - timedelta(hours=2), END + timedelta(days=2) - timedelta(hours=1))
    saved = json.loads(state.read_text())
    assert datetime.fromisoformat(saved["watermark"]) == END + timedelta(days=2)
    assert saved["skipped"]
    earlier = [p for p in saved["pending"] if datetime.fromisoformat(p["event"]["event_ts"]) <= third.start]
    assert all(p["duplicate"] for p in earlier), "late originals from earlier calls were all delivered"

    live_rows = read_events(landing)
    call_one_late = live_rows[live_rows["file"].isin([p.name for p in second.event_files])]
    assert (call_one_late["event_ts"] <= END - timedelta(hours=5)).any(), "late events go to the next batch"
    unique = sum(r.unique_events for r in (first, second, third))
    assert unique == live_rows["event_id"].nunique()
    resent = live_rows[live_rows.duplicated("event_id", keep=False)]
    assert len(resent) and (resent.groupby("event_id")["file"].nunique() == 2).all()

    window = (END - timedelta(hours=6), END - timedelta(hours=2))
    assert _unique_in(landing, window).equals(_unique_in(tmp_path / "backfill", window))


def _unique_in(landing: Path, window: tuple[datetime, datetime]) -> pa.Table:
    table = pa.concat_tables([pq.read_table(p) for p in sorted(landing.glob("events_*.parquet"))])
    ts = table.column("event_ts")
    inside = pc.and_(pc.greater(ts, pa.scalar(window[0], ts.type)), pc.less_equal(ts, pa.scalar(window[1], ts.type)))
    table = table.filter(inside).sort_by("event_id")
    first = np.unique(table.column("event_id").to_numpy(zero_copy_only=False), return_index=True)[1]
    assert table.num_rows > 100
    return table.take(first)


@pytest.mark.parametrize("file_format", ["jsonl", "csv", "parquet"])
def test_every_emitted_row_satisfies_the_contract(tmp_path, file_format):
    report = generate_backfill(small(days=1, file_format=file_format, late_share=0.05, duplicate_share=0.05),
                               tmp_path / "landing", tmp_path / "truth")
    rows = [row for path in report.event_files for row in _raw_rows(path, file_format)]
    assert len(rows) == report.events_written > 1000
    names = [c.name for c in EVENTS.columns]
    channels, devices, types = set(Channel), set(Device), set(EventType)
    needs = {"impression": "cost", "conversion": "revenue", "earning": "amount", "view": "watch_seconds"}
    for row in rows:
        assert set(row) <= set(names)
        assert all(row.get(name) not in (None, "") for name in EVENTS.required)
        assert row["event_type"] in types and row["channel"] in channels and row["device"] in devices
        assert row.get(needs.get(row["event_type"], "event_id")) not in (None, "")
        for money in ("cost", "revenue", "amount"):
            if row.get(money) not in (None, ""):
                assert Decimal(str(row[money])) >= 0
        if row.get("watch_seconds") not in (None, ""):
            assert float(row["watch_seconds"]) >= 0
        stamp = row["event_ts"]
        moment = stamp if isinstance(stamp, datetime) else datetime.fromisoformat(stamp)
        assert moment.utcoffset() == timedelta(0)
    for contract, pattern in ((CAMPAIGNS, "campaigns.csv"), (BRANDS, "brands.csv"), (OWNERS, "owners.csv"),
                              (MARKET_SIGNALS, "market_signals_*.csv")):
        with next((tmp_path / "landing").glob(pattern)).open() as handle:
            table = list(csv.DictReader(handle))
        assert list(table[0]) == [c.name for c in contract.columns]
        for row in table:
            assert all(row[name] for name in contract.required)
            assert all(float(row[c.name]) >= 0 for c in contract.columns if c.non_negative and row[c.name])


def _raw_rows(path: Path, file_format: str) -> list[dict]:
    if file_format == "jsonl":
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        assert all(None not in row.values() for row in rows), "null fields are omitted"
        return rows
    if file_format == "csv":
        with path.open() as handle:
            reader = csv.DictReader(handle)
            assert reader.fieldnames == [c.name for c in EVENTS.columns]
            return list(reader)
    table = pq.read_table(path)
    assert table.schema.names == [c.name for c in EVENTS.columns]
    assert table.schema.field("event_ts").type == pa.timestamp("ms", tz="UTC")
    assert pa.types.is_decimal(table.schema.field("cost").type)
    return [{k: v for k, v in row.items() if v is not None} for row in table.to_pylist()]
