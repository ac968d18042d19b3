"""Is one model better than another on the same rows? A paired test that waits for evidence.

Both models' losses are taken on the same rows (``loopml.metrics.losses``), and the
question is always one-sided: is ``worse`` (the model we would move away from)
beaten by ``better`` by more than a share ``margin`` of its loss? The differences

    d_i = (1 - margin) * loss_worse_i - loss_better_i

are tested with a one-sided paired t-test, H0: mean(d) <= 0, the same as
``scipy.stats.ttest_rel((1 - margin) * worse, better, alternative="greater")``.
The answer is ``yes`` when its p-value is below ``1 - confidence`` (equivalently, the
lower end of the one-sided ``confidence`` interval of mean(d) is above 0), ``no``
otherwise, and ``wait`` while fewer than ``min_rows`` rows are there: too little
evidence decides nothing.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Comparison:
    verdict: str  # yes, no, wait
    rows: int
    needed: int
    worse_loss: float  # mean loss of the model judged, on the rows
    better_loss: float  # mean loss of the model it is compared with
    margin: float
    confidence: float
    mean_difference: float  # mean of d
    lower_bound: float  # of the one-sided confidence interval of mean(d)
    p_value: float

    @property
    def waiting(self) -> bool:
        return self.verdict == "wait"

    def describe(self, worse: str, better: str) -> str:
        """The numbers behind the verdict, as a person reads them."""
        if self.waiting:
            return f"{self.rows} of {self.needed} rows to compare {better} with {worse}"
        return (
            f"{better} {self.better_loss:.4g} vs {worse} {self.worse_loss:.4g} on the same "
            f"{self.rows} rows; paired t-test of {better} below {1 - self.margin:.0%} of {worse}: "
            f"p = {self.p_value:.3g}, {self.confidence:.0%} lower bound {self.lower_bound:.4g}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            k: (v if not isinstance(v, float) or math.isfinite(v) else None)
            for k, v in asdict(self).items()
        }


def beats(
    worse_losses, better_losses, *, margin: float, confidence: float, min_rows: int
) -> Comparison:
    """Does ``better`` beat ``worse`` by more than ``margin`` on these paired rows?"""
    from scipy import stats

    worse, better = np.asarray(worse_losses, float), np.asarray(better_losses, float)
    both = np.isfinite(worse) & np.isfinite(better)
    worse, better = worse[both], better[both]
    rows = len(worse)
    means = (float(np.mean(worse)), float(np.mean(better))) if rows else (math.nan, math.nan)
    if rows < max(2, min_rows):
        return Comparison(
            "wait", rows, max(2, min_rows), *means, margin, confidence, math.nan, math.nan, math.nan
        )
    d = (1 - margin) * worse - better
    mean, spread = float(np.mean(d)), float(np.std(d, ddof=1))
    if spread == 0:  # every row tells the same: the sign decides
        p, low = (0.0 if mean > 0 else 1.0), mean
    else:
        p = float(stats.ttest_1samp(d, 0.0, alternative="greater").pvalue)
        low = mean - float(stats.t.ppf(confidence, rows - 1)) * spread / math.sqrt(rows)
    verdict = "yes" if p < 1 - confidence else "no"
    return Comparison(verdict, rows, max(2, min_rows), *means, margin, confidence, mean, low, p)
