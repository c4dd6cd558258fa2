"""A small global LSTM: one network learns from windows of every series and forecasts quantiles directly.

Why global: campaign series are short and many; one network sees all their windows, so a series with little
history still borrows what the others show. Each series is scaled by its own mean absolute seasonal
difference and each window is centred on its own input mean, so big and small series, and level shifts,
look alike to the network. The output is every horizon step at once (no recursion, so no error feedback)
and one column per quantile, trained with the pinball loss: the quantiles are the intervals.

Inputs per step: the scaled value, the calendar phase within the season (hour of day, weekday, month) and a
holiday flag. Known about the steps ahead: their holiday flags and, for daily and finer series with the
history, the same steps one long cycle earlier (52 weeks of days, a week of hours), which carries yearly
patterns such as the year-end dip that a window of a few weeks cannot see.

`networks` (3) networks with consecutive seeds are trained on the same windows and their quantiles averaged:
a single small network's accuracy depends on its seed, and the average is steadier and better than a typical
single one.

The input is four seasons or twice the horizon, whichever is longer (up to `MAX_INPUT`), and the learning rate
follows one cycle (warm up to `learning_rate`, anneal to near zero): together they forecast better than a
shorter input and a schedule without warm-up on most data sets measured, and better than either change alone.

It is deliberately small (one layer, 32 units, capped windows and epochs) to train in seconds on a CPU, and
deterministic: seeded, deterministic kernels, fixed thread count, global torch state restored. One thread
by default: tensors this small gain nothing from intra-op threads, and on a shared machine a second spinning
OpenMP thread makes training many times slower. The measurements are in docs/forecasting.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from pulsecast.models.base import LEVELS, check_request, interval_columns, quantile_of
from pulsecast.models.fallback import GuardedForecaster
from pulsecast.models.frequency import daily_or_finer, future_dates, holiday_flags, long_cycle, step_index
from pulsecast.models.prepare import PreparedSeries

MAX_INPUT = 96
"""Longest input window: longer sequences cost more than they teach a 32-unit network (on series with long
seasons a longer input was both less accurate and slower; docs/forecasting.md). Hourly, daily (up to h=48) and
monthly series never reach the cap."""
AHEAD_FEATURES = 3


@dataclass(frozen=True)
class _Scaled:
    """One series ready for the network: values over its own scale, and the calendar phase of each step."""

    values: np.ndarray
    phase: np.ndarray
    holiday: np.ndarray
    """Holiday flags of every step and of the `horizon` steps after the last one."""
    scale: float
    last: pd.Timestamp


class _Network(nn.Module):
    """LSTM summary of the window, plus a linear skip from the raw window values (alone it can already repeat
    or average past seasons; the LSTM learns what that misses), plus a linear effect of what is known about
    the steps ahead (holidays, and the same steps one long cycle earlier)."""

    def __init__(self, window: int, hidden_size: int, horizon: int, n_quantiles: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size=4, hidden_size=hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, horizon * n_quantiles)
        self.skip = nn.Linear(window, horizon * n_quantiles)
        self.ahead = nn.Linear(horizon * AHEAD_FEATURES, horizon * n_quantiles)
        self.shape = (horizon, n_quantiles)

    def forward(self, inputs: torch.Tensor, ahead: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(inputs)
        output = self.head(hidden[-1]) + self.skip(inputs[:, :, 0]) + self.ahead(ahead.flatten(1))
        return output.view(-1, *self.shape)


class LSTMModel(GuardedForecaster):
    """Global quantile LSTM (see the module docstring).

    `horizon` is fixed at construction because the network emits every step at once: `predict(h)` accepts
    any h <= horizon, and the `levels` given here (their quantiles are what it learns). `country_holidays`
    marks that country's public holidays (daily or finer steps; None for none).
    """

    is_global: ClassVar[bool] = True

    def __init__(
        self,
        freq: str | None = None,
        *,
        horizon: int,
        levels: Sequence[int] = LEVELS,
        country_holidays: str | None = "US",
        input_size: int | None = None,
        hidden_size: int = 32,
        steps: int = 400,
        warm_fraction: float = 0.25,
        batch_size: int = 128,
        max_windows: int = 3000,
        learning_rate: float = 3e-3,
        networks: int = 3,
        seed: int = 0,
        threads: int = 1,
    ) -> None:
        super().__init__(freq)
        check_request(horizon, levels)
        self.horizon = horizon
        self.levels = tuple(levels)
        self.country_holidays = country_holidays
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.steps = steps
        self.warm_fraction = warm_fraction
        self._start: tuple[int, list[dict[str, torch.Tensor]]] = (0, [])
        """(input window, network weights) to continue from: see `start_from`."""
        self.batch_size = batch_size
        self.max_windows = max_windows
        self.learning_rate = learning_rate
        self.networks = networks
        self.seed = seed
        self.threads = threads
        self.quantiles = sorted({0.5, *(quantile_of(c) for c in interval_columns(levels))})

    def window(self, season_length: int) -> int:
        """Input steps: four seasons or twice the horizon, whichever is longer, up to MAX_INPUT."""
        return self.input_size or min(max(4 * season_length, 2 * self.horizon), MAX_INPUT)

    def min_length(self, season_length: int) -> int:
        return max(super().min_length(season_length), self.window(season_length))

    def start_from(self, earlier: LSTMModel) -> None:
        """Let the next `fit` continue from `earlier`'s networks with `warm_fraction` of the step budget.

        For a model fitted on the same series up to an earlier cutoff (the previous backtest window): the data
        differ by a few horizons, so a short continuation learns what a full training would, at a quarter of
        the cost. Nothing leaks, as every network only ever saw data up to its own cutoff. An earlier fit of
        another shape (or none) is ignored and the fit starts fresh."""
        networks = getattr(earlier, "_networks", [])
        if len(networks) == self.networks and earlier.horizon == self.horizon and earlier.levels == self.levels:
            self._start = (earlier._window, [network.state_dict() for network in networks])

    def _fit(self, series: PreparedSeries) -> dict[str, str]:
        self._window = self.window(series.season_length)
        self._cycle = long_cycle(self.freq_, series.season_length)
        self._series = {
            str(uid): self._scaled(frame, series.season_length) for uid, frame in series.df.groupby("unique_id")
        }
        inputs, ahead, targets = self._training_windows()
        window, starts = self._start
        starts = starts if window == self._window else []
        self._networks = [
            self._trained(seed, inputs, ahead, targets, start)
            for seed, start in zip(
                range(self.seed, self.seed + self.networks), starts or [None] * self.networks, strict=True
            )
        ]
        return {}

    def _scaled(self, frame: pd.DataFrame, season_length: int) -> _Scaled:
        y = frame["y"].to_numpy(dtype=float)
        lag = season_length if len(y) > 2 * season_length else 1
        scale = float(np.mean(np.abs(y[lag:] - y[:-lag]))) or float(np.std(y)) or 1.0
        phase = 2 * np.pi * (step_index(frame["ds"], self.freq_) % season_length) / season_length
        last = frame["ds"].iloc[-1]
        dates = frame["ds"].tolist() + list(future_dates(last, self.horizon, self.freq_))
        return _Scaled(y / scale, phase, self._holidays(pd.DatetimeIndex(dates)), scale, last)

    def _holidays(self, ds: pd.Series | pd.DatetimeIndex) -> np.ndarray:
        if self.country_holidays and daily_or_finer(self.freq_):
            return holiday_flags(ds, self.country_holidays)
        return np.zeros(len(ds))

    def _ahead(self, scaled: _Scaled, end: int) -> np.ndarray:
        """[horizon, AHEAD_FEATURES] for the steps from `end`: holiday flag, and the values one long cycle earlier
        (a year of days, a week of hours) relative to their own preceding window, with a flag where they exist."""
        echo, known = np.zeros(self.horizon), 0.0
        start = end - self._cycle
        if self._cycle >= self.horizon and start >= self._window:
            before = scaled.values[start - self._window : start].mean()
            echo, known = scaled.values[start : start + self.horizon] - before, 1.0
        return np.column_stack([scaled.holiday[end : end + self.horizon], echo, np.full(self.horizon, known)])

    def _features(self, scaled: _Scaled, end: int) -> tuple[np.ndarray, float]:
        """The input window ending before `end`, centred on its mean (returned, to put forecasts back)."""
        window = slice(end - self._window, end)
        values, phase = scaled.values[window], scaled.phase[window]
        level = float(values.mean())
        return np.column_stack([values - level, np.sin(phase), np.cos(phase), scaled.holiday[window]]), level

    def _training_windows(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Every (series, end) with a full input and target window, subsampled to `max_windows` with the seed."""
        spans = [
            (scaled, end)
            for scaled in self._series.values()
            for end in range(self._window, len(scaled.values) - self.horizon + 1)
        ]
        if not spans:
            raise ValueError(f"no series has {self._window + self.horizon} points for one training window")
        rng = np.random.default_rng(self.seed)
        if len(spans) > self.max_windows:
            spans = [spans[i] for i in np.sort(rng.choice(len(spans), self.max_windows, replace=False))]
        inputs, ahead, targets = [], [], []
        for scaled, end in spans:
            features, level = self._features(scaled, end)
            inputs.append(features)
            ahead.append(self._ahead(scaled, end))
            targets.append(scaled.values[end : end + self.horizon] - level)
        return tuple(torch.tensor(np.stack(part), dtype=torch.float32) for part in (inputs, ahead, targets))

    def _trained(
        self,
        seed: int,
        inputs: torch.Tensor,
        ahead: torch.Tensor,
        targets: torch.Tensor,
        start: dict[str, torch.Tensor] | None,
    ) -> _Network:
        """One network from its own seed (initial weights and batch order), or continued from `start`; the data
        are the same for all."""
        quantiles = torch.tensor(self.quantiles, dtype=torch.float32)
        steps = self.steps if start is None else max(1, round(self.steps * self.warm_fraction))
        with _reproducible(seed, self.threads):
            network = _Network(self._window, self.hidden_size, self.horizon, len(self.quantiles))
            if start is not None:
                network.load_state_dict(start)
            optimiser = torch.optim.Adam(network.parameters(), lr=self.learning_rate)
            schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=self.learning_rate, total_steps=steps)
            for batch in _batches(len(inputs), self.batch_size, steps):
                optimiser.zero_grad()
                pinball_loss(network(inputs[batch], ahead[batch]), targets[batch], quantiles).backward()
                nn.utils.clip_grad_norm_(network.parameters(), 1.0)
                optimiser.step()
                schedule.step()
            self.steps_taken_ = schedule.last_epoch
        return network.eval()

    def _predict(self, h: int, levels: Sequence[int], X_df: pd.DataFrame | None) -> pd.DataFrame:
        """`X_df` is ignored: the network is univariate (calendar phase and holidays come from the timestamps)."""
        if h > self.horizon:
            raise ValueError(f"this LSTMModel was built for a horizon of {self.horizon}; refit it for h={h}")
        if not set(levels) <= set(self.levels):
            raise ValueError(f"this LSTMModel learned the quantiles of levels {list(self.levels)}, not {list(levels)}")
        windows = [self._features(scaled, len(scaled.values)) for scaled in self._series.values()]
        ahead = [self._ahead(scaled, len(scaled.values)) for scaled in self._series.values()]
        inputs = torch.tensor(np.stack([features for features, _ in windows]), dtype=torch.float32)
        ahead = torch.tensor(np.stack(ahead), dtype=torch.float32)
        with _reproducible(self.seed, self.threads), torch.no_grad():
            output = torch.stack([network(inputs, ahead) for network in self._networks]).mean(dim=0)
        output = output[:, :h, :].numpy().astype(float)
        columns = ["yhat", *interval_columns(levels)]
        position = [self.quantiles.index(quantile_of(c)) for c in columns]
        frames = []
        for (uid, scaled), (_, level), values in zip(self._series.items(), windows, output, strict=True):
            frame = pd.DataFrame((values[:, position] + level) * scaled.scale, columns=columns)
            frame.insert(0, "ds", future_dates(scaled.last, h, self.freq_))
            frame.insert(0, "unique_id", uid)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


def _batches(n: int, batch_size: int, steps: int) -> Iterator[torch.Tensor]:
    """`steps` mini-batches of shuffled window indices, reshuffled each pass over the `n` windows: a budget of
    gradient steps, so training costs the same on a long series as on many short ones."""
    taken = 0
    while True:
        for batch in torch.randperm(n).split(batch_size):
            if taken == steps:
                return
            taken += 1
            yield batch


def pinball_loss(predicted: torch.Tensor, target: torch.Tensor, quantiles: torch.Tensor) -> torch.Tensor:
    """Mean quantile loss of predicted [batch, step, quantile] against target [batch, step]."""
    error = target.unsqueeze(-1) - predicted
    return torch.maximum(quantiles * error, (quantiles - 1) * error).mean()


@contextmanager
def _reproducible(seed: int, threads: int) -> Iterator[None]:
    """Seeded, deterministic kernels and a fixed thread count, with torch's global state restored afterwards."""
    deterministic, previous_threads = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True)
        torch.set_num_threads(threads)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(deterministic)
            torch.set_num_threads(previous_threads)
