"""Independent random streams (one per purpose and day, so any day can be regenerated on its own) and the
vectorised categorical draw."""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Stream(IntEnum):
    world = 0
    plan = 1
    events = 2
    delivery = 3
    signals = 4
    replay = 5


def stream_rng(seed: int, stream: Stream, day: int = 0) -> np.random.Generator:
    """The generator for (seed, purpose, epoch day): same inputs, same draws, whatever ran before."""
    return cell_rng(seed, stream, day)


def cell_rng(seed: int, stream: Stream, day: int, *keys: int) -> np.random.Generator:
    """The generator for one cell of a stream (e.g. a campaign x channel x measure on a day): its draws do
    not depend on which other cells are drawn, which is what common random numbers need."""
    return np.random.default_rng(np.random.SeedSequence([seed, int(stream), day, *keys]))


def cumulative_shares(weights: np.ndarray) -> np.ndarray:
    """Row-wise CDF over the last axis, exactly 1.0 from the last positive weight on (rows of zeros: all 1.0),
    so `pick` never lands on a zero-weight padding slot through rounding."""
    total = weights.sum(axis=-1, keepdims=True)
    cdf = np.cumsum(weights, axis=-1) / np.where(total > 0, total, 1.0)
    return np.where((cdf > 1 - 1e-9) | (total <= 0), 1.0, cdf)


def pick(u: np.ndarray, cdf_rows: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw per row: `u` in [0, 1), `cdf_rows` [n, k] cumulative shares ending in 1.0."""
    return (u[:, None] >= cdf_rows).sum(axis=1)
