"""The market around each campaign: does competitor share of voice or search interest move its results, and
where does each brand stand against its competitors?

**Effects** (`market_effects`). Per campaign, metric and signal, the campaign's daily log(1 + y) is explained
first without the signals (day of week and the campaign's own level over the previous 7 days: OLS, statsmodels),
and the signal (`raw.market_signals`, standardised) is then regressed on what is left. The effect **holds** only
out of sample: fitted on the first 70 % of the days, the coefficient must be significant (p < 0.05), adding the
signal must lower the squared error on the last 30 %, and the last 30 % on their own must give the same sign.
Where it holds, the campaign's forecast is shifted by `factor` = exp(coefficient x (the latest 7-day mean of the
signal - its mean over the fit)), assuming the latest week's level persists over the horizon (the signal's
future is unknown when forecasting; the train flow does not use it as a regressor for that reason). Elsewhere
the factor is 1.

**Competitor position** (`competitor_position`), per brand: the competitors' share of voice (a market-wide
signal) and its trend over the last 28 days; an estimated market share, the brand's share of the platform's
impressions over those days times (1 - the competitors' share of voice), i.e. its share of all the market's
impressions if competitors buy that share of them; and the measured effect of competitor share of voice on the
brand's daily CTR (same regression and out-of-sample test as above).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import statsmodels.api as sm

SIGNALS = ("competitor_share_of_voice", "search_trend_index")
METRICS = ("conversions", "clicks")
TRAIN_SHARE = 0.7
ALPHA = 0.05
MIN_DAYS = 28
"""A campaign needs this many days of delivery before an effect is measured."""
RECENT_DAYS = 7
TREND_DAYS = 28

COLUMNS: dict[str, tuple[str, str]] = {
    "run_id": ("VARCHAR", "The decide run that wrote the row."),
    "campaign_id": ("VARCHAR", "Campaign."),
    "metric": ("VARCHAR", "conversions or clicks."),
    "signal": ("VARCHAR", "competitor_share_of_voice or search_trend_index (raw.market_signals)."),
    "days": ("INTEGER", "Days of delivery the effect is measured on."),
    "coefficient": (
        "DOUBLE",
        "Change in log(1 + daily metric) per standard deviation of the signal, beyond day of week and level.",
    ),
    "std_error": ("DOUBLE", "Standard error of the coefficient (fitted on the first 70 % of the days)."),
    "p_value": ("DOUBLE", "Its p-value."),
    "holdout_mse_without": ("DOUBLE", "Squared error on the last 30 % of the days without the signal."),
    "holdout_mse_with": ("DOUBLE", "The same with the signal."),
    "holdout_coefficient": ("DOUBLE", "The coefficient fitted on the last 30 % alone (its sign must agree)."),
    "holds": ("BOOLEAN", "Significant, lowers the held-out error and keeps its sign out of sample."),
    "signal_shift": ("DOUBLE", "Latest 7-day mean of the signal minus its mean over the fit, in standard deviations."),
    "factor": (
        "DOUBLE",
        "Multiplier for the campaign's forecast of the metric: exp(coefficient x shift), 1 unless holds.",
    ),
    "evidence": ("VARCHAR", "The numbers behind the factor, in words."),
    "created_at": ("TIMESTAMP", "When the row was written (UTC)."),
}

COMPETITOR_COLUMNS: dict[str, tuple[str, str]] = {
    "run_id": ("VARCHAR", "The decide run that wrote the row."),
    "brand_id": ("VARCHAR", "Brand."),
    "share_of_voice": ("DOUBLE", "Competitors' share of voice, mean of the last 7 days (market-wide)."),
    "share_of_voice_trend": ("DOUBLE", "Its slope over the last 28 days, in share points per day."),
    "platform_share": ("DOUBLE", "The brand's share of the platform's impressions over the last 28 days."),
    "estimated_market_share": (
        "DOUBLE",
        "platform_share x (1 - competitors' share of voice): its share of the whole market's impressions.",
    ),
    "ctr_effect": (
        "DOUBLE",
        "Change in the brand's log daily CTR per standard deviation of competitor share of voice.",
    ),
    "ctr_effect_p_value": ("DOUBLE", "Its p-value."),
    "ctr_effect_holds": ("BOOLEAN", "The effect holds out of sample (as in ml.market_effects)."),
    "created_at": ("TIMESTAMP", "When the row was written (UTC)."),
}


def read_signals(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        f"SELECT signal_date AS day, {', '.join(SIGNALS)} FROM raw.market_signals ORDER BY signal_date"
    ).df()


def market_effects(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    daily = con.execute(
        f"SELECT campaign_id, day, {', '.join(METRICS)} FROM marts.campaign_daily ORDER BY campaign_id, day"
    ).df()
    return effects(daily, read_signals(con))


def effects(daily: pd.DataFrame, signals: pd.DataFrame) -> pd.DataFrame:
    """Every campaign x metric x signal's measured effect and forecast factor (`COLUMNS` order)."""
    rows = []
    standard = _standardised(signals)
    for campaign_id, group in daily.groupby("campaign_id"):
        frame = group.merge(standard, on="day", how="inner").sort_values("day")
        if len(frame) < MIN_DAYS:
            continue
        for metric in METRICS:
            for signal in SIGNALS:
                rows.append(
                    {"campaign_id": campaign_id, "metric": metric, "signal": signal}
                    | measure(np.log1p(frame[metric].to_numpy(float)), frame, signal, standard)
                )
    result = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("run_id", "created_at")])
    return result.assign(run_id="", created_at=pd.Timestamp.now(tz="UTC").tz_localize(None))[list(COLUMNS)]


def measure(y: np.ndarray, frame: pd.DataFrame, signal: str, standard: pd.DataFrame) -> dict:
    """One effect: baseline residuals regressed on the signal, checked on the held-out tail."""
    baseline = _baseline(y, frame["day"])
    valid = ~np.isnan(baseline).any(axis=1)
    y, x, days = y[valid], frame[signal].to_numpy(float)[valid], frame["day"].to_numpy()[valid]
    cut = int(len(y) * TRAIN_SHARE)
    baseline = _varying(baseline[valid], cut)
    without = sm.OLS(y[:cut], baseline[:cut]).fit()
    with_signal = sm.OLS(y[:cut], np.column_stack([baseline[:cut], x[:cut]])).fit()
    mse_without = float(np.mean((y[cut:] - without.predict(baseline[cut:])) ** 2))
    mse_with = float(np.mean((y[cut:] - with_signal.predict(np.column_stack([baseline[cut:], x[cut:]]))) ** 2))
    holdout = np.linalg.lstsq(np.column_stack([baseline[cut:], x[cut:]]), y[cut:], rcond=None)[0]  # sign only
    coefficient, p_value = float(with_signal.params[-1]), float(with_signal.pvalues[-1])
    holds = bool(p_value < ALPHA and mse_with < mse_without and np.sign(holdout[-1]) == np.sign(coefficient))
    fit_mean = float(np.mean(x[:cut]))
    recent = standard[signal].iloc[-RECENT_DAYS:].mean()
    shift = float(recent - fit_mean)
    factor = float(np.exp(coefficient * shift)) if holds else 1.0
    evidence = (
        f"{signal}: {coefficient:+.3f} log units per sd (p={p_value:.3f}) over {cut} days to "
        f"{pd.Timestamp(days[cut - 1]):%Y-%m-%d}; held-out error {mse_with:.4f} with vs {mse_without:.4f} without; "
        f"latest week {shift:+.2f} sd from the fit's mean"
    )
    return {
        "days": len(y),
        "coefficient": coefficient,
        "std_error": float(with_signal.bse[-1]),
        "p_value": p_value,
        "holdout_mse_without": mse_without,
        "holdout_mse_with": mse_with,
        "holdout_coefficient": float(holdout[-1]),
        "holds": holds,
        "signal_shift": shift,
        "factor": factor,
        "evidence": evidence,
    }


def adjustments(effects: pd.DataFrame) -> pd.DataFrame:
    """Per campaign and metric, the product of the factors of the effects that hold, with their evidence: what the
    scenarios multiply their distribution by."""
    held = effects[effects["holds"]]
    if held.empty:
        return pd.DataFrame(columns=["campaign_id", "metric", "factor", "evidence"])
    grouped = held.groupby(["campaign_id", "metric"])
    return pd.DataFrame(
        {
            "factor": grouped["factor"].prod(),
            "evidence": grouped["evidence"].agg("; ".join),
        }
    ).reset_index()


def competitor_position(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    brands = con.execute("SELECT brand_id, day, impressions, clicks FROM marts.brand_daily ORDER BY brand_id, day").df()
    return position(brands, read_signals(con))


def position(brands: pd.DataFrame, signals: pd.DataFrame) -> pd.DataFrame:
    """Per brand: share of voice level and trend, estimated market share, the CTR effect of competitors."""
    recent_days = signals["day"].iloc[-TREND_DAYS:]
    trend = signals[signals["day"].isin(recent_days)]
    slope = (
        float(np.polyfit(np.arange(len(trend)), trend["competitor_share_of_voice"], 1)[0]) if len(trend) > 1 else np.nan
    )
    voice = float(signals["competitor_share_of_voice"].iloc[-RECENT_DAYS:].mean())
    window = brands[brands["day"].isin(recent_days)]
    platform = window.groupby("brand_id")["impressions"].sum() / max(window["impressions"].sum(), 1)
    standard = _standardised(signals)
    rows = []
    for brand_id, group in brands.groupby("brand_id"):
        frame = group[group["impressions"] > 0].merge(standard, on="day").sort_values("day")
        effect = {"coefficient": np.nan, "p_value": np.nan, "holds": False}
        if len(frame) >= MIN_DAYS:
            ctr = np.log((frame["clicks"].to_numpy(float) + 0.5) / frame["impressions"].to_numpy(float))
            effect = measure(ctr, frame, "competitor_share_of_voice", standard)
        share = float(platform.get(brand_id, 0.0))
        rows.append(
            {
                "brand_id": brand_id,
                "share_of_voice": voice,
                "share_of_voice_trend": slope,
                "platform_share": share,
                "estimated_market_share": share * (1 - voice),
                "ctr_effect": effect["coefficient"],
                "ctr_effect_p_value": effect["p_value"],
                "ctr_effect_holds": effect["holds"],
            }
        )
    result = pd.DataFrame(rows, columns=[c for c in COMPETITOR_COLUMNS if c not in ("run_id", "created_at")])
    return result.assign(run_id="", created_at=pd.Timestamp.now(tz="UTC").tz_localize(None))[list(COMPETITOR_COLUMNS)]


def _standardised(signals: pd.DataFrame) -> pd.DataFrame:
    out = signals.copy()
    out["day"] = pd.to_datetime(out["day"])
    for signal in SIGNALS:
        spread = out[signal].std()
        out[signal] = (out[signal] - out[signal].mean()) / (spread if spread > 0 else 1.0)
    return out


def _varying(baseline: np.ndarray, cut: int) -> np.ndarray:
    """The intercept and the baseline columns that vary over the fit's days. A campaign without a single
    conversion has a level of 0 throughout: the column made the design singular (statsmodels then warns on
    every fit), while the fit without it is the same."""
    varies = np.ptp(baseline[:cut], axis=0) > 0
    varies[0] = True
    return baseline[:, varies]


def _baseline(y: np.ndarray, days: pd.Series) -> np.ndarray:
    """Intercept, day-of-week dummies and the mean of the previous 7 days (causal): what the campaign would do
    without knowing the market."""
    weekday = pd.to_datetime(days).dt.day_of_week.to_numpy()
    dummies = (weekday[:, None] == np.arange(1, 7)[None, :]).astype(float)
    level = pd.Series(y).shift(1).rolling(7).mean().to_numpy()
    return np.column_stack([np.ones(len(y)), dummies, level])
