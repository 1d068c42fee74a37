"""Bootstrap over seeds: refit on points resampled within each x."""

from __future__ import annotations

import numpy as np

from offline_scaling.scaling import model
from offline_scaling.scaling import refine


def resample_within_x(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
  """Bootstrap indices (n,) into x: each x's points (seeds) drawn with replacement.

  Every distinct x keeps its number of points, hence its weight in the fit.
  """
  order = np.argsort(x, kind="stable")
  _, first, counts = np.unique(x[order], return_index=True, return_counts=True)
  offsets = np.floor(rng.random(x.size) * np.repeat(counts, counts)).astype(int)
  return order[np.repeat(first, counts) + offsets]


def bootstrap_params(x: np.ndarray, y: np.ndarray, params: model.BNSLParams,
                     n_resamples: int, rng: np.random.Generator,
                     allow_growth: bool) -> tuple[model.BNSLParams, ...]:
  """Refits `params` to `n_resamples` resamples of (x, y).

  Each refit starts from `params` (the grid is not searched again), so the
  spread reflects the seeds' noise around this fit at fixed k. With one point
  per x every resample is the data itself and the band has zero width.

  Args:
    x: (n,) positive inputs the fit was made on.
    y: (n,) their targets.
    params: the fit on (x, y).
    n_resamples: number of bootstrap refits.
    rng: source of the resampling.
    allow_growth: whether the refits may have growing segments (as the fit).

  Returns:
    `n_resamples` refitted parameter sets.
  """
  # Resamples keep every distinct x, hence the same centre log_x0.
  theta0 = refine.params_to_theta(params, refine.Data.from_xy(x, y).log_x0)
  fits = []
  for _ in range(n_resamples):
    idx = resample_within_x(x, rng)
    data = refine.Data.from_xy(x[idx], y[idx])
    theta, _ = refine.refine(data, theta0, params.n_breaks, allow_growth)
    fits.append(refine.theta_to_params(theta, params.n_breaks, data.log_x0))
  return tuple(fits)
