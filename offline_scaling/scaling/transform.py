"""The y-transform behind the log error, defined for negative values too.

The fit objective is the mean squared log error mean((ln(y+1) - ln(y_hat+1))^2)
(Caballero et al., 2023). ln(y+1) is undefined for y <= -1, which returns
(Atari scores, some PyBullet returns) and intermediate predictions reach. We
use its odd extension

  T(y) = sign(y) * ln(1 + |y|),   inverse T^-1(t) = sign(t) * (e^|t| - 1),

a smooth, strictly increasing bijection of the real line that equals ln(y+1)
for every y >= 0, so non-negative data get exactly the paper's objective. T is
applied to the data and to the predictions inside the error only: the BNSL is
fitted and predicts in y's own units, so predictions need no inverse transform.
"""

from __future__ import annotations

import numpy as np


def symlog(y) -> np.ndarray:
  """T(y) = sign(y) * ln(1 + |y|), elementwise; same shape as y."""
  y = np.asarray(y, dtype=float)
  return np.sign(y) * np.log1p(np.abs(y))


def symlog_slope(y) -> np.ndarray:
  """dT/dy = 1 / (1 + |y|), elementwise; same shape as y."""
  return 1.0 / (1.0 + np.abs(np.asarray(y, dtype=float)))


def rmsle(y, y_hat) -> float:
  """Root mean squared error between T(y) and T(y_hat), over all points.

  Args:
    y: observed values, any shape.
    y_hat: predictions, the same shape (in y's units).
  """
  return float(np.sqrt(np.mean((symlog(y_hat) - symlog(y))**2)))
