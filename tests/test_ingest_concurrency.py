"""Two real ingest processes on one landing folder at once: one waits for the other, nothing counts twice."""

from __future__ import annotations

import re
from pathlib import Path

from ingest_support import IngestProcess, assert_accounting, generate_events, isolated_settings, query, valid_ids

FILES = {
    "events_1.jsonl": (0, 60_000),
    "events_2.parquet": (50_000, 60_000),
    "events_3.jsonl": (100_000, 60_000),
    "events_4.parquet": (0, 30_000),
}
"""Name -> (first id, count): every file shares ids with another one."""


def test_two_concurrent_runs_take_turns(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "data")
    settings.ensure_dirs()
    for name, (first, count) in FILES.items():
        generate_events(settings.landing / name, first, count)

    processes = [IngestProcess.start(settings.data_dir, tmp_path / f"ingest-{i}.log") for i in (1, 2)]
    finished = [p.finish() for p in processes]

    for code, _, log in finished:
        assert code == 0, log
        assert "Traceback" not in log
    waits = [re.search(r"Waiting for the warehouse writer lock held by (.+)", log) for *_, log in finished]
    assert sum(w is not None for w in waits) == 1, "\n\n".join(log for *_, log in finished)
    waiter = next(i for i, w in enumerate(waits) if w)
    holder = 1 - waiter
    summaries = [summary for _, summary, _ in finished]
    # The waiter names the holder; only a holder stalled for over a second before writing its name is "another".
    named = waits[waiter].group(1).strip()
    holder_name = f"ingest run {summaries[holder]['run_id']} (pid {processes[holder].process.pid})"
    assert named in (holder_name, "another process")
    # The lock is taken before the landing folder is listed, so the waiter finds nothing left to do.
    assert (summaries[holder]["files"], summaries[waiter]["files"]) == (len(FILES), 0)

    expected = valid_ids(FILES.values())
    assert summaries[holder]["loaded"] == expected
    (counts,) = query(
        settings,
        """SELECT count(*) AS events, count(DISTINCT event_id) AS ids,
                  (SELECT count(*) FROM raw.ingested_files) AS files,
                  (SELECT count(DISTINCT file_name) FROM raw.ingested_files WHERE deliveries = 1) AS once,
                  (SELECT count(*) FROM raw.ingest_runs WHERE finished_at IS NOT NULL) AS runs
           FROM raw.events""",
    )
    assert counts == {"events": expected, "ids": expected, "files": len(FILES), "once": len(FILES), "runs": 2}
    assert_accounting(settings)
    assert list(settings.landing.iterdir()) == []
