"""Real series for the forecasting benchmark that ship with the packages Pulsecast installs or sit in ../shared.

Each loader returns `unique_id, ds, y` as found (gaps and missing values are left for `models.prepare`). The
NAB's traffic sensors report about every five minutes with jitter and gaps, so their files are averaged to
15-minute and hourly steps. The horizons are what a user would ask of each frequency: eight hours of 15-minute
steps, a day of hours, a month of
days, half a year of weeks, a year of months, two years of quarters, a decade of years.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
TRAFFIC = SHARED / "nab" / "data" / "realTraffic"


@dataclass(frozen=True)
class Case:
    """One benchmark series: `group` is its frequency family, `h` its horizon."""

    name: str
    group: str
    h: int
    df: pd.DataFrame

    @property
    def unique_id(self) -> str:
        return str(self.df["unique_id"].iloc[0])


def _frame(name: str, ds: pd.Series | pd.Index, y: pd.Series | list) -> pd.DataFrame:
    return pd.DataFrame({"unique_id": name, "ds": pd.to_datetime(ds), "y": list(y)})


def _traffic(file: str, resample: str | None = None) -> pd.DataFrame:
    raw = pd.read_csv(TRAFFIC / file, parse_dates=["timestamp"]).set_index("timestamp")["value"]
    series = raw.resample(resample).mean().dropna() if resample else raw
    return _frame(Path(file).stem, series.index, series)


def _statsmodels(name: str) -> pd.Series:
    import statsmodels.api as sm

    return getattr(sm.datasets, name).load_pandas().data


def cases() -> list[Case]:
    """Seventeen series from five sources over seven frequencies."""
    from statsmodels.datasets import elec_equip

    co2 = _statsmodels("co2")["co2"]
    elnino = _statsmodels("elnino").set_index("YEAR").stack()
    elnino.index = pd.to_datetime([f"{int(year)}-{month}-01" for year, month in elnino.index], format="%Y-%b-%d")
    macro = _statsmodels("macrodata")
    quarters = pd.PeriodIndex.from_fields(year=macro["year"].astype(int), quarter=macro["quarter"].astype(int))
    sunspots = _statsmodels("sunspots")
    equipment = elec_equip.load().data.iloc[:, 0]
    stocks = pd.read_csv(_matplotlib_sample("Stocks.csv"), comment="#", parse_dates=["Date"]).set_index("Date")
    wiki = pd.read_csv(SHARED / "wiki_pageviews_r_daily.csv")
    google = np.load(_matplotlib_sample("goog.npz"))["price_data"]
    return [
        Case("speed_6005 15-minute", "15-minute", 32, _traffic("speed_6005.csv", "15min")),
        Case("occupancy_t4013 15-minute", "15-minute", 32, _traffic("occupancy_t4013.csv", "15min")),
        Case("speed_7578 15-minute", "15-minute", 32, _traffic("speed_7578.csv", "15min")),
        Case("speed_t4013 hourly", "hourly", 24, _traffic("speed_t4013.csv", "h")),
        Case("occupancy_6005 hourly", "hourly", 24, _traffic("occupancy_6005.csv", "h")),
        Case("TravelTime_387 hourly", "hourly", 24, _traffic("TravelTime_387.csv", "h")),
        Case("TravelTime_451 hourly", "hourly", 24, _traffic("TravelTime_451.csv", "h")),
        Case("wiki pageviews", "daily", 30, _frame("wiki", wiki["ds"], wiki["y"])),
        Case("Google close, trading days", "daily", 30, _frame("goog", google["date"], google["adj_close"])),
        Case("Google volume, trading days", "daily", 30, _frame("goog_volume", google["date"], google["volume"])),
        Case("Mauna Loa CO2 weekly", "weekly", 26, _frame("co2", co2.index, co2)),
        Case("Mauna Loa CO2 monthly", "monthly", 12, _frame("co2m", *_monthly(co2))),
        Case("El Nino SST", "monthly", 12, _frame("elnino", elnino.index, elnino)),
        Case("electrical equipment orders", "monthly", 12, _frame("elec_equip", equipment.index, equipment)),
        Case("S&P 500 monthly close", "monthly", 12, _frame("gspc", *_present(stocks["^GSPC"]))),
        Case("US unemployment", "quarterly", 8, _frame("unemp", quarters.to_timestamp(), macro["unemp"])),
        Case(
            "sunspots",
            "yearly",
            10,
            _frame("sunspots", pd.to_datetime(sunspots["YEAR"].astype(int).astype(str)), sunspots["SUNACTIVITY"]),
        ),
    ]


def _present(series: pd.Series) -> tuple[pd.Index, pd.Series]:
    present = series.dropna()
    return present.index, present


def _monthly(series: pd.Series) -> tuple[pd.Index, pd.Series]:
    monthly = series.resample("MS").mean().dropna()
    return monthly.index, monthly


def _matplotlib_sample(name: str) -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / name
