"""Backfill and live generation: which days to synthesise, which copies go into which file, what to record.

Both modes cut the same day chunks and keep only events stamped inside their window (start, end], so a
live micro-batch emits exactly the events a backfill over the same hours would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pulsecast.generator.config import GenerationMode, GenerationReport, WorldConfig, epoch_day, to_ms
from pulsecast.generator.delivery import DeliveryDraws, EventFileWriter, Part, Windows, assign, draw_delivery, route
from pulsecast.generator.dimensions import write_dimensions, write_market_signals
from pulsecast.generator.events import DAY_MS, synthesize_day
from pulsecast.generator.files import stamp, write_json
from pulsecast.generator.plan import plan_days
from pulsecast.generator.state import LiveState
from pulsecast.generator.tables import EventTables, concat_events
from pulsecast.generator.truth import write_delivery_truth, write_plan_truth, write_world_truth
from pulsecast.generator.world import build_world
from pulsecast.settings import Settings

FIRST_LIVE_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class _WindowEvents:
    """Events of one day chunk stamped inside the run, with their delivery draws."""

    table: pa.Table
    ts: np.ndarray
    draws: DeliveryDraws


class _Run:
    """One generation run over (start, end]: the world, its plan over the run's days, the file writer."""

    def __init__(self, config: WorldConfig, start: datetime, end: datetime, landing_dir: Path) -> None:
        self.config, self.start, self.end = config, start, end
        self.world = build_world(config, epoch_day(config.resolved_end().date()))
        self.windows = Windows.cover(start, end, config.hours_per_file)
        start_ms, self.end_ms = to_ms(start), to_ms(end)
        self.start_ms = start_ms
        # chunk d holds the sessions starting in (d, d+1]; the chunk before the run spills into it
        self.days = range(_chunk_of(start_ms + 1) - 1, _chunk_of(self.end_ms) + 1)
        self.plan = plan_days(self.world, self.days[0], self.days[-1], config.high_growth)
        self.writer = EventFileWriter(landing_dir, config.file_format)
        self.report = GenerationReport(start=start, end=end)
        self._tables = EventTables(self.world)

    def events(self, day: int) -> _WindowEvents:
        chunk = synthesize_day(self.world, self.plan, day)
        draws = draw_delivery(self.world.seed, day, len(chunk), self.config.late_share, self.config.duplicate_share)
        table = self._tables.table(chunk, self.config.id_prefix)
        inside = (chunk.ts > self.start_ms) & (chunk.ts <= self.end_ms)
        if inside.all():
            return _WindowEvents(table, chunk.ts, draws)
        rows = np.flatnonzero(inside)
        return _WindowEvents(table.take(rows), chunk.ts[rows], draws.take(rows))

    def write_window(self, window: int, sequence: int, parts: list[Part]) -> None:
        path = self.writer.write(self.windows.start(window), int(self.windows.ends[window]), sequence, parts)
        self.report.files.append(path)

    def finish(self, mode: str, truth_dir: Path) -> GenerationReport:
        """Fill the report's counts and write the plan, delivery and run-summary truth."""
        report, writer = self.report, self.writer
        report.events_written, report.unique_events = writer.events_written, writer.unique_events
        report.duplicates_written, report.late_events = writer.duplicates_written, writer.late_events
        report.truth_files.append(write_plan_truth(self.world, self.plan, truth_dir))
        delivered = writer.truth()
        if delivered is not None and delivered.num_rows:
            report.truth_files.append(write_delivery_truth(truth_dir, delivered, self.start, self.end))
        summary = {
            "mode": mode, "start": self.start, "end": self.end, "skipped": report.skipped,
            "files": [p.name for p in report.files], "events_written": report.events_written,
            "unique_events": report.unique_events, "duplicates_written": report.duplicates_written,
            "late_events": report.late_events,
            "late_share_configured": self.config.late_share,
            "duplicate_share_configured": self.config.duplicate_share,
            "late_share_realised": report.late_events / max(report.unique_events, 1),
            "duplicate_share_realised": report.duplicates_written / max(report.unique_events, 1),
        }
        report.truth_files.append(write_json(truth_dir / f"run_{stamp(self.start)}_{stamp(self.end)}.json", summary))
        return report


def generate(settings: Settings, mode: GenerationMode, config: WorldConfig,
             progress: Callable[[int, int], None] | None = None) -> GenerationReport:
    """A backfill or one live micro-batch into the settings' landing folder, the ground truth beside it."""
    settings.ensure_dirs()
    if mode is GenerationMode.live:
        return generate_live(config, settings.landing, settings.truth, settings.simulation_state)
    return generate_backfill(config, settings.landing, settings.truth, progress)


def generate_backfill(config: WorldConfig, landing_dir: Path, truth_dir: Path,
                      progress: Callable[[int, int], None] | None = None) -> GenerationReport:
    """`config.days` of history up to `config.end` in files of `hours_per_file`, plus dimensions, market
    signals and ground truth. Late originals due after the end land in the last file; re-sends due
    after the end are never sent. `progress(done, total)` is called after every generated day."""
    config = config.model_copy(update={"end": config.resolved_end()})
    run = _Run(config, config.end - timedelta(days=config.days), config.end, landing_dir)
    run.report.files += write_dimensions(run.world, landing_dir)
    run.report.files.append(write_market_signals(run.world, _dates(run.start_ms + 1, run.end_ms), landing_dir))
    run.report.truth_files.append(write_world_truth(run.world, config, truth_dir))
    last = len(run.windows) - 1
    parts: dict[int, list[Part]] = {}
    written = 0
    for done, day in enumerate(run.days, start=1):
        events = run.events(day)
        routes = route(events.ts, events.draws, run.windows)
        original = np.minimum(routes.original, last)
        no_flag = np.zeros(len(events.ts), dtype=bool)
        assign(parts, events.table, original, original > routes.own, no_flag)
        resent = np.flatnonzero(events.draws.duplicate & (routes.duplicate <= last))
        assign(parts, events.table.take(resent), routes.duplicate[resent], no_flag[resent], ~no_flag[resent])
        # later chunks only hold later events: windows ending before the next chunk are complete
        while written <= last and run.windows.ends[written] <= (day + 1) * DAY_MS:
            if written in parts:
                run.write_window(written, written + 1, parts.pop(written))
            written += 1
        if progress:
            progress(done, len(run.days))
    return run.finish("backfill", truth_dir)


def generate_live(config: WorldConfig, landing_dir: Path, truth_dir: Path, state_path: Path,
                  now: datetime | None = None, max_catch_up: timedelta = timedelta(hours=24)) -> GenerationReport:
    """Events stamped in (watermark, now] as the next micro-batch(es), continuing the state in `state_path`.

    The first call starts an hour before `now` and writes the dimensions; after a pause longer than
    `max_catch_up` the gap is skipped (and recorded). Late originals and re-sends not yet due wait in
    the state for a later call.
    """
    now = _to_millisecond(now or datetime.now(UTC))
    state = LiveState.load(state_path)
    first_call = state is None
    if state is None:
        state = LiveState(config=config.model_copy(update={"end": config.resolved_end(now)}),
                          watermark=now - FIRST_LIVE_WINDOW)
    config = state.continue_with(config)
    start = max(state.watermark, now - max_catch_up)
    if now <= start:
        return GenerationReport(start=start, end=now)
    run = _Run(config, start, now, landing_dir)
    if start > state.watermark:
        run.report.skipped = (state.watermark, start)
        state.skipped.append(run.report.skipped)
    if first_call:
        run.report.files += write_dimensions(run.world, landing_dir)
        run.report.truth_files.append(write_world_truth(run.world, config, truth_dir))
    signals_from = to_ms(state.watermark - timedelta(days=1) if first_call else state.watermark)
    completed = _dates(signals_from + 1, (run.end_ms // DAY_MS) * DAY_MS)[:-1]
    if len(completed):
        run.report.files.append(write_market_signals(run.world, completed, landing_dir))

    parts: dict[int, list[Part]] = {}
    waiting = _live_fresh(run, parts)
    waiting.append(_live_pending(run, state, parts))
    for window in sorted(parts):
        state.sequence += 1
        run.write_window(window, state.sequence, parts[window])
    table = concat_events([w[0] for w in waiting])
    state.pending = LiveState.pending_copies(table, np.concatenate([w[1] for w in waiting]),
                                             np.concatenate([w[2] for w in waiting]))
    state.config, state.watermark = config, now
    state.save(state_path)
    return run.finish("live", truth_dir)


def _live_fresh(run: _Run, parts: dict[int, list[Part]]) -> list[Part]:
    """Route the run's new events; returns the copies due after it as (rows, due ms, duplicate flags)."""
    waiting: list[Part] = []
    beyond = len(run.windows)
    for day in run.days:
        events = run.events(day)
        routes = route(events.ts, events.draws, run.windows)
        no_flag = np.zeros(len(events.ts), dtype=bool)
        now = np.flatnonzero(routes.original < beyond)
        assign(parts, events.table.take(now), routes.original[now], routes.original[now] > routes.own[now],
               no_flag[now])
        later = np.flatnonzero(routes.original >= beyond)
        waiting.append((events.table.take(later), routes.original_due[later], no_flag[later]))
        resend = events.draws.duplicate
        now = np.flatnonzero(resend & (routes.duplicate < beyond))
        assign(parts, events.table.take(now), routes.duplicate[now], no_flag[now], ~no_flag[now])
        later = np.flatnonzero(resend & (routes.duplicate >= beyond))
        waiting.append((events.table.take(later), routes.duplicate_due[later], ~no_flag[later]))
    return waiting


def _live_pending(run: _Run, state: LiveState, parts: dict[int, list[Part]]) -> Part:
    """Release copies from earlier calls that are due; a re-send waits until its original went out
    in an earlier file. Returns the copies that keep waiting."""
    table, due, duplicate = state.pending_table()
    beyond = len(run.windows)
    window = run.windows.of(due)
    originals = np.flatnonzero(~duplicate)
    resends = np.flatnonzero(duplicate)
    original_of = pc.index_in(table.column("event_id").take(resends),
                              value_set=table.column("event_id").take(originals))
    found = original_of.is_valid().to_numpy(zero_copy_only=False)
    original_window = np.full(len(resends), -1)
    original_window[found] = window[originals][original_of.drop_null().to_numpy()]
    window[resends] = np.where(original_window >= beyond, beyond, np.maximum(window[resends], original_window + 1))
    release = window < beyond
    rows = np.flatnonzero(release)
    assign(parts, table.take(rows), window[rows], ~duplicate[rows], duplicate[rows])
    keep = np.flatnonzero(~release)
    return table.take(keep), due[keep], duplicate[keep]


def _chunk_of(ms: int) -> int:
    """The day chunk (d, d+1] holding an instant."""
    return -(-ms // DAY_MS) - 1


def _dates(first_ms: int, last_ms: int) -> np.ndarray:
    """Epoch days of the calendar dates from first_ms to last_ms (inclusive)."""
    return np.arange(first_ms // DAY_MS, last_ms // DAY_MS + 1)


def _to_millisecond(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
