"""The read API: dashboard questions answered from the published marts, never from raw events.

    metrics = Metrics(settings)
    metrics.trend(Grain.day, by=[Dimension.campaign], campaigns=["cmp-003"], start=date(2026, 9, 1))
    metrics.ask("pacing", campaign="cmp-003")
    metrics.freshness().lag_s  # how long what landed has waited to become visible (0: readers see it all)

Every value a caller passes becomes a bound parameter; names (questions, filters, campaigns, brands,
channels, devices) are checked first, and an unknown one is an error that says what exists.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import wraps
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

import duckdb
import pyarrow as pa

from pulsecast.metrics import snapshot
from pulsecast.metrics.catalog import (
    DIMENSION_COLUMNS,
    MEASURES,
    QUESTIONS,
    RATES,
    ROLLUPS,
    Dimension,
    Grain,
    Rollup,
)
from pulsecast.metrics.freshness import Freshness, freshness
from pulsecast.settings import Settings

LOOKUP_LIMIT = 1000
"""Rows a lookup returns at most: dashboards page; they do not download tables."""

ANSWER_CACHE_SIZE = 512
"""Answers a reader keeps (least recently asked dropped first). A published table never changes, so an answer
stays right until the pointer names a snapshot with other files for its table."""

PREWARM_POLL_S = 0.2
"""How often a pre-warming reader looks for a newer snapshot."""

P = ParamSpec("P")
R = TypeVar("R")

NAME_SOURCES = {
    Dimension.campaign: ("campaigns", "campaign_id"),
    Dimension.brand: ("brands", "brand_id"),
    Dimension.channel: ("channel_daily", "channel"),
    Dimension.device: ("events_hourly", "device"),
}


class UnknownName(ValueError):
    """A question, filter or value the published marts do not know."""


@dataclass(frozen=True)
class Answer:
    """An answer as Arrow: what a dashboard serialises; Python objects only when a caller asks for them."""

    table: str
    """The table the answer was read from (aggregate navigation's choice)."""
    data: pa.Table
    empty: str = ""
    """When there are no rows, the question's sentence saying why (e.g. the guard no row passed)."""

    @property
    def columns(self) -> list[str]:
        return self.data.column_names

    @property
    def rows(self) -> list[tuple]:
        return list(zip(*(column.to_pylist() for column in self.data.columns), strict=True))

    def records(self) -> list[dict]:
        return self.data.to_pylist()


def _locked(method: Callable[Concatenate[Metrics, P], R]) -> Callable[Concatenate[Metrics, P], R]:
    """One question at a time per reader: a snapshot switch (views re-pointed) never happens in the middle."""

    @wraps(method)
    def locked(self: Metrics, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


class Metrics:
    """Reads the current snapshot; moves to a newer one when it is published, so a long-lived reader stays fresh.

    The snapshot's files are attached to an in-memory DuckDB, one view per table; a newer snapshot attaches only
    the files that changed. Answers are cached, keyed on the generated SQL (the normalized question) and its bound
    parameters, and kept across snapshots while their table's files are the same: a repeated question costs a
    dictionary look-up instead of DuckDB planning and an Arrow conversion. `cache_size=0` turns the cache off
    (the benchmark's cold reads). With `prewarm`, a background thread watches the pointer and, when a newer
    snapshot is published, asks again the cached questions whose tables changed, so a dashboard's next read is
    warm instead of cold.
    """

    def __init__(self, settings: Settings, cache_size: int = ANSWER_CACHE_SIZE, prewarm: bool = False) -> None:
        self._settings = settings
        self._con: duckdb.DuckDBPyConnection | None = None
        self._manifest: snapshot.Manifest | None = None
        self._attached: dict[str, str] = {}
        self._row_counts: dict[str, int] = {}
        self._known: dict[Dimension, set[str]] = {}
        self._cache_size = cache_size
        self._answers: OrderedDict[tuple[str, tuple], Answer] = OrderedDict()
        self._to_warm: list[tuple[tuple[str, tuple], Answer]] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True) if prewarm and cache_size else None
        if self._watcher is not None:
            self._watcher.start()

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join()
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None
                self._manifest = None
                self._attached = {}

    def __enter__(self) -> Metrics:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def cached(self) -> int:
        """Answers held now (pre-warming fills the cache back after a publish without a question being asked)."""
        return len(self._answers)

    def _connection(self) -> duckdb.DuckDBPyConnection:
        """The connection answering from the current snapshot (the caller holds the lock)."""
        path = snapshot.current(self._settings)
        if self._con is None or self._manifest is None or path != self._manifest.path:
            self._switch(path)
        assert self._con is not None
        return self._con

    def _switch(self, path: Path) -> None:
        """Answer from `path`'s snapshot (or a newer one if it was pruned meanwhile); forget what changed."""
        if self._con is None:
            self._con = duckdb.connect()
            self._attached = {}
        while True:
            try:
                manifest = snapshot.load(path)
                snapshot.attach(self._con, self._settings, manifest, self._attached)
                break
            except FileNotFoundError:
                path = snapshot.current(self._settings)
        old = self._manifest.tables if self._manifest is not None else {}
        changed = {name for name, table in manifest.tables.items() if old.get(name) != table}
        self._manifest = manifest
        self._row_counts = {name: table.rows for name, table in manifest.tables.items()}
        self._known = {d: names for d, names in self._known.items() if NAME_SOURCES[d][0] not in changed}
        stale = [(key, a) for key, a in self._answers.items() if a.table in changed or a.table not in manifest.tables]
        for key, _ in stale:
            del self._answers[key]
        self._to_warm = [(key, a) for key, a in stale if a.table in manifest.tables]

    def _watch(self) -> None:
        """Pre-warming: move to each newer snapshot as soon as it is published and ask again what changed."""
        while not self._stop.wait(PREWARM_POLL_S):
            try:
                with self._lock:
                    if self._con is not None:
                        self._connection()
                        warm, self._to_warm = self._to_warm, []
                    else:
                        warm = []
                for (sql, params), answer in warm:
                    with self._lock:
                        if self._con is None or self._stop.is_set():
                            break
                        self._answer(answer.table, sql, list(params), answer.empty)
            except snapshot.NoSnapshot:
                continue

    @_locked
    def freshness(self) -> Freshness:
        """How fresh the answers are: the snapshot's age and newest event, and what landed that it does not show."""
        self._connection()
        assert self._manifest is not None
        return freshness(self._settings, self._manifest.info)

    @_locked
    def trend(
        self,
        grain: Grain = Grain.day,
        by: Sequence[Dimension] = (),
        *,
        campaigns: Sequence[str] = (),
        brands: Sequence[str] = (),
        channels: Sequence[str] = (),
        devices: Sequence[str] = (),
        start: date | datetime | None = None,
        end: date | datetime | None = None,
    ) -> Answer:
        """Additive totals and derived rates per period (and per `by` dimension), with any filters.

        `start` is inclusive, `end` exclusive. Answered from the smallest rollup that has the grain, the
        dimensions and the window's alignment; the hourly rollup covers every request.
        """
        filters = {
            Dimension.campaign: list(campaigns),
            Dimension.brand: list(brands),
            Dimension.channel: list(channels),
            Dimension.device: list(devices),
        }
        for dimension, values in filters.items():
            self._check_names(dimension, values)
        needed = set(by) | {d for d, values in filters.items() if values}
        rollup = self._navigate(grain, needed, start, end)
        where, params = [], []
        for dimension, values in filters.items():
            if values:
                where.append(f"{DIMENSION_COLUMNS[dimension]} IN ({', '.join('?' for _ in values)})")
                params += values
        for bound, operator in ((start, ">="), (end, "<")):
            if bound is not None:
                where.append(f"{rollup.time_column} {operator} ?")
                params.append(bound)
        keys = [f"date_trunc('{grain.value}', {rollup.time_column}) AS period"] + [DIMENSION_COLUMNS[d] for d in by]
        sums = [f"CAST(sum({m}) AS {sql_type}) AS {m}" for m, sql_type in MEASURES.items()]
        rates = [f"sum({num}) / nullif(sum({den}), 0) AS {rate}" for rate, (num, den) in RATES.items()]
        positions = ", ".join(str(i + 1) for i in range(len(keys)))
        sql = (
            f"SELECT {', '.join(keys + sums + rates)} FROM {rollup.table}"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + f" GROUP BY {positions} ORDER BY {positions}"
        )
        answer = self._answer(rollup.table, sql, params)
        if not answer.data.num_rows and campaigns and brands:
            self._check_campaigns_in_brands(campaigns, brands)
        return answer

    @_locked
    def ask(
        self,
        question: str,
        *,
        start: date | datetime | None = None,
        end: date | datetime | None = None,
        limit: int = LOOKUP_LIMIT,
        **filters: str | None,
    ) -> Answer:
        """One of the dashboard questions in `catalog.QUESTIONS`, filtered by the options it accepts."""
        if question not in QUESTIONS:
            raise UnknownName(f"unknown question '{question}'; ask one of: {', '.join(QUESTIONS)}")
        spec = QUESTIONS[question]
        given = [option for option, value in filters.items() if value is not None]
        for group in spec.exclusive:
            clash = [option for option in group if option in given]
            if len(clash) > 1:
                raise UnknownName(
                    f"'{question}' cannot be filtered by {' and '.join(clash)} together: each selects its own rows "
                    f"by {spec.filters[clash[0]]}, so together they match nothing; give one of them"
                )
        where, params = [], []
        for option, value in filters.items():
            if value is None:
                continue
            if option not in spec.filters:
                accepted = ", ".join(spec.filters) or "nothing"
                raise UnknownName(f"'{question}' cannot be filtered by {option} (it accepts: {accepted})")
            choices = spec.choices.get(option)
            if choices and value not in choices:
                raise UnknownName(f"unknown {option} {value!r} for '{question}' (choose one of: {', '.join(choices)})")
            if option in Dimension.__members__:
                self._check_names(Dimension(option), [value])
            where.append(f"{spec.filters[option]} = ?")
            params.append(value)
            if option in spec.implies:
                column, implied = spec.implies[option]
                where.append(f"{column} = ?")
                params.append(implied)
        for bound, operator in ((start, ">="), (end, "<")):
            if bound is None:
                continue
            if spec.time_column is None:
                raise UnknownName(f"'{question}' has no time axis to bound with start/end")
            where.append(f"{spec.time_column} {operator} ?")
            params.append(bound)
        sql = (
            f"SELECT * FROM {spec.table}"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + (f" ORDER BY {spec.order_by}" if spec.order_by else "")
            + f" LIMIT {int(limit)}"
        )
        return self._answer(spec.table, sql, params, empty=spec.empty)

    def _navigate(
        self, grain: Grain, needed: set[Dimension], start: date | datetime | None, end: date | datetime | None
    ) -> Rollup:
        self._connection()  # the row counts of the current snapshot decide between covering rollups
        candidates = [
            r
            for r in ROLLUPS
            if r.covers(grain, needed)
            and r.table in self._row_counts
            and _aligned(start, r.grain)
            and _aligned(end, r.grain)
        ]
        if not candidates:
            raise UnknownName("no published rollup covers this request: run `pulsecast transform` first")
        return min(candidates, key=lambda r: self._row_counts[r.table])

    def _check_names(self, dimension: Dimension, values: Sequence[str]) -> None:
        if not values:
            return
        con = self._connection()
        if dimension not in self._known:  # small sets, read once per snapshot
            table, column = NAME_SOURCES[dimension]
            self._known[dimension] = {
                v
                for (v,) in con.execute(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL").fetchall()
            }
        known = self._known[dimension]
        unknown = [v for v in values if v not in known]
        if unknown:
            examples = ", ".join(sorted(known)[:5])
            raise UnknownName(
                f"unknown {dimension.value} {', '.join(repr(v) for v in unknown)} (known, e.g.: {examples})"
            )

    def _check_campaigns_in_brands(self, campaigns: Sequence[str], brands: Sequence[str]) -> None:
        """An empty answer filtered on campaigns none of which is in the brands asked for: say so instead."""
        placeholders = ", ".join("?" for _ in campaigns)
        sql = f"SELECT campaign_id, brand_id FROM campaigns WHERE campaign_id IN ({placeholders})"
        owners = dict(self._connection().execute(sql, list(campaigns)).fetchall())
        if owners and not set(owners.values()) & set(brands):
            of = "; ".join(f"campaign '{c}' is in brand '{b}'" for c, b in sorted(owners.items()))
            raise UnknownName(f"{of}, not in {', '.join(repr(b) for b in brands)}: the filters contradict each other")

    @_locked
    def sql(self, query: str) -> Answer:
        """An analyst's own read-only SQL over the published marts (tables named without a schema).

        Only reading statements run (the reader's own in-memory database holds the views over the snapshot's
        files, which are attached read-only), so the snapshot and the warehouse are never touched."""
        try:
            kinds = {statement.type for statement in self._connection().extract_statements(query)}
            if not kinds <= {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}:
                raise UnknownName("the query failed: only SELECT statements (and EXPLAIN) read the published marts")
            return self._answer("your query", query, [])
        except duckdb.Error as error:
            raise UnknownName(f"the query failed: {str(error).splitlines()[0]}") from None

    def _answer(self, table: str, sql: str, params: list, empty: str = "") -> Answer:
        """The answer to `sql`, cached; `empty` is said when it has no rows."""
        con = self._connection()  # first: a newer snapshot empties the cache
        key = (sql, tuple(params))
        answer = self._answers.get(key)
        if answer is not None:
            self._answers.move_to_end(key)
            return answer
        data = con.sql(sql, params=params).to_arrow_table()
        answer = Answer(table, data, "" if data.num_rows else empty)
        if self._cache_size:
            self._answers[key] = answer
            if len(self._answers) > self._cache_size:
                self._answers.popitem(last=False)
        return answer


def _aligned(bound: date | datetime | None, grain: Grain) -> bool:
    """Whether a window bound falls on the rollup's period boundaries (else a finer rollup must answer)."""
    if bound is None or (grain is Grain.hour and not isinstance(bound, datetime)):
        return True
    moment = bound if isinstance(bound, datetime) else datetime(bound.year, bound.month, bound.day)
    if grain is Grain.hour:
        return moment.minute == moment.second == moment.microsecond == 0
    on_day = moment.hour == moment.minute == moment.second == moment.microsecond == 0
    return on_day and (grain is Grain.day or moment.day == 1)
