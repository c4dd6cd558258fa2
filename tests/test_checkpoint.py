"""The daily Great Expectations checkpoint: the contract suite over the last day's loads, kept as Data Docs and
served over HTTP by `pulsecast data-docs`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request

from cli_support import PULSECAST

from pulsecast.ingest import ingest_run
from pulsecast.ingest.checkpoint import run_checkpoint, site
from pulsecast.settings import Settings
from pulsecast.warehouse import writer

EVENTS = (
    '{"event_id": "q1", "event_ts": "2026-03-01T10:00:00Z", "event_type": "impression", "campaign_id": "c1"}\n'
    '{"event_id": "q2", "event_ts": "2026-03-01T10:00:05Z", "event_type": "click", "campaign_id": "c1"}\n'
)


def test_checkpoint_keeps_each_result_in_the_data_docs(settings: Settings) -> None:
    (settings.landing / "events_day.jsonl").write_text(EVENTS)
    ingest_run(settings)

    passed = run_checkpoint(settings)
    assert passed.success and passed.rows == 2 and not passed.failed
    assert site(settings).exists()

    # An event_id loaded twice is what the row rules cannot see: the checkpoint must.
    with writer(settings, "test") as con:
        con.execute("INSERT INTO raw.events SELECT * FROM raw.events WHERE event_id = 'q1'")
    failed = run_checkpoint(settings)
    assert not failed.success
    assert failed.failed == ["expect_column_values_to_be_unique(event_id)"]
    assert failed.rows == 3

    results = list((site(settings).parent / "validations").rglob("*.html"))
    assert len(results) == 2, "each checkpoint run keeps its own page"


def test_data_docs_command_serves_the_site_offline(settings: Settings) -> None:
    (settings.landing / "events_day.jsonl").write_text(EVENTS)
    ingest_run(settings)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [PULSECAST, "data-docs", "--port", str(port)]
    server = subprocess.Popen(command, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              restore_signals=True)  # fmt: skip
    try:
        page = _fetch(f"http://127.0.0.1:{port}/index.html", server)
        assert "raw_events_contract" in page, "the site lists the suite the checkpoint ran"
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=30)
    assert server.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr


def _fetch(url: str, server: subprocess.Popen, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"data-docs did not serve: {server.communicate()[1].decode()}") from None
            time.sleep(0.3)
