"""Training rows shared by the serving tests."""

import numpy as np
import pandas as pd

FEATURES = ["tenure", "monthly"]


def churn_rows(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"tenure": rng.integers(1, 60, n), "monthly": rng.uniform(10, 100, n)})
    frame["label"] = ((frame["monthly"] / 10 - frame["tenure"] / 6) > 0).astype(int)
    return frame
