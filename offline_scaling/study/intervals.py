"""95% confidence intervals over seeds, and the rule that says when a claim holds.

An interval is the 95% percentile bootstrap CI of the mean of one value per
seed (a run's seeds' mean returns; or each seed's gain between two
evaluations of the same run): the seeds resampled with replacement
`N_RESAMPLES` times (`scipy.stats.bootstrap`, method "percentile"). A point
is one "task", so this is rliable's stratified bootstrap of the mean
(`rliable.library.get_interval_estimates`, percentile, over runs); rliable
itself cannot be installed beside pandas 3 (its `arch<8` does not import
there). The resampling is seeded (`SEED`): the same numbers always give the
same interval.

One seed leaves nothing to resample: its interval is NaN (rliable would give
a zero-width one, which claims a certainty one seed cannot give), so no claim
about such a point holds.

**The rule.** A comparison *holds* only when the 95% CI of the quantity it
compares lies wholly on one side of what it is compared with (`side`): a
point's return against a fixed value (its level's best expert, × 0.8 or
× 1.2), two evaluations of the same seeds by the CI of their mean paired
difference against 0, and two different runs (independent seeds) by the CI of
the difference of their means (`diff_ci`) against 0.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

LEVEL = 0.95
N_RESAMPLES = 2_000
SEED = 0


def mean_ci(values, level: float = LEVEL) -> tuple[float, float]:
  """(low, high) of the `level` percentile bootstrap CI of the mean of `values`
  ([seeds], one value per seed, any units); (NaN, NaN) for fewer than 2 seeds."""
  values = np.asarray(values, dtype=float).ravel()
  if values.size < 2:
    return float("nan"), float("nan")
  ci = stats.bootstrap((values,), np.mean, n_resamples=N_RESAMPLES, confidence_level=level,
                       method="percentile", rng=np.random.default_rng(SEED)).confidence_interval
  return float(ci.low), float(ci.high)


def diff_ci(a, b, level: float = LEVEL) -> tuple[float, float]:
  """(low, high) of the `level` percentile bootstrap CI of mean(a) − mean(b) for
  independent samples (`a`, `b`: one value per seed of two different runs, each
  resampled on its own); (NaN, NaN) when either has fewer than 2 seeds."""
  a, b = (np.asarray(v, dtype=float).ravel() for v in (a, b))
  if a.size < 2 or b.size < 2:
    return float("nan"), float("nan")
  ci = stats.bootstrap((a, b), lambda x, y, axis=-1: x.mean(axis) - y.mean(axis),
                       n_resamples=N_RESAMPLES, confidence_level=level, method="percentile",
                       rng=np.random.default_rng(SEED)).confidence_interval
  return float(ci.low), float(ci.high)


def side(low: float, high: float, threshold: float) -> int:
  """+1 when the interval [low, high] lies wholly above `threshold`, −1 wholly
  below, 0 when it holds `threshold` or is NaN (the claim does not hold)."""
  if low > threshold:
    return 1
  if high < threshold:
    return -1
  return 0


def format_ci(mean: float, low: float, high: float) -> str:
  """A mean with its interval as the tables print it: `1,913.2 [1,850.1, 1,960.4]`,
  or `1,913.2 [—]` where there is no interval (one seed)."""
  if np.isnan(low) or np.isnan(high):
    return f"{mean:,.1f} [—]"
  return f"{mean:,.1f} [{low:,.1f}, {high:,.1f}]"
