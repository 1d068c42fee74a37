"""Nonlinear least squares on the symlog error, in centred log-x coordinates.

The optimiser works on theta = (a, b', c0, c_1..k, ln d'_1..k, ln f_1..k) with
x' = x / x0 and x0 the geometric centre of the observed x range: b' and d' are
then of order one whatever the units of x (parameter counts reach 1e9), and the
logs keep d and f positive.

Inside `refine` the exponents (c0, c_1..k) are replaced by the segment exponents
s_i = c0 + c_1 + ... + c_i (the log-log slope of |y - a| after break i is -s_i),
so that "no segment grows" is the box s >= 0 (see `bounds`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from scipy import optimize
from scipy import special

from offline_scaling.scaling import model
from offline_scaling.scaling import transform

# Tight tolerances: noise-free data should be matched to well under 1% even when
# extrapolated a decade beyond the fitted range.
_TOL = 1e-10
# Default budget of residual evaluations per parameter: enough to converge.
_EVALS_PER_PARAM = 100


@dataclasses.dataclass(frozen=True)
class Data:
  """Points in fit coordinates.

  Attributes:
    u: (n,) ln(x) - log_x0.
    y: (n,) targets, in y units.
    log_x0: ln of the centre of the x range.
  """

  u: np.ndarray
  y: np.ndarray
  log_x0: float

  @classmethod
  def from_xy(cls, x: np.ndarray, y: np.ndarray) -> Data:
    """Centres (n,) positive x on the middle of its log range."""
    log_x = np.log(x)
    log_x0 = 0.5 * (log_x.min() + log_x.max())
    return cls(u=log_x - log_x0, y=np.asarray(y, dtype=float), log_x0=log_x0)

  @property
  def span(self) -> float:
    """Width of the x range in ln units (> 0 for two or more distinct x)."""
    return float(self.u.max() - self.u.min())


def split_theta(theta: np.ndarray, n_breaks: int) -> tuple[Any, ...]:
  """Splits a (3 + 3k,) theta into a, b', c0, c (k,), ln d' (k,), ln f (k,)."""
  k = n_breaks
  return (theta[0], theta[1], theta[2], theta[3:3 + k], theta[3 + k:3 + 2 * k],
          theta[3 + 2 * k:3 + 3 * k])


def theta_to_params(theta: np.ndarray, n_breaks: int,
                    log_x0: float) -> model.BNSLParams:
  """Converts fit coordinates back to the units of the data."""
  a, b, c0, c, log_d, log_f = split_theta(theta, n_breaks)
  return model.BNSLParams(
      a=float(a), b=float(b * np.exp(c0 * log_x0)), c0=float(c0),
      c=tuple(map(float, c)), d=tuple(map(float, np.exp(log_d + log_x0))),
      f=tuple(map(float, np.exp(log_f))))


def params_to_theta(params: model.BNSLParams, log_x0: float) -> np.ndarray:
  """Inverse of `theta_to_params`: (3 + 3k,) theta."""
  return np.concatenate([
      [params.a, params.b * np.exp(-params.c0 * log_x0), params.c0],
      params.c, np.log(params.d) - log_x0, np.log(params.f)])


def _to_segments(theta: np.ndarray, n_breaks: int) -> np.ndarray:
  """theta (3 + 3k,) with (c0, c_1..k) replaced by their cumulative sums s_0..k."""
  phi = np.array(theta, dtype=float)
  phi[2:3 + n_breaks] = np.cumsum(phi[2:3 + n_breaks])
  return phi


def _from_segments(phi: np.ndarray, n_breaks: int) -> np.ndarray:
  """Inverse of `_to_segments`: (3 + 3k,) theta."""
  theta = np.array(phi, dtype=float)
  theta[2:3 + n_breaks] = np.diff(theta[2:3 + n_breaks], prepend=0.0)
  return theta


def bounds(data: Data, n_breaks: int,
           allow_growth: bool) -> tuple[np.ndarray, np.ndarray]:
  """Box for `_to_segments(theta)`: no growing segment, breaks near the data,
  sharpness between a kink and the span.

  Without `allow_growth` every segment exponent s_i is >= 0: no power-law
  segment of |y - a| rises, so y tends to a finite limit as x grows (a when the
  last exponent s_k > 0) instead of running away beyond the data. A break far
  outside the observed x cannot be located from the data, so d is kept within
  a quarter span of it; f spans from a kink (1e-3 of the range) to a bend as
  wide as the range.
  """
  k = n_breaks
  lo = np.full(3 + 3 * k, -np.inf)
  hi = np.full(3 + 3 * k, np.inf)
  if not allow_growth:
    lo[2:3 + k] = 0.0
  margin = 0.25 * data.span
  lo[3 + k:3 + 2 * k] = data.u.min() - margin
  hi[3 + k:3 + 2 * k] = data.u.max() + margin
  lo[3 + 2 * k:] = np.log(1e-3 * data.span)
  hi[3 + 2 * k:] = np.log(data.span)
  return lo, hi


def refine(data: Data, theta0: np.ndarray, n_breaks: int, allow_growth: bool,
           evals_per_param: int = _EVALS_PER_PARAM) -> tuple[np.ndarray, float]:
  """Minimises sum_j (T(y_hat_j) - T(y_j))^2 from theta0.

  Args:
    data: the points.
    theta0: (3 + 3k,) start (clipped into `bounds`).
    n_breaks: k.
    allow_growth: let segment exponents go negative (see `bounds`).
    evals_per_param: budget of residual evaluations, per parameter.

  Returns:
    The optimum (3 + 3k,) and its mean squared symlog error.
  """
  target = transform.symlog(data.y)

  def predict(theta):
    a, b, c0, c, log_d, log_f = split_theta(theta, n_breaks)
    with np.errstate(over="ignore", invalid="ignore"):
      g = np.exp(model.log_shape(data.u, c0, c, log_d, np.exp(log_f)))
    return a + b * g, g

  def residuals(phi):
    y_hat, _ = predict(_from_segments(phi, n_breaks))
    return transform.symlog(y_hat) - target

  def jacobian(phi):
    theta = _from_segments(phi, n_breaks)
    _, b, c0, c, log_d, log_f = split_theta(theta, n_breaks)
    y_hat, g = predict(theta)
    f = np.exp(log_f)[:, None]
    z = (data.u - log_d[:, None]) / f
    soft, sig = np.logaddexp(0.0, z), special.expit(z)
    bg = b * g
    d_exponents = np.stack([-bg * data.u, *(-bg * f * soft)], axis=1)
    # c_i = s_i - s_(i-1): d/ds_i = d/dc_i - d/dc_(i+1).
    d_segments = -np.diff(d_exponents, axis=1, append=0.0)
    cols = [np.ones_like(g), g, *d_segments.T,
            *(bg * c[:, None] * sig),
            *(-bg * c[:, None] * f * (soft - z * sig))]
    return np.stack(cols, axis=1) * transform.symlog_slope(y_hat)[:, None]

  lo, hi = bounds(data, n_breaks, allow_growth)
  result = optimize.least_squares(
      residuals, np.clip(_to_segments(theta0, n_breaks), lo, hi), jac=jacobian,
      bounds=(lo, hi), x_scale="jac", xtol=_TOL, ftol=_TOL, gtol=_TOL,
      max_nfev=evals_per_param * theta0.size)
  return _from_segments(result.x, n_breaks), float(np.mean(result.fun**2))
