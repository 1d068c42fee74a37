"""Fitting BNSLs: input checks, hold-out of the largest x, choice of k."""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import numpy as np

from offline_scaling.errors import OfflineScalingError
from offline_scaling.scaling import bootstrap
from offline_scaling.scaling import grid
from offline_scaling.scaling import model
from offline_scaling.scaling import refine
from offline_scaling.scaling import transform

# Restarts: this many grid starts get a short least-squares run (this many
# evaluations per parameter), then the best one is run to convergence.
_N_SCREEN = 32
_SCREEN_EVALS_PER_PARAM = 3
# A model with more breaks is chosen only if its validation RMSLE beats every
# simpler one by more than this relative margin (plus 1e-6 for noise-free data).
_SELECTION_SLACK = 0.02
# Shown instead of a prediction beyond the data by a fit that cannot
# extrapolate (`BNSLFit.can_extrapolate`).
TOO_FEW_SIZES = "too few sizes to extrapolate"


@dataclasses.dataclass(frozen=True)
class BNSLFit:
  """A fitted BNSL, its errors and its bootstrap.

  Attributes:
    params: the curve, in the units of the data.
    x_train: (n_train,) inputs fitted on.
    y_train: (n_train,) their targets.
    x_holdout: (n_holdout,) the held-out inputs (the largest x), maybe empty.
    y_holdout: (n_holdout,) their targets.
    train_rmsle: root mean squared symlog error on the training points.
    holdout_rmsle: the same on the held-out points; None without hold-out.
    validation_rmsle: {k: RMSLE} of each candidate break count on the
      validation x used to choose k; empty when k was given or only k = 0 fits.
    bootstrap: refits on resampled seeds (empty when not requested).
    allow_growth: whether segments with a negative exponent (|y - a| growing
      as a power of x) were allowed.
  """

  params: model.BNSLParams
  x_train: np.ndarray
  y_train: np.ndarray
  x_holdout: np.ndarray
  y_holdout: np.ndarray
  train_rmsle: float
  holdout_rmsle: float | None
  validation_rmsle: dict[int, float]
  bootstrap: tuple[model.BNSLParams, ...]
  allow_growth: bool

  @property
  def n_breaks(self) -> int:
    """Number of breaks k of the fitted curve."""
    return self.params.n_breaks

  @property
  def can_extrapolate(self) -> bool:
    """Whether the training x outnumber the parameters (distinct values).

    With exactly as many distinct x as parameters the curve passes through
    every mean whatever the noise, so its values beyond the data say nothing:
    reports and plots show `TOO_FEW_SIZES` there instead of a number or line.
    """
    return np.unique(self.x_train).size > self.params.n_params

  def predict(self, x) -> np.ndarray:
    """Predicted y (n,) at positive x (n,), in the units of the data."""
    return model.bnsl(_check_positive("x", x), self.params)

  def band(self, x, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap band: the central `level` interval of refitted curves at x.

    Args:
      x: (n,) positive inputs.
      level: coverage of the band, in (0, 1).

    Returns:
      Lower and upper edges, each (n,).
    """
    if not self.bootstrap:
      raise OfflineScalingError(
          "This fit has no bootstrap; pass n_bootstrap > 0 to fit_bnsl.")
    if not 0.0 < level < 1.0:
      raise OfflineScalingError(f"level must be in (0, 1); got {level}.")
    x = _check_positive("x", x)
    curves = np.stack([model.bnsl(x, p) for p in self.bootstrap])
    tail = 0.5 * (1.0 - level)
    lo, hi = np.quantile(curves, [tail, 1.0 - tail], axis=0)
    return lo, hi

  def to_dict(self) -> dict[str, Any]:
    """A JSON-ready summary: parameters, errors, data ranges, k selection."""
    return {
        "n_breaks": self.n_breaks,
        "params": self.params.to_dict(),
        "train_rmsle": self.train_rmsle,
        "holdout_rmsle": self.holdout_rmsle,
        "validation_rmsle": {str(k): e for k, e in self.validation_rmsle.items()},
        "n_train": int(self.x_train.size),
        "n_holdout": int(self.x_holdout.size),
        "x_train_range": [float(self.x_train.min()), float(self.x_train.max())],
        "x_holdout": sorted({float(v) for v in self.x_holdout}),
        "n_bootstrap": len(self.bootstrap),
        "allow_growth": self.allow_growth,
        "can_extrapolate": self.can_extrapolate,
    }


def _as_array(name: str, values) -> np.ndarray:
  """values as a finite 1-D float array, or an error naming `name`."""
  try:
    array = np.asarray(values, dtype=float)
  except (TypeError, ValueError) as e:
    raise OfflineScalingError(f"{name} must be a sequence of numbers.") from e
  if array.ndim != 1:
    raise OfflineScalingError(
        f"{name} must be 1-D; got shape {array.shape}.")
  bad = np.flatnonzero(~np.isfinite(array))
  if bad.size:
    raise OfflineScalingError(
        f"{name} must be finite; {name}[{bad[0]}] is {array[bad[0]]}.")
  return array


def _check_positive(name: str, values) -> np.ndarray:
  """values as a finite, positive 1-D array, or an error naming `name`."""
  array = _as_array(name, values)
  bad = np.flatnonzero(array <= 0)
  if bad.size:
    raise OfflineScalingError(
        f"{name} must be positive (the BNSL takes powers of it); "
        f"{name}[{bad[0]}] is {array[bad[0]]}.")
  return array


def _check_count(name: str, value, minimum: int) -> int:
  """value as an int >= minimum, or an error naming `name`."""
  if (isinstance(value, bool) or not isinstance(value, numbers.Integral) or
      value < minimum):
    raise OfflineScalingError(
        f"{name} must be an integer >= {minimum}; got {value!r}.")
  return int(value)


def _check_enough_x(x: np.ndarray, n_breaks: int, where: str) -> None:
  """Raises unless x has at least as many distinct values as the parameters."""
  distinct, needed = np.unique(x).size, model.n_params(n_breaks)
  if distinct < needed:
    raise OfflineScalingError(
        f"x has {distinct} distinct values {where} but a {n_breaks}-break BNSL "
        f"has {needed} parameters; use a smaller n_breaks or more x values.")


def _fit_fixed_k(x: np.ndarray, y: np.ndarray, n_breaks: int,
                 allow_growth: bool) -> model.BNSLParams:
  """Grid search, short least squares from many grid starts, then the best of
  those run to convergence."""
  data = refine.Data.from_xy(x, y)
  screened, _ = min(
      (refine.refine(data, theta, n_breaks, allow_growth,
                     _SCREEN_EVALS_PER_PARAM)
       for theta in grid.starts(data, n_breaks, _N_SCREEN, allow_growth)),
      key=lambda r: r[1])
  theta, _ = refine.refine(data, screened, n_breaks, allow_growth)
  return refine.theta_to_params(theta, n_breaks, data.log_x0)


def _choose_n_breaks(x: np.ndarray, y: np.ndarray, max_breaks: int,
                     holdout: int,
                     allow_growth: bool) -> tuple[int, dict[int, float]]:
  """Picks k by extrapolation error on the largest x of the training data.

  The validation x are the `holdout` largest distinct training x, or only the
  largest one when that many would leave too few to fit `max_breaks` breaks.
  Each k in 0..max_breaks that fits on the rest is fitted and scored there.

  Returns:
    The chosen k and {k: validation RMSLE} (empty if only k = 0 fits).
  """
  distinct = np.unique(x)
  n_validation = max(1, min(holdout, distinct.size - model.n_params(max_breaks)))
  n_fit = distinct.size - n_validation
  candidates = [k for k in range(max_breaks + 1) if model.n_params(k) <= n_fit]
  if len(candidates) <= 1:
    return 0, {}
  fit_mask = x < distinct[-n_validation]
  errors = {
      k: transform.rmsle(
          y[~fit_mask],
          model.bnsl(x[~fit_mask],
                     _fit_fixed_k(x[fit_mask], y[fit_mask], k, allow_growth)))
      for k in candidates
  }
  threshold = min(errors.values()) * (1.0 + _SELECTION_SLACK) + 1e-6
  return min(k for k, e in errors.items() if e <= threshold), errors


def fit_bnsl(x, y, n_breaks: int | None = None, holdout: int = 0, *,
             max_breaks: int = 2, n_bootstrap: int = 100, seed: int = 0,
             allow_growth: bool = False) -> BNSLFit:
  """Fits a Broken Neural Scaling Law y ~ BNSL(x) by least squares on symlog y.

  By default every segment exponent c0 + c_1 + ... + c_i is kept >= 0 (c0 >= 0
  as in the BNSL paper's grid): |y - a| does not grow as a power of x on any
  segment, so a rising return comes out as b < 0 and saturates at a, and
  predictions beyond the data stay finite. `allow_growth=True` frees the
  exponents for laws that rise without bound (e.g. y = a + b x^0.3).

  A fit on exactly as many distinct x as parameters is still made (its values
  inside the data are usable) but `BNSLFit.can_extrapolate` is False: it
  interpolates the means, so its predictions beyond them mean nothing. (A
  smaller law is not substituted: k = 0 is already the smallest BNSL.)

  Args:
    x: (n,) positive inputs (parameter count, compute, data size). Repeated
      values are seeds of the same setting.
    y: (n,) targets (loss, return), any sign: errors are measured after
      `transform.symlog`, which is ln(y + 1) for y >= 0.
    n_breaks: number of breaks k >= 0; None chooses it among 0..max_breaks by
      the error on the largest training x (as many as `holdout`, or one if
      that leaves too few to fit max_breaks) after fitting on the smaller ones.
    holdout: number of largest distinct x (with all their seeds) kept out of
      the fit to measure extrapolation error.
    max_breaks: largest k tried when n_breaks is None.
    n_bootstrap: number of refits on seeds resampled within each training x,
      for `BNSLFit.band`; 0 skips the bootstrap.
    seed: seed of the bootstrap resampling.
    allow_growth: allow segments where |y - a| grows as a power of x.

  Returns:
    The fit on the training part, with its errors and bootstrap.

  Raises:
    OfflineScalingError: for lengths that differ, NaN/inf, non-positive x,
      fewer distinct training x than the model's parameters, or a non-bool
      allow_growth.
  """
  x = _check_positive("x", x)
  y = _as_array("y", y)
  if x.size != y.size:
    raise OfflineScalingError(
        f"x and y must have the same length; got {x.size} and {y.size}.")
  holdout = _check_count("holdout", holdout, 0)
  max_breaks = _check_count("max_breaks", max_breaks, 0)
  n_bootstrap = _check_count("n_bootstrap", n_bootstrap, 0)
  if n_breaks is not None:
    n_breaks = _check_count("n_breaks", n_breaks, 0)
  if not isinstance(allow_growth, (bool, np.bool_)):
    raise OfflineScalingError(
        f"allow_growth must be True or False; got {allow_growth!r}.")
  allow_growth = bool(allow_growth)

  distinct = np.unique(x)
  if holdout >= distinct.size:
    raise OfflineScalingError(
        f"holdout={holdout} leaves no x to fit on: x has {distinct.size} "
        "distinct values.")
  train = x < distinct[-holdout] if holdout else np.ones(x.size, dtype=bool)
  where = f"after holding out {holdout}" if holdout else "to fit on"
  _check_enough_x(x[train], n_breaks or 0, where)

  validation_rmsle = {}
  if n_breaks is None:
    n_breaks, validation_rmsle = _choose_n_breaks(x[train], y[train],
                                                  max_breaks, holdout,
                                                  allow_growth)
  params = _fit_fixed_k(x[train], y[train], n_breaks, allow_growth)
  boot = bootstrap.bootstrap_params(x[train], y[train], params, n_bootstrap,
                                    np.random.default_rng(seed), allow_growth)
  return BNSLFit(
      params=params,
      x_train=x[train],
      y_train=y[train],
      x_holdout=x[~train],
      y_holdout=y[~train],
      train_rmsle=transform.rmsle(y[train], model.bnsl(x[train], params)),
      holdout_rmsle=(transform.rmsle(y[~train], model.bnsl(x[~train], params))
                     if holdout else None),
      validation_rmsle=validation_rmsle,
      bootstrap=boot,
      allow_growth=allow_growth,
  )
