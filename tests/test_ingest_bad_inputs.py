"""A corpus of bad (and tricky but valid) landing files: each is accounted for, with a reason a person can read.

All cases land in one folder and go through one `ingest_run`, so the corpus also shows that a bad file never
stops the others. Event ids carry the case id, so cases cannot collide.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from ingest_support import (
    Record,
    assert_accounting,
    csv_bytes,
    event,
    isolated_settings,
    jsonl_bytes,
    parquet_bytes,
    query,
)

from pulsecast.contract import EVENTS
from pulsecast.ingest import RunSummary, ingest_run
from pulsecast.settings import Settings

FORMATS = ("jsonl", "csv", "parquet")


@dataclass(frozen=True)
class Expect:
    """What the manifest, the run summary and the quarantine must say about one file."""

    status: str = "loaded"
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    duplicate: int = 0
    reasons: tuple[str, ...] = ()
    """Each must be part of some quarantine reason of the file (for a rejected file: its one reason)."""
    rows: tuple[int, ...] | None = None
    """Row numbers of the quarantined records, when the case pins them."""
    note: str | None = None
    """Part of the manifest's reason column (a rejection reason or a note on a loaded file)."""
    deliveries: int = 1


@dataclass(frozen=True)
class Case:
    id: str
    files: tuple[tuple[str, bytes, Expect], ...]
    stored: tuple[tuple[str, str, str, dict[str, Any]], ...] = field(default=())
    """(table, key column, key, expected column values) rows that must be in the warehouse."""


def _file(case_id: str, fmt: str, records: list[Record]) -> tuple[str, bytes]:
    write = {"jsonl": jsonl_bytes, "csv": csv_bytes, "parquet": parquet_bytes}[fmt]
    return f"events_{case_id}.{fmt}", write(records)


def rows_case(
    case_id: str,
    fmt: str,
    bad: list[Record],
    reasons: tuple[str, ...],
    rows: tuple[int, ...] | None = None,
) -> Case:
    """One valid event, then the bad record(s): the valid one loads, each bad one is quarantined."""
    name, content = _file(case_id, fmt, [event(f"{case_id}-ok"), *bad])
    expect = Expect(
        read=1 + len(bad),
        loaded=1,
        quarantined=len(bad),
        reasons=reasons,
        rows=rows or tuple(range(2, 2 + len(bad))),
    )
    return Case(case_id, ((name, content, expect),))


def bad_value_case(case_id: str, fmt: str, reason: str, **fields: Any) -> Case:
    return rows_case(case_id, fmt, [event(f"{case_id}-bad", **fields)], (reason,))


def rejected_case(case_id: str, name: str, content: bytes, *reasons: str) -> Case:
    return Case(case_id, ((name, content, Expect(status="rejected", reasons=reasons, note=reasons[0])),))


def loaded_case(case_id: str, name: str, content: bytes, rows: int, note: str | None = None, **stored: Any) -> Case:
    """A file that loads whole; `stored` maps an event id to column values it must have in raw.events."""
    expect = Expect(read=rows, loaded=rows, note=note)
    return Case(case_id, ((name, content, expect),), tuple(("raw.events", "event_id", k, v) for k, v in stored.items()))


def _naive_utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)


GARBAGE = bytes(range(256)) * 8
HEADER = ["event_id", "event_ts", "event_type", "campaign_id", "cost"]

CASES: list[Case] = [
    # --- a required field missing, in every format (absent key, empty cell, null) ---
    *(
        bad_value_case(f"missing-{name}-{fmt}", fmt, f"missing required field {name}", **{name: None})
        for name in EVENTS.required
        for fmt in FORMATS
    ),
    bad_value_case("blank-event-id", "jsonl", "missing required field event_id", event_id="   "),
    bad_value_case("blank-campaign-csv", "csv", "missing required field campaign_id", campaign_id=" \t "),
    # --- wrong types ---
    bad_value_case("cost-abc", "jsonl", 'cost "abc" is not a number', cost="abc"),
    bad_value_case("cost-abc-csv", "csv", 'cost "abc" is not a number', cost="abc"),
    bad_value_case("watch-long", "jsonl", 'watch_seconds "long" is not a number', watch_seconds="long"),
    bad_value_case(
        "ts-yesterday",
        "jsonl",
        'event_ts "yesterday" is not an ISO-8601 timestamp or epoch milliseconds',
        event_ts="yesterday",
    ),
    bad_value_case("cost-object", "jsonl", 'cost "{"a":1}" is not a number', cost={"a": 1}),
    bad_value_case("cost-bool", "jsonl", 'cost "true" is not a number', cost=True),
    bad_value_case("id-object", "jsonl", "event_id: a JSON object or array where text is expected", event_id={"id": 7}),
    bad_value_case("cost-huge", "jsonl", 'cost "1e13" is out of range for DECIMAL(18, 6)', cost="1e13"),
    bad_value_case("cost-string-parquet", "parquet", 'cost "x" is not a number', cost="x"),
    Case(
        "parquet-nested-and-bool",
        (
            (
                "events_parquet-nested-and-bool.parquet",
                parquet_bytes(
                    pa.table(
                        {
                            "event_id": pa.array([{"id": 1}, {"id": 2}]),
                            "event_ts": ["2026-11-01T10:00:00Z"] * 2,
                            "event_type": ["click"] * 2,
                            "campaign_id": ["c1"] * 2,
                            "cost": [True, None],
                        }
                    )
                ),
                Expect(
                    read=2,
                    quarantined=2,
                    reasons=("is a STRUCT(id BIGINT), not text", 'cost "true" is not a number'),
                    rows=(1, 2),
                ),
            ),
        ),
    ),
    # --- values outside the contract ---
    bad_value_case(
        "unknown-type",
        "jsonl",
        'unknown event_type "hover" (expected impression, click, conversion, view, earning)',
        event_type="hover",
    ),
    *(
        bad_value_case(f"negative-{name}", "jsonl", f"{name} is negative (-", **{name: "-1.5"})
        for name in ("cost", "revenue", "amount", "watch_seconds")
    ),
    bad_value_case(
        "ts-garbled", "jsonl", 'event_ts "2026-13-45T99:00:00Z" is not an ISO-8601', event_ts="2026-13-45T99:00:00Z"
    ),
    bad_value_case(
        "ts-2100",
        "jsonl",
        "event_ts 2100-01-01 00:00:00 is more than 24 h in the future",
        event_ts="2100-01-01T00:00:00Z",
    ),
    bad_value_case(
        "ts-epoch-seconds",
        "jsonl",
        "event_ts 1970-01-20 16:13:20 is before 2000-01-01 (epoch seconds, not ms?)",
        event_ts=1_700_000_000,
    ),
    bad_value_case("cost-nan", "jsonl", 'cost "NaN" is not a number', cost=math.nan),
    bad_value_case(
        "watch-infinity", "jsonl", 'watch_seconds "Infinity" is not a finite number', watch_seconds=math.inf
    ),
    Case(
        "nan-inf-parquet",
        (
            (
                "events_nan-inf.parquet",
                parquet_bytes(
                    [
                        event("nan-inf-ok", cost=0.5, watch_seconds=3.0),
                        event("nan-inf-bad-1", cost=math.nan, watch_seconds=1.0),
                        event("nan-inf-bad-2", cost=1.0, watch_seconds=math.inf),
                    ]
                ),
                Expect(
                    read=3,
                    loaded=1,
                    quarantined=2,
                    reasons=('cost "nan" is not a number', 'watch_seconds "inf" is not a finite number'),
                    rows=(2, 3),
                ),
            ),
        ),
    ),
    bad_value_case("huge-id", "jsonl", "event_id is longer than 1000 characters", event_id="x" * 1_000_000),
    # --- records that do not parse ---
    rows_case("truncated-json", "jsonl", ['{"event_id": "truncated-json-bad", "event_ts'], ("not valid JSON",)),
    rows_case("json-array", "jsonl", ['["array-bad", "2026-11-01T10:00:00Z"]'], ("JSON value is not an object",)),
    rows_case(
        "csv-too-many-fields",
        "csv",
        ["csv-too-many-fields-bad,2026-11-01T10:00:00Z,click,c1,0.25,surplus"],
        ("malformed CSV line 3", "Expected Number of Columns: 5 Found: 6"),
        rows=(3,),
    ),
    rows_case(
        "csv-too-few-fields",
        "csv",
        ["csv-too-few-fields-bad,2026-11-01T10:00:00Z"],
        ("malformed CSV line 3", "Expected Number of Columns: 5 Found: 2"),
        rows=(3,),
    ),
    # --- whole files that cannot be used ---
    rejected_case(
        "semicolon",
        "events_semicolon.csv",
        csv_bytes([event("semicolon-1")]).replace(b",", b";"),
        "missing required column(s) event_id, event_ts, event_type, campaign_id",
        "(is the delimiter a comma?)",
    ),
    rejected_case("zero-bytes", "events_zero-bytes.jsonl", b"", "file is empty (0 bytes)"),
    rejected_case("garbage-jsonl", "events_garbage.jsonl", GARBAGE, "not UTF-8 text: byte 0x80 at offset 128"),
    rejected_case("garbage-parquet", "events_garbage.parquet", GARBAGE[::-1], "cannot be read as Parquet"),
    rejected_case(
        "latin1-jsonl",
        "events_latin1.jsonl",
        jsonl_bytes([event("latin1-jsonl-1", publisher="Café")], encoding="latin-1"),
        "not UTF-8 text: byte 0xe9",
    ),
    rejected_case(
        "latin1-csv-header",
        "events_latin1-header.csv",
        csv_bytes([event("latin1-header-1", publicité="oui")], encoding="latin-1"),
        "CSV header is not UTF-8 text: byte 0xe9",
    ),
    rejected_case(
        "unknown-prefix",
        "clicks_2026-11-01.jsonl",
        jsonl_bytes([event("unknown-prefix-1")]),
        "file name matches no contract",
    ),
    rejected_case("xml", "events_feed.xml", b"<events><event id='xml-1'/></events>", "unsupported file type '.xml'"),
    rejected_case(
        "parquet-missing-column",
        "events_parquet-missing-column.parquet",
        parquet_bytes([event("parquet-missing-column-1", event_ts=None)]),
        "missing required column(s) event_ts",
    ),
    rejected_case(
        "csv-missing-column",
        "events_csv-missing-column.csv",
        csv_bytes([event("csv-missing-column-1", event_type=None)]),
        "missing required column(s) event_type",
    ),
    rejected_case(
        "csv-unclosed-quote",
        "events_csv-unclosed-quote.csv",
        csv_bytes(
            [
                event("csv-unclosed-quote-1"),
                '"csv-unclosed-quote-2,2026-11-01T10:00:00Z,click,c1,0.25',
                event("csv-unclosed-quote-3"),
                event("csv-unclosed-quote-4"),
            ]
        ),
        "3 line(s) of the CSV were neither read as records nor reported as malformed",
        'a quote (") that never closes',
        "first line with an odd number of quotes: 3",
    ),
    # --- tricky but valid ---
    loaded_case(
        "epoch-ms",
        "events_epoch-ms.jsonl",
        jsonl_bytes([event("epoch-ms-1", event_ts=1_780_000_000_000), event("epoch-ms-2", event_ts="1780000000000")]),
        2,
        **{k: {"event_ts": datetime(2026, 5, 28, 20, 26, 40)} for k in ("epoch-ms-1", "epoch-ms-2")},
    ),
    loaded_case(
        "iso-offset",
        "events_iso-offset.csv",
        csv_bytes([event("iso-offset-1", event_ts="2026-11-01T12:30:00+02:00")]),
        1,
        **{"iso-offset-1": {"event_ts": _naive_utc("2026-11-01T12:30:00+02:00")}},
    ),
    loaded_case(
        "bom-jsonl",
        "events_bom.jsonl",
        jsonl_bytes([event("bom-jsonl-1"), event("bom-jsonl-2")], bom=True),
        2,
        **{"bom-jsonl-1": {"event_type": "click"}},
    ),
    loaded_case(
        "bom-csv",
        "events_bom.csv",
        csv_bytes([event("bom-csv-1"), event("bom-csv-2")], bom=True),
        2,
        **{"bom-csv-1": {"cost": Decimal("0.25")}},
    ),
    loaded_case("header-only-csv", "events_header-only.csv", csv_bytes([], header=HEADER), 0, note="no rows"),
    loaded_case(
        "whitespace-parquet",  # trimmed at the ends only; nothing left is missing
        "events_whitespace.parquet",
        parquet_bytes(
            [
                event(
                    "whitespace-1",
                    campaign_id=" \tc1\u00a0 ",
                    brand_id="b\t1",
                    channel="\n",
                    device="mobile\r\n",
                    publisher="é ",
                    topic="\u00a0x y",
                )
            ]
        ),
        1,
        **{
            "whitespace-1": {
                "campaign_id": "c1",
                "brand_id": "b\t1",
                "channel": None,
                "device": "mobile",
                "publisher": "é",
                "topic": "x y",
            }
        },
    ),
    loaded_case(
        "extra-columns-jsonl",
        "events_extra-columns.jsonl",
        jsonl_bytes([event("extra-columns-jsonl-1", size="xl", colour="red")]),
        1,
        note="ignored unknown columns: colour, size",
    ),
    loaded_case(
        "extra-columns-parquet",
        "events_extra-columns.parquet",
        parquet_bytes([event("extra-columns-parquet-1", size="xl")]),
        1,
        note="ignored unknown columns: size",
    ),
    loaded_case(
        "csv-quoted-line-break",
        "events_csv-quoted-line-break.csv",
        csv_bytes([event("csv-quoted-line-break-1", publisher="two\nlines"), event("csv-quoted-line-break-2")])
        + b"\n\n",
        2,
        **{"csv-quoted-line-break-1": {"publisher": "two\nlines"}},
    ),
    Case(
        "latin1-csv-row",
        (
            (
                "events_latin1-row.csv",
                csv_bytes([event("latin1-row-1"), event("latin1-row-2", publisher="Café")], encoding="latin-1"),
                Expect(
                    read=2, loaded=1, quarantined=1, reasons=("malformed CSV line 3", "not utf-8 encoded"), rows=(3,)
                ),
            ),
        ),
    ),
    # --- duplicates ---
    Case(
        "dup-in-file",
        (
            (
                "events_dup-in-file.jsonl",
                jsonl_bytes([event("dup-in-file-1"), event("dup-in-file-2"), event("dup-in-file-1", cost="9")]),
                Expect(read=3, loaded=2, duplicate=1),
            ),
        ),
        stored=(("raw.events", "event_id", "dup-in-file-1", {"cost": Decimal("0.25"), "_row": 1}),),
    ),
    Case(
        "dup-after-invalid",  # the first valid row of an id is kept, whatever came before it
        (
            (
                "events_dup-after-invalid.parquet",
                parquet_bytes(
                    [
                        event("dup-after-invalid-1", cost="-1"),
                        event("dup-after-invalid-1"),
                        event("dup-after-invalid-1", cost="9"),
                    ]
                ),
                Expect(read=3, loaded=1, quarantined=1, duplicate=1, reasons=("cost is negative",), rows=(1,)),
            ),
        ),
        stored=(("raw.events", "event_id", "dup-after-invalid-1", {"cost": Decimal("0.25"), "_row": 2}),),
    ),
    Case(
        "dup-across-files",
        (
            (
                "events_dup-across-files_1.jsonl",
                jsonl_bytes([event("dup-across-1"), event("dup-across-2")]),
                Expect(read=2, loaded=2),
            ),
            (
                "events_dup-across-files_2.csv",
                csv_bytes([event("dup-across-2"), event("dup-across-3")]),
                Expect(read=2, loaded=1, duplicate=1),
            ),
        ),
    ),
    Case(
        "same-content-other-name",
        (
            (
                "events_same-content_a.jsonl",
                jsonl_bytes([event("same-content-1")]),
                Expect(read=1, loaded=1, deliveries=2),
            ),
            (
                "events_same-content_b.jsonl",
                jsonl_bytes([event("same-content-1")]),
                Expect(status="redelivered", deliveries=2),
            ),
        ),
    ),
    # --- dimensions and market signals ---
    Case(
        "campaigns",
        (
            (
                "campaigns_2026-11.csv",
                csv_bytes(
                    [
                        {"campaign_id": "cmp-1", "brand_id": "b1", "start_date": "2026-01-01"},
                        {"campaign_id": "", "brand_id": "b2", "start_date": "2026-01-01"},
                        {"campaign_id": "cmp-1", "brand_id": "b3", "start_date": "2026-02-01"},
                        {"campaign_id": "cmp-2", "brand_id": "b2", "start_date": "2026-03-01"},
                    ]
                ),
                Expect(read=4, loaded=2, quarantined=1, duplicate=1, reasons=("missing required field campaign_id",)),
            ),
        ),
        stored=(
            ("raw.campaigns", "campaign_id", "cmp-1", {"brand_id": "b3", "start_date": datetime(2026, 2, 1).date()}),
            ("raw.campaigns", "campaign_id", "cmp-2", {"brand_id": "b2"}),
        ),
    ),
    Case(
        "market-signals",
        (
            (
                "market_signals_2026-11.csv",
                csv_bytes(
                    [
                        {"signal_date": "2026-11-01", "competitor_share_of_voice": "0.3", "search_trend_index": "104"},
                        {"signal_date": "2026-11-02", "competitor_share_of_voice": "-0.1", "search_trend_index": "99"},
                        {"signal_date": "someday", "competitor_share_of_voice": "0.2", "search_trend_index": "98"},
                    ]
                ),
                Expect(
                    read=3,
                    loaded=1,
                    quarantined=2,
                    reasons=("competitor_share_of_voice is negative", 'signal_date "someday" is not a date'),
                ),
            ),
        ),
        stored=(
            (
                "raw.market_signals",
                "signal_date",
                "2026-11-01",
                {"competitor_share_of_voice": 0.3, "search_trend_index": 104.0},
            ),
        ),
    ),
]


@dataclass(frozen=True)
class Corpus:
    settings: Settings
    summary: RunSummary


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """Every case's files in one landing folder, ingested by one run."""
    settings = isolated_settings(tmp_path_factory.mktemp("corpus"))
    settings.ensure_dirs()
    for case in CASES:
        for name, content, _ in case.files:
            path = settings.landing / name
            assert not path.exists(), f"two cases write {name}"
            path.write_bytes(content)
    return Corpus(settings, ingest_run(settings))


def test_corpus_is_large_and_distinct() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)
    contents = [content for case in CASES for _, content, e in case.files if e.status != "redelivered"]
    assert len(set(contents)) == len(contents), "two cases share content, so one would be a re-delivery"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case(corpus: Corpus, case: Case) -> None:
    results = {r.file_name: r for r in corpus.summary.files}
    for name, content, expect in case.files:
        file_id = hashlib.sha256(content).hexdigest()
        result = results[name]
        got = (result.status, result.rows_read, result.rows_loaded, result.rows_quarantined, result.rows_duplicate)
        assert got == (expect.status, expect.read, expect.loaded, expect.quarantined, expect.duplicate), name
        assert result.balanced

        (manifest,) = query(corpus.settings, "SELECT * FROM raw.ingested_files WHERE file_id = ?", [file_id])
        assert manifest["deliveries"] == expect.deliveries
        if expect.status != "redelivered":
            counts = [manifest[k] for k in ("rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate")]
            assert (manifest["status"], manifest["file_name"]) == (expect.status, name)
            assert counts == [expect.read, expect.loaded, expect.quarantined, expect.duplicate]
            if expect.note is None:
                assert manifest["reason"] is None
            else:
                assert expect.note in manifest["reason"]

        quarantined = query(
            corpus.settings,
            "SELECT row_number, reason FROM raw.quarantine WHERE file_id = ? ORDER BY row_number",
            [file_id],
        )
        reasons = " | ".join(q["reason"] for q in quarantined)
        for reason in expect.reasons:
            assert reason in reasons
        if expect.rows is not None:
            assert [q["row_number"] for q in quarantined] == list(expect.rows)

        folder = {"loaded": "archive", "rejected": "quarantine", "redelivered": "archive"}[expect.status]
        assert (corpus.settings.data_dir / folder / f"{file_id[:12]}_{name}").is_file()

    for table, key, value, columns in case.stored:
        (row,) = query(corpus.settings, f"SELECT * FROM {table} WHERE {key} = ?", [value])
        assert {k: row[k] for k in columns} == columns


def test_every_row_of_the_run_is_accounted_for(corpus: Corpus) -> None:
    """Per file and in total: read = loaded + quarantined + duplicates, and the counts match what is stored."""
    assert_accounting(corpus.settings)
    summary = corpus.summary
    assert summary.total("rows_read") == sum(
        summary.total(k) for k in ("rows_loaded", "rows_quarantined", "rows_duplicate")
    )
    expected_reads = sum(e.read for case in CASES for _, _, e in case.files)
    assert summary.total("rows_read") == expected_reads
    (totals,) = query(
        corpus.settings,
        """SELECT sum(rows_read) AS read, sum(rows_loaded + rows_quarantined + rows_duplicate) AS accounted,
                  sum(rows_loaded) FILTER (WHERE contract = 'events') AS events_loaded,
                  (SELECT count(*) FROM raw.events) AS events
           FROM raw.ingested_files""",
    )
    assert totals["read"] == totals["accounted"] == expected_reads
    assert totals["events_loaded"] == totals["events"]


def test_landing_is_emptied_and_the_audit_passes(corpus: Corpus) -> None:
    assert list(corpus.settings.landing.iterdir()) == []
    assert corpus.summary.audit is not None
    assert corpus.summary.audit.success, corpus.summary.audit.summary
    assert corpus.summary.audit.rows == corpus.summary.total("rows_loaded") - 2 - 1  # less campaigns and signals


def test_huge_value_is_cut_short_in_the_quarantine(corpus: Corpus) -> None:
    (row,) = query(
        corpus.settings,
        "SELECT reason, raw_content FROM raw.quarantine WHERE file_name = 'events_huge-id.jsonl'",
    )
    assert row["reason"] == "event_id is longer than 1000 characters"
    assert 1000 < len(row["raw_content"]) <= 4000
    assert row["raw_content"].startswith('{"event_id": "xxx')


def test_same_file_delivered_twice_is_a_no_op(tmp_path: Path) -> None:
    """The second delivery of the same bytes under the same name loads nothing and is counted as a delivery."""
    settings = isolated_settings(tmp_path)
    settings.ensure_dirs()
    content = jsonl_bytes([event("twice-1"), event("twice-2", cost="-1")])
    results = []
    for _ in range(2):
        (settings.landing / "events_twice.jsonl").write_bytes(content)
        results.append(ingest_run(settings).files)
        assert list(settings.landing.iterdir()) == []

    (first,), (second,) = results
    assert (first.status, first.rows_read, first.rows_loaded, first.rows_quarantined) == ("loaded", 2, 1, 1)
    assert (second.status, second.rows_read, second.rows_loaded, second.reason) == (
        "redelivered",
        0,
        0,
        "same content already processed",
    )
    (manifest,) = query(settings, "SELECT deliveries, rows_loaded FROM raw.ingested_files")
    assert manifest == {"deliveries": 2, "rows_loaded": 1}
    counts = query(
        settings, "SELECT (SELECT count(*) FROM raw.events) AS events, (SELECT count(*) FROM raw.quarantine) AS bad"
    )
    assert counts == [{"events": 1, "bad": 1}]
    assert_accounting(settings)
