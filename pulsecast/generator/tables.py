"""Turn coded event chunks into Arrow tables shaped exactly like the event contract."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pulsecast.contract import EVENTS
from pulsecast.generator import catalog
from pulsecast.generator.config import day_date
from pulsecast.generator.events import EventChunk
from pulsecast.generator.world import World

MONEY_TYPE = pa.decimal128(18, 6)
"""Matches contract.MONEY_SQL_TYPE: micro-USD integers become exact decimals, never floats."""

_ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "event_type": pa.string(),
    "timestamp": pa.timestamp("ms", tz="UTC"),
    "money": MONEY_TYPE,
    "number": pa.float64(),
}


EVENT_SCHEMA = pa.schema([pa.field(c.name, _ARROW_TYPES[c.kind], nullable=not c.required) for c in EVENTS.columns])
_CODED = ("event_type", "campaign_id", "brand_id", "channel", "device", "publisher", "topic", "creative_id",
          "user_id", "owner_id")
_CODED_SCHEMA = pa.schema([f.with_type(pa.dictionary(pa.int32(), pa.string())) if f.name in _CODED else f
                           for f in EVENT_SCHEMA])


def plain(table: pa.Table) -> pa.Table:
    """The table in EVENT_SCHEMA, with dictionary-encoded text columns decoded to plain strings."""
    return table if table.schema == EVENT_SCHEMA else table.cast(EVENT_SCHEMA)


def concat_events(tables: list[pa.Table]) -> pa.Table:
    """Concatenate event tables, decoding only when their encodings differ."""
    if all(t.schema == tables[0].schema for t in tables):
        return pa.concat_tables(tables)
    return pa.concat_tables([plain(t) for t in tables])


class EventTables:
    """Holds the world's id dictionaries once, then decodes chunk after chunk.

    Low-cardinality text columns stay dictionary-encoded (cheap to take and to write as Parquet);
    `plain` decodes them for the text formats.
    """

    def __init__(self, world: World) -> None:
        self._world = world
        self._dictionaries = {
            "event_type": pa.array(catalog.EVENT_TYPES),
            "campaign_id": pa.array(world.campaigns.ids),
            "brand_id": pa.array(world.brands.ids),
            "channel": pa.array(catalog.CHANNEL_NAMES),
            "device": pa.array(catalog.DEVICES),
            "publisher": pa.array(world.publishers.ids),
            "topic": pa.array(catalog.TOPICS),
            "creative_id": pa.array(world.creatives.ids),
            "user_id": pa.array(world.user_ids()),
            "owner_id": pa.array(world.owners.ids),
        }

    def table(self, chunk: EventChunk, id_prefix: str) -> pa.Table:
        """Contract columns (text dictionary-encoded).

        Event ids are `<prefix>-<chunk day yyyymmdd>-<index in the day's time order>`.
        """
        index = pc.utf8_lpad(pa.array(np.arange(len(chunk))).cast(pa.string()), 8, "0")
        campaign = self._world.pairs.campaign[chunk.pair]
        brand = self._world.campaigns.brand[campaign]
        channel = self._world.pairs.channel[chunk.pair]
        codes = dict(zip(_CODED, (chunk.kind, campaign, brand, channel, chunk.device, chunk.publisher, chunk.topic,
                                  chunk.creative, chunk.user, chunk.owner), strict=True))
        columns = {
            "event_id": pc.binary_join_element_wise(f"{id_prefix}-{day_date(chunk.day):%Y%m%d}-", index, ""),
            "event_ts": pa.array(chunk.ts, type=pa.timestamp("ms", tz="UTC")),
            **{name: _decode(values, self._dictionaries[name]) for name, values in codes.items()},
            "cost": money(chunk.cost),
            "revenue": money(chunk.revenue),
            "amount": money(chunk.amount),
            "watch_seconds": pa.array(chunk.watch_ds / 10, mask=chunk.watch_ds < 0),
        }
        return pa.Table.from_arrays([columns[f.name] for f in EVENT_SCHEMA], schema=_CODED_SCHEMA)


def _decode(codes: np.ndarray, dictionary: pa.Array) -> pa.DictionaryArray:
    missing = codes < 0
    indices = pa.array(np.where(missing, 0, codes).astype(np.int32), mask=missing if missing.any() else None)
    return pa.DictionaryArray.from_arrays(indices, dictionary)


def money(micros: np.ndarray) -> pa.Array:
    """Decimal(18, 6) array from non-negative micro-units (-1: null), built from raw 128-bit buffers."""
    micros = np.asarray(micros, dtype=np.int64)
    valid = micros >= 0
    words = np.zeros((len(micros), 2), dtype=np.int64)  # little-endian low word, zero high word
    words[:, 0] = np.where(valid, micros, 0)
    validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(MONEY_TYPE, len(micros), [validity, pa.py_buffer(words)],
                                 null_count=int((~valid).sum()))
