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
from pulsecast.metrics.scope import Kind, OutOfScope, Scope, bind, refusal
from pulsecast.settings import Settings

LOOKUP_LIMIT = 1000
"""Rows a lookup returns at most: dashboards page; they do not download tables."""

ANSWER_CACHE_SIZE = 512
"""Answers a reader keeps (least recently asked dropped first). A published table never changes, so an answer
stays right until the pointer names a snapshot with other files for a table it read."""

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


class NotFound(UnknownName):
    """A campaign, brand, channel or device the snapshot does not hold, or the caller's scope does not: the two
    read the same, so an answer never tells another tenant's names from names that do not exist."""


EVERYTHING = Scope()


@dataclass(frozen=True)
class Answer:
    """An answer as Arrow: what a dashboard serialises; Python objects only when a caller asks for them."""

    table: str
    """The table the answer was read from (aggregate navigation's choice)."""
    data: pa.Table
    empty: str = ""
    """When there are no rows, the question's sentence saying why (e.g. the guard no row passed)."""
    snapshot: str = ""
    """The published snapshot that answered (its manifest's name): an answer's version, e.g. an HTTP ETag. An
    answer kept across publishes (none of its tables changed) keeps it: the same name, the same rows."""

    @property
    def columns(self) -> list[str]:
        return self.data.column_names

    @property
    def rows(self) -> list[tuple]:
        return list(zip(*(column.to_pylist() for column in self.data.columns), strict=True))

    def records(self) -> list[dict]:
        return self.data.to_pylist()


@dataclass(frozen=True)
class _Cached:
    """A cached answer, how to ask for it again, and the tables it read (it is kept while none of them changes:
    an advertiser's KPIs read the hourly rollup besides the KPI mart)."""

    answer: Answer
    sql: str
    params: list
    tables: frozenset[str]


Key = tuple[str, tuple]
"""An answer's cache key: the generated SQL and its bound parameters (a scope's lists as tuples)."""


def _locked(method: Callable[Concatenate[Metrics, P], R]) -> Callable[Concatenate[Metrics, P], R]:
    """One question at a time per reader: a snapshot switch never happens in the middle of one."""

    @wraps(method)
    def locked(self: Metrics, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


class Metrics:
    """Reads the current snapshot; moves to a newer one when it is published, so a long-lived reader stays fresh.

    The snapshot's files are attached to an in-memory DuckDB, and a connection of it has one view per table; a
    newer snapshot attaches only the files that changed. Answers are cached, keyed on the generated SQL (the
    normalized question) and its bound parameters, and kept across snapshots while the tables they read keep
    their files: a repeated question costs a dictionary look-up instead of DuckDB planning and an Arrow
    conversion. `cache_size=0` turns the cache off (the benchmark's cold reads).

    Without `prewarm`, the first question after a publish moves the reader, and the questions of changed tables
    are cold again. With `prewarm` (a server), a background thread moves it: when a newer snapshot is published,
    it asks the cached questions whose tables changed again on a connection of its own, and only then switches,
    so a publish never turns answers cold and a reader keeps answering, warm, from its snapshot meanwhile.
    """

    def __init__(self, settings: Settings, cache_size: int = ANSWER_CACHE_SIZE, prewarm: bool = False) -> None:
        self._settings = settings
        self._db: duckdb.DuckDBPyConnection | None = None
        """The in-memory database the snapshots' files are attached to (shared by its connections)."""
        self._con: duckdb.DuckDBPyConnection | None = None
        """The connection whose views answer from `_manifest`."""
        self._manifest: snapshot.Manifest | None = None
        self._attached: dict[str, str] = {}
        self._row_counts: dict[str, int] = {}
        self._known: dict[Dimension, set[str]] = {}
        self._visible: dict[Scope, dict[str, list[str]]] = {}
        self._cache_size = cache_size
        self._answers: OrderedDict[Key, _Cached] = OrderedDict()
        self._pointer_mark: tuple[int, int] | None = None
        self._pointer_target: Path | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True) if prewarm else None
        if self._watcher is not None:
            self._watcher.start()

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join()
        with self._lock:
            for con in (self._con, self._db):
                if con is not None:
                    con.close()
            self._con = self._db = self._manifest = None
            self._attached = {}

    def __enter__(self) -> Metrics:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def snapshot(self) -> str | None:
        """The name of the snapshot this reader answers from (None before it opened one)."""
        manifest = self._manifest
        return manifest.info.name if manifest is not None else None

    @property
    def cached(self) -> int:
        """Answers held now (pre-warming fills the cache back after a publish without a question being asked)."""
        return len(self._answers)

    def _current(self) -> Path:
        """The manifest the pointer names, the pointer re-read only when it changed: a publish renames a new
        file in (a new inode), so a stat tells, at a fraction of an open and a read on every question."""
        try:
            stat = (self._settings.snapshots / snapshot.POINTER).stat()
        except FileNotFoundError:
            return snapshot.current(self._settings)  # says there is nothing published
        mark = (stat.st_ino, stat.st_mtime_ns)
        if mark != self._pointer_mark or self._pointer_target is None:
            self._pointer_target = snapshot.current(self._settings)
            self._pointer_mark = mark
        return self._pointer_target

    def _connection(self) -> duckdb.DuckDBPyConnection:
        """The connection answering from this reader's snapshot (the caller holds the lock): the current one,
        except that a pre-warming reader, once open, moves only when its watcher has warmed the next."""
        behind = self._manifest is None or (self._watcher is None and self._current() != self._manifest.path)
        if self._con is None or behind:
            self._switch(*self._open(self._current()))
        assert self._con is not None
        return self._con

    def _open(self, path: Path) -> tuple[snapshot.Manifest, duckdb.DuckDBPyConnection]:
        """A new connection answering from `path`'s snapshot (or a newer one if it was pruned meanwhile); the
        files it names that the database does not hold yet are attached (the caller holds the lock)."""
        if self._db is None:
            self._db = duckdb.connect()
        while True:
            con = self._db.cursor()
            try:
                manifest = snapshot.load(path)
                snapshot.attach(con, self._settings, manifest, self._attached)
                return manifest, con
            except FileNotFoundError:
                con.close()
                path = snapshot.current(self._settings)

    def _unchanged(self, manifest: snapshot.Manifest) -> set[str]:
        """The tables `manifest` publishes in the same files as this reader's snapshot."""
        old = self._manifest.tables if self._manifest is not None else {}
        return {name for name, table in manifest.tables.items() if old.get(name) == table}

    def _switch(
        self, manifest: snapshot.Manifest, con: duckdb.DuckDBPyConnection, warmed: dict[Key, _Cached] | None = None
    ) -> None:
        """Answer from `manifest` through `con` from now on (the caller holds the lock): keep what its unchanged
        tables answered, take what was `warmed` for it, forget the rest, detach the files it no longer names."""
        unchanged = self._unchanged(manifest)
        if self._con is not None:
            self._con.close()
        self._con, self._manifest = con, manifest
        self._row_counts = {name: table.rows for name, table in manifest.tables.items()}
        self._known = {d: names for d, names in self._known.items() if NAME_SOURCES[d][0] in unchanged}
        if "campaigns" not in unchanged:  # a scope's campaigns are read from it
            self._visible = {}
        for key in [key for key, cached in self._answers.items() if not cached.tables <= unchanged]:
            del self._answers[key]
        self._answers.update(warmed or {})
        while len(self._answers) > self._cache_size:
            self._answers.popitem(last=False)
        snapshot.detach(con, manifest, self._attached)

    def _watch(self) -> None:
        """Pre-warming: open the first snapshot once there is one; for each newer one, ask the cached questions
        of its changed tables on its own connection (the reader answers meanwhile), then switch to it."""
        while not self._stop.wait(PREWARM_POLL_S):
            try:
                with self._lock:
                    if self._con is None or self._manifest is None:
                        self._connection()
                        continue
                    path = self._current()
                    if path == self._manifest.path:
                        continue
                    manifest, con = self._open(path)
                    unchanged = self._unchanged(manifest)
                    stale = [(key, cached) for key, cached in self._answers.items() if not cached.tables <= unchanged]
                warmed = self._warm(con, manifest, stale)
                with self._lock:
                    if self._stop.is_set():
                        con.close()
                        return
                    self._switch(manifest, con, warmed)
            except snapshot.NoSnapshot:
                continue

    def _warm(
        self, con: duckdb.DuckDBPyConnection, manifest: snapshot.Manifest, stale: list[tuple[Key, _Cached]]
    ) -> dict[Key, _Cached]:
        """The stale answers asked again on `con` (no one else uses it yet, so without the lock)."""
        published = set(manifest.tables) | {snapshot.INFO_TABLE}
        warmed: dict[Key, _Cached] = {}
        for key, cached in stale:
            if self._stop.is_set():
                break
            if not cached.tables <= published:  # a table it read is gone: asked again, it says so then
                continue
            answer = cached.answer
            try:
                warmed[key] = _read(con, manifest, answer.table, cached.sql, cached.params, answer.empty)
            except duckdb.Error:  # an analyst's query the new snapshot no longer answers: the same when asked
                continue
        return warmed

    @_locked
    def freshness(self) -> Freshness:
        """How fresh the answers are: the snapshot's age and newest event, and what landed that it does not show
        (before the first publish too: then there is no snapshot, and what waits)."""
        try:
            self._connection()
        except snapshot.NoSnapshot:
            return freshness(self._settings)
        assert self._manifest is not None
        return freshness(self._settings, self._manifest.info)  # the manifest's account of its snapshot

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
        scope: Scope = EVERYTHING,
    ) -> Answer:
        """Additive totals and derived rates per period (and per `by` dimension), with any filters.

        `start` is inclusive, `end` exclusive. Answered from the smallest rollup that has the grain, the
        dimensions and the window's alignment; the hourly rollup covers every request. An advertiser's trend
        is of its brands only (so it reads a rollup that keeps the brand).
        """
        if scope.kind is Kind.owner:
            raise OutOfScope(refusal("trend", scope.kind))
        filters = {
            Dimension.campaign: list(campaigns),
            Dimension.brand: list(brands),
            Dimension.channel: list(channels),
            Dimension.device: list(devices),
        }
        for dimension, values in filters.items():
            self._check_names(dimension, values, scope)
        needed = set(by) | {d for d, values in filters.items() if values}
        if not scope.unrestricted:
            needed.add(Dimension.brand)
        rollup = self._navigate(grain, needed, start, end)
        where, params = [], []
        for dimension, values in filters.items():
            if values:
                where.append(f"{DIMENSION_COLUMNS[dimension]} IN ({', '.join('?' for _ in values)})")
                params += values
        if not scope.unrestricted:
            where.append("brand_id = ANY(?)")
            params.append(self._scope_values(scope)["brands"])
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
        limit: int | None = LOOKUP_LIMIT,
        scope: Scope = EVERYTHING,
        **filters: str | None,
    ) -> Answer:
        """One of the dashboard questions in `catalog.QUESTIONS`, filtered by the options it accepts and, for a
        tenant or data owner, by the rows its scope may see (`OutOfScope` when none can be tied to it)."""
        if question not in QUESTIONS:
            raise UnknownName(f"unknown question '{question}'; ask one of: {', '.join(QUESTIONS)}")
        spec = QUESTIONS[question]
        source, rows = scope.rows(question, spec)
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
                self._check_names(Dimension(option), [value], scope)
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
        values = self._scope_values(scope)
        source, source_params = bind(source, values)
        if rows:
            predicate, row_params = bind(rows, values)
            where.append(f"({predicate})")
            params += row_params
        sql = (
            f"SELECT * FROM {source}"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + (f" ORDER BY {spec.order_by}" if spec.order_by else "")
            + (f" LIMIT {int(limit)}" if limit is not None else "")
        )
        return self._answer(spec.table, sql, source_params + params, empty=spec.empty)

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

    def _names(self, dimension: Dimension) -> set[str]:
        """The values of a dimension in the current snapshot (small sets, read once per snapshot)."""
        con = self._connection()
        if dimension not in self._known:
            table, column = NAME_SOURCES[dimension]
            self._known[dimension] = {
                v
                for (v,) in con.execute(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL").fetchall()
            }
        return self._known[dimension]

    def _check_names(self, dimension: Dimension, values: Sequence[str], scope: Scope = EVERYTHING) -> None:
        """Refuse a name the snapshot does not hold or the scope cannot see, naming only names the scope sees."""
        if not values:
            return
        known = self._names(dimension)
        if not scope.unrestricted and dimension in (Dimension.campaign, Dimension.brand):
            known = known & set(self._scope_values(scope)[f"{dimension.value}s"])
        unknown = [v for v in values if v not in known]
        if unknown:
            examples = ", ".join(sorted(known)[:5]) or "none"
            raise NotFound(f"unknown {dimension.value} {', '.join(repr(v) for v in unknown)} (known, e.g.: {examples})")

    def _scope_values(self, scope: Scope) -> dict[str, list[str]]:
        """The lists a scope binds: its brands, their campaigns (from the snapshot's campaigns) and its owners."""
        con = self._connection()  # first: a newer snapshot empties what was resolved
        if scope not in self._visible:
            brands = sorted(scope.brands)
            sql = "SELECT campaign_id FROM campaigns WHERE brand_id = ANY(?) ORDER BY 1"
            self._visible[scope] = {
                "brands": brands,
                "campaigns": [c for (c,) in con.execute(sql, [brands]).fetchall()],
                "owners": sorted(scope.owners),
            }
        return self._visible[scope]

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
        con = self._connection()  # first: a newer snapshot drops what changed
        key = (sql, tuple(tuple(p) if isinstance(p, list) else p for p in params))  # a scope binds lists
        cached = self._answers.get(key)
        if cached is not None:
            self._answers.move_to_end(key)
            return cached.answer
        assert self._manifest is not None
        cached = _read(con, self._manifest, table, sql, params, empty)
        if self._cache_size:
            self._answers[key] = cached
            if len(self._answers) > self._cache_size:
                self._answers.popitem(last=False)
        return cached.answer


def _read(
    con: duckdb.DuckDBPyConnection, manifest: snapshot.Manifest, table: str, sql: str, params: list, empty: str
) -> _Cached:
    """Ask DuckDB: the answer, and the tables it read (what decides whether a publish keeps it)."""
    data = con.sql(sql, params=params).to_arrow_table()
    answer = Answer(table, data, "" if data.num_rows else empty, manifest.info.name)
    # DuckDB does not parse a statement with parameters for its tables: the generated SQL has `?` only as them
    parsed = sql.replace("?", "NULL") if params else sql
    return _Cached(answer, sql, params, frozenset(con.get_table_names(parsed)))


def _aligned(bound: date | datetime | None, grain: Grain) -> bool:
    """Whether a window bound falls on the rollup's period boundaries (else a finer rollup must answer)."""
    if bound is None or (grain is Grain.hour and not isinstance(bound, datetime)):
        return True
    moment = bound if isinstance(bound, datetime) else datetime(bound.year, bound.month, bound.day)
    if grain is Grain.hour:
        return moment.minute == moment.second == moment.microsecond == 0
    on_day = moment.hour == moment.minute == moment.second == moment.microsecond == 0
    return on_day and (grain is Grain.day or moment.day == 1)
