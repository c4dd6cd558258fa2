"""Forecasting models behind one interface (`models.base.Forecaster`), in statsforecast's long format.

    from pulsecast.models.ensemble import Ensemble
    ensemble = Ensemble(horizon=30).fit(df)          # df: unique_id, ds, y (any order, gaps, duplicates)
    ensemble.predict(30)                             # unique_id, ds, yhat, yhat_lo_80, yhat_hi_80, yhat_lo_95, ...
    ensemble.predict_members(30)                     # the same for every member and the ensemble, with `model`

Modules, each importable alone (submodules are not imported here, so importing `models.frequency` does not
load torch or Prophet; nor does `ensemble`: torch loads when an LSTM is built, Prophet when one is fitted):

- `base`: the `Forecaster` protocol, `ModelFactory`, `LEVELS`, column helpers and `finalize` (contract order,
  nested intervals).
- `frequency`, `prepare`: frequency inference and the explicit repairs (snapping, duplicates, gaps).
- `seasonal_naive`, `prophet_model`, `lstm`: the members; `fallback`: the screening and baseline fallback
  they and the ensemble share.
- `combination`, `ensemble`: backtest-weighted, conformally calibrated combination of the members.
"""
