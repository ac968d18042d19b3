"""``loopml init``: a commented project file to start from."""

from __future__ import annotations

from pathlib import Path

from loopml.errors import Conflict

TEMPLATE = """\
# loopml project file. `loopml run` trains, evaluates, registers, gates and
# promotes one model per segment from these settings. Every setting:
# docs/project-file.md

# The model family: its versions, runs and dataset are named after it.
name: demand

# Where the rows come from: a CSV or Parquet file (relative to this file),
# or a registered dataset (dataset: sales@3). `time` is a column of dates.
data:
  path: sales.csv
  time: date

# The column to predict.
target: units

# Columns to learn from; `all` is every column but the target, time and segments.
features: all

# One model per value of these columns (leave empty for a single model).
segment_by: [store, sku]

# regression, classification or forecast (lags, rolling means and calendar
# features from `data.time`, scored on the last periods).
task: forecast

# A preset (ridge, linear, lasso, logistic, random_forest, gradient_boosting,
# lightgbm, xgboost) or any estimator by import path, with its params:
#   model: {estimator: sklearn.ensemble.ExtraTreesRegressor, params: {n_estimators: 50}}
model: ridge

# Test rows: random or time (newest rows). Smaller segments are skipped.
split:
  method: time
  test_size: 0.2
  min_rows: 30

# Forecast features; lags shorter than the horizon would leak the future.
forecast:
  horizon: 1
  lags: [1, 7]
  rolling: [7]
  calendar: true
  backtest_periods: 14

# Computed on the test rows and logged with every version.
metrics: [mae, mape, wape]

# What a version must pass before it is promoted.
gate:
  thresholds: {wape: "<= 0.5"}
  beat_champion: mae
  margin: 0.0

# Where segments train: local (processes), dask://host:8786 or ray://host:10001.
execution:
  executor: local
  max_workers: 2
  time_budget: 30m

# What a successful run does: promote (auto), ask a person (approval) or only register (never).
serving:
  alias: champion
  promote: auto

# Monitors of the served model (see docs/monitoring.md), e.g.
#   - {name: demand-drift, kind: drift, window: 1d, schedule: 1h}
monitoring: []

# Closed-loop policies (see docs/closed-loop.md).
policies: []
"""


def write_template(path: str | Path = "loopml.yaml", *, force: bool = False) -> Path:
    path = Path(path)
    if path.exists() and not force:
        raise Conflict(
            f"{path} exists already.", hint="Edit it, or overwrite it with `loopml init --force`."
        )
    path.write_text(TEMPLATE)
    return path
