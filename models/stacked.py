"""Forecasters fitted on disjoint groups of series, used as one: what a per-series fan-out gives back.

The train flow fits each local member (seasonal naive, the statsforecast methods, Prophet) in its own task, one
series each; `Stacked` puts those fitted parts back together so the ensemble can treat them as a single member.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar, Self

import pandas as pd

from pulsecast.models.base import LEVELS, Forecaster, check_request, finalize


class Stacked:
    """A `Forecaster` over parts keyed by the series each one covers (a tuple of unique_ids per part).

    `fit` refits every part on its own series only; `predict` concatenates the parts' forecasts, handing each
    part the rows of `X_df` that concern its series. Local: each part is fitted on its own series only.
    """

    is_global: ClassVar[bool] = False

    def __init__(self, parts: Mapping[tuple[str, ...], Forecaster]) -> None:
        covered = [uid for ids in parts for uid in ids]
        if len(covered) != len(set(covered)):
            raise ValueError("a series may belong to one part only")
        self.parts = dict(parts)

    @property
    def fallbacks(self) -> dict[str, str]:
        return {uid: reason for part in self.parts.values() for uid, reason in part.fallbacks.items()}

    def fit(self, df: pd.DataFrame) -> Self:
        for ids, part in self.parts.items():
            part.fit(df[df["unique_id"].astype(str).isin(ids)])
        return self

    def predict(self, h: int, levels: Sequence[int] = LEVELS, X_df: pd.DataFrame | None = None) -> pd.DataFrame:
        check_request(h, levels)
        forecasts = [
            part.predict(h, levels, None if X_df is None else X_df[X_df["unique_id"].astype(str).isin(ids)])
            for ids, part in self.parts.items()
        ]
        return finalize(pd.concat(forecasts, ignore_index=True), levels)
