"""A generated ERP demand table: daily demand per store × product segment.

Demand has a level per segment, a gentle trend, weekly seasonality, promotion
uplift and noise. ``shock`` applies a sudden regime change to some segments
from a given day on — the kind of break planning models suffered in 2020;
``glitch`` under-records a few days of one segment, a break of the records and
not of demand, which a monitor of the error cannot tell apart at first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

STORES = ("north", "south", "east", "west", "central")
PRODUCTS = ("flour", "pasta", "rice", "oil", "soap", "tissue", "yeast", "beans", "milk", "sugar")


@dataclass(frozen=True)
class Shock:
    """From ``day`` on, demand of ``segments`` is multiplied by ``factor`` and
    its weekly pattern flattened: hoarding does not wait for the weekend."""

    day: int
    segments: tuple[tuple[str, str], ...]
    factor: float = 2.2


@dataclass(frozen=True)
class Glitch:
    """A till outage: ``days`` days of ``segment`` from ``day`` on are recorded at ``share``
    of what was sold. Demand itself does not change."""

    day: int
    segment: tuple[str, str]
    days: int = 2
    share: float = 0.3


def segments(count: int = 50) -> list[tuple[str, str]]:
    pairs = [(store, product) for store in STORES for product in PRODUCTS]
    return pairs[:count]


def demand_table(
    days: int,
    *,
    segment_count: int = 50,
    start: str = "2026-01-05",
    shock: Shock | None = None,
    glitch: Glitch | None = None,
    seed: int = 7,
) -> pd.DataFrame:
    """One row per segment and day with the features a planner knows in advance."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=days, freq="D")
    day = np.arange(days)
    frames = []
    for store, product in segments(segment_count):
        level = rng.uniform(20, 120)
        trend = rng.uniform(-0.02, 0.06) * level / 100
        weekly = rng.uniform(0.1, 0.35) * level
        promo = rng.random(days) < 0.08
        season = weekly * np.sin(2 * np.pi * (day % 7) / 7)
        demand = level + trend * day + season + promo * 0.4 * level
        if shock is not None and (store, product) in shock.segments:
            after = day >= shock.day
            demand = np.where(
                after, (level + trend * day) * shock.factor + promo * 0.4 * level, demand
            )
        demand = np.maximum(demand + rng.normal(0, 0.06 * level, days), 0)
        if glitch is not None and (store, product) == glitch.segment:
            outage = (day >= glitch.day) & (day < glitch.day + glitch.days)
            demand = np.where(outage, demand * glitch.share, demand)
        frames.append(
            pd.DataFrame(
                {
                    "date": dates,
                    "store": store,
                    "product": product,
                    "day_of_week": dates.day_of_week,
                    "promo": promo.astype(int),
                    "price": np.round(rng.uniform(0.9, 1.1, days) * (1 + level / 100), 2),
                    "demand": np.round(demand, 1),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
