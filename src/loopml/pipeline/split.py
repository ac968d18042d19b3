"""Training and test rows of one segment: a seeded random split, a time split, or the
last N periods of a forecast's backtest."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd


def split_positions(
    frame: pd.DataFrame,
    *,
    method: str,
    test_size: float,
    seed: int,
    time: str | None = None,
    backtest_periods: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The positions of the train and the test rows: the caller selects its columns once
    and slices them by position, without selecting columns again."""
    if backtest_periods is not None:
        return _last_periods(frame, time, backtest_periods)
    n_test = min(len(frame) - 1, max(1, round(len(frame) * test_size)))
    if method == "time":
        ordered = np.argsort(frame[time].to_numpy(), kind="stable")
        return ordered[:-n_test], ordered[-n_test:]
    return _random(len(frame), n_test, seed)


@functools.lru_cache(maxsize=64)
def _random(rows: int, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Segments of one size share their seeded split: making the generator costs more
    than splitting 200 rows. The positions are read-only, as they are shared."""
    order = np.random.default_rng(seed).permutation(rows)
    train, test = np.sort(order[n_test:]), np.sort(order[:n_test])
    train.flags.writeable = test.flags.writeable = False
    return train, test


def _last_periods(frame: pd.DataFrame, time: str, periods: int) -> tuple[np.ndarray, np.ndarray]:
    """Backtest: the newest ``periods`` distinct times are the test rows."""
    stamps = np.sort(frame[time].unique())
    if len(stamps) <= periods:
        raise ValueError(
            f"{len(stamps)} periods are too few to hold out the last {periods} for the backtest"
        )
    cut = stamps[-periods]
    is_test = (frame[time] >= cut).to_numpy()
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)
